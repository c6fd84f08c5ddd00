"""On-disk layout of a partition, and the only code that writes or swaps one.

    $LSE_DATA_DIR/<project-slug>/<date>/manifest.json
    $LSE_DATA_DIR/<project-slug>/<date>/runs/<run_id>.json
    $LSE_DATA_DIR/<project-slug>/<project-slug>_<date>.zip

A partition is written into a hidden sibling directory and swapped in whole, so readers
see the old partition or the new one and a re-fetch never leaves old files beside new ones.
A re-fetch merges (docs/archive.md): what LangSmith returns replaces the archived run of the
same id, what it no longer returns stays, recorded as vanished; only `lse forget` removes.

Temporary names (PartitionPaths decides them, all in the project folder): the staging
directory `.<date>.tmp-<uuid>`, the swapped-out directory `.<date>.old-<uuid>` and the zip
being built `<zip>.<uuid>.zip.tmp`. Only a holder of the partition's lock creates them, so
whatever of them the next holder finds belongs to a writer that died: `recover` clears it.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from lse_assets.core import durable, jsondoc, locks, tombstones, zipsafe
from lse_assets.core.invocation import LSE

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

    # Temporary names, unique per writer; created only under the partition's lock.
    def new_staging_dir(self) -> Path:
        return self.project_dir / f".{self.day.isoformat()}.tmp-{uuid.uuid4().hex}"

    def new_old_dir(self) -> Path:
        return self.project_dir / f".{self.day.isoformat()}.old-{uuid.uuid4().hex}"

    def new_zip_tmp(self) -> Path:
        return self.project_dir / f"{self.zip_name}.{uuid.uuid4().hex}.zip.tmp"

    def temporaries(self) -> list[Path]:
        """Every temporary of this partition present now (the three kinds above)."""
        if not self.project_dir.is_dir():
            return []
        found = [
            *self.project_dir.glob(f".{self.day.isoformat()}.tmp-*"),
            *self.project_dir.glob(f".{self.day.isoformat()}.old-*"),
            *self.project_dir.glob(f"{glob.escape(self.zip_name)}.*.zip.tmp"),
        ]
        return sorted(found)


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
    vanished_runs: int = 0
    unchanged: bool = field(default=False, compare=False)
    # What this write did, reported in metadata but not part of the manifest's counts.
    vanished_sample: list[str] = field(default_factory=list, compare=False)
    recovered_from_archive: int = field(default=0, compare=False)
    recovered_from_disk: int = field(default=0, compare=False)
    strays_dropped: int = field(default=0, compare=False)
    forgotten_skipped: int = field(default=0, compare=False)
    leftovers_cleared: int = field(default=0, compare=False)

    def counts(self) -> dict[str, Any]:
        counts = asdict(self)
        for key in _WRITE_ONLY:
            counts.pop(key)
        counts["total_cost"] = round(self.total_cost, 6)
        return counts


_WRITE_ONLY = (
    "unchanged",
    "vanished_sample",
    "recovered_from_archive",
    "recovered_from_disk",
    "strays_dropped",
    "forgotten_skipped",
    "leftovers_cleared",
)


def direct_parent(run: dict[str, Any]) -> str | None:
    """A run's direct parent: v1's parent_run_id, else the last of v2's parent_run_ids."""
    if run.get("parent_run_id"):
        return str(run["parent_run_id"])
    parents = run.get("parent_run_ids")
    return str(parents[-1]) if isinstance(parents, list) and parents else None


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
    durable.write_file(path, data)


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


def recover(paths: PartitionPaths) -> int:
    """Undo a swap that a crash interrupted, and clear every abandoned temporary of the
    partition (PartitionPaths.temporaries); return how many are gone. One the file system
    refuses to remove stays, is not counted, and is tried again by the next writer.

    Call it only while holding the partition's lock (locks.partition_lock): every writer
    holds it, so anything left beside the partition then belongs to a writer that died."""
    leftovers = paths.temporaries()
    for leftover in leftovers:
        if ".old-" in leftover.name and leftover.is_dir() and not paths.dir.exists():
            leftover.rename(paths.dir)  # the crash fell between the two renames of a swap
        elif leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
    return sum(not leftover.exists() for leftover in leftovers)


