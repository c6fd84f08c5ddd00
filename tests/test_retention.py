"""Which days the retention alarm names, and what it says."""

from datetime import date

from lse_assets import retention
from lse_assets.partitions import Partition
from lse_assets.settings import Settings
from lse_assets.status import PartitionStatus

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
    assert "`2025-09-07|b`: not archived" in text and "`2025-09-08|a`: failed" in text
    assert text.index("2025-09-07|b") < text.index("2025-09-08|a")
    assert "http://dagster:3000/assets/raw_runs" in text
