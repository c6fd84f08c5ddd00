"""The sensor that tells a human about every failed check evaluation, once.

A failing check that does not block (or any check in a run that otherwise succeeds)
leaves the run green, so run-failure sensors never see it. This sensor reads the
instance's asset check execution records instead (the storage behind the UI's check
history: it works on the default SQLite instance and on Postgres storage alike), sends
each failed evaluation of our checks through the notifier, and keeps a cursor
(lse_assets.core.alerting) so that a webhook outage delays messages but loses none.

A tick never outlives Dagster's 60 s sensor limit (a timed-out tick saves no cursor, so
the next one would send the same messages again, forever): it starts a message only when
the message's whole deadline (the notifier's `deadline_seconds`) still fits in
TICK_BUDGET_SECONDS, and saves the cursor for what it sent. A backlog goes out over
several ticks, each message once.
"""

import time
from collections.abc import Iterable, Sequence

import dagster as dg

# Not exported by `dagster` in 1.13; the records come from the public event log storage API.
from dagster._core.storage.asset_check_execution_record import (
    AssetCheckExecutionRecord,
    AssetCheckExecutionRecordStatus,
)

from lse_assets.core import alerting, findings
from lse_assets.core.alerting import AlertCursor, Candidate, CheckFailure
from lse_assets.defs.checks import CHECK_KEYS
from resources.notifier import WebhookNotifier

CHECK_FAILURE_ALERTS = "check_failure_alerts"
# On its very first tick the sensor announces failures of the last day only, not the
# whole history of an instance it is added to.
FIRST_TICK_LOOKBACK_SECONDS = 24 * 3600
# Dagster cancels a sensor evaluation after 60 s; reading the records takes the rest.
TICK_BUDGET_SECONDS = 40.0
_PAGE = 200


def _our_check_keys(context: dg.SensorEvaluationContext) -> list[dg.AssetCheckKey]:
    repository = context.repository_def
    if repository is not None:
        return sorted(repository.asset_graph.asset_check_keys, key=str)
    return list(CHECK_KEYS)


def _records_after(
    instance: dg.DagsterInstance, key: dg.AssetCheckKey, after_id: int
) -> list[AssetCheckExecutionRecord]:
    """Every execution record of `key` with an id above `after_id` (newest first pages)."""
    found: list[AssetCheckExecutionRecord] = []
    before: int | None = None
    while True:
        page = instance.event_log_storage.get_asset_check_execution_history(
            key, limit=_PAGE, cursor=before
        )
        newer = [record for record in page if record.id > after_id]
        found.extend(newer)
        if len(page) < _PAGE or len(newer) < len(page):
            return found
        before = page[-1].id


def _failure(record: AssetCheckExecutionRecord) -> CheckFailure:
    evaluation = record.evaluation
    counts, samples = findings.from_metadata(
        {key: entry.value for key, entry in evaluation.metadata.items()}
    )
    return CheckFailure(
        asset=evaluation.asset_key.to_user_string(),
        check=evaluation.check_name,
        partition=record.partition or evaluation.partition,
        severity=evaluation.severity.value,
        counts=counts,
        samples=samples,
        run_id=record.run_id,
        description=evaluation.description,
    )


def _candidates(
    instance: dg.DagsterInstance,
    records: Iterable[AssetCheckExecutionRecord],
    include_warnings: bool,
    announce_since: float | None,
) -> list[Candidate]:
    finished: dict[str, bool] = {}

    def run_finished(run_id: str) -> bool:
        if run_id not in finished:
            run = instance.get_run_record_by_id(run_id) if run_id else None
            finished[run_id] = run is None or run.dagster_run.is_finished
        return finished[run_id]

    candidates = []
    for record in records:
        if record.status == AssetCheckExecutionRecordStatus.PLANNED:
            # Still running: hold the cursor. Never evaluated in a finished run (the step
            # failed or was skipped): nothing to announce here, run failures are visible.
            candidates.append(Candidate(record.id, in_progress=not run_finished(record.run_id)))
            continue
        evaluation = record.evaluation
        announce = (
            record.status == AssetCheckExecutionRecordStatus.FAILED
            and evaluation is not None
            and (
                evaluation.severity == dg.AssetCheckSeverity.ERROR
                or (include_warnings and evaluation.severity == dg.AssetCheckSeverity.WARN)
            )
            and (announce_since is None or record.create_timestamp >= announce_since)
        )
        candidates.append(Candidate(record.id, failure=_failure(record) if announce else None))
    return candidates


def _tick(
    context: dg.SensorEvaluationContext,
    notifier: WebhookNotifier,
    include_warnings: bool,
    dagster_url: str | None,
    check_keys: Sequence[dg.AssetCheckKey] | None,
    tick_budget_seconds: float,
) -> dg.SkipReason:
    """One tick: the records since the cursor, the messages that fit the budget, the cursor."""
    started = time.monotonic()
    previous = AlertCursor.from_json(context.cursor)
    cursor = previous or AlertCursor()
    keys = list(check_keys) if check_keys is not None else _our_check_keys(context)
    records = [
        record
        for key in keys
        for record in _records_after(context.instance, key, cursor.settled_through)
    ]
    announce_since = None if previous else time.time() - FIRST_TICK_LOOKBACK_SECONDS
    candidates = _candidates(context.instance, records, include_warnings, announce_since)

    def send(failure: CheckFailure) -> None:
        url = alerting.run_url(dagster_url, failure.run_id)
        notifier.send(alerting.slack_message(failure, url))

    def may_send() -> bool:
        elapsed = time.monotonic() - started
        return elapsed + notifier.deadline_seconds <= tick_budget_seconds

    outcome = alerting.run_tick(cursor, candidates, send, may_send)
    context.update_cursor(outcome.cursor.to_json())
    if outcome.error:
        context.log.warning(
            f"{outcome.error}; {len(outcome.failures_waiting)} failed check(s) will be "
            "sent on the next tick"
        )
    # A SkipReason because the sensor requests no run; its text says what was sent.
    return dg.SkipReason(
        alerting.tick_summary(
            outcome, webhook=bool(notifier.webhook_url), budget_seconds=tick_budget_seconds
        )
    )


def build_check_failure_sensor(
    include_warnings: bool = False,
    dagster_url: str | None = None,
    check_keys: Sequence[dg.AssetCheckKey] | None = None,
    tick_budget_seconds: float = TICK_BUDGET_SECONDS,
) -> dg.SensorDefinition:
    """The alert sensor. `include_warnings`: WARN failures too (LSE_ALERT_WARNINGS);
    `dagster_url`: the UI's base URL for run links (LSE_DAGSTER_URL);
    `tick_budget_seconds`: when a tick stops starting new messages."""

    @dg.sensor(
        name=CHECK_FAILURE_ALERTS,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Sends every failed check evaluation (ERROR"
        + (", WARN" if include_warnings else "")
        + ") once to LSE_ALERT_WEBHOOK_URL (or the log); retries while the webhook is down.",
    )
    def check_failure_alerts(
        context: dg.SensorEvaluationContext, notifier: WebhookNotifier
    ) -> dg.SkipReason:
        return _tick(
            context, notifier, include_warnings, dagster_url, check_keys, tick_budget_seconds
        )

    return check_failure_alerts
