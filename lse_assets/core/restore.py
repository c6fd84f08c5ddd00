"""Rebuild partitions' files from the archive store (`lse restore`), so that an empty machine
can get its files, and then its database, back from Drive alone.

For each requested day the project's archive is found in the store (our name
`<slug>_<date>.zip`, else a predecessor zip named `*_<date>.zip` from a listing of every
page), downloaded, and checked against the store's md5 and size. Then:
- our zips: every entry is checked (only `manifest.json` and `runs/<uuid>.json`, each
  run's sha256 as the manifest says and its document readable as the checks read it,
  runfiles.read_run; the manifest's project and date), extracted into a
  fresh directory and swapped in whole (runfiles.swap_in); the zip becomes the partition's
  local zip, byte-identical, so run_archive and drive_archive have nothing to change;
- predecessor zips: converted by core.legacy.formats and written by runfiles.write_partition,
  filed by trace-root day; each legacy day also reads the next day's zip, which holds the
  children of its traces that crossed midnight.
A partition that exists locally with other data is left alone unless `force`. Nothing is
swapped in before it is verified, so a failed day leaves the previous files as they were.
Every zip passes lse_assets.core.zipsafe before anything of it is read (a zip bomb is refused
unread), and one unreadable archive fails its own day only: the others go on.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import tempfile
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from lse_assets.core import durable, jsondoc, locks, remote_copy, runfiles, tombstones, zipsafe
from lse_assets.core.legacy import formats as legacy
from lse_assets.core.ports import ArchiveStore, RemoteFile
from lse_assets.core.runfiles import PartitionPaths


class RestoreError(Exception):
    """This day cannot be restored as it is; the message says why."""


@dataclass
class DayOutcome:
    day: date
    status: str  # restored | unchanged | missing | skipped | failed
    archive: str = ""
    kind: str = ""  # lse | legacy
    runs: int = 0
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("restored", "unchanged")


@dataclass
class RestoreReport:
    outcomes: list[DayOutcome]
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(outcome.ok for outcome in self.outcomes)


def _write(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _is_ours(zip_path: Path, label: str | None = None) -> bool:
    """Whether the zip holds our manifest; checked first against the zip-safety rules
    (lse_assets.core.zipsafe), so an unsafe archive is refused before anything is read."""
    with zipsafe.open_checked(zip_path, label) as archive:
        return runfiles.MANIFEST in archive.namelist()


# What one unreadable archive can raise: it fails its own day, never the whole restore.
_DAY_ERRORS = (
    RestoreError,
    zipsafe.UnsafeZipError,
    zipfile.BadZipFile,
    zlib.error,
    FileNotFoundError,
)


def _refuse_damaged_tombstones(paths: PartitionPaths) -> None:
    """A project whose forgotten.json is damaged gets no writes (lse_assets.core.tombstones)."""
    try:
        tombstones.read(paths.project_dir)
    except tombstones.DamagedTombstonesError as error:
        raise RestoreError(str(error)) from None


def _reason(error: BaseException) -> str:
    if isinstance(error, RestoreError | zipsafe.UnsafeZipError):
        return str(error)
    return f"the archive cannot be read ({type(error).__name__}: {error})"


class _Restore:
    def __init__(
        self,
        store: ArchiveStore,
        project: str,
        paths_for: Callable[[date], PartitionPaths],
        force: bool,
        workdir: Path,
    ) -> None:
        self.store, self.project, self.paths_for, self.force = store, project, paths_for, force
        self.workdir = workdir
        self.notes: list[str] = []
        self._listing: list[RemoteFile] | None = None

    def locate(self, day: date) -> RemoteFile | None:
        """Our archive of the day, else the predecessor's; None when there is neither."""
        ours = self.paths_for(day).zip_name
        found = self.store.find(self.project, ours)
        if found is not None:
            return found
        if self._listing is None:
            self._listing = self.store.list_archives(self.project)
        suffix = f"_{day.isoformat()}.zip"
        candidates = [r for r in self._listing if r.name.endswith(suffix) and r.name != ours]
        if len(candidates) > 1:
            names = ", ".join(sorted(r.name for r in candidates))
            raise RestoreError(
                f"several archives for {day} in the store ({names}); keep one of them"
            )
        return candidates[0] if candidates else None

    def download(self, day: date, remote: RemoteFile) -> Path:
        target = self.workdir / f"{day.isoformat()}-{uuid.uuid4().hex}.zip"
        self.store.download(self.project, remote.name, target)
        comparison = remote_copy.compare(target, remote.md5, remote.size)
        if not comparison.identical:
            raise RestoreError(
                f"the download of {remote.name} does not match the store's copy ("
                + "; ".join(comparison.problems)
                + "); nothing was changed, try again"
            )
        return target

    def restore_ours(self, day: date, remote: RemoteFile, zip_path: Path) -> DayOutcome:
        paths = self.paths_for(day)
        with zipsafe.open_checked(zip_path, remote.name) as archive:
            manifest_bytes = zipsafe.read_member(archive, runfiles.MANIFEST, remote.name)
            try:
                manifest = jsondoc.parse(manifest_bytes)
            except ValueError as error:  # bad UTF-8, not JSON, nested too deep
                raise RestoreError(
                    f"{remote.name}: its manifest is not readable JSON ({error}); the archive "
                    "is damaged"
                ) from None
            files = self._checked_manifest(manifest, paths, remote.name)
            entries = {runfiles.MANIFEST} | {f"{runfiles.RUNS_DIR}/{rid}.json" for rid in files}
            names = set(archive.namelist())
            if names != entries:
                raise RestoreError(
                    f"{remote.name}: entries do not match its manifest (missing: "
                    f"{sorted(entries - names)[:5]}, unexpected: {sorted(names - entries)[:5]})"
                )
            self._check_runs(archive, files, remote.name)
            outcome = DayOutcome(day, "restored", remote.name, "lse", len(files))
            paths.project_dir.mkdir(parents=True, exist_ok=True)
            # One writer per partition (lse_assets.core.locks); --force always rewrites, and
            # "unchanged" is said only when the files on disk verify against the manifest.
            with locks.partition_lock(paths):
                _refuse_damaged_tombstones(paths)
                local = runfiles.inspect_local(paths) if paths.manifest.exists() else None
                if local is not None and not self.force:
                    if local.intact and runfiles.same_data(local.manifest or {}, manifest):
                        outcome.status = "unchanged"
                        if not paths.zip_path.exists():
                            shutil.move(zip_path, paths.zip_path)
                        return outcome
                    skipped = self._skipped(outcome, paths)
                    if not local.intact:
                        skipped.detail = (
                            f"{paths.dir} is damaged (files differ from its manifest); "
                            "materialize raw_runs to repair it without losing runs, or use "
                            "--force to replace it with the archive"
                        )
                    return skipped
                runfiles.recover(paths)
                tmp = paths.new_staging_dir()
                (tmp / runfiles.RUNS_DIR).mkdir(parents=True)
                try:
                    for run_id, digest in files.items():
                        member = f"{runfiles.RUNS_DIR}/{run_id}.json"
                        with open(tmp / runfiles.RUNS_DIR / f"{run_id}.json", "wb") as target:
                            copied = zipsafe.copy_member(archive, member, target, remote.name)
                        if copied != digest:
                            raise RestoreError(
                                f"{remote.name}: run {run_id} does not have the sha256 its "
                                "manifest records; the archive is damaged"
                            )
                    _write(tmp / runfiles.MANIFEST, manifest_bytes)
                    # One sync of the file system for all run files (lse_assets.core.durable).
                    durable.sync_filesystem(tmp)
                    runfiles.swap_in(tmp, paths)
                except BaseException:
                    shutil.rmtree(tmp, ignore_errors=True)
                    raise
                shutil.move(zip_path, paths.zip_path)
        return outcome

    def _check_runs(self, archive: zipfile.ZipFile, files: dict[str, str], name: str) -> None:
        """Every run as the checks will read it (runfiles.read_run), and as its manifest
        records it (sha256), before anything is written: a day with one unreadable run is
        refused whole. One member in memory at a time (zipsafe bounds its size)."""
        for run_id, digest in sorted(files.items()):
            data = zipsafe.read_member(archive, f"{runfiles.RUNS_DIR}/{run_id}.json", name)
            if hashlib.sha256(data).hexdigest() != digest:
                raise RestoreError(
                    f"{name}: run {run_id} does not have the sha256 its manifest records; "
                    "the archive is damaged"
                )
            try:
                runfiles.read_run(data, run_id)
            except runfiles.UnreadableRunError as error:
                raise RestoreError(
                    f"{name}: run {run_id} cannot be read as the checks read it: {error}; "
                    "nothing was written. "
                    "Restore this day from a good copy of the zip"
                ) from None

    def _checked_manifest(self, manifest: Any, paths: PartitionPaths, name: str) -> dict[str, str]:
        if not isinstance(manifest, dict) or manifest.get("format") != runfiles.FORMAT:
            raise RestoreError(f"{name}: its manifest is not of format {runfiles.FORMAT}")
        if manifest.get("project") != self.project or manifest.get("date") != str(paths.day):
            raise RestoreError(
                f"{name} holds project {manifest.get('project')!r} on {manifest.get('date')}, "
                f"not {self.project!r} on {paths.day}"
            )
        files = manifest.get("files")
        if not isinstance(files, dict):
            raise RestoreError(f"{name}: its manifest lists no files")
        for run_id in files:
            try:
                runfiles.canonical_run_id({"id": run_id})
            except ValueError as exc:
                raise RestoreError(f"{name}: {exc}") from None
        return files

    def _skipped(self, outcome: DayOutcome, paths: PartitionPaths) -> DayOutcome:
        outcome.status = "skipped"
        outcome.detail = (
            f"{paths.dir} already holds other runs; use --force to replace them with the archive"
        )
        return outcome

    def restore_legacy(
        self, downloaded: dict[date, tuple[RemoteFile, Path]]
    ) -> dict[date, DayOutcome]:
        runs = legacy.LegacyRuns()
        unreadable: dict[date, DayOutcome] = {}
        for day, (remote, path) in sorted(downloaded.items()):
            try:
                runs.add_zip(path, label=remote.name)  # all of the zip, or none of it
            except (legacy.LegacyFormatError, zipsafe.UnsafeZipError) as error:
                unreadable[day] = DayOutcome(
                    day, "failed", remote.name, "legacy", detail=str(error)
                )
        downloaded = {day: found for day, found in downloaded.items() if day not in unreadable}
        if not downloaded:
            return unreadable
        try:
            for day in sorted(downloaded):
                self._add_following_day(runs, day, downloaded)
            per_day = runs.days()
        except legacy.LegacyFormatError as error:
            return unreadable | {
                day: DayOutcome(day, "failed", remote.name, "legacy", detail=str(error))
                for day, (remote, _) in downloaded.items()
            }
        unplaced = runs.unplaced()
        if unplaced:
            self.notes.append(
                f"{len(unplaced)} runs belong to traces that started before "
                f"{min(downloaded)} (their ancestors are in archives not read), e.g. "
                f"{', '.join(unplaced[:3])}; restore those days too to include them"
            )
        latest = max(downloaded)
        for other, count in sorted(per_day.items()):
            if other not in downloaded and other < latest:
                self.notes.append(
                    f"{count} runs in the legacy archives read belong to traces rooted on "
                    f"{other}, which was not restored; restore {other} to include them"
                )
        outcomes = dict(unreadable)
        for day, (remote, _) in sorted(downloaded.items()):
            try:
                outcomes[day] = self._legacy_day(day, remote.name, runs)
            # LegacyFormatError, a run write_partition refuses, or local runs it cannot keep
            except (ValueError, runfiles.ArchiveLossError) as error:
                outcomes[day] = DayOutcome(day, "failed", remote.name, "legacy", detail=str(error))
        return outcomes

    def _add_following_day(
        self, runs: legacy.LegacyRuns, day: date, downloaded: dict[date, tuple[RemoteFile, Path]]
    ) -> None:
        """The predecessor filed runs by their own start: children of `day`'s traces that
        started after midnight are in the next day's zip."""
        following = day + timedelta(days=1)
        if following in downloaded:
            return
        try:
            remote = self.locate(following)
            path = self.download(following, remote) if remote is not None else None
        except RestoreError as error:
            self.notes.append(f"could not read the archive of {following}: {error}")
            return
        try:
            if path is not None and not _is_ours(path, remote.name):
                runs.add_zip(path, label=remote.name)
        except (legacy.LegacyFormatError, zipsafe.UnsafeZipError) as error:
            self.notes.append(f"could not read the archive of {following}: {error}")

    def _legacy_day(self, day: date, name: str, runs: legacy.LegacyRuns) -> DayOutcome:
        paths = self.paths_for(day)
        outcome = DayOutcome(day, "restored", name, "legacy")
        if paths.manifest.exists() and not self.force:
            # Same runs as the local files (canonical bytes, as write_partition hashes
            # them)? Then write_partition keeps the files; otherwise keep them unless forced.
            local = runfiles.read_manifest(paths).get("files")
            converted = {
                run["id"]: hashlib.sha256(jsondoc.canonical_bytes(run)).hexdigest()
                for run in runs.runs_for(day)
            }
            if local != converted:
                return self._skipped(outcome, paths)
        report = runs.report(day)
        stats = runfiles.write_partition(paths, runs.runs_for(day), report.as_source())
        outcome.runs = stats.runs
        outcome.status = "unchanged" if stats.unchanged else "restored"
        derived = ", ".join(f"{k} of {v}" for k, v in report.derived.items() if v)
        outcome.detail = "; ".join(
            part
            for part in (
                "shapes " + ", ".join(f"{k}: {v}" for k, v in report.shapes.items()),
                f"derived {derived}" if derived else "",
                f"{report.duplicates_dropped} duplicate files dropped"
                if report.duplicates_dropped
                else "",
                f"{report.runs_without_feedback_records} runs without feedback_records"
                if report.runs_without_feedback_records
                else "",
            )
            if part
        )
        return outcome


