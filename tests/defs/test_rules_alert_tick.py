"""The alert tick never starts a message it cannot finish, and a webhook failing at any point
of a batch loses nothing and announces nothing twice (lse_assets.core.alerting.run_tick and
the check_failure_alerts sensor on a real instance with real check records)."""

import itertools
import re
from types import SimpleNamespace

import dagster as dg
import pytest

from lse_assets.core.alerting import AlertCursor, Candidate, CheckFailure, run_tick
from lse_assets.defs.checks import CHECK_KEYS, FILES_MATCH_DB
from lse_assets.defs.sensors import check_failures as alerts
from lse_assets.defs.sensors.check_failures import build_check_failure_sensor
from resources.notifier import WebhookNotifier

KEY = next(key for key in CHECK_KEYS if key.name == FILES_MATCH_DB)


def _failure(number: int) -> CheckFailure:
    return CheckFailure(
        asset="db_runs",
        check=f"c{number}",
        partition="2025-09-13|proj-a",
        severity="ERROR",
        counts={},
        samples={},
        run_id="run",
    )


# ---- the cursor under a webhook failing mid-batch ----------------------------------------------


@pytest.mark.parametrize("fail_at", range(5))
def test_a_webhook_failing_at_any_message_of_a_batch_loses_none_and_repeats_none(fail_at):
    # Records 1..8: failures at odd ids, records needing no message at even ids.
    records = [Candidate(n, failure=_failure(n)) if n % 2 else Candidate(n) for n in range(1, 9)]
    delivered: list[int] = []
    calls = itertools.count()

    def send(failure: CheckFailure) -> None:
        if next(calls) == fail_at:
            raise RuntimeError("HTTP 503")
        delivered.append(int(failure.check[1:]))

    first = run_tick(AlertCursor(), records, send)
    odd = [1, 3, 5, 7]
    if fail_at < len(odd):
        assert delivered == odd[:fail_at]
        assert first.error == "HTTP 503" and first.sent == fail_at
        assert first.failures_waiting == odd[fail_at:]
        # Everything before the first unsent failure is settled, nothing at or after it.
        assert first.cursor.settled_through == odd[fail_at] - 1
        assert first.cursor.sent == frozenset()
    else:
        assert delivered == odd and first.error is None

    cursor = AlertCursor.from_json(first.cursor.to_json())
    second = run_tick(cursor, records, send)
    third = run_tick(second.cursor, records, send)
    assert delivered == odd  # each once, oldest first
    assert second.error is None and third.sent == 0
    assert third.cursor == AlertCursor(settled_through=8)


def test_no_message_is_started_once_the_tick_may_no_longer_send():
    records = [Candidate(n, failure=_failure(n)) for n in (1, 2, 3)]
    asked: list[int] = []
    delivered: list[int] = []

    def may_send() -> bool:
        asked.append(len(delivered))
        return len(delivered) < 2

    outcome = run_tick(
        AlertCursor(), records, lambda f: delivered.append(int(f.check[1:])), may_send
    )
    assert delivered == [1, 2] and asked == [0, 1, 2]  # asked before each message, not after
    assert outcome.out_of_time and outcome.error is None
    assert outcome.failures_waiting == [3]
    assert outcome.cursor == AlertCursor(settled_through=2)


def test_a_sent_message_above_a_held_record_stays_in_the_cursor_until_settled():
    records = [Candidate(1, in_progress=True), Candidate(2, failure=_failure(2))]
    delivered: list[int] = []
    first = run_tick(AlertCursor(), records, lambda f: delivered.append(2))
    assert first.cursor == AlertCursor(settled_through=0, sent=frozenset({2}))
    again = run_tick(first.cursor, records, lambda f: delivered.append(99))
    assert delivered == [2] and again.cursor == first.cursor
    records[0] = Candidate(1)
    settled = run_tick(again.cursor, records, lambda f: delivered.append(99))
    assert delivered == [2] and settled.cursor == AlertCursor(settled_through=2)


# ---- the sensor: a message starts only if its whole deadline fits the tick's budget --------------


def _record_failures(instance, count: int) -> None:
    for number in range(1, count + 1):
        instance.report_runless_asset_event(
            dg.AssetCheckEvaluation(
                asset_key=KEY.asset_key,
                check_name=KEY.name,
                passed=False,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata={"differing": number},
            )
        )


