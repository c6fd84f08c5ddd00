"""Schedules request exactly the partitions they promise."""

from datetime import UTC, date, datetime

import dagster as dg

from lse_assets.core.partition import Partition
from lse_assets.defs.schedules import build_schedules
from lse_assets.settings import Settings

SETTINGS = Settings(projects=["proj-a", "Team B/ünïcode's"], start_date=date(2025, 1, 1))


def _requested(schedule_name: str, at: datetime) -> list[Partition]:
    schedule = {s.name: s for s in build_schedules(SETTINGS)}[schedule_name]
    context = dg.build_schedule_context(scheduled_execution_time=at)
    return [Partition.from_key(request.partition_key) for request in schedule(context)]


def test_daily_schedule_requests_the_previous_day_for_every_project():
    requested = _requested("daily_archive", datetime(2025, 9, 14, 2, 0, tzinfo=UTC))
    assert sorted(requested, key=lambda p: p.project) == [
        Partition("Team B/ünïcode's", date(2025, 9, 13)),
        Partition("proj-a", date(2025, 9, 13)),
    ]


def test_daily_schedule_uses_the_utc_day_of_the_tick():
    requested = _requested("daily_archive", datetime(2025, 9, 14, 1, 0, tzinfo=UTC).astimezone())
    assert {p.day for p in requested} == {date(2025, 9, 13)}


def test_reexport_covers_the_days_before_yesterday():
    requested = _requested("recent_days_reexport", datetime(2025, 9, 14, 3, 0, tzinfo=UTC))
    assert {p.day for p in requested} == {date(2025, 9, 12), date(2025, 9, 11), date(2025, 9, 10)}
    assert len(requested) == 3 * len(SETTINGS.projects)


def test_no_request_before_the_start_date():
    requested = _requested("recent_days_reexport", datetime(2025, 1, 3, 3, 0, tzinfo=UTC))
    assert {p.day for p in requested} == {date(2025, 1, 1)}


def test_schedules_run_in_production_and_start_stopped_in_the_demo(tmp_path):
    from lse_assets.settings import demo_settings

    production = {s.name: s.default_status for s in build_schedules(SETTINGS)}
    demo = {s.name: s.default_status for s in build_schedules(demo_settings(tmp_path))}

    # today_refresh is opt-in everywhere: it multiplies the LangSmith reads (operations.md).
    assert production.pop("today_refresh") == dg.DefaultScheduleStatus.STOPPED
    assert set(production.values()) == {dg.DefaultScheduleStatus.RUNNING}
    assert set(demo.values()) == {dg.DefaultScheduleStatus.STOPPED}
