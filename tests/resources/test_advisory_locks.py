"""The partition and project locks on Postgres advisory locks (resources/postgres/advisory_locks):
the key scheme, re-entrancy, what a waiter says, a dead holder, a lost lock. Real Postgres,
real processes."""

import json
import multiprocessing
import os
import re
import signal
import socket
import time
from datetime import date
from pathlib import Path

import psycopg
import pytest

from lse_assets.core import locks, runfiles
from lse_assets.core.runfiles import PartitionPaths
from resources.langsmith.sample import SampleLangSmithResource
from resources.postgres.advisory_locks import (
    CLIENT_KEEPALIVES,
    AdvisoryLocks,
    advisory_key,
    conninfo,
)

DAY = date(2025, 9, 13)
_fork = multiprocessing.get_context("fork")


@pytest.fixture
def advisory(postgres_url, tmp_path):
    backend = AdvisoryLocks(lambda: postgres_url.replace("+psycopg", ""), tmp_path / "unused")
    locks.install(backend)
    return backend


def _runs(variant: int = 0) -> list[dict]:
    return list(SampleLangSmithResource(variant=variant).fetch_day("p", DAY).runs)


def test_the_key_scheme_is_stable_and_distinct():
    paths = PartitionPaths(Path("/x"), "proj-a", DAY)
    ident = locks.partition_name(paths).ident
    assert ident == "partition/proj-a/2025-09-13"
    # Pinned: a change of the scheme would let an old and a new release both "hold" a lock.
    assert advisory_key(ident) == 269702717503624426
    assert advisory_key("project/proj-a") == -1449166573694060618
    keys = {
        advisory_key(locks.partition_name(PartitionPaths(Path("/x"), project, day)).ident)
        for project in ("proj-a", "proj-b", "Team B/ünïcode's")
        for day in (DAY, date(2025, 9, 14), date(2024, 9, 13))
    }
    keys |= {
        advisory_key(locks.project_name(PartitionPaths(Path("/x"), p, DAY).project_dir).ident)
        for p in ("proj-a", "proj-b")
    }
    assert len(keys) == 11
    assert all(-(2**63) <= key < 2**63 for key in keys)
    # The folder is not part of the key: every host's mount of one archive meets the same lock.
    other_mount = locks.partition_name(PartitionPaths(Path("/mnt/elsewhere"), "proj-a", DAY)).ident
    assert advisory_key(other_mount) == advisory_key(ident)


def _hold(postgres_url, data_dir, held, release, project=False):
    locks.install(AdvisoryLocks(lambda: postgres_url.replace("+psycopg", ""), data_dir))
    paths = PartitionPaths(data_dir, "p", DAY)
    lock = locks.project_lock(paths.project_dir) if project else locks.partition_lock(paths)
    with lock:
        held.set()
        release.wait(60)


def _holder(postgres_url, tmp_path, project=False):
    held, release = _fork.Event(), _fork.Event()
    process = _fork.Process(
        target=_hold, args=(postgres_url, tmp_path, held, release, project), daemon=True
    )
    process.start()
    assert held.wait(30)
    return process, release


def test_reentrant_in_one_thread_exclusive_across_processes(advisory, postgres_url, tmp_path):
    paths = PartitionPaths(tmp_path, "p", DAY)
    with locks.partition_lock(paths), locks.partition_lock(paths, timeout=0.1):
        locks.confirm_partition(paths)  # the nested take did not release it
        locks.confirm_partition(paths)
    holder, release = _holder(postgres_url, tmp_path)
    try:
        with pytest.raises(locks.PartitionBusyError) as raised, locks.partition_lock(paths, 0.5):
            pass
    finally:
        release.set()
        holder.join(30)
    message = str(raised.value)
    # Names the partition, the holder (host and pid) and the way out.
    assert "partition 2025-09-13|p is being written by another run" in message
    assert f"lse {socket.gethostname()} pid {holder.pid}" in message
    assert "since 20" in message and "let that run finish" in message
    with locks.partition_lock(paths, timeout=5):  # freed when the holder let go
        pass


