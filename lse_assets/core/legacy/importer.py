"""`lse import-legacy`: the predecessor's folders and zips, into this platform's partitions.

It finds every zip and every folder of run files under a path (the old tool's `data/` and
`archives/`), converts them with core.legacy.formats (which decides every conversion rule),
and writes one partition per trace-root day through runfiles (atomic, replace-not-add).

Only complete traces are imported: a trace whose root run is in none of the files read
started on a day that was not given (its children crossed midnight into a day that was),
so its runs are reported, not written; otherwise importing day D would replace a good
partition D-1 with a few stray children. A local partition that already holds other runs
is left alone unless `force`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from lse_assets.core import jsondoc, runfiles
from lse_assets.core.legacy.formats import LegacyRuns
from lse_assets.core.runfiles import PartitionPaths, PartitionStats


@dataclass
class ImportReport:
    days: dict[date, PartitionStats] = field(default_factory=dict)
    kept: list[date] = field(default_factory=list)  # local partitions with other runs
    unplaced: list[str] = field(default_factory=list)
    rootless_runs: dict[date, int] = field(default_factory=dict)
    sources: list[Path] = field(default_factory=list)


def legacy_sources(path: Path) -> tuple[list[Path], list[Path]]:
    """(zips, folders holding run files) under `path`, or `path` itself."""
    if path.is_file():
        if path.suffix != ".zip":
            raise ValueError(f"{path} is neither a zip nor a folder of the old tool's files")
        return [path], []
    if not path.is_dir():
        raise FileNotFoundError(f"{path} does not exist")
    zips = sorted(path.rglob("*.zip"))
    folders = sorted({f.parent for f in path.rglob("*.json") if f.name != "_summary.json"})
    if not zips and not folders:
        raise ValueError(f"no zips and no JSON run files under {path}")
    return zips, folders


def _complete_traces(runs: Iterable[dict[str, Any]], roots: set[str]) -> Iterator[dict[str, Any]]:
    return (run for run in runs if run["trace_id"] in roots)


def import_legacy(
    path: Path, paths_for: Callable[[date], PartitionPaths], force: bool = False
) -> ImportReport:
    zips, folders = legacy_sources(path)
    runs = LegacyRuns()
    for zipped in zips:
        runs.add_zip(zipped, label=str(zipped.relative_to(path) if path.is_dir() else zipped.name))
    for folder in folders:
        runs.add_directory(folder, label=str(folder.relative_to(path)) or folder.name)
    report = ImportReport(sources=[*zips, *folders], unplaced=runs.unplaced())
    for day, count in sorted(runs.days().items()):
        roots = {run["id"] for run in runs.runs_for(day) if run["id"] == run["trace_id"]}
        written = sum(1 for _ in _complete_traces(runs.runs_for(day), roots))
        if written < count:
            report.rootless_runs[day] = count - written
        if not written:
            continue
        paths = paths_for(day)
        if paths.manifest.exists() and not force:
            converted = {
                run["id"]: hashlib.sha256(jsondoc.canonical_bytes(run)).hexdigest()
                for run in _complete_traces(runs.runs_for(day), roots)
            }
            if runfiles.read_manifest(paths).get("files") != converted:
                report.kept.append(day)
                continue
        report.days[day] = runfiles.write_partition(
            paths, _complete_traces(runs.runs_for(day), roots), runs.report(day).as_source()
        )
    return report
