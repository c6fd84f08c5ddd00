"""Day bounds, each on both sides: a partition is one UTC day [00:00, next 00:00); the first
partition is LSE_START_DATE; the last is today (partial), and commands that need a complete
day stop at yesterday; the retention alarm watches days from LSE_RETENTION_WARN_DAYS to
LSE_RETENTION_DAYS old; the schedules pick the day from the tick's UTC time. An off-by-one
anywhere fails here."""

from datetime import UTC, date, datetime, timedelta

import click
import pytest

from lse_assets.cli import selection
from lse_assets.core import retention, runfiles
from lse_assets.core.partition import Partition, PartitionStatus, days_between
from lse_assets.defs.partitions import build_partitions
from lse_assets.settings import Settings
from resources.langsmith.paging import day_query

START = date(2025, 1, 1)
SETTINGS = Settings(
    projects=["a", "b"], start_date=START, retention_days=14, retention_warn_days=10
)


# ---- one UTC day ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "start", "end"),
    [
        (date(2025, 9, 13), "2025-09-13T00:00:00Z", "2025-09-14T00:00:00Z"),
        (date(2024, 2, 28), "2024-02-28T00:00:00Z", "2024-02-29T00:00:00Z"),  # leap day next
        (date(2024, 12, 31), "2024-12-31T00:00:00Z", "2025-01-01T00:00:00Z"),
    ],
)
def test_a_partition_is_its_utc_day_start_included_end_excluded(day, start, end):
    assert runfiles.day_window(day) == {"root_start_min": start, "root_start_max_exclusive": end}
    query = day_query("p", day, late_child_days=2)
    assert query["trace_filter"] == f'and(gte(start_time, "{start}"), lt(start_time, "{end}"))'
    assert query["min_start_time"] == start
    later = datetime.fromisoformat(end.replace("Z", "+00:00")) + timedelta(days=2)
    assert query["max_start_time"] == later.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert day_query("p", day, late_child_days=0)["max_start_time"] == end


def test_days_between_includes_both_ends():
    assert days_between(date(2025, 9, 1), date(2025, 9, 3)) == [
        date(2025, 9, 1),
        date(2025, 9, 2),
        date(2025, 9, 3),
    ]
    assert days_between(date(2025, 9, 1), date(2025, 9, 1)) == [date(2025, 9, 1)]
    assert days_between(date(2025, 9, 2), date(2025, 9, 1)) == []


# ---- the partitions: LSE_START_DATE to today (partial) ---------------------------------------


def test_the_first_partition_is_the_start_date_and_the_last_is_today():
    definition = build_partitions(SETTINGS)
    dates = definition.partitions_defs[0].partitions_def  # dimension "date"
    assert definition.partitions_defs[0].name == "date"
    just_after_midnight = datetime(2025, 1, 4, 0, 0, 1, tzinfo=UTC)
    assert dates.get_partition_keys(current_time=just_after_midnight) == [
        "2025-01-01",
        "2025-01-02",
        "2025-01-03",
        "2025-01-04",
    ]
    just_before_midnight = datetime(2025, 1, 3, 23, 59, 59, tzinfo=UTC)
    assert dates.get_partition_keys(current_time=just_before_midnight) == [
        "2025-01-01",
        "2025-01-02",
        "2025-01-03",
    ]


def test_last_day_is_today_and_the_last_complete_day_yesterday():
    assert selection.last_day(date(2025, 3, 1)) == date(2025, 3, 1)
    assert selection.last_complete_day(date(2025, 3, 1)) == date(2025, 2, 28)
    assert selection.last_complete_day(date(2025, 1, 1)) == date(2024, 12, 31)


@pytest.mark.parametrize(
    ("day", "refused", "why"),
    [
        (START - timedelta(days=1), True, "is before LSE_START_DATE"),
        (START, False, None),
        (date(2025, 9, 19), False, None),  # yesterday
        (date(2025, 9, 20), False, None),  # today: a partial day
        (date(2025, 9, 21), True, "has not started yet"),
    ],
)
def test_a_command_accepts_exactly_the_days_from_the_start_date_to_today(day, refused, why):
    refusal = selection.day_refusal(SETTINGS, day, today=date(2025, 9, 20))
    if not refused:
        assert refusal is None
        return
    assert refusal is not None and why in refusal
    assert "Valid days: 2025-01-01 (LSE_START_DATE) to 2025-09-20 (today, a partial day)" in (
        refusal
    )


@pytest.mark.parametrize(
    ("day", "refused", "why"),
    [
        (START - timedelta(days=1), True, "is before LSE_START_DATE"),
        (START, False, None),
        (date(2025, 9, 19), False, None),  # yesterday
        (date(2025, 9, 20), True, "has not ended yet (UTC), and this command needs a complete"),
        (date(2025, 9, 21), True, "has not started yet"),
    ],
)
def test_a_command_needing_a_complete_day_stops_at_yesterday(day, refused, why):
    refusal = selection.day_refusal(SETTINGS, day, today=date(2025, 9, 20), complete=True)
    if not refused:
        assert refusal is None
        return
    assert refusal is not None and why in refusal
    assert "Valid days: 2025-01-01 (LSE_START_DATE) to 2025-09-19 (yesterday" in refusal


