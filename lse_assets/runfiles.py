"""On-disk layout of a partition, and the only code that writes or swaps one.

    $LSE_DATA_DIR/<project-slug>/<date>/manifest.json
    $LSE_DATA_DIR/<project-slug>/<date>/runs/<run_id>.json
    $LSE_DATA_DIR/<project-slug>/<project-slug>_<date>.zip

A partition is written into a hidden sibling directory and swapped in whole, so readers
see the old partition or the new one and a re-fetch never leaves old files beside new ones.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from lse_assets import jsondoc

FORMAT = "lse-partition/1"
MANIFEST = "manifest.json"
RUNS_DIR = "runs"

_PLAIN_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,79}")
_HASHED_SUFFIX = re.compile(r"-[0-9a-f]{12}$")


def project_slug(name: str) -> str:
    """A path-safe name for a project, distinct for distinct projects.

    Lower-case names of letters, digits, '-' and '_' are used as they are. Any other name
    (capitals, spaces, '/', '..', unicode) becomes a readable part plus 12 hex digits of its
    SHA-256, so 'a/b' and 'ab' never meet, nor 'Prod' and 'prod' on a case-blind disk.
    """
    if not name:
        raise ValueError("project name is empty")
    if _PLAIN_SLUG.fullmatch(name) and not _HASHED_SUFFIX.search(name):
        return name
    readable = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or "project"
    return f"{readable}-{hashlib.sha256(name.encode('utf-8')).hexdigest()[:12]}"


def canonical_run_id(run: dict[str, Any]) -> str:
    raw = run.get("id")
    try:
        run_id = str(uuid.UUID(str(raw)))
    except ValueError:
        raise ValueError(f"run id {raw!r} is not a UUID") from None
    if run_id != raw:
        raise ValueError(f"run id {raw!r} is not in canonical lower-case UUID form")
    return run_id


@dataclass(frozen=True)
class PartitionPaths:
    data_dir: Path
    project: str
    day: date

    @property
    def slug(self) -> str:
        return project_slug(self.project)

    @property
    def project_dir(self) -> Path:
        return self.data_dir / self.slug

    @property
    def dir(self) -> Path:
        return self.project_dir / self.day.isoformat()

    @property
    def manifest(self) -> Path:
        return self.dir / MANIFEST

    @property
    def runs_dir(self) -> Path:
        return self.dir / RUNS_DIR

    @property
    def zip_name(self) -> str:
        return f"{self.slug}_{self.day.isoformat()}.zip"

    @property
    def zip_path(self) -> Path:
        return self.project_dir / self.zip_name

    def run_file(self, run_id: str) -> Path:
        return self.runs_dir / f"{run_id}.json"


@dataclass
class PartitionStats:
    runs: int = 0
    traces: int = 0
    root_runs: int = 0
    pending_runs: int = 0
    error_runs: int = 0
    runs_with_feedback: int = 0
    feedback_records: int = 0
    total_tokens: int = 0
    total_cost: float = 0.0
    bytes: int = 0
    unchanged: bool = field(default=False, compare=False)

    def counts(self) -> dict[str, Any]:
        counts = asdict(self)
        counts.pop("unchanged")
        counts["total_cost"] = round(self.total_cost, 6)
        return counts


def is_root(run: dict[str, Any]) -> bool:
    return run.get("id") == run.get("trace_id")


def _add_run(stats: PartitionStats, run: dict[str, Any], size: int, trace_ids: set[str]) -> None:
    stats.runs += 1
    stats.bytes += size
    trace_ids.add(run.get("trace_id"))
    if run.get("end_time") is None:
        stats.pending_runs += 1
    if run.get("error") or str(run.get("status", "")).upper() == "ERROR":
        stats.error_runs += 1
    feedback = run.get("feedback_records") or []
    if feedback:
        stats.runs_with_feedback += 1
        stats.feedback_records += len(feedback)
    if is_root(run):
        # Root totals already include their children: summing every run would double count.
        stats.root_runs += 1
        stats.total_tokens += int(run.get("total_tokens") or 0)
        stats.total_cost += float(run.get("total_cost") or 0.0)


def _write_bytes(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _content(manifest: dict[str, Any]) -> dict[str, Any]:
    """What a manifest says about the data, without when and how it was fetched."""
    return {key: value for key, value in manifest.items() if key != "source"}


def read_manifest(paths: PartitionPaths) -> dict[str, Any]:
    if not paths.manifest.exists():
        raise FileNotFoundError(
            f"no run files for {paths.project!r} on {paths.day}: {paths.manifest} is missing; "
            "materialize raw_runs for this partition first"
        )
    return jsondoc.parse(paths.manifest.read_bytes())


def recover(paths: PartitionPaths) -> None:
    """Undo a swap that a crash interrupted, and clear abandoned temporary directories."""
    if not paths.project_dir.exists():
        return
    stem = f".{paths.day.isoformat()}."
    for leftover in sorted(paths.project_dir.glob(stem + "*")):
        if ".old-" in leftover.name and not paths.dir.exists():
            leftover.rename(paths.dir)
        else:
            shutil.rmtree(leftover, ignore_errors=True)


def write_partition(
    paths: PartitionPaths, runs: Iterable[dict[str, Any]], source: dict[str, Any]
) -> PartitionStats:
    """Write every run and a manifest into a fresh directory, then swap it in.

    If the fetched content equals what is already there, the old partition (and its
    fetch time) is kept untouched and the stats say `unchanged`. If anything raises, the
    previous partition is left exactly as it was.
    """
    paths.project_dir.mkdir(parents=True, exist_ok=True)
    recover(paths)
    tmp = paths.project_dir / f".{paths.day.isoformat()}.tmp-{uuid.uuid4().hex}"
    (tmp / RUNS_DIR).mkdir(parents=True)
    try:
        stats, files = PartitionStats(), {}
        trace_ids: set[str] = set()
        for run in runs:
            run_id = canonical_run_id(run)
            if run_id in files:
                raise ValueError(
                    f"run {run_id} was returned twice for {paths.project!r} {paths.day}"
                )
            data = jsondoc.canonical_bytes(run)
            _write_bytes(tmp / RUNS_DIR / f"{run_id}.json", data)
            files[run_id] = hashlib.sha256(data).hexdigest()
            _add_run(stats, run, len(data), trace_ids)
        stats.traces = len(trace_ids)
        manifest = {
            "format": FORMAT,
            "project": paths.project,
            "project_slug": paths.slug,
            "date": paths.day.isoformat(),
            "window": day_window(paths.day),
            "counts": stats.counts(),
            "files": dict(sorted(files.items())),
            "source": source,
        }
        if paths.manifest.exists() and _content(read_manifest(paths)) == _content(manifest):
            stats.unchanged = True
            shutil.rmtree(tmp)
            return stats
        _write_bytes(tmp / MANIFEST, jsondoc.canonical_bytes(manifest))
        swap_in(tmp, paths)
        return stats
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def swap_in(new_dir: Path, paths: PartitionPaths) -> None:
    """Replace the partition directory by `new_dir` (a sibling), never leaving both mixed."""
    old = paths.project_dir / f".{paths.day.isoformat()}.old-{uuid.uuid4().hex}"
    if paths.dir.exists():
        paths.dir.rename(old)
    new_dir.rename(paths.dir)
    shutil.rmtree(old, ignore_errors=True)


def day_window(day: date) -> dict[str, str]:
    start = datetime(day.year, day.month, day.day)
    return {
        "root_start_min": start.isoformat() + "Z",
        "root_start_max_exclusive": (start + timedelta(days=1)).isoformat() + "Z",
    }


def run_ids_on_disk(paths: PartitionPaths) -> list[str]:
    """Run ids of the partition's files, sorted (the order Postgres sorts UUIDs in)."""
    if not paths.runs_dir.exists():
        return []
    return sorted(
        entry.name[: -len(".json")]
        for entry in os.scandir(paths.runs_dir)
        if entry.name.endswith(".json")
    )


def iter_run_bytes(
    paths: PartitionPaths, run_ids: list[str] | None = None
) -> Iterator[tuple[str, bytes]]:
    """(run_id, file bytes) in run-id order (or `run_ids` order), one file in memory at a
    time. Plain os.path joins: per-file pathlib objects cost more than reading the file."""
    runs_dir = os.fspath(paths.runs_dir)
    for run_id in run_ids_on_disk(paths) if run_ids is None else run_ids:
        with open(os.path.join(runs_dir, f"{run_id}.json"), "rb") as handle:
            yield run_id, handle.read()


def same_data(manifest: dict[str, Any], other: dict[str, Any]) -> bool:
    """Whether two manifests describe the same runs (fetch time and source aside)."""
    return _content(manifest) == _content(other)
