"""When partitions run without anyone asking: yesterday every morning, recent days again,
and (once switched on) today every hour.

Each schedule requests (day, project) partitions of the `archive_day` job, one run per
partition; the day is computed from the tick's own time, so a late or replayed tick archives
the right day. Their days never overlap at one tick: today (today_refresh), yesterday
(daily_archive), the LSE_REEXPORT_DAYS before yesterday (recent_days_reexport).
"""

from __future__ import annotations

from datetime import UTC, date, timedelta

import dagster as dg

from lse_assets.core.partition import Partition
from lse_assets.defs.jobs import archive_day_job
from lse_assets.defs.partitions import partition_key
from lse_assets.settings import Settings

TODAY = "today"  # today_refresh's reason: its runs' `lse/reason` tag
_NOT_OVER = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def _tick_day(context: dg.ScheduleEvaluationContext) -> date:
    return context.scheduled_execution_time.astimezone(UTC).date()


def _requests(
    days: list[date], settings: Settings, reason: str, tick: str = ""
) -> list[dg.RunRequest]:
    """One run per partition; the run key (unique per schedule) names the day, and `tick`
    for a schedule that requests the same day again at every tick."""
    return [
        dg.RunRequest(
            run_key=f"{reason}:{day.isoformat()}|{project}{tick}",
            partition_key=partition_key(Partition(project=project, day=day)),
            tags={"lse/reason": reason},
        )
        for day in days
        if day >= settings.start_date
        for project in settings.projects
    ]


def _refreshing(context: dg.ScheduleEvaluationContext, partition: Partition) -> bool:
    """Whether a refresh of `partition` is still queued or running: the next tick skips it
    rather than pile runs up behind a slow LangSmith (the partition lock would only make
    them wait)."""
    tags = {"lse/reason": TODAY, "dagster/partition": partition.label}
    return bool(context.instance.get_run_ids(dg.RunsFilter(tags=tags, statuses=_NOT_OVER), limit=1))


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

    @dg.schedule(
        name="today_refresh",
        job=archive_day_job,
        cron_schedule=settings.today_cron,
        execution_timezone="UTC",
        # Stopped everywhere until switched on: every refresh fetches the whole day so far
        # again, about 12 days' worth of LangSmith reads a day (docs/operations.md).
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description=(
            "Re-archive the current UTC day so far (a partial day), for every configured "
            "project: Postgres and Parquet stay within one tick of LangSmith. A project whose "
            "previous refresh is still queued or running is skipped."
        ),
    )
    def today_refresh(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
        tick = f"@{context.scheduled_execution_time.astimezone(UTC):%H:%M}"
        return [
            request
            for request in _requests([_tick_day(context)], settings, TODAY, tick)
            if not _refreshing(context, Partition.from_key(str(request.partition_key)))
        ]

    return [daily_archive, recent_days_reexport, today_refresh]
