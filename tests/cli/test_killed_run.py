"""A run killed with -9 does not wedge the local instance (issue 18, sections 3 and 5b).

Real parts only: the `lse` command in subprocesses on a fresh LSE_HOME (its Dagster instance,
its embedded Postgres), the real LangSmith SDK against the fake LangSmith server, whose
runs query for one day is held open so that `raw_runs` is caught mid-way holding the
`langsmith` pool slot.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import psutil
import pytest

from lse_assets.cli.main import LOCAL_INSTANCE_CONFIG
from resources.postgres import embedded as embedded_postgres
from tests.fakes.fake_langsmith import RUNS_QUERY, DayMaker, FakeLangSmith

KEY = "lsv2_sk_killed_run_0123456789"
PROJECT = "proj-a"
D1, D2, D3, D4, D5 = (date(2025, 9, d) for d in (12, 13, 14, 15, 16))


@pytest.fixture
def fake() -> FakeLangSmith:
    fake = FakeLangSmith(api_key=KEY)
    project_id = fake.add_project(PROJECT)
    maker = DayMaker(project_id, seed=5)
    for day in (D1, D2, D3, D4, D5):
        maker.day(day, traces=6, runs_per_trace=3).install(fake)
    return fake


def _env(home: Path, url: str) -> dict[str, str]:
    env = {**os.environ, "LSE_HOME": str(home)}
    for name in ("LSE_DATA_DIR", "DAGSTER_HOME", "LSE_DATABASE_URL"):
        env.pop(name, None)  # the embedded Postgres of this home
    env.update(
        LSE_SOURCE="langsmith",
        LSE_PROJECTS=PROJECT,
        LSE_START_DATE="2025-01-01",
        LANGSMITH_API_KEY=KEY,
        LANGSMITH_ENDPOINT=url,
    )
    return env


def _lse(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("lse")), *args]


def _on(day: date):
    """The runs query of `day`'s traces (their roots start on `day`)."""
    return lambda body: (
        f'gte(start_time, "{day.isoformat()}' in str((body or {}).get("trace_filter"))
    )


def _servers(data_dir: Path) -> list[psutil.Process]:
    """Postgres servers (postmasters) running on `data_dir`."""
    found = []
    for proc in psutil.process_iter(attrs=("name", "cmdline")):
        cmdline = proc.info["cmdline"] or []
        if proc.info["name"] == "postgres" and "-D" in cmdline and str(data_dir) in cmdline:
            found.append(proc)
    return found


def _holder(instance: dg.DagsterInstance) -> str | None:
    """The run holding the `langsmith` pool's slot, if any."""
    info = instance.event_log_storage.get_concurrency_info("langsmith")
    return next(iter(info.active_run_ids), None)


