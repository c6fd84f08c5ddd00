"""`lse forget`: the one way data leaves the archive, explicit and reaching every copy.

For a project and some run ids and/or trace ids (a trace id means every run of the trace, a
run id the run and the runs below it, so no trace is left with a cut branch):
1. find the partitions on disk that hold them (a trace lives whole in its root's day);
2. record them in the project's tombstones (lse_assets.core.tombstones) first, so that no later
   re-fetch, and no retry of a forget that failed half-way, brings them back;
3. per partition, under its lock: rewrite the files and manifest without them (the merge
   drops what the tombstones cover), rebuild the zip, replace the stored copy and delete
   the store's older revisions of that file (they hold the forgotten runs), then rewrite
   the partition's Parquet file, if it has one, from the rewritten files (publish removes
   the old one if the rewrite moved it: its Hive path names the tenant and project ids,
   which a partition left without runs may no longer know). A day without a Parquet file
   gets none: making copies is parquet_runs' work, recorded by Dagster;
4. delete their rows from the `runs` table.
A dry run finds and counts, and writes nothing.

If the Parquet store is out of reach after a day's files were rewritten, a second forget
no longer finds the runs in that day's files: the next materialization of parquet_runs
rewrites the file (its content digest changed), and until then parquet_matches_files
fails for the day, naming the runs the file still holds.

Days that are only in the archive store (not on disk) are not searched: restore them
first (`lse restore`), then forget.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Protocol

from lse_assets.core import (
    archive,
    bulk_export,
    jsondoc,
    locks,
    parquet_publish,
    runfiles,
    tombstones,
)
from lse_assets.core.ports import ArchiveStore, ParquetStore
from lse_assets.core.runfiles import PartitionPaths

_DAY_DIR = re.compile(r"\d{4}-\d{2}-\d{2}")


class Rows(Protocol):
    def forget_runs(
        self, project: str, run_ids: list[str], trace_ids: list[str], *, dry_run: bool = False
    ) -> int: ...


@dataclass
class DayForgotten:
    day: date
    run_ids: list[str]
    store_action: str = ""
    revisions_deleted: int = 0
    parquet: str = ""  # the Parquet file rewritten (dry run: to rewrite); "" if the day has none
    parquet_rows: int | None = None  # rows it holds now (None in a dry run)


@dataclass
class ForgetReport:
    project: str
    dry_run: bool
    days: list[DayForgotten] = field(default_factory=list)
    rows: int = 0
    not_found: list[str] = field(default_factory=list)  # requested ids found on no local day

    @property
    def runs(self) -> int:
        return sum(len(day.run_ids) for day in self.days)


def _canonical(ids: list[str], what: str) -> list[str]:
    out = []
    for raw in ids:
        try:
            out.append(runfiles.canonical_run_id({"id": raw.strip().lower()}))
        except ValueError:
            raise ValueError(f"{what} {raw!r} is not a UUID") from None
    return sorted(set(out))


def _days_on_disk(project_dir: Path) -> list[date]:
    if not project_dir.is_dir():
        return []
    return sorted(
        date.fromisoformat(entry.name)
        for entry in os.scandir(project_dir)
        if entry.is_dir() and _DAY_DIR.fullmatch(entry.name)
    )


def _matches(paths: PartitionPaths, run_ids: set[str], trace_ids: set[str]) -> list[str]:
    """Run ids of the partition to forget: the requested runs with every run below them
    (their children would be cut from their parent), and every run of a requested trace.
    A run lives in its trace root's partition, so only partitions listing a requested id
    (a run, or a trace's root, whose id is the trace id) are read."""
    try:
        listed = set(runfiles.read_manifest(paths).get("files") or {})
    except (FileNotFoundError, ValueError):
        listed = set()
    on_disk = set(runfiles.run_ids_on_disk(paths))
    wanted = run_ids | trace_ids
    found = (listed | on_disk) & wanted
    if not found:
        return []
    for run_id, data in runfiles.iter_run_bytes(paths, sorted(on_disk)):
        try:
            run = jsondoc.parse(data)
            ancestors = set(run.get("parent_run_ids") or [run.get("parent_run_id")])
        except (ValueError, AttributeError, TypeError):
            continue  # a damaged file: the rewrite recovers it from the zip, then drops it
        if run.get("trace_id") in trace_ids or ancestors & run_ids:
            found.add(run_id)
    return sorted(found)


def forget(
    project: str,
    run_ids: list[str],
    trace_ids: list[str],
    *,
    paths_for: Callable[[date], PartitionPaths],
    store: ArchiveStore,
    parquet: ParquetStore,
    rows: Rows,
    dry_run: bool = False,
) -> ForgetReport:
    run_set = set(_canonical(run_ids, "run id"))
    trace_set = set(_canonical(trace_ids, "trace id"))
    if not run_set and not trace_set:
        raise ValueError("name at least one --run-id or --trace-id to forget")
    project_dir = paths_for(date(2000, 1, 1)).project_dir
    report = ForgetReport(project, dry_run)
    found: set[str] = set()
    for day in _days_on_disk(project_dir):
        matched = _matches(paths_for(day), run_set, trace_set)
        if matched:
            report.days.append(DayForgotten(day, matched))
            found |= set(matched)
    report.not_found = sorted((run_set | trace_set) - found)
    if dry_run:
        for entry in report.days:
            relative = bulk_export.export_of(paths_for(entry.day)).relative_path
            entry.parquet = parquet.location(relative) if _has_file(parquet, relative) else ""
        report.rows = rows.forget_runs(
            project, sorted(run_set | found), sorted(trace_set), dry_run=True
        )
        return report

    now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    tombstones.add(project_dir, project, run_set | found, trace_set, now)
    for entry in report.days:
        paths = paths_for(entry.day)
        with locks.partition_lock(paths):
            parquet_before = bulk_export.export_of(paths).relative_path
            source = dict(runfiles.read_manifest(paths).get("source") or {})
            runfiles.write_partition(
                paths,
                iter(()),
                {**source, "forgotten_at": now},
                previous_zips=runfiles.previous_zips_from(paths, store),
                fetched=False,
            )
            info = archive.build_archive(paths)
            entry.store_action = store.upsert(project, info.path).action
            entry.revisions_deleted = store.delete_older_revisions(project, paths.zip_name)
            if _has_file(parquet, parquet_before):
                _republish(paths, parquet, entry)
    report.rows = rows.forget_runs(project, sorted(run_set | found), sorted(trace_set))
    return report


def _republish(paths: PartitionPaths, parquet: ParquetStore, entry: DayForgotten) -> None:
    """The day's Parquet file, written again from its rewritten files. publish takes the
    partition's lock, which the caller holds (it is re-entrant), and removes the day's file
    left under other ids, so a file whose Hive path moved keeps no copy of the runs."""
    published = parquet_publish.publish(paths, parquet)
    entry.parquet, entry.parquet_rows = published.location, published.rows


def _has_file(parquet: ParquetStore, relative: str) -> bool:
    try:
        with parquet.batches(relative) as batches:
            return batches is not None
    except (OSError, ValueError):  # there, but damaged: it may still hold the runs
        return True
