"""The alert sensor against a real instance with real check evaluations and a local webhook."""

from datetime import date

import dagster as dg
import pytest

from lse_assets.defs.sensors.check_failures import build_check_failure_sensor
from resources.notifier import WebhookNotifier
from tests.conftest import PROJECT_A
from tests.fakes.helpers import check_results, local_resources, materialize
from tests.fakes.webhook import tick

DAY = date(2025, 9, 13)
DAGSTER_URL = "http://dagster.example:3000"


def test_a_failed_check_reaches_the_webhook_once_even_after_an_outage(
    tmp_path, postgres, instance, receiver
):
    resources = local_resources(tmp_path, postgres)
    assert materialize(PROJECT_A, DAY, resources, instance=instance).success  # all checks pass
    victim = postgres.execute(
        "SELECT run_id::text FROM runs WHERE project = :p LIMIT 1", p=PROJECT_A
    )
    postgres.execute(
        "UPDATE runs SET data = jsonb_set(data, '{name}', '\"tampered\"') WHERE run_id = :id",
        id=victim[0][0],
    )
    failed = materialize(PROJECT_A, DAY, resources, only_checks=True, instance=instance)
    assert not check_results(failed)["files_match_db"].passed
    sensor = build_check_failure_sensor(dagster_url=DAGSTER_URL)

    receiver.status = 503
    down = tick(sensor, instance, receiver, cursor=None)
    assert receiver.refused == 1 and receiver.messages == []
    assert "HTTP 503" in down.skip_message and "secret" not in down.skip_message
    assert down.skip_message.startswith("alerted none; 1 failed check waiting for the next tick")

    receiver.status = 200
    up = tick(sensor, instance, receiver, cursor=down.cursor)
    again = tick(sensor, instance, receiver, cursor=up.cursor)
    tick(sensor, instance, receiver, cursor=again.cursor)

    # Dagster shows these lines as the ticks' reasons (every tick without a run request is
    # "Skipped" there): each says what the tick did.
    assert up.skip_message == "alerted 1 failed check (webhook)"
    assert again.skip_message == "no new failed checks"

    assert len(receiver.messages) == 1
    message = receiver.messages[0]
    assert "files_match_db" in message["text"] and "db_runs" in message["text"]
    assert f"{DAY.isoformat()}|{PROJECT_A}" in message["text"]
    assert "differing=1" in message["text"]
    assert f"{DAGSTER_URL}/runs/{failed.run_id}" in message["text"]
    blocks = str(message["blocks"])
    assert "*differing*\\n1" in blocks and victim[0][0] in blocks


def test_a_new_failure_after_the_cursor_is_sent_and_old_ones_are_not(
    tmp_path, postgres, instance, receiver
):
    resources = local_resources(tmp_path, postgres)
    assert materialize(PROJECT_A, DAY, resources, instance=instance).success
    sensor = build_check_failure_sensor()
    quiet = tick(sensor, instance, receiver, cursor=None)
    assert receiver.messages == []  # passing evaluations are not announced

    postgres.execute("DELETE FROM runs WHERE run_id IN (SELECT run_id FROM runs LIMIT 2)")
    materialize(PROJECT_A, DAY, resources, only_checks=True, instance=instance)
    first = tick(sensor, instance, receiver, cursor=quiet.cursor)
    materialize(PROJECT_A, DAY, resources, only_checks=True, instance=instance)
    tick(sensor, instance, receiver, cursor=first.cursor)

    assert [("missing_in_db=2" in m["text"]) for m in receiver.messages] == [True, True]
    assert "Open the run" not in str(receiver.messages)  # no LSE_DAGSTER_URL, no link


def test_without_a_webhook_the_tick_says_the_failures_were_logged(
    tmp_path, postgres, instance, caplog
):
    resources = local_resources(tmp_path, postgres)
    assert materialize(PROJECT_A, DAY, resources, instance=instance).success
    postgres.execute("DELETE FROM runs WHERE run_id IN (SELECT run_id FROM runs LIMIT 2)")
    materialize(PROJECT_A, DAY, resources, only_checks=True, instance=instance)
    materialize(PROJECT_A, DAY, resources, only_checks=True, instance=instance)
    context = dg.build_sensor_context(
        instance=instance, resources={"notifier": WebhookNotifier(webhook_url=None)}
    )

    caplog.clear()

    result = build_check_failure_sensor().evaluate_tick(context)

    assert result.skip_message == "logged 2 failed checks (LSE_ALERT_WEBHOOK_URL not set)"
    assert caplog.text.count("alert (set LSE_ALERT_WEBHOOK_URL") == 2  # the messages, logged


@dg.asset
def tiny() -> int:
    return 1


@dg.asset_check(asset=tiny)
def tiny_is_big() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=False, severity=dg.AssetCheckSeverity.WARN, metadata={"size": 1}
    )


@pytest.mark.parametrize("include_warnings", [False, True])
def test_warnings_are_sent_only_when_configured(instance, receiver, include_warnings):
    assert dg.materialize([tiny, tiny_is_big], instance=instance).success
    sensor = build_check_failure_sensor(
        include_warnings=include_warnings, check_keys=tiny_is_big.check_keys
    )
    tick(sensor, instance, receiver, cursor=None)
    assert len(receiver.messages) == int(include_warnings)
    if include_warnings:
        assert "tiny_is_big failed (WARN)" in receiver.messages[0]["text"]
