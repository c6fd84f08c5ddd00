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


def _refresh(instance: dg.DagsterInstance, at: datetime) -> list[dg.RunRequest]:
    schedule = {s.name: s for s in build_schedules(SETTINGS)}["today_refresh"]
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=at)
    return list(schedule(context))


def test_today_refresh_requests_the_ticks_utc_day_for_every_project_one_run_each():
    with dg.instance_for_test() as instance:
        requests = _refresh(instance, datetime(2025, 9, 14, 0, 17, tzinfo=UTC))
        later = _refresh(instance, datetime(2025, 9, 14, 23, 17, tzinfo=UTC))

    assert sorted((Partition.from_key(r.partition_key) for r in requests), key=str) == sorted(
        (Partition(project, date(2025, 9, 14)) for project in SETTINGS.projects), key=str
    )
    assert {r.tags["lse/reason"] for r in requests} == {"today"}
    # A run key per tick: Dagster runs the same day again at the next tick (a key it has
    # seen before would be skipped for good).
    assert len({r.run_key for r in requests + later}) == 2 * len(SETTINGS.projects)
    assert {Partition.from_key(r.partition_key).day for r in later} == {date(2025, 9, 14)}


def test_the_three_schedules_never_request_the_same_day_at_one_tick():
    at = datetime(2025, 9, 14, 2, 0, tzinfo=UTC)
    with dg.instance_for_test() as instance:
        today = {
            p.day for p in (Partition.from_key(r.partition_key) for r in _refresh(instance, at))
        }
    daily = {p.day for p in _requested("daily_archive", at)}
    reexport = {p.day for p in _requested("recent_days_reexport", at)}

    assert today == {date(2025, 9, 14)} and daily == {date(2025, 9, 13)}
    assert not (today & daily or today & reexport or daily & reexport)


def test_today_refresh_skips_a_project_whose_refresh_is_still_queued_or_running():
    from dagster._core.test_utils import create_run_for_test

    at = datetime(2025, 9, 14, 10, 17, tzinfo=UTC)
    busy, idle = (Partition(project, date(2025, 9, 14)) for project in SETTINGS.projects)
    with dg.instance_for_test() as instance:
        for status, partition in [
            (dg.DagsterRunStatus.STARTED, busy),  # the previous tick's refresh, still going
            (dg.DagsterRunStatus.SUCCESS, idle),  # over: no reason to skip
            (dg.DagsterRunStatus.STARTING, Partition(idle.project, date(2025, 9, 13))),  # other day
        ]:
            tags = {"lse/reason": "today", **partition.run_tags}
            create_run_for_test(instance, status=status, tags=tags)
        requested = [Partition.from_key(r.partition_key) for r in _refresh(instance, at)]
        create_run_for_test(  # (a QUEUED run needs a code location's origin; same filter)
            instance,
            status=dg.DagsterRunStatus.NOT_STARTED,
            tags={"lse/reason": "today", **idle.run_tags},
        )
        both_busy = _refresh(instance, at)

    assert requested == [idle]
    assert both_busy == []
