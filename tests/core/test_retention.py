"""Which days the retention alarm names, and what it says."""

from datetime import date

from lse_assets.core import retention
from lse_assets.core.partition import Partition, PartitionStatus
from lse_assets.settings import Settings

SETTINGS = Settings(
    projects=["a", "b"], start_date=date(2025, 1, 1), retention_days=14, retention_warn_days=10
)
TODAY = date(2025, 9, 20)
DONE = {"raw_runs": "MATERIALIZED", "db_runs": "MATERIALIZED"}


def test_watched_days_are_between_the_warning_age_and_the_deadline():
    days = {p.day for p in retention.watched_partitions(SETTINGS, TODAY)}
    assert min(days) == date(2025, 9, 6) and max(days) == date(2025, 9, 10)
    assert len(retention.watched_partitions(SETTINGS, TODAY)) == 5 * 2


def test_unarchived_and_failed_days_are_at_risk_archived_ones_are_not():
    statuses = [
        PartitionStatus(Partition("a", date(2025, 9, 7)), assets=dict(DONE)),
        PartitionStatus(Partition("b", date(2025, 9, 7)), assets={**DONE, "db_runs": "missing"}),
        PartitionStatus(
            Partition("a", date(2025, 9, 8)), assets=DONE, checks={"files_match_db": "FAILED"}
        ),
    ]
    risks = retention.at_risk(statuses, SETTINGS, TODAY)
    assert [(r.key, r.days_left) for r in risks] == [("2025-09-07|b", 1), ("2025-09-08|a", 2)]

    text = retention.alarm_message(risks, "http://dagster:3000")["text"]
    assert "`2025-09-07|b`: partly archived (missing: db_runs)" in text
    assert "`2025-09-08|a`: failed (files_match_db)" in text
    assert text.index("2025-09-07|b") < text.index("2025-09-08|a")
    assert "http://dagster:3000/assets/raw_runs" in text


def test_the_alarm_names_unarchived_days_once_and_survives_a_webhook_outage(tmp_path, postgres):
    import dagster as dg

    from lse_assets.defs.sensors.retention_alarm import build_retention_alarm
    from resources.notifier import WebhookNotifier
    from tests.fakes.helpers import local_resources, materialize
    from tests.fakes.webhook import webhook_receiver

    settings = Settings(projects=["proj-a"], start_date=date(2025, 1, 1))  # 14 / 10 days
    sensor = build_retention_alarm(settings, "http://dagster:3000", today=lambda: TODAY)
    archived = date(2025, 9, 8)  # 12 days old; 9-6, 9-7, 9-9, 9-10 are not archived
    with dg.instance_for_test() as instance, webhook_receiver() as receiver:
        assert materialize(
            "proj-a", archived, local_resources(tmp_path, postgres), instance=instance
        ).success

        def tick(cursor):
            notifier = WebhookNotifier(webhook_url=receiver.url, attempts=1)
            context = dg.build_sensor_context(
                instance=instance, cursor=cursor, resources={"notifier": notifier}
            )
            return sensor.evaluate_tick(context)

        receiver.status = 503
        down = tick(None)
        receiver.status = 200
        up = tick(down.cursor)
        again = tick(up.cursor)

    assert receiver.refused == 1 and "not sent yet" in down.skip_message
    assert len(receiver.messages) == 1
    text = receiver.messages[0]["text"]
    for day in ("2025-09-06", "2025-09-07", "2025-09-09", "2025-09-10"):
        assert f"`{day}|proj-a`: not archived" in text
    assert "2025-09-08" not in text
    assert "0 newly announced" in again.skip_message
