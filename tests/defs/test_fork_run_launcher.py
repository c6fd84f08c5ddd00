"""The forking run launcher (issue 21): a run it starts is a real Dagster run of one partition,
a child killed with -9 is reported dead, and terminate cancels the run.

Real parts: each scenario runs in its own Python process (the forkserver is one per process,
and preloads Dagster and the libraries in that process) on a fresh Dagster instance
whose `dagster.yaml` is deploy/dagster.local.yaml; the run is launched through the
instance's launcher as the daemon's queue does; the LangSmith source is the fake server,
its runs query held open so that a run is caught mid `raw_runs`.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from lse_assets.defs.assets import ASSET_KEYS
from lse_assets.defs.run_launcher import HOST_TAG, PID_TAG, ForkRunLauncher
from tests.fakes.fake_langsmith import RUNS_QUERY, DayMaker, FakeLangSmith

ROOT = Path(__file__).resolve().parents[2]
KEY = "lsv2_sk_fork_launcher_0123456789"
PROJECT = "proj-a"
DAY = date(2025, 9, 12)

# Launch one partition's run through the instance's launcher, then do what argv[1] says:
# wait for the end, kill -9 the child once it calls LangSmith, or terminate the run then.
DRIVER = textwrap.dedent(
    """
    import json, os, signal, sys, time
    import dagster as dg
    from dagster._core.launcher.base import LaunchRunContext
    from lse_assets.cli.runner import _origins
    from lse_assets.definitions import build_defs
    from lse_assets.settings import load_settings
    from lse_assets.core.partition import Partition
    from lse_assets.defs.jobs import archive_day_job

    action, arrived = sys.argv[1], sys.argv[2]
    partition = Partition(%(project)r, __import__("datetime").date.fromisoformat(%(day)r))
    instance = dg.DagsterInstance.get()
    job = build_defs(load_settings()).resolve_job_def(archive_day_job.name)
    recon_job, origin = _origins(archive_day_job.name)
    run = instance.create_run_for_job(
        job_def=job, tags={**job.run_tags, **partition.run_tags},
        remote_job_origin=origin, job_code_origin=recon_job.get_python_origin(),
    )
    launcher = instance.run_launcher
    launcher.launch_run(LaunchRunContext(dagster_run=run, workspace=None))
    run = instance.get_run_by_id(run.run_id)
    out = {"run_id": run.run_id, "launcher": type(launcher).__name__}
    deadline = time.monotonic() + 240
    while action != "wait" and not os.path.exists(arrived):
        assert time.monotonic() < deadline, "the run never called LangSmith"
        time.sleep(0.1)
    if action == "kill":
        out["health_before"] = launcher.check_run_worker_health(run).status.value
        os.kill(int(run.tags[%(pid_tag)r]), signal.SIGKILL)
        time.sleep(1)
        out["health_after"] = launcher.check_run_worker_health(run).status.value
    elif action == "terminate":
        out["terminated"] = launcher.terminate(run.run_id)
    while action != "kill" and not instance.get_run_by_id(run.run_id).is_finished:
        assert time.monotonic() < deadline, "the run never ended"
        time.sleep(0.2)
    print(json.dumps(out))
    """
) % {"project": PROJECT, "day": DAY.isoformat(), "pid_tag": PID_TAG}


@pytest.fixture
def fake() -> FakeLangSmith:
    fake = FakeLangSmith(api_key=KEY)
    DayMaker(fake.add_project(PROJECT), seed=7).day(DAY, traces=4, runs_per_trace=3).install(fake)
    return fake


def _drive(tmp_path: Path, url: str, postgres_url: str, action: str) -> tuple[dict, Path]:
    home = tmp_path / "home"
    dagster_home = home / "dagster"
    dagster_home.mkdir(parents=True)
    # The instance of `lse ui`, as the local config makes it (which names this launcher).
    shutil.copyfile(ROOT / "deploy" / "dagster.local.yaml", dagster_home / "dagster.yaml")
    arrived = tmp_path / "arrived"
    env = {
        **os.environ,
        "LSE_HOME": str(home),
        "DAGSTER_HOME": str(dagster_home),
        "LSE_DATABASE_URL": postgres_url,
        "LSE_SOURCE": "langsmith",
        "LSE_PROJECTS": PROJECT,
        "LANGSMITH_API_KEY": KEY,
        "LANGSMITH_ENDPOINT": url,
        "PYTHONPATH": str(ROOT),
    }
    # Files, not pipes: a run's child inherits them, and a pipe would stay open while it lives.
    out, err = tmp_path / "driver.out", tmp_path / "driver.err"
    with open(out, "w") as stdout, open(err, "w") as stderr:
        done = subprocess.run(
            [sys.executable, "-c", DRIVER, action, str(arrived)],
            env=env,
            cwd=ROOT,
            stdout=stdout,
            stderr=stderr,
            timeout=300,
        )
    assert done.returncode == 0, err.read_text()[-3000:]
    return json.loads(out.read_text().strip().splitlines()[-1]), dagster_home


def _held(fake: FakeLangSmith, arrived_file: Path):
    """Hold the runs query; write `arrived_file` when a run is inside it."""
    arrived, release = fake.hold(RUNS_QUERY, when=lambda body: True)

    def mark():
        arrived.wait(240)
        arrived_file.write_text("1")

    threading.Thread(target=mark, daemon=True).start()
    return release


def test_a_forked_run_archives_its_partition_with_metadata_and_checks(tmp_path, fake, postgres_url):
    with fake.serve() as server:
        out, dagster_home = _drive(tmp_path, server.url, postgres_url, "wait")
    assert out["launcher"] == "ForkRunLauncher"
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        run = instance.get_run_by_id(out["run_id"])
        assert run.status == dg.DagsterRunStatus.SUCCESS
        # The run's worker was a child of the forkserver, not this test's driver.
        assert run.tags[HOST_TAG] and int(run.tags[PID_TAG]) > 0
        label = run.tags["dagster/partition"]
        for key in ASSET_KEYS:
            event = instance.get_latest_materialization_event(dg.AssetKey(key))
            assert event.run_id == run.run_id and event.asset_materialization.partition == label
        raw = instance.get_latest_materialization_event(dg.AssetKey("raw_runs"))
        assert raw.asset_materialization.metadata  # the partition's own metadata
        checks = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey("raw_runs"), name=_a_check_of("raw_runs")), limit=5
        )
        assert checks and checks[0].run_id == run.run_id
        assert checks[0].partition == label


def _a_check_of(asset: str) -> str:
    from lse_assets.definitions import build_defs
    from lse_assets.settings import load_settings

    defs = build_defs(load_settings())
    specs = [
        spec
        for checks in defs.asset_checks or []
        for spec in checks.check_specs
        if spec.asset_key == dg.AssetKey(asset)
    ]
    return specs[0].name


def test_a_child_killed_with_9_is_reported_failed(tmp_path, fake, postgres_url):
    release = _held(fake, tmp_path / "arrived")
    with fake.serve() as server:
        try:
            out, dagster_home = _drive(tmp_path, server.url, postgres_url, "kill")
        finally:
            release.set()
    assert out["health_before"] == "RUNNING"
    assert out["health_after"] == "FAILED"
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        run = instance.get_run_by_id(out["run_id"])
        assert run.status == dg.DagsterRunStatus.STARTED  # until someone notices ...
        # ... which `lse` commands do from the same tags (cli/dead_runs.py).
        from lse_assets.cli.dead_runs import fail_dead_runs

        assert fail_dead_runs(instance) == [run.run_id]
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE


def test_terminate_cancels_the_run(tmp_path, fake, postgres_url):
    release = _held(fake, tmp_path / "arrived")
    with fake.serve() as server:
        try:
            out, dagster_home = _drive(tmp_path, server.url, postgres_url, "terminate")
        finally:
            release.set()
    assert out["terminated"] is True
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        assert instance.get_run_by_id(out["run_id"]).status == dg.DagsterRunStatus.CANCELED


def test_the_launcher_reads_its_config():
    launcher = ForkRunLauncher.from_config_value(None, {"preload": ["dagster"]})
    assert launcher.supports_check_run_worker_health


def test_a_forked_child_starts_with_none_of_the_projects_code_but_the_launcher(tmp_path):
    """The forkserver keeps only Dagster and libraries warm: the code location and the
    settings are imported by each run itself, so an edit (or a changed `.env`) reaches the
    next run without restarting the daemon, as with Dagster's own launcher."""
    report = tmp_path / "modules.json"
    probe = (
        f"import json, sys; open({str(report)!r}, 'w').write(json.dumps(sorted("
        "m for m in sys.modules if m.split('.')[0] in ('lse_assets', 'resources'))))"
    )
    driver = textwrap.dedent(
        f"""
        from lse_assets.defs.run_launcher import DEFAULT_PRELOAD, _forkserver
        child = _forkserver(DEFAULT_PRELOAD).Process(target=exec, args=({probe!r},))
        child.start()
        child.join(120)
        assert child.exitcode == 0, child.exitcode
        """
    )
    subprocess.run([sys.executable, "-c", driver], cwd=ROOT, check=True, timeout=180)
    assert json.loads(report.read_text()) == [
        "lse_assets",
        "lse_assets.defs",
        "lse_assets.defs.run_launcher",
    ]
