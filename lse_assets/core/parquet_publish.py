"""Publishing a partition's Parquet file: written from verified run files, or left alone.

The rule: the Parquet copy is made only from run files that match their manifest (a
damaged partition is repaired by raw_runs first, never copied), and "unchanged" is said
only when the file's footer names this content and format AND a full comparison of
every row agrees. Under the partition's lock, like every other writer of the partition.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from lse_assets.core import bulk_export, locks, parquet_verify, runfiles
from lse_assets.core.errors import PermanentError
from lse_assets.core.ports import ParquetStore


@dataclass(frozen=True)
class Published:
    export: bulk_export.Export
    rows: int
    size: int
    location: str
    unchanged: bool
    seconds: float
    stale_removed: tuple[str, ...] = ()
    leftovers_cleared: int = 0  # staging files of killed writes, cleared by this write


def publish(paths: runfiles.PartitionPaths, store: ParquetStore) -> Published:
    runfiles.read_manifest(paths)  # a clear error when raw_runs never ran
    with locks.partition_lock(paths):
        return _publish(paths, store)


def _publish(paths: runfiles.PartitionPaths, store: ParquetStore) -> Published:
    started = time.perf_counter()
    local = runfiles.inspect_local(paths)
    if not local.intact or local.manifest is None:
        raise PermanentError(
            f"the run files of {paths.project!r} {paths.day} do not match their manifest "
            "(missing, extra or changed files): materialize raw_runs for this partition "
            "first, it repairs them from the zip or the archive store; the Parquet file "
            "was left as it was"
        )
    export = bulk_export.export_of(paths, local.manifest)
    relative = export.relative_path
    location = store.location(relative)
    footer = store.footer(relative)
    if footer and export.footer_matches(footer.metadata) and _rows_agree(paths, export, store):
        stale = _remove_stale_copies(store, relative)
        return Published(
            export, footer.rows, footer.size, location, True, time.perf_counter() - started, stale
        )

    def produce(sink) -> int:
        # The files were just verified against this manifest: its parent links may be used
        # (the check, parquet_matches_files, derives them from the files themselves).
        batches = bulk_export.batches(paths, export, verified_manifest=local.manifest)
        return bulk_export.write(sink, batches, export)

    try:
        written = store.write(relative, produce)
    except bulk_export.BulkExportError as error:
        raise PermanentError(
            f"{paths.project!r} {paths.day}: {error}; the Parquet file was left as it was"
        ) from None
    stale = _remove_stale_copies(store, relative)
    return Published(
        export,
        written.rows,
        written.size,
        written.location,
        False,
        time.perf_counter() - started,
        stale,
        written.leftovers_cleared,
    )


def _remove_stale_copies(store: ParquetStore, relative: str) -> tuple[str, ...]:
    """The same partition's file under other tenant or project ids (written before the
    ids were known): removed once the current file is in place, so a query over the tree
    never counts a run twice."""
    stale = store.others_of_the_same_name(relative)
    for other in stale:
        store.delete(other)
    return tuple(stale)


def _rows_agree(
    paths: runfiles.PartitionPaths, export: bulk_export.Export, store: ParquetStore
) -> bool:
    with store.batches(export.relative_path) as batches:
        return parquet_verify.compare(paths, export, batches).consistent
