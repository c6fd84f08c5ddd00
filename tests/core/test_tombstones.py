"""Tombstones (lse_assets.core.tombstones): serialized across processes, only growing, and a
damaged forgotten.json refused, never read as empty."""

import json
import multiprocessing
import uuid
from datetime import date
from pathlib import Path

import pytest

from lse_assets.core import forget, locks, tombstones
from lse_assets.core.runfiles import PartitionPaths

_fork = multiprocessing.get_context("fork")
ROUNDS = 20
ADDS_PER_PROCESS = 8


def _ids(worker: int, round_: int) -> list[str]:
    return [str(uuid.uuid5(uuid.NAMESPACE_OID, f"{worker}-{round_}-{n}")) for n in range(40)]


def _forget_many(project_dir: str, worker: int, round_: int, start) -> None:
    ids = _ids(worker, round_)
    start.wait(30)
    for n in range(ADDS_PER_PROCESS):
        # Each add is a separate read-modify-write, as separate `lse forget` commands are.
        tombstones.add(Path(project_dir), "p", ids[n * 5 : n * 5 + 4], [ids[n * 5 + 4]], "t")


def test_two_processes_forgetting_at_once_keep_every_tombstone(tmp_path):
    for round_ in range(ROUNDS):
        project_dir = tmp_path / f"round-{round_}" / "p"
        start = _fork.Barrier(2)
        workers = [
            _fork.Process(target=_forget_many, args=(str(project_dir), w, round_, start))
            for w in (0, 1)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
            assert worker.exitcode == 0

        kept = tombstones.read(project_dir)
        for w in (0, 1):
            ids = _ids(w, round_)[: ADDS_PER_PROCESS * 5]
            assert set(ids[i] for i in range(len(ids)) if i % 5 != 4) <= set(kept.run_ids)
            assert set(ids[4::5]) <= set(kept.trace_ids), f"round {round_} lost a tombstone"


def test_an_update_keeps_earlier_entries_and_their_time(tmp_path):
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    tombstones.add(tmp_path, "p", [first], [], "2025-01-01T00:00:00Z")
    tombstones.add(tmp_path, "p", [first, second], [], "2025-02-02T00:00:00Z")
    assert tombstones.read(tmp_path).run_ids == {
        first: "2025-01-01T00:00:00Z",
        second: "2025-02-02T00:00:00Z",
    }


def test_an_update_waits_for_the_project_lock(tmp_path):
    """The update path takes the project lock (a second holder elsewhere makes it wait)."""
    held = _fork.Event()
    release = _fork.Event()

    def hold():
        with locks.project_lock(tmp_path):
            held.set()
            release.wait(30)

    holder = _fork.Process(target=hold)
    holder.start()
    assert held.wait(30)
    try:
        busy = pytest.raises(locks.PartitionBusyError, match="forgotten runs of")
        with busy, locks.project_lock(tmp_path, timeout=0.3):
            pass
        tombstones_add = _fork.Process(
            target=tombstones.add, args=(tmp_path, "p", [str(uuid.uuid4())], [], "t")
        )
        tombstones_add.start()
        tombstones_add.join(1.0)
        assert tombstones_add.is_alive()  # blocked on the lock, wrote nothing
        assert not tombstones.path_in(tmp_path).exists()
    finally:
        release.set()
        holder.join(30)
    tombstones_add.join(30)
    assert tombstones_add.exitcode == 0 and len(tombstones.read(tmp_path).run_ids) == 1


GOOD = {"format": tombstones.FORMAT, "project": "p", "run_ids": {}, "trace_ids": {}}
DAMAGE = {
    "truncated": b'{"format": "lse-forgotten/1", "project": "p", "run_ids": {"0',
    "empty": b"",
    "garbage": b"\x00\xff\xfe garbage \x89PNG",
    "not an object": b"[]\n",
    "other format": json.dumps({**GOOD, "format": "something-else/1"}).encode(),
    "run_ids a list": json.dumps({**GOOD, "run_ids": [str(uuid.uuid4())]}).encode(),
    "trace_ids missing": json.dumps({k: v for k, v in GOOD.items() if k != "trace_ids"}).encode(),
    "a time not a string": json.dumps({**GOOD, "trace_ids": {str(uuid.uuid4()): 5}}).encode(),
}


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_a_damaged_file_is_refused_by_read_add_and_forget_and_left_as_it_was(tmp_path, kind):
    project_dir = tmp_path / "p"
    project_dir.mkdir()
    path = tombstones.path_in(project_dir)
    path.write_bytes(DAMAGE[kind])

    with pytest.raises(tombstones.DamagedTombstonesError) as read:
        tombstones.read(project_dir)
    with pytest.raises(tombstones.DamagedTombstonesError):
        tombstones.add(project_dir, "p", [str(uuid.uuid4())], [], "t")
    with pytest.raises(tombstones.DamagedTombstonesError) as forgot:
        forget.forget(
            "p",
            [str(uuid.uuid4())],
            [],
            paths_for=lambda day: PartitionPaths(tmp_path, "p", day),
            store=None,
            parquet=None,
            rows=None,
        )

    for error in (read.value, forgot.value):
        assert str(path) in str(error) and "Do not delete it" in str(error)
        assert "backup" in str(error)
    assert path.read_bytes() == DAMAGE[kind]


def test_a_damaged_file_stops_a_partition_write(tmp_path):
    from lse_assets.core import runfiles

    paths = PartitionPaths(tmp_path, "p", date(2025, 9, 13))
    paths.project_dir.mkdir(parents=True)
    tombstones.path_in(paths.project_dir).write_bytes(DAMAGE["run_ids a list"])
    with pytest.raises(tombstones.DamagedTombstonesError, match=r"forgotten\.json is damaged"):
        runfiles.write_partition(paths, iter(()), {})
    assert not paths.dir.exists()
