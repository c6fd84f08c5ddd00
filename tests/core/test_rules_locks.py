"""Every writer of a partition holds its lock (lse_assets.core.locks.partition_lock) while it
writes: raw_runs' write, the zip build, restore (our zips and the predecessor's),
import-legacy, forget (around the rewrite, the upload and the Parquet rewrite) and the
Parquet publish. Two ways to see it, both across processes as the kernel lock works:
- a probe: at the moment the writer changes something, another process tries the lock and
  must find it busy;
- a holder: while another process holds the lock, the writer waits and changes nothing,
  then finishes once the lock is released.
A writer that skips the lock fails both."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from lse_assets.core import archive, durable, locks, parquet_publish, runfiles
from lse_assets.core.forget import forget
from lse_assets.core.legacy.importer import import_legacy
from lse_assets.core.restore import restore
from lse_assets.core.runfiles import PartitionPaths
from resources.drive.local_folder import LocalFolderDriveResource
from resources.langsmith.sample import SampleLangSmithResource
from resources.object_store.resource import ParquetStoreResource
from tests.conftest import PROJECT_A
from tests.fakes.legacy_zips import predecessor_zips

DAY = date(2025, 9, 13)
_fork = multiprocessing.get_context("fork")


def _runs(variant: int = 0) -> list[dict]:
    return list(SampleLangSmithResource(variant=variant).fetch_day(PROJECT_A, DAY).runs)


def _try_lock(data_dir: str, project: str, day: date, answer) -> None:
    locks._held.depth = {}  # the forking thread's re-entrancy is not this process's
    try:
        with locks.partition_lock(PartitionPaths(Path(data_dir), project, day), timeout=0):
            answer.put("free")
    except locks.PartitionBusyError:
        answer.put("busy")


def busy_elsewhere(paths: PartitionPaths) -> bool:
    """Whether another process finds the partition's lock taken right now."""
    answer = _fork.SimpleQueue()
    probe = _fork.Process(
        target=_try_lock, args=(str(paths.data_dir), paths.project, paths.day, answer)
    )
    probe.start()
    probe.join(30)
    assert probe.exitcode == 0
    return answer.get() == "busy"


@dataclass
class World:
    tmp: Path
    paths: PartitionPaths
    store: LocalFolderDriveResource
    parquet: ParquetStoreResource

    def paths_for(self, day: date) -> PartitionPaths:
        return PartitionPaths(self.paths.data_dir, PROJECT_A, day)


class NoRows:
    def forget_runs(self, project, run_ids, trace_ids, *, dry_run=False) -> int:
        return 0


@pytest.fixture
def world(tmp_path) -> World:
    paths = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)
    store = LocalFolderDriveResource(folder=str(tmp_path / "drive"))
    parquet = ParquetStoreResource(url=str(tmp_path / "parquet"))
    runfiles.write_partition(paths, iter(_runs(0)), {"variant": 0})
    store.upsert(PROJECT_A, archive.build_archive(paths).path)
    parquet_publish.publish(paths, parquet)
    return World(tmp_path, paths, store, parquet)


def _a_root(paths: PartitionPaths) -> str:
    import json

    runs = [json.loads(p.read_bytes()) for p in sorted(paths.runs_dir.iterdir())]
    return next(r["id"] for r in runs if r["id"] == r["trace_id"])


def _predecessor_source(world: World) -> Path:
    folder = world.tmp / "old"
    folder.mkdir(exist_ok=True)
    zips, _ = predecessor_zips(PROJECT_A, [DAY], folder, "proj-a")
    return zips[DAY]


# Each writer, given the world; what it is seen doing (the seam the probe watches).
def write_raw_runs(world: World) -> None:
    runfiles.write_partition(world.paths, iter(_runs(1)), {"variant": 1})


def build_zip(world: World) -> None:
    archive.build_archive(world.paths)


def restore_our_zip(world: World) -> None:
    report = restore(world.store, PROJECT_A, [DAY], world.paths_for, force=True)
    assert [o.status for o in report.outcomes] == ["restored"], report.outcomes


def restore_predecessor_zip(world: World) -> None:
    source = _predecessor_source(world)
    folder = Path(world.store.folder) / runfiles.project_slug(PROJECT_A)
    (folder / world.paths.zip_name).unlink()
    shutil.copy(source, folder / f"proj-a_{DAY}.zip")
    report = restore(world.store, PROJECT_A, [DAY], world.paths_for, force=True)
    assert [o.status for o in report.outcomes] == ["restored"], report.outcomes


def import_predecessor(world: World) -> None:
    source = _predecessor_source(world)
    report = import_legacy(source, world.paths_for, force=True)
    assert DAY in report.days


def forget_a_trace(world: World) -> None:
    report = forget(
        PROJECT_A,
        [],
        [_a_root(world.paths)],
        paths_for=world.paths_for,
        store=world.store,
        parquet=world.parquet,
        rows=NoRows(),
    )
    assert report.runs > 0 and report.days[0].parquet


def publish_parquet(world: World) -> None:
    runfiles.write_partition(world.paths, iter(_runs(1)), {"variant": 1})
    parquet_publish.publish(world.paths, world.parquet)


WRITERS: dict[str, Callable[[World], None]] = {
    "raw_runs write": write_raw_runs,
    "zip build": build_zip,
    "restore, our zip": restore_our_zip,
    "restore, predecessor zip": restore_predecessor_zip,
    "import-legacy": import_predecessor,
    "forget": forget_a_trace,
    "parquet publish": publish_parquet,
}

