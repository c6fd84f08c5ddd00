"""Runs a user asked to forget (`lse forget`), per project, so no re-fetch brings them back.

`<project dir>/forgotten.json` lists forgotten run ids and trace ids, each with the UTC time
it was forgotten. It only grows: every update reads, adds and replaces it under the
project's lock (lse_assets.core.locks.project_lock), so two forgets at once keep both
lists; the new file is fsynced before it replaces the old one, and its directory after.
Every partition write of the project (the merge in runfiles) drops the runs it covers: a
trace id covers every run of that trace.

A damaged file (not JSON, truncated, another format, wrong types) is never read as empty:
that would bring every forgotten run back. `read` raises `DamagedTombstonesError`, naming
the file and the fix, and every writer of the project stops until it is repaired.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lse_assets.core import durable, jsondoc, locks
from lse_assets.core.errors import PermanentError

FILE = "forgotten.json"
FORMAT = "lse-forgotten/1"


class DamagedTombstonesError(PermanentError, ValueError):
    """forgotten.json cannot be trusted: no write of its project may go on."""


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


def _damaged(path: Path, why: str) -> DamagedTombstonesError:
    return DamagedTombstonesError(
        f"{path} is damaged ({why}); every write of this project is refused until it is "
        f"repaired, because reading it as empty would bring forgotten runs back. Put back "
        f"a good copy from a backup of the data folder, or repair it by hand: a JSON object "
        f'{{"format": "{FORMAT}", "project": ..., "run_ids": {{id: time}}, '
        f'"trace_ids": {{id: time}}}}. Do not delete it'
    )


def _id_map(path: Path, document: dict[str, Any], key: str) -> dict[str, str]:
    value = document.get(key)
    if not isinstance(value, dict):
        raise _damaged(path, f"{key!r} is {type(value).__name__}, not an object of id: time")
    for run_id, at in value.items():
        if not isinstance(at, str):
            raise _damaged(path, f"{key!r} maps {run_id!r} to {type(at).__name__}, not a time")
    return dict(value)


def read(project_dir: Path) -> Tombstones:
    path = path_in(project_dir)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Tombstones()
    try:
        document = jsondoc.parse(raw)
    except ValueError as error:
        raise _damaged(path, f"not readable JSON: {str(error).splitlines()[0]}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise _damaged(path, f"not an {FORMAT} document")
    return Tombstones(_id_map(path, document, "run_ids"), _id_map(path, document, "trace_ids"))


def add(
    project_dir: Path, project: str, run_ids: Iterable[str], trace_ids: Iterable[str], at: str
) -> Tombstones:
    """Record more forgotten ids (earlier entries keep their time) and return them all."""
    project_dir.mkdir(parents=True, exist_ok=True)
    with locks.project_lock(project_dir):
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
        target = path_in(project_dir)
        tmp = target.with_name(f".{FILE}.{os.getpid()}.tmp")
        try:
            durable.write_file(tmp, jsondoc.canonical_bytes(document))
            locks.confirm_project(project_dir)  # a lost lock must not replace the list
            os.replace(tmp, target)
            durable.fsync_dir(project_dir)
        finally:
            tmp.unlink(missing_ok=True)
    return current
