"""When partitions run without anyone asking: yesterday every morning, recent days again.

Both schedules request (day, project) partitions of the `archive_day` job; the day is
computed from the tick's own time, so a late or replayed tick archives the right day.
"""

from __future__ import annotations

from datetime import UTC, date, timedelta

import dagster as dg

from lse_assets.core.partition import Partition
from lse_assets.defs.jobs import archive_day_job
from lse_assets.defs.partitions import partition_key
from lse_assets.settings import Settings


def _tick_day(context: dg.ScheduleEvaluationContext) -> date:
    return context.scheduled_execution_time.astimezone(UTC).date()


def _requests(days: list[date], settings: Settings, reason: str) -> list[dg.RunRequest]:
    return [
        dg.RunRequest(
            run_key=f"{reason}:{day.isoformat()}|{project}",
            partition_key=partition_key(Partition(project=project, day=day)),
            tags={"lse/reason": reason},
        )
        for day in days
        if day >= settings.start_date
        for project in settings.projects
    ]


def _default_status(settings: Settings) -> dg.DefaultScheduleStatus:
    # Running in production as soon as a daemon runs; stopped in the demo (switch on in the UI).
    if settings.automation_starts_running:
        return dg.DefaultScheduleStatus.RUNNING
    return dg.DefaultScheduleStatus.STOPPED


def build_schedules(settings: Settings) -> list[dg.ScheduleDefinition]:
    @dg.schedule(
        name="daily_archive",
        job=archive_day_job,
        cron_schedule=settings.daily_cron,
        execution_timezone="UTC",
        default_status=_default_status(settings),
        description="Archive the UTC day that just ended, for every configured project.",
    )
    def daily_archive(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
        return _requests([_tick_day(context) - timedelta(days=1)], settings, "daily")

    @dg.schedule(
        name="recent_days_reexport",
        job=archive_day_job,
        cron_schedule=settings.reexport_cron,
        execution_timezone="UTC",
        default_status=_default_status(settings),
        description=(
            f"Re-archive the {settings.reexport_days} days before yesterday: late feedback and "
            "token totals land; an unchanged day writes nothing to Drive or the database."
        ),
    )
    def recent_days_reexport(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
        today = _tick_day(context)
        days = [today - timedelta(days=n) for n in range(2, settings.reexport_days + 2)]
        return _requests(days, settings, "reexport")

    return [daily_archive, recent_days_reexport]
