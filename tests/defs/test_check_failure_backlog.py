"""A backlog of failed checks over a slow webhook: each tick stops at its deadline, saves its
cursor, and the backlog arrives over several ticks, each alert exactly once (a real
instance's check records, the real sensor, a real local HTTP webhook)."""

import re
import time

import dagster as dg

from lse_assets.defs.checks import CHECK_KEYS, FILES_MATCH_DB
from lse_assets.defs.sensors.check_failures import build_check_failure_sensor
from resources.notifier import NotifierError, WebhookNotifier
from tests.fakes.webhook import webhook_receiver

BACKLOG = 50
BUDGET = 3.0
DEADLINE = 1.0


def test_a_backlog_over_a_slow_webhook_is_sent_over_several_ticks_each_once():
    key = next(key for key in CHECK_KEYS if key.name == FILES_MATCH_DB)
    sensor = build_check_failure_sensor(check_keys=[key], tick_budget_seconds=BUDGET)
    with dg.instance_for_test() as instance, webhook_receiver() as receiver:
        for number in range(1, BACKLOG + 1):
            instance.report_runless_asset_event(
                dg.AssetCheckEvaluation(
                    asset_key=key.asset_key,
                    check_name=key.name,
                    passed=False,
                    severity=dg.AssetCheckSeverity.ERROR,
                    metadata={"differing": number},
                )
            )
        receiver.delay_seconds = 0.2
        notifier = WebhookNotifier(webhook_url=receiver.url, deadline_seconds=DEADLINE, attempts=1)
        cursor, sent_per_tick = None, []
        for _ in range(40):
            before = len(receiver.messages)
            started = time.monotonic()
            result = sensor.evaluate_tick(
                dg.build_sensor_context(
                    instance=instance, cursor=cursor, resources={"notifier": notifier}
                )
            )
            took = time.monotonic() - started
            # A tick starts a message only while its whole deadline fits in the budget.
            assert took < BUDGET + 2, took
            cursor = result.cursor
            sent_per_tick.append(len(receiver.messages) - before)
            if "waiting" not in result.skip_message:
                break
        numbers = [
            int(re.search(r"differing=(\d+)", message["text"]).group(1))
            for message in receiver.messages
        ]
    assert sorted(numbers) == list(range(1, BACKLOG + 1))  # every alert, none twice
    assert numbers == sorted(numbers)  # oldest first
    assert len([n for n in sent_per_tick if n]) > 2 and max(sent_per_tick) < BACKLOG


def test_a_webhook_that_drips_its_answer_is_cut_at_the_total_deadline():
    with webhook_receiver() as receiver:
        receiver.drip_seconds = 0.2  # each read is quick; the whole answer takes 200 s
        notifier = WebhookNotifier(
            webhook_url=receiver.url, timeout_seconds=1.0, deadline_seconds=1.5, attempts=3
        )
        started = time.monotonic()
        try:
            notifier.send("x")
        except NotifierError as error:
            message = str(error)
        else:
            raise AssertionError("a dripping webhook must not count as delivered")
        took = time.monotonic() - started
    assert "deadline" in message and receiver.url not in message
    assert took < 1.5 + 2, took