class UnreadableRunError(ValueError):
    """A run file that is not readable as the checks read it; the message says why."""


def read_run(data: bytes, run_id: str) -> dict[str, Any]:
    """The run a file holds, read as the checks read it (jsondoc.parse for runs_complete,
    the NUL rule's form for files_match_db, the same limits): an object whose `id` is the
    run id of its file name. UnreadableRunError (the reason) otherwise."""
    try:
        run = jsondoc.parse_as_checked(data)
    except ValueError as error:  # not JSON, bad UTF-8, nested too deep
        raise UnreadableRunError(f"not readable JSON: {error}") from None
    if not isinstance(run, dict) or run.get("id") != run_id:
        found = run.get("id") if isinstance(run, dict) else type(run).__name__
        raise UnreadableRunError(f"it does not hold run {run_id} (found {found!r})")
    return run


@dataclass
class LocalState:
    """The partition on disk, verified against its own manifest."""

    manifest: dict[str, Any] | None
    good: set[str]  # listed runs whose file has the listed sha256
    intact: bool  # the set of files equals the listing and every sha256 matches
    # Names of files in runs/ that no readable manifest lists (all of them when the
    # manifest is missing or unreadable): evidence of archived runs, or damage.
    unvouched: list[str] = field(default_factory=list)


def inspect_local(paths: PartitionPaths) -> LocalState:
    try:
        manifest = read_manifest(paths)
        listed: dict[str, str] = dict(manifest.get("files") or {})
    except (FileNotFoundError, ValueError, AttributeError, TypeError):
        manifest, listed = None, {}
    good: set[str] = set()
    unvouched: list[str] = []
    intact = manifest is not None
    runs_dir = os.fspath(paths.runs_dir)
    names = sorted(os.listdir(runs_dir)) if paths.runs_dir.is_dir() else []
    for name in names:
        run_id = name[: -len(".json")] if name.endswith(".json") else None
        expected = listed.get(run_id) if run_id else None
        if expected is None:
            intact = False  # a file the manifest does not list
            unvouched.append(name)
            continue
        with open(os.path.join(runs_dir, name), "rb") as handle:
            if hashlib.sha256(handle.read()).hexdigest() == expected:
                good.add(run_id)
            else:
                intact = False
    return LocalState(manifest, good, intact and good == set(listed), unvouched)


# Given a scratch directory, zips of earlier versions of the partition (the local zip, the
# archive store's copy), each already verified against its source. Consulted only when the
# local partition is damaged, so a damaged disk never shrinks the archive.
PreviousZips = Callable[[Path], Iterable[Path]]


class VerifiedDownloads(Protocol):
    def download_verified(self, project: str, name: str, destination: Path) -> Path | None: ...


def previous_zips_from(paths: PartitionPaths, store: VerifiedDownloads) -> PreviousZips:
    """Earlier versions of a damaged partition: the local zip, then the archive store's
    (downloaded only when needed, checked against the store's md5 and size)."""

    def zips(scratch: Path) -> Iterator[Path]:
        if paths.zip_path.is_file():
            yield paths.zip_path
        stored = store.download_verified(paths.project, paths.zip_name, scratch / paths.zip_name)
        if stored is not None:
            yield stored

    return zips


class ArchiveLossError(RuntimeError):
    """Runs the archive held are neither on disk, nor in any zip, nor returned by LangSmith."""


class UnreadableArchiveError(ArchiveLossError):
    """Archived runs whose only copies cannot be read; the message names them and the fix."""


