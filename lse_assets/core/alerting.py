"""Which failed check evaluations to announce, the message for each, and what was sent.

The check execution records of the instance carry increasing ids, assigned when a check
is *planned*; the evaluation arrives later. So the cursor is a watermark plus the ids
above it already sent: every record at or below `settled_through` is sent or needs no
message, and a record still in progress (or unsent because the webhook was down) holds
the watermark back, so nothing is skipped and nothing is sent twice.

A tick also stops sending when `may_send` says its time is up (the sensor's deadline,
well inside Dagster's 60 s tick limit): what was sent is in the cursor, the rest waits
for the next tick exactly as it does while the webhook is down.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_COUNT_FIELDS = 10  # Slack shows at most 10 fields in a section
MAX_SAMPLE_IDS = 5


@dataclass(frozen=True)
class AlertCursor:
    settled_through: int = 0
    sent: frozenset[int] = frozenset()

    def to_json(self) -> str:
        return json.dumps({"settled_through": self.settled_through, "sent": sorted(self.sent)})

    @classmethod
    def from_json(cls, text: str | None) -> AlertCursor | None:
        if not text:
            return None
        data = json.loads(text)
        return cls(settled_through=int(data["settled_through"]), sent=frozenset(data["sent"]))


@dataclass(frozen=True)
class CheckFailure:
    asset: str
    check: str
    partition: str | None
    severity: str
    counts: Mapping[str, float]
    samples: Mapping[str, list[str]]
    run_id: str
    description: str | None = None


@dataclass(frozen=True)
class Candidate:
    """One check execution record: in progress, done and worth a message, or done."""

    record_id: int
    in_progress: bool = False
    failure: CheckFailure | None = None


@dataclass
class TickOutcome:
    cursor: AlertCursor
    sent: int = 0
    error: str | None = None
    failures_waiting: list[int] = field(default_factory=list)
    out_of_time: bool = False


def run_tick(
    cursor: AlertCursor,
    candidates: Iterable[Candidate],
    send: Callable[[CheckFailure], None],
    may_send: Callable[[], bool] = lambda: True,
) -> TickOutcome:
    """Send every failure not sent yet, oldest first; stop at the first send that fails
    (the webhook is down: the rest waits for the next tick), or when `may_send` returns
    False (the tick's time is up: the rest waits too). `send` raises on failure."""
    sent = set(cursor.sent)
    outcome = TickOutcome(cursor=cursor)
    unsettled: list[int] = []
    highest = cursor.settled_through
    for candidate in sorted(candidates, key=lambda c: c.record_id):
        if candidate.record_id <= cursor.settled_through:
            continue
        highest = max(highest, candidate.record_id)
        if candidate.record_id in sent:
            continue
        if candidate.in_progress:
            unsettled.append(candidate.record_id)
        elif candidate.failure is not None:
            if outcome.error is None and not outcome.out_of_time and not may_send():
                outcome.out_of_time = True
            if outcome.error is None and not outcome.out_of_time:
                try:
                    send(candidate.failure)
                except Exception as error:
                    outcome.error = str(error)
                else:
                    sent.add(candidate.record_id)
                    outcome.sent += 1
                    continue
            unsettled.append(candidate.record_id)
            outcome.failures_waiting.append(candidate.record_id)
    settled_through = min(unsettled) - 1 if unsettled else highest
    outcome.cursor = AlertCursor(
        settled_through=settled_through,
        sent=frozenset(record_id for record_id in sent if record_id > settled_through),
    )
    return outcome


def tick_summary(outcome: TickOutcome, *, webhook: bool, budget_seconds: float) -> str:
    """The sensor tick's one line, which Dagster shows as the tick's reason. Dagster calls
    every tick that requests no run "Skipped", so this line says what the tick did: alerted
    (webhook), logged (no webhook set), nothing new, and what waits for the next tick."""
    done = "no new failed checks"
    if outcome.sent:
        done = (
            f"alerted {_checks(outcome.sent)} (webhook)"
            if webhook
            else f"logged {_checks(outcome.sent)} (LSE_ALERT_WEBHOOK_URL not set)"
        )
    waiting = f"{_checks(len(outcome.failures_waiting))} waiting for the next tick"
    if outcome.error:
        return f"{done if outcome.sent else 'alerted none'}; {waiting}: {outcome.error}"
    if outcome.out_of_time:
        return (
            f"{done if outcome.sent else 'alerted none'}; {waiting} "
            f"(this tick's {budget_seconds:g} s budget is used)"
        )
    return done


def _checks(count: int) -> str:
    return f"{count} failed check{'' if count == 1 else 's'}"


def slack_message(failure: CheckFailure, run_url: str | None) -> dict[str, Any]:
    """A Slack-compatible payload: a plain `text` fallback plus Block Kit sections."""
    where = f"{failure.asset} [{failure.partition}]" if failure.partition else failure.asset
    nonzero = {key: value for key, value in failure.counts.items() if value}
    summary = ", ".join(f"{key}={_number(value)}" for key, value in nonzero.items())
    text = f"Check {failure.check} failed ({failure.severity}) on {where}" + (
        f": {summary}" if summary else ""
    )
    if run_url:
        text += f" - {run_url}"
    lines = [
        f"*Check failed:* `{failure.check}` on `{failure.asset}`",
        f"*Partition:* `{failure.partition}`" if failure.partition else "*Partition:* none",
        f"*Severity:* {failure.severity}",
    ]
    if failure.description:
        lines.append(failure.description)
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}}
    ]
    ordered = sorted(failure.counts.items(), key=lambda item: (not item[1], item[0]))
    if ordered:
        blocks.append(
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{key}*\n{_number(value)}"}
                    for key, value in ordered[:MAX_COUNT_FIELDS]
                ],
            }
        )
    sample_lines = [
        f"*{kind}*: " + ", ".join(f"`{item}`" for item in ids[:MAX_SAMPLE_IDS])
        for kind, ids in failure.samples.items()
        if ids
    ]
    if sample_lines:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(sample_lines)}}
        )
    if run_url:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"<{run_url}|Open the run>"}],
            }
        )
    return {"text": text, "blocks": blocks}


def run_url(dagster_url: str | None, run_id: str) -> str | None:
    return f"{dagster_url.rstrip('/')}/runs/{run_id}" if dagster_url else None


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