def _tick(sensor, instance, receiver, cursor, deadline):
    notifier = WebhookNotifier(webhook_url=receiver.url, deadline_seconds=deadline, attempts=1)
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"notifier": notifier}
    )
    return sensor.evaluate_tick(context)


def _numbers(receiver) -> list[int]:
    return [int(re.search(r"differing=(\d+)", m["text"]).group(1)) for m in receiver.messages]


@pytest.mark.parametrize(("budget", "sends"), [(10.0, True), (9.999, False)])
def test_the_sensor_starts_a_message_only_if_its_deadline_fits_the_budget(
    monkeypatch, instance, receiver, budget, sends
):
    import time as real_time

    # The tick's clock stands still: elapsed is 0, so only the deadline (10 s) counts.
    monkeypatch.setattr(alerts, "time", SimpleNamespace(time=real_time.time, monotonic=lambda: 5.0))
    _record_failures(instance, 2)
    sensor = build_check_failure_sensor(check_keys=[KEY], tick_budget_seconds=budget)

    result = _tick(sensor, instance, receiver, None, deadline=10.0)

    if sends:
        assert _numbers(receiver) == [1, 2]
        assert result.skip_message == "alerted 2 failed checks (webhook)"
    else:
        assert receiver.messages == []
        assert "2 failed checks waiting for the next tick" in result.skip_message
        assert AlertCursor.from_json(result.cursor).settled_through == 0


def test_the_sensor_stops_starting_messages_when_the_clock_runs_past_the_budget(
    monkeypatch, instance, receiver
):
    import time as real_time

    clock = iter([0.0, 0.0, 0.5, 1.01, 1.01, 1.01])  # the start, then one reading per message

    monkeypatch.setattr(
        alerts, "time", SimpleNamespace(time=real_time.time, monotonic=lambda: next(clock))
    )
    _record_failures(instance, 4)
    sensor = build_check_failure_sensor(check_keys=[KEY], tick_budget_seconds=2.0)

    first = _tick(sensor, instance, receiver, None, deadline=1.0)
    assert _numbers(receiver) == [1, 2]  # at 1.01 s a 1 s message no longer fits in 2 s

    monkeypatch.setattr(alerts, "time", SimpleNamespace(time=real_time.time, monotonic=lambda: 0.0))
    second = _tick(sensor, instance, receiver, first.cursor, deadline=1.0)
    third = _tick(sensor, instance, receiver, second.cursor, deadline=1.0)
    assert _numbers(receiver) == [1, 2, 3, 4]
    assert third.skip_message == "no new failed checks"


def test_a_webhook_going_down_mid_batch_delays_the_rest_and_repeats_nothing(
    monkeypatch, instance, receiver
):
    _record_failures(instance, 4)
    sensor = build_check_failure_sensor(check_keys=[KEY])
    original = receiver.handler

    def failing_after_two():
        handler = original()
        post = handler.do_POST

        def do_POST(self):
            if len(receiver.messages) >= 2:
                receiver.status = 503
            post(self)

        handler.do_POST = do_POST
        return handler

    receiver.handler = failing_after_two  # only handlers made from now on
    import http.server
    import threading

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), receiver.handler())
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/services/T/B/secret"
    try:
        down = _tick(sensor, instance, receiver, None, deadline=5.0)
        assert _numbers(receiver) == [1, 2]
        assert "2 failed checks waiting" in down.skip_message
        receiver.handler = original
        server.RequestHandlerClass = original()
        receiver.status = 200
        up = _tick(sensor, instance, receiver, down.cursor, deadline=5.0)
        quiet = _tick(sensor, instance, receiver, up.cursor, deadline=5.0)
    finally:
        server.shutdown()
        server.server_close()
    assert _numbers(receiver) == [1, 2, 3, 4]
    assert quiet.skip_message == "no new failed checks"


@pytest.mark.parametrize("include_warnings", [True, False])
def test_a_warn_failure_is_sent_only_when_warnings_are_asked_for(
    instance, receiver, include_warnings
):
    instance.report_runless_asset_event(
        dg.AssetCheckEvaluation(
            asset_key=KEY.asset_key,
            check_name=KEY.name,
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"differing": 7},
        )
    )
    sensor = build_check_failure_sensor(check_keys=[KEY], include_warnings=include_warnings)

    _tick(sensor, instance, receiver, None, deadline=5.0)

    assert _numbers(receiver) == ([7] if include_warnings else [])
