"""The deployment, without containers: webserver, daemon and code server as separate
processes sharing the deployment dagster.yaml, its storage on a real (embedded) Postgres.

A backfill of 3 days x 2 projects goes through GraphQL, every partition must materialize
and every check pass. A backfill with one partition that cannot be written keeps that
failure on that partition's run only, and re-executing that failed
run archives that partition alone. Independently, a partition archived by its own run gets
a tampered row: the verify run must fail on `files_match_db` and the alert arrive once.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest
import requests
import sqlalchemy as sa
from dagster._core.instance.ref import InstanceRef

from lse_assets.cli.dagster_api import FINISHED_BACKFILL, FINISHED_RUN, DagsterApi
from lse_assets.cli.runner import step_failure
from lse_assets.core.partition import Partition
from lse_assets.core.runfiles import PartitionPaths
from lse_assets.definitions import defs as code_location
from tests.fakes.webhook import WebhookReceiver, webhook_receiver

defs = code_location()  # as Dagster loads it: the settings are read now

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PROJECTS = ["proj-a", "Team B/ünïcode's"]
DAYS = [date(2025, 9, 11) + timedelta(days=n) for n in range(3)]
ASSETS = ["raw_runs", "run_archive", "drive_archive", "db_runs", "parquet_runs"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(predicate, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except (requests.RequestException, OSError):
            pass
        time.sleep(1)
    raise TimeoutError(f"{what} not ready after {timeout:.0f} s")


@pytest.fixture(scope="module")
def webhook() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, postgres_url, webhook) -> Iterator[dict]:
    home = tmp_path_factory.mktemp("deployment")
    engine = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text("DROP DATABASE IF EXISTS dagster_e2e"))
        connection.execute(sa.text("CREATE DATABASE dagster_e2e"))
    engine.dispose()
    libpq_url = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    dagster_home = home / "dagster"
    dagster_home.mkdir()
    shutil.copy(ROOT / "deploy" / "dagster.yaml", dagster_home / "dagster.yaml")
    grpc_port, web_port = _free_port(), _free_port()
    (home / "workspace.yaml").write_text(
        f"load_from:\n  - grpc_server:\n      host: 127.0.0.1\n      port: {grpc_port}\n"
        "      location_name: lse\n"
    )
    env = {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home),
        "DAGSTER_POSTGRES_URL": libpq_url.replace("/postgres?", "/dagster_e2e?"),
        "LSE_DATABASE_URL": libpq_url,
        "LSE_HOME": str(home / "lse"),
        "LSE_SOURCE": "sample",
        "LSE_PROJECTS": ",".join(PROJECTS),
        "LSE_START_DATE": "2025-09-01",
        "LSE_ALERT_WEBHOOK_URL": webhook.url,
        "LSE_DAGSTER_URL": "http://dagster.example:3000",
    }
    commands = {
        "code-server": [
            BIN / "dagster",
            "code-server",
            "start",
            "-h",
            "127.0.0.1",
            "-p",
            str(grpc_port),
            "-m",
            "lse_assets.definitions",
            "--location-name",
            "lse",
        ],
        "webserver": [
            BIN / "dagster-webserver",
            "-h",
            "127.0.0.1",
            "-p",
            str(web_port),
            "-w",
            home / "workspace.yaml",
        ],
        "daemon": [BIN / "dagster-daemon", "run", "-w", home / "workspace.yaml"],
    }
    # Pool limits set before any run: with only `default_limit`, runs starting together race to
    # create the pool rows in dagster-postgres 0.29 and one crashes (see docs/operations.md).
    for pool in ("langsmith", "google_drive"):
        subprocess.run(
            [str(BIN / "dagster"), "instance", "concurrency", "set", pool, "2"],
            env=env,
            cwd=home,
            check=True,
            capture_output=True,
            timeout=120,
        )
    processes = {}
    try:
        for name, command in commands.items():
            log = open(home / f"{name}.log", "w")  # noqa: SIM115 (closed with the process)
            processes[name] = subprocess.Popen(
                [str(part) for part in command],
                env=env,
                cwd=home,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            if name == "code-server":
                _wait_for(
                    lambda: socket.create_connection(("127.0.0.1", grpc_port)).close() or True,
                    "code server",
                    120,
                )
        url = f"http://127.0.0.1:{web_port}"
        _wait_for(lambda: requests.get(f"{url}/server_info", timeout=5).ok, "webserver", 120)
        yield {"url": url, "home": home, "env": env, "dagster_home": dagster_home}
    finally:
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for name, process in processes.items():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
            if process.returncode not in (0, -signal.SIGTERM, 128 + signal.SIGTERM):
                print(f"--- {name} log ---\n{(home / f'{name}.log').read_text()[-3000:]}")


@pytest.fixture(scope="module")
def instance(deployment) -> Iterator[dg.DagsterInstance]:
    previous = os.environ.get("DAGSTER_POSTGRES_URL")
    os.environ["DAGSTER_POSTGRES_URL"] = deployment["env"]["DAGSTER_POSTGRES_URL"]
    with dg.DagsterInstance.from_ref(
        InstanceRef.from_dir(str(deployment["dagster_home"]))
    ) as opened:
        yield opened
    if previous is None:
        os.environ.pop("DAGSTER_POSTGRES_URL")


def _check_evaluations(instance: dg.DagsterInstance) -> list:
    events = instance.get_event_records(
        dg.EventRecordsFilter(event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION), limit=1000
    )
    return [record.event_log_entry.dagster_event.event_specific_data for record in events]


_SENSOR_TICKS = """
query($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) {
    __typename
    ... on Sensor { sensorState { ticks(limit: 50) { timestamp status skipReason } } }
  }
}"""


def _sensor_ticks_after(api: DagsterApi, sensor: str, after: float) -> list[dict]:
    """The daemon's finished ticks of `sensor` that started after `after` (epoch seconds)."""
    selector = {
        "repositoryLocationName": "lse",
        "repositoryName": "__repository__",
        "sensorName": sensor,
    }
    found = api._call(_SENSOR_TICKS, {"selector": selector})["sensorOrError"]
    assert found["__typename"] == "Sensor", found
    return [
        tick
        for tick in found["sensorState"]["ticks"]
        if tick["timestamp"] > after and tick["status"] in {"SKIPPED", "SUCCESS", "FAILURE"}
    ]


