"""Runs started from a terminal are first-class in the UI: after `lse demo`, the webserver of
`lse --demo ui` (real `dagster dev`: webserver, daemon, code server) reports each run's
repository origin (what the Overview timeline groups by), and re-executes one."""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from lse_assets.cli.dagster_api import FINISHED_RUN, DagsterApi
from lse_assets.cli.runner import LOCATION, REPOSITORY
from resources.postgres import embedded as embedded_postgres
from tests.cli.test_cli import run_lse
from tests.e2e.test_deployment import _free_port, _wait_for

_RUNS = """
query { runsOrError(limit: 50) { ... on Runs { results {
  runId jobName status repositoryOrigin { repositoryLocationName repositoryName } } } } }"""

_REEXECUTE = """
mutation($params: ReexecutionParams!) {
  launchRunReexecution(reexecutionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
  }
}"""

_AUTOMATION = """
query { workspaceOrError { ... on Workspace { locationEntries { name locationOrLoadError {
  ... on RepositoryLocation { repositories {
    schedules { name scheduleState { status } }
    sensors { name sensorState { status } }
    assetGroups { groupName } } } } } } } }"""


@pytest.fixture(scope="module")
def demo_ui(tmp_path_factory) -> Iterator[tuple[Path, DagsterApi]]:
    home = tmp_path_factory.mktemp("ui-home")
    assert run_lse("demo", "--days", "1", home=home).returncode == 0
    port = _free_port()
    env = {**os.environ, "LSE_HOME": str(home)}
    for name in ("LSE_PROJECTS", "LSE_SOURCE", "LSE_START_DATE", "DAGSTER_HOME"):
        env.pop(name, None)
    log = open(home / "ui.log", "w")  # noqa: SIM115 (closed with the process)
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("lse")),
            "--demo",
            "ui",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        env=env,
        cwd=home,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(lambda: requests.get(f"{url}/server_info", timeout=5).ok, "dagster dev", 180)
        yield home, DagsterApi(url)
    finally:
        # dagster dev shuts its children down on SIGINT; it can hang there, so then SIGKILL.
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()
        # The demo's embedded Postgres runs in its own session, beyond the UI's group: the
        # next `lse` command of this home would stop it, and there is none.
        if (home / "demo" / "postgres").exists():
            embedded_postgres.stop(home / "demo" / "postgres")


def test_cli_runs_carry_the_code_location_and_re_execute_from_the_ui(demo_ui):
    _, api = demo_ui
    runs = api._call(_RUNS, {})["runsOrError"]["results"]

    archived = [run for run in runs if run["jobName"] == "archive_day"]
    assert len(archived) == 2 and all(run["status"] == "SUCCESS" for run in archived)
    for run in archived:
        assert run["repositoryOrigin"] == {
            "repositoryLocationName": LOCATION,
            "repositoryName": REPOSITORY,
        }
    launched = api._call(
        _REEXECUTE, {"params": {"parentRunId": archived[0]["runId"], "strategy": "ALL_STEPS"}}
    )["launchRunReexecution"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    child = launched["run"]["runId"]
    assert api.wait(lambda: api.run_status(child), FINISHED_RUN, timeout=240) == "SUCCESS"


def test_the_demo_ui_starts_with_automation_stopped_and_assets_in_their_group(demo_ui):
    _, api = demo_ui
    (entry,) = api._call(_AUTOMATION, {})["workspaceOrError"]["locationEntries"]
    (repository,) = entry["locationOrLoadError"]["repositories"]

    assert entry["name"] == LOCATION
    schedules = {s["name"]: s["scheduleState"]["status"] for s in repository["schedules"]}
    sensors = {s["name"]: s["sensorState"]["status"] for s in repository["sensors"]}
    assert schedules == {
        "daily_archive": "STOPPED",
        "recent_days_reexport": "STOPPED",
        "today_refresh": "STOPPED",
    }
    assert sensors["retention_alarm"] == "STOPPED"
    assert [group["groupName"] for group in repository["assetGroups"]] == ["langsmith_archive"]
