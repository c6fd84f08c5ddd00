"""Locks that hold across hosts (issue 20, sections 3 and 4c), with real `lse` processes.

Each simulated host is a process in its own UTS namespace (`unshare --uts`, so
socket.gethostname() really differs), with its own TMPDIR and DAGSTER_HOME; the hosts share
LSE_HOME (the archive folder, as a ReadWriteMany volume would) and the Postgres (the
session's real server, through LSE_DATABASE_URL), as pods on two nodes do.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import psycopg
import pytest

from lse_assets.core import runfiles, tombstones
from lse_assets.core.runfiles import PartitionPaths
from resources.postgres.advisory_locks import advisory_key
from tests.fakes.fake_langsmith import RUNS_QUERY, DayMaker, FakeLangSmith

KEY = "lsv2_sk_two_hosts_0123456789"
PROJECT = "proj-a"
D0, D1 = date(2025, 9, 12), date(2025, 9, 13)
D1_LABEL = f"partition {D1.isoformat()}|{PROJECT}"

pytestmark = pytest.mark.skipif(
    shutil.which("unshare") is None or os.geteuid() != 0, reason="needs unshare --uts (root)"
)


def _lse(*args: str) -> list[str]:
    # The `lse` console script, through this interpreter (the script's own entry point
    # belongs to whichever checkout installed the shared environment last).
    return [sys.executable, "-c", "from lse_assets.cli import main; main()", *args]


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


class Host:
    """One simulated host: its name, its own temporary folders, the shared home."""

    def __init__(self, name: str, root: Path, shared_home: Path, env: dict[str, str]) -> None:
        self.name, self.root = name, root / name
        (self.root / "tmp").mkdir(parents=True)
        self.env = {
            **env,
            "LSE_HOME": str(shared_home),
            "TMPDIR": str(self.root / "tmp"),
            "DAGSTER_HOME": str(self.root / "dagster"),
        }
        self.logs = 0

    def start(self, *args: str) -> tuple[subprocess.Popen, Path]:
        self.logs += 1
        log = self.root / f"{args[0]}-{self.logs}.log"
        command = ["unshare", "--uts", "sh", "-c", f'hostname {self.name} && exec "$@"', "sh"]
        process = subprocess.Popen(
            command + _lse(*args),
            env=self.env,
            cwd=self.root,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        return process, log


def _env(postgres_url: str, langsmith_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("LSE_DATA_DIR", None)
    env.update(
        LSE_DATABASE_URL=_libpq(postgres_url),
        LSE_SOURCE="langsmith",
        LSE_PROJECTS=PROJECT,
        LSE_START_DATE="2025-01-01",
        LANGSMITH_API_KEY=KEY,
        LANGSMITH_ENDPOINT=langsmith_url,
    )
    return env


def _finish(process: subprocess.Popen, log: Path, timeout: float = 300) -> str:
    process.wait(timeout)
    output = log.read_text()
    assert process.returncode == 0, output
    return output


def _until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _lock_sessions(postgres_url: str, ident: str) -> list[tuple[str, bool]]:
    """(application_name, granted) of the sessions holding or awaiting a lock."""
    key = advisory_key(ident) & 0xFFFF_FFFF_FFFF_FFFF
    with psycopg.connect(_libpq(postgres_url), autocommit=True) as connection:
        return connection.execute(
            "SELECT a.application_name, l.granted FROM pg_locks l JOIN pg_stat_activity a"
            " ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.objsubid = 1"
            " AND l.classid::bigint = %s AND l.objid::bigint = %s",
            (key >> 32, key & 0xFFFF_FFFF),
        ).fetchall()


@pytest.fixture
def fake() -> FakeLangSmith:
    fake = FakeLangSmith(api_key=KEY)
    maker = DayMaker(fake.add_project(PROJECT), seed=20)
    for day in (D0, D1):
        maker.day(day, traces=6, runs_per_trace=3).install(fake)
    return fake


def test_lse_materialize_waits_on_the_databases_advisory_lock(tmp_path, postgres_url, fake):
    """Production wiring: a session of the test holds the advisory lock of a partition's key;
    `lse materialize` of that partition waits, names it and its holder, and goes on once the
    session ends."""
    server = fake.serve()
    try:
        host = Host("wired", tmp_path, tmp_path / "home", _env(postgres_url, server.url))
        key = advisory_key(f"partition/{PROJECT}/{D1.isoformat()}")
        with psycopg.connect(
            _libpq(postgres_url), autocommit=True, application_name="the test's session"
        ) as holder:
            holder.execute("SELECT pg_advisory_lock(%s)", (key,))
            process, log = host.start("materialize", "--date", D1.isoformat())
            _until(lambda: f"waiting for {D1_LABEL}" in log.read_text(), 120, "the wait")
            assert "held by 'the test's session'" in log.read_text()
            assert not PartitionPaths(tmp_path / "home" / "data", PROJECT, D1).dir.exists()
        _finish(process, log)
    finally:
        server.stop()
    paths = PartitionPaths(tmp_path / "home" / "data", PROJECT, D1)
    assert runfiles.inspect_local(paths).intact


def _intact(paths: PartitionPaths, expected: set[str]) -> None:
    local = runfiles.inspect_local(paths)
    assert local.intact and local.good == expected
    assert paths.temporaries() == []


def test_two_hosts_one_writer_per_partition_and_every_tombstone_kept(tmp_path, postgres_url, fake):
    home = tmp_path / "home"
    data = home / "data"
    d0, d1 = PartitionPaths(data, PROJECT, D0), PartitionPaths(data, PROJECT, D1)
    server = fake.serve()
    try:
        env = _env(postgres_url, server.url)
        a, b = (Host(name, tmp_path, home, env) for name in ("host-a", "host-b"))
        _finish(*a.start("materialize", "--date", D0.isoformat()))
        all_d0 = set(json.loads(d0.manifest.read_text())["files"])
        to_forget = sorted(all_d0)[:10]
        d1_runs: set[str] = set()
        forgotten: set[str] = set()
        for round_ in range(5):
            arrived, release = fake.hold(RUNS_QUERY, when=_on(D1))
            first = a.start("materialize", "--date", D1.isoformat())
            second = b.start("materialize", "--date", D1.isoformat())
            forgets = [
                host.start("forget", "--project", PROJECT, "--run-id", run_id)
                for host, run_id in zip((a, b), to_forget[2 * round_ : 2 * round_ + 2], strict=True)
            ]
            # One writer is inside raw_runs (its fetch held by LangSmith), the other waits
            # for the lock; release only once the waiter has said so.
            assert arrived.wait(120), f"round {round_}: no fetch of {D1}"
            _until(lambda r=(first, second): _said_waiting(*r), 120, "a waiter's message")
            release.set()
            outputs = [_finish(*run) for run in (first, second)]
            for run in forgets:
                _finish(*run)
            waited = [f"waiting for {D1_LABEL}" in output for output in outputs]
            assert sum(waited) == 1, outputs  # one side waited, the other did not
            waiter = outputs[waited.index(True)]
            other = "host-b" if waited.index(True) == 0 else "host-a"
            assert f"held by 'lse {other} pid" in waiter
            # Nothing lost: D1 holds every run LangSmith returns, files match the manifest.
            d1_runs = set(json.loads(d1.manifest.read_text())["files"])
            assert len(d1_runs) == 18
            _intact(d1, d1_runs)
            # Every tombstone kept, and the forgotten runs are gone from D0 only.
            # (forgetting a run forgets its descendants too: a superset of what was named)
            now_forgotten = set(tombstones.read(d0.project_dir).run_ids)
            assert set(to_forget[: 2 * round_ + 2]) | forgotten <= now_forgotten
            forgotten = now_forgotten
            _intact(d0, all_d0 - forgotten)

        _killed_holder_frees_the_lock(a, b, postgres_url, fake, d1, d1_runs)
    finally:
        server.stop()


def _said_waiting(*runs: tuple[subprocess.Popen, Path]) -> bool:
    return any(f"waiting for {D1_LABEL}" in log.read_text() for _, log in runs)


def _on(day: date):
    return lambda body: (
        f'gte(start_time, "{day.isoformat()}' in str((body or {}).get("trace_filter"))
    )


def _killed_holder_frees_the_lock(a, b, postgres_url, fake, d1, d1_runs) -> None:
    """kill -9 of the holder mid-write: the waiter on the other host proceeds within 10 s."""
    ident = f"partition/{PROJECT}/{D1.isoformat()}"
    arrived, release = fake.hold(RUNS_QUERY, when=_on(D1))
    holder, _ = a.start("materialize", "--date", D1.isoformat())
    assert arrived.wait(120)
    waiter, waiter_log = b.start("materialize", "--date", D1.isoformat())
    _until(lambda: any(not granted for _, granted in _lock_sessions(postgres_url, ident)), 120, "b")
    holder.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    holder.wait(30)
    names = _until(
        lambda: [n for n, granted in _lock_sessions(postgres_url, ident) if granted], 10, "b's lock"
    )
    released = time.monotonic() - killed
    assert "host-b" in names[0], names
    release.set()
    _finish(waiter, waiter_log)
    print(f"lock taken by the other host {released:.2f} s after kill -9 of the holder")
    assert released < 10
    _intact(d1, d1_runs)