class _Writer:
    """Run files written into a fresh directory as they come, with running totals."""

    def __init__(self, tmp: Path) -> None:
        self.dir = os.fspath(tmp / RUNS_DIR)
        self.files: dict[str, str] = {}
        self.parents: dict[str, str] = {}  # run id -> its direct parent (roots have none)
        self.stats = PartitionStats()
        self.trace_ids: set[str] = set()

    def add(
        self,
        run_id: str,
        data: bytes,
        run: dict[str, Any],
        archived: tuple[Path, str] | None = None,
    ) -> None:
        """Add a run file. `archived` is an intact archived file and its sha256: when the
        bytes are the same it is hard-linked (already on disk: nothing to write or sync).
        No fsync per file: one sync of the file system before the swap (lse_assets.core.durable).
        """
        digest = hashlib.sha256(data).hexdigest()
        target = os.path.join(self.dir, f"{run_id}.json")
        if archived is not None and archived[1] == digest:
            try:
                os.link(archived[0], target)
            except OSError:  # a file system without hard links
                durable.write_file(Path(target), data, sync=False)
        else:
            durable.write_file(Path(target), data, sync=False)
        self.files[run_id] = digest
        parent = direct_parent(run)
        if parent:
            self.parents[run_id] = parent
        _add_run(self.stats, run, len(data), self.trace_ids)


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def write_partition(
    paths: PartitionPaths,
    runs: Iterable[dict[str, Any]],
    source: dict[str, Any],
    *,
    previous_zips: PreviousZips | None = None,
    fetched: bool = True,
    lock_timeout: float = locks.DEFAULT_TIMEOUT_SECONDS,
) -> PartitionStats:
    """Merge `runs` into the archived partition, write it into a fresh directory, swap it in.

    A run in `runs` replaces the archived run of the same id; an archived run not in `runs`
    is kept and, when `fetched` (runs are what LangSmith returns now), recorded in the
    manifest's `vanished` map with the time LangSmith was first seen without it. Runs the
    project's tombstones cover (lse forget) are dropped. Archived runs come, in this order,
    from the local files that match the manifest, from `previous_zips` (when the local
    partition is not intact), and from run files on disk that no readable manifest lists
    but that read as a run carrying their own id (`recovered_from_disk`): no manifest
    vouches for them, yet they are the archive's only evidence of those runs.

    A kept run that cannot be read as the checks read it (read_run), and that no other
    copy, fetch or tombstone replaces, fails the write (UnreadableRunError's message names
    each file and the way out): nothing is dropped silently.

    If the merged content equals the manifest and the files on disk equal the manifest
    (set of files and every sha256), the old partition is kept untouched and the stats say
    `unchanged`. If anything raises, the previous partition is left exactly as it was.
    """
    paths.project_dir.mkdir(parents=True, exist_ok=True)
    with locks.partition_lock(paths, lock_timeout):
        cleared = recover(paths)
        tmp = paths.new_staging_dir()
        (tmp / RUNS_DIR).mkdir(parents=True)
        try:
            stats = _merge_and_swap(paths, tmp, runs, source, previous_zips, fetched)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        stats.leftovers_cleared = cleared
        return stats


class _Merge:
    """The runs of the new partition, and the archived runs that could not be read."""

    def __init__(self, paths: PartitionPaths, tmp: Path) -> None:
        self.paths = paths
        self.writer = _Writer(tmp)
        self.forgotten = tombstones.read(paths.project_dir)
        self.kept: dict[str, str] = {}  # archived run id -> "" (its vanished time is decided later)
        self.unreadable: dict[str, str] = {}  # run id (or file name) -> where and why

    def has(self, run_id: str | None) -> bool:
        return run_id in self.writer.files

    def keep(self, run_id: str, data: bytes, where: str, link: Path | None = None) -> bool:
        """Keep an archived run's bytes unless forgotten; an unreadable one is recorded."""
        try:
            run = read_run(data, run_id)
        except UnreadableRunError as error:
            if not self.forgotten.covers(run_id, run_id):
                self.unreadable.setdefault(run_id, f"{where}: {error}")
            return False
        self.unreadable.pop(run_id, None)
        if self.forgotten.covers(run_id, run.get("trace_id")):
            return False
        digest = hashlib.sha256(data).hexdigest()
        self.writer.add(run_id, data, run, (link, digest) if link is not None else None)
        self.kept[run_id] = ""
        return True

    def refuse_unreadable(self) -> None:
        blocking = {k: v for k, v in self.unreadable.items() if not self.has(k)}
        if not blocking:
            return
        paths, names = self.paths, sorted(blocking)
        run_ids = [name for name in names if not name.endswith(".json") and "." not in name]
        fix = (
            "put a good zip of the day back in the archive store and run "
            f"`{LSE} restore --force --project {paths.project!r} --date {paths.day}`"
        )
        if run_ids:
            shown = " ".join(f"--run-id {run_id}" for run_id in run_ids[:3])
            fix += f", or accept the loss with `{LSE} forget --project {paths.project!r} {shown}`"
        if len(run_ids) < len(names):
            fix += f"; move files that are not runs out of {paths.runs_dir}"
        raise UnreadableArchiveError(
            f"{len(names)} archived run file(s) of {paths.project!r} {paths.day} cannot be "
            "read (as the checks read them) and no other copy replaces them: "
            + "; ".join(blocking[name] for name in names[:3])
            + (f"; and {len(names) - 3} more" if len(names) > 3 else "")
            + f"; nothing was changed. To go on, {fix}"
        )


