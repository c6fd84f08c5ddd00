"""From a partition's files to the documents of its `runs` rows (NUL rule: lse_assets.core.jsondoc).

Files are not parsed here: the database parses each document once, derives trace_id
from it and CHECKs run_id and run_date against it (alembic/versions), so a file that is
not a valid run of its partition is refused there, naming the run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from lse_assets.core import jsondoc, runfiles
from lse_assets.core.runfiles import PartitionPaths

SAMPLE_SIZE = 20


@dataclass
class LoadTally:
    rows: int = 0
    bytes: int = 0
    normalized: int = 0
    normalized_sample: list[str] = field(default_factory=list)  # the first SAMPLE_SIZE


def documents_for_load(
    paths: PartitionPaths, run_ids: list[str], tally: LoadTally
) -> Iterator[tuple[str, bytes]]:
    """(run_id, JSON bytes as the database must hold them) per file, in `run_ids` order."""
    for run_id, raw in runfiles.iter_run_bytes(paths, run_ids):
        data, normalized = jsondoc.database_bytes(raw)
        if normalized:
            tally.normalized += 1
            if len(tally.normalized_sample) < SAMPLE_SIZE:
                tally.normalized_sample.append(run_id)
        tally.rows += 1
        tally.bytes += len(raw)
        yield run_id, data
