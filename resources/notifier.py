"""Tell a human: post a message to a Slack-compatible incoming webhook, or log it.

One verb, `send(message)`, for every alarm of the platform (failed checks, days close to
LangSmith's retention limit, ...). The webhook URL is a secret (it embeds a token): it
comes through EnvVar('LSE_ALERT_WEBHOOK_URL') and never appears in logs or errors.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

import dagster as dg
from pydantic import Field
from tenacity import (
    retry,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)


class NotifierError(RuntimeError):
    """The webhook did not accept a message (after retries)."""


class _Retryable(Exception):
    pass


def _payload(message: Mapping[str, Any] | str) -> dict[str, Any]:
    return {"text": message} if isinstance(message, str) else dict(message)


class WebhookNotifier(dg.ConfigurableResource):
    """Posts JSON messages ({"text": ..., "blocks": [...]}, Slack's shape) to a webhook."""

    webhook_url: str | None = Field(
        default=None,
        description="Incoming webhook URL, through EnvVar('LSE_ALERT_WEBHOOK_URL'); unset: log.",
    )
    timeout_seconds: float = Field(default=10.0, description="Per attempt.")
    attempts: int = Field(default=3, description="Attempts per message (5xx, 429, network).")

    def send(self, message: Mapping[str, Any] | str) -> bool:
        """Deliver `message` (a text, or a Slack-style payload with a "text" fallback).

        Returns True once the webhook accepted it, False when no webhook is configured
        (the message is then logged). Raises NotifierError when the webhook refuses it or
        cannot be reached: the caller keeps the message and tries again later.
        """
        payload = _payload(message)
        if not self.webhook_url:
            dg.get_dagster_logger().warning(
                "alert (set LSE_ALERT_WEBHOOK_URL to receive it in chat): "
                + str(payload.get("text", payload))
            )
            return False
        body = json.dumps(payload).encode("utf-8")
        try:
            self._post(body)
        except _Retryable as error:
            raise NotifierError(f"alert webhook unavailable: {error}") from None
        return True

    def _post(self, body: bytes) -> None:
        @retry(
            retry=retry_if_exception_type(_Retryable),
            stop=stop_after_attempt(max(self.attempts, 1)),
            wait=wait_exponential(multiplier=0.5, max=5),
            reraise=True,
        )
        def attempt() -> None:
            request = urllib.request.Request(
                self.webhook_url,
                data=body,
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
                    response.read()
            except urllib.error.HTTPError as error:
                if error.code == 429 or error.code >= 500:
                    raise _Retryable(f"HTTP {error.code}") from None
                raise NotifierError(
                    f"alert webhook refused the message: HTTP {error.code} "
                    "(check LSE_ALERT_WEBHOOK_URL)"
                ) from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
                reason = getattr(error, "reason", error)
                raise _Retryable(f"{type(reason).__name__}: {reason}") from None

        attempt()
