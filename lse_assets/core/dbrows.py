"""From a partition's files to the documents of its `runs` rows (NUL rule: core/jsondoc.py).

Files are not parsed here: the database parses each document once, derives trace_id
from it and CHECKs run_id and run_date against it (alembic/versions), so a file that is
not a valid run of its partition is refused there, naming the run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from lse_assets.core import jsondoc, runfiles
from lse_assets.core.findings import Discrepancies
from lse_assets.core.runfiles import PartitionPaths


@dataclass
class LoadTally:
    rows: int = 0
    bytes: int = 0
    normalized: Discrepancies = field(default_factory=Discrepancies)  # run ids, NUL rule applied


def documents_for_load(
    paths: PartitionPaths, run_ids: list[str], tally: LoadTally
) -> Iterator[tuple[str, bytes]]:
    """(run_id, JSON bytes as the database must hold them) per file, in `run_ids` order."""
    for run_id, raw in runfiles.iter_run_bytes(paths, run_ids):
        data, normalized = jsondoc.database_bytes(raw)
        if normalized:
            tally.normalized.add(run_id)
        tally.rows += 1
        tally.bytes += len(raw)
        yield run_id, data