_WORKDIR_PREFIX = ".lse-restore-"


@contextmanager
def _workdir(data_dir: Path) -> Iterator[tuple[Path, int]]:
    """A fresh work folder for downloads, `<data dir>/.lse-restore-<random>`, and how many
    folders of restores that died (kill -9 skips every cleanup) were cleared first.

    A live restore holds an flock on its folder, which the kernel drops when it dies; a
    folder that can be locked is abandoned. Creating and locking a folder happens under a
    shared lock that the clearing takes exclusively, so a folder is never seen created but
    not yet locked."""
    guard_path = data_dir / locks.LOCKS_DIR / "restore-workdirs.lock"
    guard_path.parent.mkdir(parents=True, exist_ok=True)
    guard = os.open(guard_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(guard, fcntl.LOCK_EX)
        cleared = sum(_clear_if_abandoned(f) for f in data_dir.glob(_WORKDIR_PREFIX + "*"))
        fcntl.flock(guard, fcntl.LOCK_SH)  # a downgrade: others may now clear, not race us
        folder = Path(tempfile.mkdtemp(prefix=_WORKDIR_PREFIX, dir=data_dir))
        held = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        fcntl.flock(held, fcntl.LOCK_EX)
    finally:
        os.close(guard)
    try:
        yield folder, cleared
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        os.close(held)


def _clear_if_abandoned(folder: Path) -> bool:
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False  # its restore is running
    else:
        shutil.rmtree(folder, ignore_errors=True)
        return True
    finally:
        os.close(fd)


def restore(
    store: ArchiveStore,
    project: str,
    days: list[date],
    paths_for: Callable[[date], PartitionPaths],
    *,
    force: bool = False,
) -> RestoreReport:
    """Restore each day's partition of `project` from `store`; one outcome per day."""
    data_dir = paths_for(days[0]).data_dir if days else Path(".")
    data_dir.mkdir(parents=True, exist_ok=True)
    outcomes: dict[date, DayOutcome] = {}
    with _workdir(data_dir) as (workdir, cleared):
        session = _Restore(store, project, paths_for, force, workdir)
        if cleared:
            session.notes.append(f"cleared {cleared} work folder(s) of restores that died")
        downloaded_legacy: dict[date, tuple[RemoteFile, Path]] = {}
        for day in days:
            try:
                remote = session.locate(day)
                if remote is None:
                    outcomes[day] = DayOutcome(
                        day, "missing", detail=f"no archive of {project!r} for {day} in the store"
                    )
                    continue
                path = session.download(day, remote)
                if _is_ours(path, remote.name):
                    outcomes[day] = session.restore_ours(day, remote, path)
                else:
                    downloaded_legacy[day] = (remote, path)
            except _DAY_ERRORS as error:
                # This day only: the others are restored, and the command exits non-zero.
                outcomes[day] = DayOutcome(day, "failed", detail=_reason(error))
        if downloaded_legacy:
            outcomes.update(session.restore_legacy(downloaded_legacy))
        return RestoreReport([outcomes[day] for day in days], session.notes)