def _merge_and_swap(
    paths: PartitionPaths,
    tmp: Path,
    runs: Iterable[dict[str, Any]],
    source: dict[str, Any],
    previous_zips: PreviousZips | None,
    fetched: bool,
) -> PartitionStats:
    merge = _Merge(paths, tmp)
    writer, forgotten = merge.writer, merge.forgotten
    local = inspect_local(paths)
    listed_sha: dict[str, str] = dict((local.manifest or {}).get("files") or {})
    for run in runs:
        run_id = canonical_run_id(run)
        if run_id in writer.files:
            raise ValueError(f"run {run_id} was returned twice for {paths.project!r} {paths.day}")
        if forgotten.covers(run_id, run.get("trace_id")):
            writer.stats.forgotten_skipped += 1
            continue
        archived = (paths.run_file(run_id), listed_sha[run_id]) if run_id in local.good else None
        writer.add(run_id, jsondoc.canonical_bytes(run), run, archived)
    returned = set(writer.files)

    old_vanished: dict[str, str] = dict((local.manifest or {}).get("vanished") or {})
    listed = set(listed_sha)
    for run_id in sorted(local.good - returned):
        path = paths.run_file(run_id)
        merge.keep(run_id, path.read_bytes(), str(path), link=path)
    if not local.intact and previous_zips is not None:
        scratch = tmp / ".previous"
        scratch.mkdir()
        for zip_path in previous_zips(scratch):
            old_vanished_zip, listed_zip = _take_from_zip(zip_path, merge)
            listed |= listed_zip
            for run_id, since in old_vanished_zip.items():
                old_vanished.setdefault(run_id, since)
        shutil.rmtree(scratch, ignore_errors=True)
    _take_from_disk(paths, local, merge)
    merge.refuse_unreadable()
    # A root's trace id is its own id; forget records every run id of a forgotten trace.
    lost = sorted(r for r in listed - set(writer.files) if not forgotten.covers(r, r))
    if lost:
        raise ArchiveLossError(
            f"{len(lost)} archived runs of {paths.project!r} {paths.day} are damaged or "
            f"missing on disk, in the local zip and in the archive store, and LangSmith no "
            f"longer returns them (e.g. {', '.join(lost[:3])}); nothing was changed. Put a "
            "good copy of the zip back in the store (or the local data dir), or accept the "
            f"loss with `{LSE} forget --run-id ...` for these runs"
        )

    now = _now()
    vanished = {}
    for run_id in merge.kept:
        if run_id in returned:
            continue
        since = old_vanished.get(run_id) or (now if fetched else "")
        if since:
            vanished[run_id] = since
    stats = writer.stats
    stats.traces = len(writer.trace_ids)
    stats.vanished_runs = len(vanished)
    stats.vanished_sample = sorted(vanished)[:10]
    manifest = {
        "format": FORMAT,
        "project": paths.project,
        "project_slug": paths.slug,
        "date": paths.day.isoformat(),
        "window": day_window(paths.day),
        "counts": stats.counts(),
        "files": dict(sorted(writer.files.items())),
        # Recorded as the runs are written, so readers that need the tree (the Parquet
        # copy's child_run_ids) do not read every file twice.
        "parents": dict(sorted(writer.parents.items())),
        "vanished": dict(sorted(vanished.items())),
        "source": source,
    }
    if local.intact and local.manifest is not None and same_data(local.manifest, manifest):
        stats.unchanged = True
        return stats
    _write_bytes(tmp / MANIFEST, jsondoc.canonical_bytes(manifest))
    durable.sync_filesystem(tmp)
    swap_in(tmp, paths)
    return stats