def test_a_range_is_checked_at_both_ends(monkeypatch):
    monkeypatch.setattr(selection, "load_settings", lambda: SETTINGS)
    today = date(2025, 9, 20)  # a fixed clock: the test means the same at midnight UTC
    monkeypatch.setattr(selection, "last_day", lambda current=None: current or today)
    yesterday = today - timedelta(days=1)
    days = selection.check_days([START, START + timedelta(days=1)])
    assert days == [START, START + timedelta(days=1)]
    assert selection.check_days([yesterday, today]) == [yesterday, today]
    with pytest.raises(click.BadParameter, match="LSE_START_DATE"):
        selection.check_days([START - timedelta(days=1), START])
    with pytest.raises(click.BadParameter, match="has not started yet"):
        selection.check_days([today, today + timedelta(days=1)])
    assert selection.check_days([yesterday], complete=True) == [yesterday]
    with pytest.raises(click.BadParameter, match="needs a complete day"):
        selection.check_days([yesterday, today], complete=True)


def test_from_and_to_are_both_included(monkeypatch):
    monkeypatch.setattr(selection, "load_settings", lambda: SETTINGS)

    def moment(day: date) -> datetime:
        return datetime(day.year, day.month, day.day)

    days = selection.selected_days(None, moment(date(2025, 9, 1)), moment(date(2025, 9, 3)))
    assert days == [date(2025, 9, 1), date(2025, 9, 2), date(2025, 9, 3)]
    assert selection.selected_days(moment(START), None, None) == [START]
    one = selection.selected_days(None, moment(START), moment(START))
    assert one == [START]
    with pytest.raises(click.UsageError, match="before --from"):
        selection.selected_days(None, moment(date(2025, 9, 3)), moment(date(2025, 9, 2)))


# ---- the retention alarm -----------------------------------------------------------------------


def test_watched_days_run_from_the_deadline_to_the_warning_age():
    today = date(2025, 9, 20)
    watched = retention.watched_partitions(SETTINGS, today)
    days = sorted({partition.day for partition in watched})
    assert days[0] == today - timedelta(days=14) == date(2025, 9, 6)
    assert days[-1] == today - timedelta(days=10) == date(2025, 9, 10)
    assert days == days_between(date(2025, 9, 6), date(2025, 9, 10))
    assert {partition.project for partition in watched} == {"a", "b"}


def test_no_watched_day_is_before_the_start_date():
    late_start = Settings(projects=["a"], start_date=date(2025, 9, 8))
    days = [p.day for p in retention.watched_partitions(late_start, date(2025, 9, 20))]
    assert days == [date(2025, 9, 8), date(2025, 9, 9), date(2025, 9, 10)]
    at_warning_age = Settings(projects=["a"], start_date=date(2025, 9, 10))
    assert [p.day for p in retention.watched_partitions(at_warning_age, date(2025, 9, 20))] == [
        date(2025, 9, 10)
    ]
    too_young = Settings(projects=["a"], start_date=date(2025, 9, 11))
    assert retention.watched_partitions(too_young, date(2025, 9, 20)) == []


@pytest.mark.parametrize(
    ("day", "days_left", "when"),
    [
        (date(2025, 9, 6), 0, "LangSmith deletes it today"),
        (date(2025, 9, 7), 1, "LangSmith deletes it in 1 day(s)"),
        (date(2025, 9, 10), 4, "LangSmith deletes it in 4 day(s)"),
        (date(2025, 9, 5), -1, "LangSmith deletes it today"),
    ],
)
def test_days_left_count_to_the_retention_deadline(day, days_left, when):
    status = PartitionStatus(Partition("a", day), assets={"raw_runs": "missing"})
    (risk,) = retention.at_risk([status], SETTINGS, date(2025, 9, 20))
    assert risk.days_left == days_left
    assert when in retention.alarm_message([risk], None)["text"]


# ---- the schedules pick the day from the tick's UTC time ----------------------------------------


def _schedule(name: str, settings: Settings):
    from lse_assets.defs.schedules import build_schedules

    return {schedule.name: schedule for schedule in build_schedules(settings)}[name]


@pytest.mark.parametrize(
    ("tick", "day"),
    [
        (datetime(2025, 9, 14, 0, 0, 0, tzinfo=UTC), date(2025, 9, 13)),
        (datetime(2025, 9, 14, 23, 59, 59, tzinfo=UTC), date(2025, 9, 13)),
        (datetime(2025, 9, 13, 23, 59, 59, tzinfo=UTC), date(2025, 9, 12)),
    ],
)
def test_the_daily_schedule_archives_the_utc_day_before_the_tick(tick, day):
    import dagster as dg

    daily = _schedule("daily_archive", SETTINGS)
    requests = daily(dg.build_schedule_context(scheduled_execution_time=tick))
    assert {Partition.from_key(r.partition_key).day for r in requests} == {day}


@pytest.mark.parametrize(("reexport_days", "count"), [(0, 0), (1, 1), (3, 3)])
def test_the_reexport_covers_exactly_its_days_before_yesterday(reexport_days, count):
    import dagster as dg

    settings = Settings(projects=["a"], start_date=START, reexport_days=reexport_days)
    reexport = _schedule("recent_days_reexport", settings)
    tick = datetime(2025, 9, 14, 3, tzinfo=UTC)
    requests = reexport(dg.build_schedule_context(scheduled_execution_time=tick))
    days = sorted(Partition.from_key(r.partition_key).day for r in requests)
    assert days == [date(2025, 9, 12) - timedelta(days=n) for n in range(count)][::-1]


def test_the_start_date_itself_is_requested_and_the_day_before_is_not():
    import dagster as dg

    daily = _schedule("daily_archive", SETTINGS)
    on_start = daily(
        dg.build_schedule_context(scheduled_execution_time=datetime(2025, 1, 2, 2, tzinfo=UTC))
    )
    assert {Partition.from_key(r.partition_key).day for r in on_start} == {START}
    before = daily(
        dg.build_schedule_context(scheduled_execution_time=datetime(2025, 1, 1, 2, tzinfo=UTC))
    )
    assert list(before) == []
