"""How `defs/status.py` reads the instance, without a run (fast tier): each latest check
record resolved to the word the UI shows, a partition of today or later `ongoing`, and
the retention alarm watching every copy but Parquet (a warehouse view, not a backup).

Found by mutation testing (issue 18): these rules were held only by Postgres tests."""

import json
from datetime import date
from types import SimpleNamespace

import dagster as dg
import pytest

from lse_assets.core import retention
from lse_assets.core.partition import (
    EXECUTION_FAILED,
    IN_PROGRESS,
    MISSING,
    SKIPPED,
    WARN,
    Partition,
)
from lse_assets.defs.assets import PARQUET_RUNS, build_assets
from lse_assets.defs.checks import build_checks
from lse_assets.defs.sensors.retention_alarm import build_retention_alarm
from lse_assets.defs.status import _check_state, partition_statuses
from lse_assets.settings import Settings, load_settings
from resources.notifier import WebhookNotifier
from tests.conftest import PROJECT_A
from tests.fakes.webhook import webhook_receiver


class _Instance:
    """The one question `_check_state` asks the instance: the run of a planned check."""

    def __init__(self, run):
        self.run = run

    def get_run_by_id(self, run_id):
        assert run_id == "run-1"
        return self.run


def _record(status: str, severity=None):
    evaluation = None if severity is None else SimpleNamespace(severity=severity)
    event = SimpleNamespace(dagster_event=SimpleNamespace(event_specific_data=evaluation))
    return SimpleNamespace(status=SimpleNamespace(value=status), run_id="run-1", event=event)


def _run(finished: bool, status=dg.DagsterRunStatus.SUCCESS):
    return SimpleNamespace(is_finished=finished, status=status)


@pytest.mark.parametrize(
    ("record", "run", "word"),
    [
        (None, None, MISSING),
        (_record("PLANNED"), None, SKIPPED),  # its run was deleted
        (_record("PLANNED"), _run(False), IN_PROGRESS),
        (_record("PLANNED"), _run(True, dg.DagsterRunStatus.FAILURE), EXECUTION_FAILED),
        (_record("PLANNED"), _run(True, dg.DagsterRunStatus.SUCCESS), SKIPPED),
        (_record("PLANNED"), _run(True, dg.DagsterRunStatus.CANCELED), SKIPPED),
        (_record("FAILED", dg.AssetCheckSeverity.WARN), None, WARN),
        (_record("FAILED", dg.AssetCheckSeverity.ERROR), None, "FAILED"),
        (_record("FAILED"), None, "FAILED"),  # no evaluation: a failure all the same
        (_record("SUCCEEDED", dg.AssetCheckSeverity.WARN), None, "SUCCEEDED"),
        (_record("SUCCEEDED"), None, "SUCCEEDED"),
    ],
)
def test_a_latest_check_record_reads_as_the_ui_shows_it(record, run, word):
    assert _check_state(_Instance(run), record) == word


def test_a_record_without_an_event_keeps_its_own_status():
    record = SimpleNamespace(status=SimpleNamespace(value="FAILED"), run_id="run-1", event=None)
    assert _check_state(_Instance(None), record) == "FAILED"


def test_today_and_later_are_ongoing_and_every_copy_and_check_is_read():
    settings = load_settings()
    today = date(2025, 9, 13)
    days = [date(2025, 9, 12), today, date(2025, 9, 14)]
    statuses = partition_statuses(
        dg.DagsterInstance.ephemeral(),
        build_assets(settings),
        build_checks(settings),
        [Partition(PROJECT_A, day) for day in days],
        today,
    )
    assert [s.partition.day for s in statuses] == days
    assert [s.ongoing for s in statuses] == [False, True, True]
    assets = {a.key.to_user_string() for a in build_assets(settings)}
    checks = {
        k.name: k.asset_key.to_user_string() for c in build_checks(settings) for k in c.check_keys
    }
    for status in statuses:
        assert status.assets == dict.fromkeys(sorted(assets), MISSING)
        assert status.checks == dict.fromkeys(sorted(checks), MISSING)
        # In name order, so `lse status` lists a partition's checks the same way every time.
        assert list(status.assets) == sorted(assets) and list(status.checks) == sorted(checks)
        assert status.checked == checks
    assert [s.summary for s in statuses] == ["not archived", *["today (not archived yet)"] * 2]


def test_the_retention_alarm_does_not_count_a_missing_parquet_copy():
    """Every copy but Parquet materialized and every check but Parquet's passed: the days
    are archived as far as the alarm goes, and it sends nothing."""
    today = date(2025, 9, 20)
    settings = Settings(projects=[PROJECT_A], start_date=date(2025, 9, 18), retention_warn_days=1)
    watched = retention.watched_partitions(settings, today)
    assert watched  # the alarm has days to look at
    sensor = build_retention_alarm(settings, None, today=lambda: today)
    with dg.instance_for_test() as instance, webhook_receiver() as receiver:
        for partition in watched:
            _archive(instance, settings, partition)
        notifier = WebhookNotifier(webhook_url=receiver.url, attempts=1)
        context = dg.build_sensor_context(instance=instance, resources={"notifier": notifier})
        result = sensor.evaluate_tick(context)
    assert receiver.messages == []
    assert result.skip_message == f"all {len(watched)} watched partition(s) archived"