def _partition_key(partition: Partition) -> str:
    return partition.label


def test_backfill_through_graphql_archives_every_partition(deployment, instance):
    api = DagsterApi(deployment["url"])
    partitions = [Partition(project, day) for day in DAYS for project in PROJECTS]
    keys = {_partition_key(p) for p in partitions}

    backfill_id = api.launch_backfill(partitions, ASSETS)
    status = api.wait(lambda: api.backfill_status(backfill_id), FINISHED_BACKFILL, timeout=600)

    assert status in {"COMPLETED", "COMPLETED_SUCCESS"}
    for asset in ASSETS:
        materialized = instance.get_materialized_partitions(dg.AssetKey(asset))
        assert keys <= set(materialized), asset
    # Every check of the code location, evaluated and passed, on every partition.
    checks = {check_key.name for check_key in defs.resolve_asset_graph().asset_check_keys}
    evaluated = {
        (evaluation.partition, evaluation.check_name): evaluation.passed
        for evaluation in _check_evaluations(instance)
        if evaluation.partition in keys
    }
    assert evaluated == {(key, check): True for key in keys for check in checks}
    assert len(evaluated) == 5 * len(partitions)


def test_tampered_row_fails_the_rerun_check_and_the_alert_arrives(deployment, instance, webhook):
    api = DagsterApi(deployment["url"])
    # Its own partition, archived here: the test does not lean on the backfill's data.
    victim = Partition(PROJECTS[0], DAYS[0] - timedelta(days=1))
    archived = api.launch_run("lse", "archive_day", victim.run_tags)
    assert api.wait(lambda: api.run_status(archived), FINISHED_RUN, timeout=300) == "SUCCESS"
    engine = sa.create_engine(
        deployment["env"]["LSE_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://")
    )
    with engine.begin() as connection:
        tampered = connection.execute(
            sa.text(
                "UPDATE runs SET data = jsonb_set(data, '{name}', '\"tampered\"') WHERE run_id ="
                " (SELECT run_id FROM runs WHERE project = :p AND run_date = :d LIMIT 1)"
            ),
            {"p": victim.project, "d": victim.day},
        )
        assert tampered.rowcount == 1
    engine.dispose()

    run_id = api.launch_run("lse", "verify_day", victim.run_tags)
    # files_match_db is blocking with ERROR severity: the verify run itself fails.
    assert api.wait(lambda: api.run_status(run_id), FINISHED_RUN, timeout=300) == "FAILURE"

    evaluations = [
        e
        for e in _check_evaluations(instance)
        if e.check_name == "files_match_db" and e.partition == _partition_key(victim)
    ]
    assert [e.passed for e in evaluations] == [False, True]  # newest first: verify, archive
    assert evaluations[0].metadata["differing"].value == 1

    # The daemon's check-failure sensor (60 s interval) posts it to the webhook, once: counted
    # after two more ticks, so a sensor that resent every tick would be caught.
    _wait_for(lambda: any("files_match_db" in m["text"] for m in webhook.messages), "alert", 240)
    arrived = time.time()
    _wait_for(
        lambda: len(_sensor_ticks_after(api, "check_failure_alerts", arrived)) >= 2,
        "two more sensor ticks",
        300,
    )
    alerts = [m["text"] for m in webhook.messages if "files_match_db" in m["text"]]
    assert len(alerts) == 1
    assert _partition_key(victim) in alerts[0] and "differing=1" in alerts[0]
    assert f"http://dagster.example:3000/runs/{run_id}" in alerts[0]


