"""Runs a user asked to forget (`lse forget`), per project, so no re-fetch brings them back.

`<project dir>/forgotten.json` lists forgotten run ids and trace ids, each with the UTC time
it was forgotten. It only grows, is replaced atomically and fsynced, and every partition
write of the project (the merge in runfiles) drops the runs it covers: a trace id covers
every run of that trace.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lse_assets.core import durable, jsondoc

FILE = "forgotten.json"
FORMAT = "lse-forgotten/1"


@dataclass
class Tombstones:
    run_ids: dict[str, str] = field(default_factory=dict)
    trace_ids: dict[str, str] = field(default_factory=dict)

    def covers(self, run_id: Any, trace_id: Any) -> bool:
        return run_id in self.run_ids or trace_id in self.trace_ids

    def __bool__(self) -> bool:
        return bool(self.run_ids or self.trace_ids)


def path_in(project_dir: Path) -> Path:
    return project_dir / FILE


def read(project_dir: Path) -> Tombstones:
    path = path_in(project_dir)
    if not path.exists():
        return Tombstones()
    document = jsondoc.parse(path.read_bytes())
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"{path} is not an {FORMAT} file; restore it from a backup")
    return Tombstones(dict(document.get("run_ids") or {}), dict(document.get("trace_ids") or {}))


def add(
    project_dir: Path, project: str, run_ids: Iterable[str], trace_ids: Iterable[str], at: str
) -> Tombstones:
    """Record more forgotten ids (earlier entries keep their time) and return them all."""
    current = read(project_dir)
    for run_id in run_ids:
        current.run_ids.setdefault(run_id, at)
    for trace_id in trace_ids:
        current.trace_ids.setdefault(trace_id, at)
    document = {
        "format": FORMAT,
        "project": project,
        "run_ids": dict(sorted(current.run_ids.items())),
        "trace_ids": dict(sorted(current.trace_ids.items())),
    }
    project_dir.mkdir(parents=True, exist_ok=True)
    target = path_in(project_dir)
    tmp = target.with_name(f".{FILE}.{os.getpid()}.tmp")
    try:
        durable.write_file(tmp, jsondoc.canonical_bytes(document))
        os.replace(tmp, target)
        durable.fsync_dir(project_dir)
    finally:
        tmp.unlink(missing_ok=True)
    return current
