"""From a partition's files to `runs` rows, applying the NUL rule (lse_assets.jsondoc)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lse_assets import jsondoc, runfiles
from lse_assets.runfiles import PartitionPaths


@dataclass
class LoadTally:
    rows: int = 0
    bytes: int = 0
    normalized_run_ids: list[str] = field(default_factory=list)


def rows_for_load(paths: PartitionPaths, tally: LoadTally) -> Iterator[tuple[Any, ...]]:
    """(run_id, trace_id, project, run_date, json text) per file, in run-id order."""
    for run_id, raw in runfiles.iter_run_bytes(paths):
        document, normalized = jsondoc.database_form(raw)
        if document.get("id") != run_id:
            raise ValueError(
                f"{paths.run_file(run_id)} holds run {document.get('id')!r}; a run file must be "
                "named after its run id (re-materialize raw_runs for this partition)"
            )
        text = json.dumps(document, ensure_ascii=False) if normalized else raw.decode("utf-8")
        if normalized:
            tally.normalized_run_ids.append(run_id)
        tally.rows += 1
        tally.bytes += len(raw)
        yield run_id, document.get("trace_id"), paths.project, paths.day, text