_REEXECUTE = """
mutation($params: ReexecutionParams!) {
  launchRunReexecution(reexecutionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
  }
}"""


def test_a_failed_partition_of_a_backfill_fails_alone_and_reexecutes_alone(deployment, instance):
    api = DagsterApi(deployment["url"])
    days = [DAYS[-1] + timedelta(days=n) for n in (1, 2)]  # partitions no other test uses
    partitions = [Partition(project, day) for day in days for project in PROJECTS]
    victim, others = partitions[0], partitions[1:]
    # A damaged file in the victim's (otherwise empty) partition folder: raw_runs refuses to
    # replace what it cannot read.
    paths = PartitionPaths(deployment["home"] / "lse" / "data", victim.project, victim.day)
    blocker = paths.runs_dir / "damaged.json"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("{not a run")

    backfill_id = api.launch_backfill(partitions, ASSETS)
    status = api.wait(lambda: api.backfill_status(backfill_id), FINISHED_BACKFILL, timeout=600)

    assert status == "COMPLETED_FAILED"
    runs = instance.get_runs(dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
    by_partition = {run.tags["dagster/partition"]: run for run in runs}
    assert len(runs) == len(by_partition) == len(partitions)  # still one run per partition
    assert {key: run.status.value for key, run in by_partition.items()} == {
        p.label: "FAILURE" if p == victim else "SUCCESS" for p in partitions
    }
    failed_run = by_partition[victim.label]
    failures = instance.get_records_for_run(
        failed_run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE
    ).records
    assert [f.event_log_entry.step_key for f in failures] == ["raw_runs"]
    failure = failures[0].event_log_entry.dagster_event.step_failure_data
    assert "damaged.json" in step_failure("raw_runs", failure)  # as `lse` and the UI show it
    for asset in ASSETS:
        materialized = set(instance.get_materialized_partitions(dg.AssetKey(asset)))
        assert {p.label for p in others} <= materialized, asset
        assert victim.label not in materialized, asset

    # The UI's "re-execute from failure": the victim's run again, nothing else.
    blocker.unlink()
    params = {"parentRunId": failed_run.run_id, "strategy": "FROM_FAILURE"}
    launched = api._call(_REEXECUTE, {"params": params})["launchRunReexecution"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    rerun_id = launched["run"]["runId"]
    assert api.wait(lambda: api.run_status(rerun_id), FINISHED_RUN, timeout=300) == "SUCCESS"

    rerun = instance.get_run_by_id(rerun_id)
    assert rerun.tags["dagster/partition"] == victim.label
    for asset in ASSETS:
        materialized = set(instance.get_materialized_partitions(dg.AssetKey(asset)))
        assert {p.label for p in partitions} <= materialized, asset
        events = instance.get_event_records(
            dg.EventRecordsFilter(
                event_type=dg.DagsterEventType.ASSET_MATERIALIZATION,
                asset_key=dg.AssetKey(asset),
            ),
            limit=100,
        )
        # The other partitions are not materialized again by the re-execution.
        assert {e.partition_key for e in events if e.run_id == rerun_id} == {victim.label}, asset
