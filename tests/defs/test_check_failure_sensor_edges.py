"""The alert sensor at its edges, on a real instance with real check evaluations: more
records than one page, the first tick's look-back window (with a fake clock), and a check
still running while a later one failed. Each failure reaches the webhook exactly once."""

import threading
import time
from types import SimpleNamespace

import dagster as dg

from lse_assets.defs.sensors import check_failures as alerts
from lse_assets.defs.sensors.check_failures import build_check_failure_sensor
from tests.fakes.webhook import tick


def ticks(sensor, instance, receiver, count: int, cursor=None):
    for _ in range(count):
        cursor = tick(sensor, instance, receiver, cursor).cursor
    return cursor


@dg.asset
def box() -> int:
    return 1


@dg.asset_check(asset=box)
def box_is_broken(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"attempt": int(context.run.tags["attempt"])},
    )


def fail_box(instance, attempt: int) -> None:
    dg.materialize([box, box_is_broken], instance=instance, tags={"attempt": str(attempt)})


def attempts_sent(receiver) -> list[int]:
    return sorted(
        int(field["text"].split("\n")[1])
        for message in receiver.messages
        for block in message["blocks"]
        for field in block.get("fields", [])
        if field["text"].startswith("*attempt*")
    )


def test_failures_beyond_one_page_of_records_are_each_sent_once(monkeypatch, instance, receiver):
    monkeypatch.setattr(alerts, "_PAGE", 2)  # 7 records span 4 pages
    sensor = build_check_failure_sensor(check_keys=box_is_broken.check_keys)
    cursor = ticks(sensor, instance, receiver, 1)  # the first tick of an empty instance
    for attempt in range(7):
        fail_box(instance, attempt)

    ticks(sensor, instance, receiver, 3, cursor)

    assert attempts_sent(receiver) == list(range(7))


def _clock_at(now: float) -> SimpleNamespace:
    """The sensor's wall clock fixed at `now`; its tick budget still runs on the real one."""
    return SimpleNamespace(time=lambda: now, monotonic=time.monotonic)


def test_the_first_tick_announces_the_last_day_only(monkeypatch, instance, receiver):
    fail_box(instance, 0)
    created = time.time()
    sensor = build_check_failure_sensor(check_keys=box_is_broken.check_keys)

    # The sensor is first switched on 25 hours after the failure: it is history, not news.
    monkeypatch.setattr(alerts, "time", _clock_at(created + 25 * 3600))
    ticks(sensor, instance, receiver, 3)
    assert receiver.messages == []

    # Switched on 23 hours after it: announced, once.
    monkeypatch.setattr(alerts, "time", _clock_at(created + 23 * 3600))
    cursor = ticks(sensor, instance, receiver, 3)
    assert attempts_sent(receiver) == [0]

    # After the first tick the window no longer applies: an old-looking new failure is sent.
    monkeypatch.setattr(alerts, "time", _clock_at(created + 999 * 3600))
    fail_box(instance, 1)
    ticks(sensor, instance, receiver, 2, cursor)
    assert attempts_sent(receiver) == [0, 1]


started = threading.Event()
release = threading.Event()


@dg.asset
def slow_box() -> int:
    return 1


@dg.asset_check(asset=slow_box)
def slow_box_is_broken() -> dg.AssetCheckResult:
    started.set()
    assert release.wait(60), "the test never released the check"
    return dg.AssetCheckResult(passed=False, metadata={"attempt": 100})


def test_a_check_still_running_holds_the_cursor_until_it_fails(instance, receiver):
    started.clear()
    release.clear()
    keys = [*slow_box_is_broken.check_keys, *box_is_broken.check_keys]
    sensor = build_check_failure_sensor(check_keys=keys)
    cursor = ticks(sensor, instance, receiver, 1)
    slow = threading.Thread(
        target=lambda: dg.materialize(
            [slow_box, slow_box_is_broken], instance=instance, raise_on_error=False
        )
    )
    slow.start()
    try:
        assert started.wait(60)
        fail_box(instance, 1)  # planned and failed after the slow check was planned

        cursor = ticks(sensor, instance, receiver, 2, cursor)
        assert attempts_sent(receiver) == [1]
    finally:
        release.set()
        slow.join(60)

    ticks(sensor, instance, receiver, 3, cursor)
    assert attempts_sent(receiver) == [1, 100]