# Where each writer changes what others read: the probe runs there.
SEAMS = {
    "raw_runs write": ["swap_in"],
    "zip build": ["fsync_zip"],
    "restore, our zip": ["swap_in"],
    "restore, predecessor zip": ["swap_in"],
    "import-legacy": ["swap_in"],
    "forget": ["swap_in", "fsync_zip", "upsert", "parquet_write"],
    "parquet publish": ["parquet_write"],
}


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_the_partition_is_locked_whenever_a_writer_changes_it(world, monkeypatch, writer):
    seen: dict[str, list[bool]] = {}

    def probing(name: str, original: Callable) -> Callable:
        def wrapper(*args, **kwargs):
            seen.setdefault(name, []).append(busy_elsewhere(world.paths))
            return original(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(runfiles, "swap_in", probing("swap_in", runfiles.swap_in))
    original_fsync = durable.fsync_file

    def fsync(path, *args, **kwargs):
        if str(path).endswith(".zip.tmp"):
            seen.setdefault("fsync_zip", []).append(busy_elsewhere(world.paths))
        return original_fsync(path, *args, **kwargs)

    monkeypatch.setattr(durable, "fsync_file", fsync)
    monkeypatch.setattr(
        LocalFolderDriveResource, "upsert", probing("upsert", LocalFolderDriveResource.upsert)
    )
    monkeypatch.setattr(
        ParquetStoreResource, "write", probing("parquet_write", ParquetStoreResource.write)
    )

    WRITERS[writer](world)

    for seam in SEAMS[writer]:
        assert seen.get(seam), f"{writer} never reached {seam}"
        assert all(seen[seam]), f"{writer}: the lock was free at {seam}: {seen[seam]}"


def _hold(data_dir: str, project: str, day: date, holding, release) -> None:
    locks._held.depth = {}
    with locks.partition_lock(PartitionPaths(Path(data_dir), project, day)):
        holding.set()
        release.wait(60)


def _snapshot(world: World) -> dict[str, tuple[int, int]]:
    """Every file of the project's folder (run files, manifest, zip): inode and mtime."""
    found = {}
    for root, _, files in os.walk(world.paths.project_dir):
        for name in files:
            if name == "forgotten.json":
                continue  # the tombstone is written first, before any partition's lock
            stat = os.stat(os.path.join(root, name))
            found[os.path.join(root, name)] = (stat.st_ino, stat.st_mtime_ns)
    return found


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_a_writer_waits_for_the_lock_and_changes_nothing_meanwhile(world, writer):
    holding, release = _fork.Event(), _fork.Event()
    holder = _fork.Process(
        target=_hold, args=(str(world.paths.data_dir), PROJECT_A, DAY, holding, release)
    )
    holder.start()
    assert holding.wait(30)
    before = _snapshot(world)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            WRITERS[writer](world)
        except BaseException as error:  # reported below
            errors.append(error)

    thread = threading.Thread(target=run)
    try:
        thread.start()
        thread.join(1.5)
        assert thread.is_alive(), f"{writer} finished while another process held the lock"
        assert _snapshot(world) == before, f"{writer} changed the partition without the lock"
    finally:
        release.set()
        holder.join(30)
    thread.join(60)
    assert not thread.is_alive() and errors == []
    assert _snapshot(world) != before  # and once released it did its work


def test_a_writer_that_cannot_get_the_lock_in_time_fails_and_writes_nothing(world):
    holding, release = _fork.Event(), _fork.Event()
    holder = _fork.Process(
        target=_hold, args=(str(world.paths.data_dir), PROJECT_A, DAY, holding, release)
    )
    holder.start()
    assert holding.wait(30)
    before = _snapshot(world)
    try:
        with pytest.raises(locks.PartitionBusyError, match=r"2025-09-13\|proj-a"):
            runfiles.write_partition(world.paths, iter(_runs(1)), {}, lock_timeout=0.2)
        assert _snapshot(world) == before
        assert sorted(p.name for p in world.paths.project_dir.iterdir()) == [
            DAY.isoformat(),
            world.paths.zip_name,
        ]
    finally:
        release.set()
        holder.join(30)


def test_the_lock_is_named_after_the_slug_and_the_day_never_the_folder_path(tmp_path):
    paths = PartitionPaths(tmp_path, "Team B/x", DAY)
    elsewhere = PartitionPaths(tmp_path / "other-mount", "Team B/x", DAY)
    name = locks.partition_name(paths)
    assert name.ident == f"partition/{paths.slug}/2025-09-13"
    assert locks.partition_name(elsewhere).ident == name.ident  # one lock, any mount path
    assert locks.project_name(paths.project_dir).ident == f"project/{paths.slug}"
    assert locks.DEFAULT_TIMEOUT_SECONDS == 900.0  # docs/archive.md: "up to 15 minutes"


def test_the_kernel_frees_the_lock_of_a_writer_that_died(tmp_path):
    paths = PartitionPaths(tmp_path, PROJECT_A, DAY)
    holding, release = _fork.Event(), _fork.Event()
    holder = _fork.Process(target=_hold, args=(str(tmp_path), PROJECT_A, DAY, holding, release))
    holder.start()
    assert holding.wait(30)
    assert busy_elsewhere(paths)
    holder.kill()  # kill -9: no finally, no unlock
    holder.join(30)
    assert not busy_elsewhere(paths)
    with locks.partition_lock(paths, timeout=0):
        pass
