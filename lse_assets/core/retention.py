"""Days about to leave LangSmith's retention without a good archive: which, and the message.

LangSmith deletes a base-tier day `retention_days` after it; from `retention_warn_days`
on, a day that is not archived (or whose last attempt failed) is at risk, and after the
deadline it is lost for good. Today is never watched (LSE_RETENTION_WARN_DAYS is at least
1): a partial day is no emergency. This module only decides; the sensor
(defs/sensors/retention_alarm.py) asks the instance and sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from lse_assets.core.invocation import LSE
from lse_assets.core.partition import Partition, PartitionStatus, days_between
from lse_assets.settings import Settings


@dataclass(frozen=True)
class AtRisk:
    status: PartitionStatus
    days_left: int

    @property
    def key(self) -> str:
        return self.status.partition.label


def watched_partitions(settings: Settings, today: date) -> list[Partition]:
    """(day, project) pairs old enough to warn about and still fetchable from LangSmith."""
    first = max(settings.start_date, today - timedelta(days=settings.retention_days))
    last = today - timedelta(days=settings.retention_warn_days)
    return [Partition(p, day) for day in days_between(first, last) for p in settings.projects]


def at_risk(statuses: list[PartitionStatus], settings: Settings, today: date) -> list[AtRisk]:
    return [
        AtRisk(status, settings.retention_days - (today - status.partition.day).days)
        for status in statuses
        if status.failed or not status.archived
    ]


def alarm_message(risks: list[AtRisk], dagster_url: str | None) -> dict:
    """A Slack-compatible message: one line per partition, soonest deadline first."""
    lines = []
    for risk in sorted(risks, key=lambda r: (r.days_left, r.key)):
        when = "today" if risk.days_left <= 0 else f"in {risk.days_left} day(s)"
        lines.append(f"• `{risk.key}`: {risk.status.summary}, LangSmith deletes it {when}")
    text = (
        f":rotating_light: LSE: {len(risks)} partition(s) near LangSmith's retention limit "
        f"are not safely archived. Materialize them now (UI, or `{LSE} materialize`).\n"
        + "\n".join(lines)
    )
    if dagster_url:
        link = f"{dagster_url.rstrip('/')}/assets/raw_runs?view=partitions"
        text += f"\n<{link}|Open raw_runs partitions>"
    return {"text": text}


def announcement_keys(risks: list[AtRisk]) -> set[str]:
    """What was announced: a partition in a state (announced again if its state changes)."""
    return {f"{risk.key}={risk.status.summary}" for risk in risks}