def _archive(instance, settings: Settings, partition: Partition) -> None:
    """Every copy the alarm watches materialized, every one of their checks passed."""
    for asset in build_assets(settings):
        for key in asset.keys:
            if key != dg.AssetKey(PARQUET_RUNS):
                instance.report_runless_asset_event(
                    dg.AssetMaterialization(key, partition=partition.label)
                )
    for check in build_checks(settings):
        for key in check.check_keys:
            if key.asset_key != dg.AssetKey(PARQUET_RUNS):
                instance.report_runless_asset_event(
                    dg.AssetCheckEvaluation(
                        asset_key=key.asset_key,
                        check_name=key.name,
                        passed=True,
                        partition=partition.label,
                    )
                )


def test_the_retention_alarm_announces_each_day_once_waits_out_an_outage_and_moves_on():
    """Days 10 to 14 days old are watched; the one archived is not named. An outage sends
    nothing and keeps the cursor; then one message names each day at risk, the next tick
    none; a day later only the newly watched day is announced, and the cursor forgets the
    day LangSmith has deleted."""
    settings = Settings(projects=[PROJECT_A], start_date=date(2025, 1, 1))  # 14 / 10 days
    clock = [date(2025, 9, 20)]  # watched: 09-06 .. 09-10
    sensor = build_retention_alarm(settings, "http://dagster:3000/", today=lambda: clock[0])
    with dg.instance_for_test() as instance, webhook_receiver() as receiver:
        _archive(instance, settings, Partition(PROJECT_A, date(2025, 9, 8)))

        def tick(cursor):
            notifier = WebhookNotifier(webhook_url=receiver.url, attempts=1)
            context = dg.build_sensor_context(
                instance=instance, cursor=cursor, resources={"notifier": notifier}
            )
            return sensor.evaluate_tick(context)

        receiver.status = 503
        down = tick(None)
        assert (receiver.refused, receiver.messages, down.cursor) == (1, [], None)
        assert down.skip_message.startswith("4 partition(s) at risk, not sent yet: ")

        receiver.status = 200
        up = tick(None)
        assert up.skip_message == "4 partition(s) at risk, 4 newly announced"
        [message] = receiver.messages
        text = message["text"]
        assert text.startswith(":rotating_light: LSE: 4 partition(s) near LangSmith's")
        for day, left in (("06", 0), ("07", 1), ("09", 3), ("10", 4)):
            when = "today" if not left else f"in {left} day(s)"
            assert f"`2025-09-{day}|{PROJECT_A}`: not archived, LangSmith deletes it {when}" in (
                text
            )
        assert "2025-09-08" not in text
        assert "<http://dagster:3000/assets/raw_runs?view=partitions|" in text
        announced = json.loads(up.cursor)
        assert announced == sorted(
            f"2025-09-{day}|{PROJECT_A}=not archived" for day in ("06", "07", "09", "10")
        )

        again = tick(up.cursor)
        assert len(receiver.messages) == 1
        assert again.skip_message == "4 partition(s) at risk, 0 newly announced"
        assert json.loads(again.cursor) == announced

        clock[0] = date(2025, 9, 21)  # 09-06 is gone from LangSmith, 09-11 is watched now
        next_day = tick(again.cursor)
        assert len(receiver.messages) == 2
        assert f"`2025-09-11|{PROJECT_A}`: not archived" in receiver.messages[1]["text"]
        assert "2025-09-07" not in receiver.messages[1]["text"]
        assert next_day.skip_message == "4 partition(s) at risk, 1 newly announced"
        assert json.loads(next_day.cursor) == sorted(
            f"2025-09-{day}|{PROJECT_A}=not archived" for day in ("07", "09", "10", "11")
        )


def test_the_retention_alarm_names_the_one_day_at_risk_with_no_link_without_a_ui_url():
    settings = Settings(projects=[PROJECT_A], start_date=date(2025, 9, 18), retention_warn_days=1)
    today = date(2025, 9, 20)
    watched = retention.watched_partitions(settings, today)
    sensor = build_retention_alarm(settings, None, today=lambda: today)
    with dg.instance_for_test() as instance, webhook_receiver() as receiver:
        _archive(instance, settings, watched[0])
        notifier = WebhookNotifier(webhook_url=receiver.url, attempts=1)
        context = dg.build_sensor_context(instance=instance, resources={"notifier": notifier})
        result = sensor.evaluate_tick(context)
        again = sensor.evaluate_tick(
            dg.build_sensor_context(
                instance=instance, cursor=result.cursor, resources={"notifier": notifier}
            )
        )
    assert len(watched) == 2
    assert result.skip_message == "1 partition(s) at risk, 1 newly announced"
    assert "<" not in receiver.messages[0]["text"]  # no UI link without LSE_DAGSTER_URL
    assert len(receiver.messages) == 1  # the one day announced is not announced again
    assert again.skip_message == "1 partition(s) at risk, 0 newly announced"