def test_a_waiter_says_what_it_waits_for(advisory, postgres_url, tmp_path, capfd, monkeypatch):
    monkeypatch.setattr(locks, "REPORT_SECONDS", 0.3)
    holder, release = _holder(postgres_url, tmp_path, project=True)
    try:
        project_dir = PartitionPaths(tmp_path, "p", DAY).project_dir
        busy = pytest.raises(locks.PartitionBusyError, match="forgotten runs of")
        with busy, locks.project_lock(project_dir, 1.2):
            pass
    finally:
        release.set()
        holder.join(30)
    said = capfd.readouterr().err
    assert said.count("waiting for the forgotten runs of") >= 2
    assert f"pid {holder.pid}" in said


def test_a_killed_holder_frees_the_lock_at_once(advisory, postgres_url, tmp_path):
    paths = PartitionPaths(tmp_path, "p", DAY)
    holder, _ = _holder(postgres_url, tmp_path)
    os.kill(holder.pid, signal.SIGKILL)
    started = time.monotonic()
    with locks.partition_lock(paths, timeout=10):
        waited = time.monotonic() - started
    holder.join(30)
    assert waited < 2, waited


def test_a_writer_whose_lock_was_lost_replaces_nothing(advisory, postgres_url, tmp_path):
    """The lock session ends mid-write (a database restart, an operator's
    pg_terminate_backend): the swap is refused and the old partition stays."""
    paths = PartitionPaths(tmp_path, "p", DAY)
    runfiles.write_partition(paths, iter(_runs(0)), {"variant": 0})
    before = paths.manifest.read_bytes()

    def runs_then_cut():
        yield from _runs(1)
        with AdvisoryLocks(lambda: postgres_url.replace("+psycopg", ""), tmp_path).connect(
            "test"
        ) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
                " AND objsubid = 1 AND pid <> pg_backend_pid()"
            )

    with pytest.raises(locks.LockLostError, match=r"2025-09-13\|p: lost its lock"):
        runfiles.write_partition(paths, runs_then_cut(), {"variant": 1})
    assert paths.manifest.read_bytes() == before
    assert json.loads(before)["source"] == {"variant": 0}


def test_a_holder_without_a_name_is_described_as_such_and_since_when(advisory, postgres_url):
    # A session of another program (psql, a DBA's script): no application_name, idle, on
    # the embedded server's Unix socket (no client address).
    name = locks.partition_name(PartitionPaths(Path("/x"), "p", DAY))
    with psycopg.connect(postgres_url.replace("+psycopg", ""), autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (advisory_key(name.ident),))
        said = advisory.holder(name)
    assert re.fullmatch(
        r"a session without application_name since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", said
    ), said


def test_every_session_of_the_lock_code_says_what_it_is_for(advisory, tmp_path, monkeypatch):
    # Shown as application_name in pg_stat_activity: what a DBA reads to know who holds what.
    purposes = []
    connect = AdvisoryLocks.connect

    def recording(self, purpose):
        purposes.append(purpose)
        return connect(self, purpose)

    monkeypatch.setattr(AdvisoryLocks, "connect", recording)
    paths = PartitionPaths(tmp_path, "p", DAY)
    with locks.partition_lock(paths):
        locks.confirm_partition(paths)
    assert purposes == ["partition/p/2025-09-13", "confirm partition/p/2025-09-13"]


@pytest.mark.parametrize(
    ("url", "libpq"),
    [
        ("postgresql+psycopg://u:p@h:5432/db", "postgresql://u:p@h:5432/db"),
        ("postgresql://u:p@h/db", "postgresql://u:p@h/db"),
        # Only the scheme is rewritten; a value spelling it stays as written.
        (
            "postgresql+psycopg://h/db?application_name=postgresql+psycopg://",
            "postgresql://h/db?application_name=postgresql+psycopg://",
        ),
    ],
)
def test_libpq_gets_the_url_without_the_driver_name(url, libpq, tmp_path):
    assert conninfo(url, tmp_path / "unused") == libpq


def test_a_lock_session_asks_for_keepalives_so_a_vanished_host_frees_its_locks(advisory):
    # The client side (libpq) and the server side (a lock wait checks its client): what
    # test_vanished_host proves end to end where network namespaces are allowed.
    with advisory.connect("a test") as connection:
        given = connection.info.get_parameters()
        check = connection.execute("SHOW client_connection_check_interval").fetchone()[0]
    assert {name: given.get(name) for name in CLIENT_KEEPALIVES} == {
        name: str(value) for name, value in CLIENT_KEEPALIVES.items()
    }
    assert check == "2s"
