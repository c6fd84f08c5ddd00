"""One writer per partition, across processes (lse_assets.core.locks)."""

import json
import multiprocessing
import time
from datetime import date

import pytest

from lse_assets.core import archive, locks, runfiles
from lse_assets.core.runfiles import PartitionPaths
from resources.langsmith.sample import SampleLangSmithResource

DAY = date(2025, 9, 13)
_fork = multiprocessing.get_context("fork")


def _runs(variant: int = 0) -> list[dict]:
    return list(SampleLangSmithResource(variant=variant).fetch_day("p", DAY).runs)


def _slow_write(data_dir: str, variant: int, started, pause: float) -> None:
    def slowly():
        for index, run in enumerate(_runs(variant)):
            if index == 5:
                started.set()
                time.sleep(pause)  # the other writer starts while we are half-way
            yield run

    runfiles.write_partition(PartitionPaths(data_dir, "p", DAY), slowly(), {"variant": variant})


def test_a_second_writer_waits_and_never_deletes_the_first_writers_work(tmp_path):
    paths = PartitionPaths(tmp_path, "p", DAY)
    started = _fork.Event()
    first = _fork.Process(target=_slow_write, args=(tmp_path, 0, started, 1.5))
    first.start()
    assert started.wait(30)

    runfiles.write_partition(paths, iter(_runs(1)), {"variant": 1})  # waits for the first
    first.join(30)

    assert first.exitcode == 0  # its temporary directory was not removed under it
    manifest = json.loads(paths.manifest.read_text())
    union = {r["id"] for r in _runs(0)} | {r["id"] for r in _runs(1)}
    assert set(manifest["files"]) == {p.stem for p in paths.runs_dir.iterdir()} == union
    assert manifest["source"] == {"variant": 1}  # the second write came after the first


def test_a_writer_that_waits_too_long_fails_naming_the_partition(tmp_path):
    paths = PartitionPaths(tmp_path, "p", DAY)
    started = _fork.Event()
    first = _fork.Process(target=_slow_write, args=(tmp_path, 0, started, 2.0))
    first.start()
    assert started.wait(30)

    with pytest.raises(locks.PartitionBusyError, match=r"2025-09-13\|p") as raised:
        runfiles.write_partition(paths, iter(_runs(1)), {}, lock_timeout=0.3)
    first.join(30)

    assert "let that run finish" in str(raised.value)
    assert first.exitcode == 0
    assert set(json.loads(paths.manifest.read_text())["files"]) == {r["id"] for r in _runs(0)}


def test_the_lock_is_reentrant_in_one_thread_and_released_after(tmp_path):
    paths = PartitionPaths(tmp_path, "p", DAY)
    runfiles.write_partition(paths, iter(_runs(0)), {})
    with locks.partition_lock(paths):
        archive.build_archive(paths)  # takes the same lock again: no self-deadlock
    with locks.partition_lock(paths, timeout=0.1):
        pass


def test_a_failed_zip_build_leaves_no_temporary_file(tmp_path, monkeypatch):
    paths = PartitionPaths(tmp_path, "p", DAY)
    runfiles.write_partition(paths, iter(_runs(0)), {})
    old = archive.build_archive(paths).path.read_bytes()

    def broken(path):
        raise OSError("disk full")

    monkeypatch.setattr(archive.durable, "fsync_file", broken)
    with pytest.raises(OSError, match="disk full"):
        archive.build_archive(paths)

    assert paths.zip_path.read_bytes() == old
    assert sorted(p.name for p in paths.project_dir.iterdir()) == [
        DAY.isoformat(),
        paths.zip_name,
    ]


def test_the_first_lock_on_a_data_folder_not_made_yet_makes_its_lock_folder(tmp_path):
    """A fresh archive folder: the first writer's lock creates `<data dir>/.locks/` (and
    the folders above it) instead of failing before anything is written."""
    paths = PartitionPaths(tmp_path / "new" / "data", "p", DAY)

    with locks.partition_lock(paths, timeout=1):
        lock_file = locks.FlockBackend().path(locks.partition_name(paths))
        assert lock_file.parent == paths.data_dir / locks.LOCKS_DIR
        assert lock_file.read_text().startswith(locks.holder_tag() + " since ")


def test_a_lock_nobody_wrote_is_held_by_another_process_on_this_host(tmp_path):
    """The waiting message when the holder's tag cannot be read (no lock file yet)."""
    name = locks.partition_name(PartitionPaths(tmp_path, "p", DAY))
    assert locks.FlockBackend().holder(name) == "another process on this host"


def test_a_waiter_says_who_holds_the_lock_only_after_waiting_a_while(tmp_path, monkeypatch):
    """No line for a short wait; then, every REPORT_SECONDS, the holder's tag and start."""
    paths = PartitionPaths(tmp_path, "p", DAY)
    name = locks.partition_name(paths)
    with locks.partition_lock(paths, timeout=1):  # held: a second descriptor must wait
        quiet: list[str] = []
        assert locks.FlockBackend().acquire(name, 0.3, quiet.append) is None
        monkeypatch.setattr(locks, "REPORT_SECONDS", 0.2)
        monkeypatch.setattr(locks.FlockBackend, "POLL_SECONDS", 0.01)
        told: list[str] = []
        assert locks.FlockBackend().acquire(name, 0.5, told.append) is None
    assert quiet == []
    assert 1 <= len(told) <= 2  # one line per REPORT_SECONDS, however often it polls
    assert told[0].startswith(f"'{locks.holder_tag()} since ")