def _take_from_zip(zip_path: Path, merge: _Merge) -> tuple[dict[str, str], set[str]]:
    """Copy the runs a verified earlier zip holds and the merge lacks (sha256-checked)."""
    # Opened with the same caps as a zip from elsewhere: the local zip and the store's copy
    # are outside the partition's lock and may have been replaced by anyone.
    try:
        archive = zipsafe.open_checked(zip_path)
    except (zipsafe.UnsafeZipError, OSError):
        return {}, set()  # a damaged or hostile copy: the next one may be good
    with archive:
        try:
            manifest = jsondoc.parse(zipsafe.read_member(archive, MANIFEST, zip_path.name))
        except (KeyError, ValueError, zipsafe.UnsafeZipError, OSError):
            return {}, set()
        if not isinstance(manifest, dict):
            return {}, set()
        files: dict[str, str] = dict(manifest.get("files") or {})
        for run_id, digest in sorted(files.items()):
            if merge.has(run_id):
                continue
            try:
                data = zipsafe.read_member(archive, f"{RUNS_DIR}/{run_id}.json", zip_path.name)
            except (KeyError, zipsafe.UnsafeZipError, OSError):
                continue
            if hashlib.sha256(data).hexdigest() != digest:
                continue
            if merge.keep(run_id, data, f"{zip_path.name}:{RUNS_DIR}/{run_id}.json"):
                merge.writer.stats.recovered_from_archive += 1
    return dict(manifest.get("vanished") or {}), set(files)


def _take_from_disk(paths: PartitionPaths, local: LocalState, merge: _Merge) -> None:
    """Keep the runs of files no readable manifest lists, when no fetch or zip had them:
    a file that reads as a run carrying its own id is evidence of an archived run.

    A file that does not read so is damage when the manifest is missing or unreadable (it
    may be the only copy of a run: the merge fails, naming it); beside a readable manifest,
    which lists every run the archive holds, it is a stray the rewrite leaves behind."""
    for name in local.unvouched:
        run_id = name[: -len(".json")] if name.endswith(".json") else None
        if merge.has(run_id):
            continue  # LangSmith or a verified zip gave this run: the file is superseded
        path = paths.runs_dir / name
        try:
            canonical_run_id({"id": run_id})
            data = path.read_bytes()
            read_run(data, run_id)
        except ValueError as error:
            if local.manifest is None and not merge.forgotten.covers(run_id, run_id):
                reason = error if run_id else "not a run file (runs/ holds <run id>.json)"
                merge.unreadable[run_id or name] = f"{path}: {reason}"
            else:
                merge.writer.stats.strays_dropped += 1  # left out, but never silently
            continue
        if merge.keep(run_id, data, str(path), link=path):
            merge.writer.stats.recovered_from_disk += 1


def swap_in(new_dir: Path, paths: PartitionPaths) -> None:
    """Replace the partition directory by `new_dir` (a sibling), never leaving both mixed.

    The caller holds the partition lock and has made `new_dir`'s files durable; the
    directory is fsynced after the renames so the swap itself survives a power cut. The
    lock is confirmed first: a writer whose lock was lost (its database session ended)
    replaces nothing (locks.LockLostError)."""
    locks.confirm_partition(paths)
    old = paths.new_old_dir()
    if paths.dir.exists():
        paths.dir.rename(old)
    new_dir.rename(paths.dir)
    durable.fsync_dir(paths.project_dir)
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
    time. Raw descriptors relative to the runs folder: a buffered `open()` per file (and
    per-file pathlib objects) cost twice the reading itself over 100k small files."""
    ids = run_ids_on_disk(paths) if run_ids is None else run_ids
    if not ids:
        return
    folder = os.open(paths.runs_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for run_id in ids:
            yield run_id, _read_at(folder, f"{run_id}.json")
    finally:
        os.close(folder)


_CHUNK = 1 << 16


def _read_at(folder: int, name: str) -> bytes:
    handle = os.open(name, os.O_RDONLY, dir_fd=folder)
    try:
        data = os.read(handle, _CHUNK)
        if len(data) < _CHUNK:  # a regular file reads short only at its end
            return data
        chunks = [data]
        while chunk := os.read(handle, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(handle)


def same_data(manifest: dict[str, Any], other: dict[str, Any]) -> bool:
    """Whether two manifests describe the same runs (fetch time and source aside)."""
    return _content(manifest) == _content(other)
