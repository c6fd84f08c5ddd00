"""The notifier against a local webhook: delivery, retries, refusals, and no webhook at all."""

import logging
import time

import dagster as dg
import pytest

from lse_assets.core.redaction import RedactedError
from resources.notifier import NotifierError, WebhookNotifier
from tests.fakes.webhook import webhook_receiver


def test_a_text_or_a_payload_is_posted_as_json():
    with webhook_receiver() as receiver:
        notifier = WebhookNotifier(webhook_url=receiver.url)
        assert notifier.send("retention alarm: 2025-09-01 not archived") is True
        assert notifier.send({"text": "t", "blocks": []}) is True
    assert receiver.messages == [
        {"text": "retention alarm: 2025-09-01 not archived"},
        {"text": "t", "blocks": []},
    ]


def test_a_webhook_that_is_down_is_retried_then_reported_without_its_url():
    with webhook_receiver() as receiver:
        receiver.status = 503
        with pytest.raises(NotifierError) as raised:
            WebhookNotifier(webhook_url=receiver.url, attempts=2).send("x")
    assert receiver.refused == 2
    assert "HTTP 503" in str(raised.value) and receiver.url not in str(raised.value)


def test_a_refused_message_is_not_retried():
    with webhook_receiver() as receiver:
        receiver.status = 404  # a revoked Slack webhook answers 404
        with pytest.raises(NotifierError, match=r"HTTP 404.*LSE_ALERT_WEBHOOK_URL"):
            WebhookNotifier(webhook_url=receiver.url, attempts=3).send("x")
    assert receiver.refused == 1


def test_an_unreachable_webhook_is_a_notifier_error():
    with webhook_receiver() as receiver:
        url = receiver.url
    with pytest.raises(NotifierError, match="unavailable"):
        WebhookNotifier(webhook_url=url, attempts=1, timeout_seconds=2).send("x")


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_without_a_webhook_the_message_is_logged():
    logger = dg.get_dagster_logger()
    records = _Records()
    logger.addHandler(records)
    try:
        assert WebhookNotifier().send({"text": "check failed", "blocks": []}) is False
    finally:
        logger.removeHandler(records)
    # The text alone, not the whole payload (its blocks are for chat, not the log).
    assert any(
        line.startswith("alert (set LSE_ALERT_WEBHOOK_URL to receive it in chat): ")
        and line.endswith("): check failed")
        for line in records.lines
    ), records.lines


def test_an_https_webhook_answering_one_byte_at_a_time_is_cut_at_the_deadline(monkeypatch):
    with webhook_receiver(tls=True) as receiver:
        monkeypatch.setenv("SSL_CERT_FILE", receiver.ca_file)  # trust its own certificate
        notifier = WebhookNotifier(
            webhook_url=receiver.url, attempts=1, timeout_seconds=10, deadline_seconds=1
        )
        assert notifier.send("over https") is True  # the TLS set-up itself works
        assert receiver.messages == [{"text": "over https"}]

        # Each byte comes quickly (no read times out); the whole answer would take 5 s.
        receiver.drip_seconds = 0.005
        started = time.monotonic()
        with pytest.raises(NotifierError, match="within the 1 s deadline"):
            notifier.send("slow")
        assert time.monotonic() - started < 4


def test_an_error_quoting_the_webhook_says_the_alert_webhook_failed():
    # urllib refuses a URL with a space (pasted by hand) and quotes its path: the token.
    with webhook_receiver() as receiver:
        notifier = WebhookNotifier(webhook_url=receiver.url + " x", attempts=1)
        with pytest.raises(RedactedError) as raised:
            notifier.send("hello")
    assert str(raised.value).startswith("the alert webhook failed: NotifierError: ")
    assert "secret" not in str(raised.value) and "InvalidURL" in str(raised.value)
