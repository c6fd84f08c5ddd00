"""The retention alarm sensor: asks the instance which watched days are at risk, sends once.

It watches the copies that hold every byte of a run (files, zip, archive store, `runs`),
the ones that protect a day once LangSmith deletes it. Not the Parquet copy: it carries
Bulk Export's columns (a warehouse view, not a backup) and is rebuilt from the files at
any time, so a day without it is no emergency (and an upgrade that adds it raises no
alarm for every watched day).

The cursor holds what was announced (partition and state), limited to days still watched;
a webhook outage leaves it unchanged, so the next tick sends again.
"""

import json
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime

import dagster as dg

from lse_assets.core import retention
from lse_assets.defs.assets import PARQUET_RUNS, build_assets
from lse_assets.defs.checks import build_checks
from lse_assets.defs.status import partition_statuses
from lse_assets.settings import Settings
from resources.notifier import NotifierError, WebhookNotifier

RETENTION_ALARM = "retention_alarm"


def _utc_today() -> date:
    return datetime.now(UTC).date()


def _tick(
    context: dg.SensorEvaluationContext,
    notifier: WebhookNotifier,
    settings: Settings,
    dagster_url: str | None,
    now: date,
    assets: Sequence[dg.AssetsDefinition],
    checks: Sequence[dg.AssetChecksDefinition],
) -> dg.SkipReason:
    """One tick: the watched days at risk, those not announced yet sent once, the cursor."""
    watched = retention.watched_partitions(settings, now)
    statuses = partition_statuses(context.instance, assets, checks, watched, now)
    risks = retention.at_risk(statuses, settings, now)
    announced = set(json.loads(context.cursor or "[]"))
    fresh = [r for r in risks if not retention.announcement_keys([r]) <= announced]
    if fresh:
        try:
            notifier.send(retention.alarm_message(fresh, dagster_url))
        except NotifierError as error:
            return dg.SkipReason(f"{len(fresh)} partition(s) at risk, not sent yet: {error}")
    still_watched = {p.label for p in watched}
    kept = {key for key in announced if key.split("=", 1)[0] in still_watched}
    context.update_cursor(json.dumps(sorted(kept | retention.announcement_keys(fresh))))
    return dg.SkipReason(
        f"{len(risks)} partition(s) at risk, {len(fresh)} newly announced"
        if risks
        else f"all {len(watched)} watched partition(s) archived"
    )


def build_retention_alarm(
    settings: Settings, dagster_url: str | None, today: Callable[[], date] = _utc_today
) -> dg.SensorDefinition:
    not_a_backup = dg.AssetKey(PARQUET_RUNS)
    assets = [a for a in build_assets(settings) if not_a_backup not in a.keys]
    checks = [
        c
        for c in build_checks(settings)
        if all(key.asset_key != not_a_backup for key in c.check_keys)
    ]

    @dg.sensor(
        name=RETENTION_ALARM,
        minimum_interval_seconds=3600,
        default_status=(  # stopped in the demo: its unarchived days are no emergency
            dg.DefaultSensorStatus.RUNNING
            if settings.automation_starts_running
            else dg.DefaultSensorStatus.STOPPED
        ),
        description=(
            f"Alerts when a day older than {settings.retention_warn_days} days is not archived "
            f"(or failed) before LangSmith deletes it at {settings.retention_days} days."
        ),
    )
    def retention_alarm(
        context: dg.SensorEvaluationContext, notifier: WebhookNotifier
    ) -> dg.SkipReason:
        return _tick(context, notifier, settings, dagster_url, today(), assets, checks)

    return retention_alarm