def _start_held(home: Path, url: str, day_args: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        _lse("materialize", *day_args, "--project", PROJECT),
        env=_env(home, url),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_holder(instance: dg.DagsterInstance, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        holder = _holder(instance)
        if holder:
            return holder
        time.sleep(0.2)
    raise AssertionError("no run took the langsmith slot")


def test_a_run_killed_holding_the_langsmith_slot_wedges_nothing(tmp_path, fake):
    home = tmp_path / "home"
    home.mkdir()
    pgdata = (home / "postgres").resolve()
    # One LangSmith slot, as an operator sets it for a key shared with other tools
    # (docs/operations.md): the run holding it is then what every later run waits for.
    (home / "dagster").mkdir()
    shutil.copyfile(LOCAL_INSTANCE_CONFIG, home / "dagster" / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        instance.event_log_storage.set_concurrency_slots("langsmith", 1)
    server = fake.serve()
    try:
        _killed_then_the_same_and_another_day_finish(home, server.url, fake, pgdata)
        _a_waiter_says_what_it_waits_for_and_stops_on_sigterm(home, server.url, fake)
    finally:
        server.stop()
        if pgdata.exists():
            embedded_postgres.stop(pgdata)  # the last living holder: stops it


def _killed_then_the_same_and_another_day_finish(home, url, fake, pgdata):
    arrived, release = fake.hold(RUNS_QUERY, when=_on(D2))
    # D1 whole (the embedded Postgres is started and held by this process), then D2's
    # raw_runs hangs on LangSmith while holding the langsmith slot.
    first = _start_held(home, url, ["--from", D1.isoformat(), "--to", D2.isoformat()], home)
    assert arrived.wait(240), first.communicate(timeout=5)
    instance = dg.DagsterInstance.from_config(str(home / "dagster"))
    dead_run = _wait_for_holder(instance)
    if len(_servers(pgdata)) != 1:
        first.kill()
        out, err = first.communicate(timeout=30)
        raise AssertionError(f"{D1} was not archived, so no server to hold: {out} {err[-2000:]}")

    first.kill()  # kill -9, mid raw_runs
    first.communicate(timeout=30)
    release.set()
    assert instance.get_run_by_id(dead_run).status == dg.DagsterRunStatus.STARTED
    assert _holder(instance) == dead_run  # what wedged every later run
    assert len(_servers(pgdata)) == 1  # the server outlived its killed holder

    started = time.monotonic()
    again = subprocess.run(
        _lse("materialize", "--from", D2.isoformat(), "--to", D3.isoformat()),
        env=_env(home, url),
        cwd=home,
        capture_output=True,
        text=True,
        timeout=150,  # the bug waited forever: 10+ minutes with no output
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"[1/2] {D2.isoformat()}|{PROJECT}: ok" in again.stdout
    assert f"[2/2] {D3.isoformat()}|{PROJECT}: ok" in again.stdout
    assert time.monotonic() - started < 150
    dead = instance.get_run_by_id(dead_run)
    assert dead.status == dg.DagsterRunStatus.FAILURE
    assert _holder(instance) is None
    failure = next(
        e for e in instance.all_logs(dead_run) if e.dagster_event_type == "PIPELINE_FAILURE"
    )
    assert f"(pid {first.pid} on " in failure.dagster_event.message
    # The next command reused the one server; as the last living holder it stopped it.
    assert _servers(pgdata) == []


def _a_waiter_says_what_it_waits_for_and_stops_on_sigterm(home, url, fake):
    arrived, release = fake.hold(RUNS_QUERY, when=_on(D4))
    holder = _start_held(home, url, ["--date", D4.isoformat()], home)
    try:
        assert arrived.wait(240)
        instance = dg.DagsterInstance.from_config(str(home / "dagster"))
        live_run = _wait_for_holder(instance)
        waiter = _start_held(home, url, ["--date", D5.isoformat()], home)
        said = ""
        deadline = time.monotonic() + 120
        while "waiting: pool 'langsmith'" not in said and time.monotonic() < deadline:
            said += waiter.stderr.readline()
        time.sleep(6)  # a second line: it keeps saying it
        waiter.send_signal(signal.SIGTERM)
        _, err = waiter.communicate(timeout=30)
        said += err
        assert waiter.returncode == 130, said
        assert f"is held by run {live_run} ({D4.isoformat()}|{PROJECT}) since " in said
        assert said.count("waiting: pool 'langsmith'") >= 2
        assert "stopped before the next run started" in said
        # A live holder is not marked failed by the waiter.
        assert instance.get_run_by_id(live_run).status == dg.DagsterRunStatus.STARTED

        holder.kill()
        holder.communicate(timeout=30)
        shown = subprocess.run(
            _lse("status", "--days", str((datetime.now(UTC).date() - D4).days + 1)),
            env=_env(home, url),
            cwd=home,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        row = next(line for line in shown.stdout.splitlines() if D4.isoformat() in line)
        assert "in progress" not in row, shown.stdout
        assert instance.get_run_by_id(live_run).status == dg.DagsterRunStatus.FAILURE
        assert _holder(instance) is None
    finally:
        release.set()
        if holder.poll() is None:
            holder.kill()
            holder.communicate(timeout=30)
