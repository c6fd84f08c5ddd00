"""Tell a human: post a message to a Slack-compatible incoming webhook, or log it.

One verb, `send(message)`, for every alarm of the platform (failed checks, days close to
LangSmith's retention limit, ...). The webhook URL is a secret (it embeds a token): it
comes through EnvVar('LSE_ALERT_WEBHOOK_URL'), is checked at setup without being echoed,
and any error that quotes a part of it is scrubbed (lse_assets.core.redaction).

Each message has a total deadline, all attempts and waits included: a per-read timeout
alone lets a webhook that answers one byte at a time hold a sensor tick forever, so a
watchdog shuts the connection's socket when the deadline passes.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
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

from lse_assets.core import redaction
from lse_assets.settings import WEBHOOK_VARIABLE, check_webhook_url


class NotifierError(RuntimeError):
    """The webhook did not accept a message (after retries, or by the deadline)."""


class _Retryable(Exception):
    pass


def _payload(message: Mapping[str, Any] | str) -> dict[str, Any]:
    return {"text": message} if isinstance(message, str) else dict(message)


class _Watchdog:
    """Shuts every socket of one message's requests once its deadline has passed."""

    def __init__(self) -> None:
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self.expired = False

    def track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                self._shut(sock)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                self._shut(sock)

    @staticmethod
    def _shut(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)


def _watched(base: type[http.client.HTTPConnection], watchdog: _Watchdog) -> type:
    class Watched(base):  # type: ignore[misc, valid-type]
        def connect(self) -> None:
            super().connect()
            watchdog.track(self.sock)

    return Watched


def _opener(watchdog: _Watchdog) -> urllib.request.OpenerDirector:
    """urllib's opener (proxies from the environment included), its connections watched."""

    class Http(urllib.request.HTTPHandler):
        def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(_watched(http.client.HTTPConnection, watchdog), req)

    class Https(urllib.request.HTTPSHandler):
        def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(
                _watched(http.client.HTTPSConnection, watchdog), req, context=self._context
            )

    return urllib.request.build_opener(Http(), Https())


class WebhookNotifier(dg.ConfigurableResource):
    """Posts JSON messages ({"text": ..., "blocks": [...]}, Slack's shape) to a webhook."""

    webhook_url: str | None = Field(
        default=None,
        description="Incoming webhook URL, through EnvVar('LSE_ALERT_WEBHOOK_URL'); unset: log.",
    )
    timeout_seconds: float = Field(default=10.0, description="Per connect or read.")
    deadline_seconds: float = Field(
        default=20.0, description="Total time for one message, every attempt and wait included."
    )
    attempts: int = Field(default=3, description="Attempts per message (5xx, 429, network).")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self.validate()

    def validate(self) -> None:
        """Refuse a malformed URL, or http:// to another machine, by its variable's name,
        never by its value (settings refuse it first; this is for other callers)."""
        check_webhook_url(self.webhook_url)

    def send(self, message: Mapping[str, Any] | str) -> bool:
        """Deliver `message` (a text, or a Slack-style payload with a "text" fallback).

        Returns True once the webhook accepted it, False when no webhook is configured
        (the message is then logged). Raises NotifierError when the webhook refuses it or
        cannot be reached by the deadline: the caller keeps the message and tries again
        later. No error it raises quotes the URL.
        """
        payload = _payload(message)
        if not self.webhook_url:
            dg.get_dagster_logger().warning(
                f"alert (set {WEBHOOK_VARIABLE} to receive it in chat): "
                + str(payload.get("text", payload))
            )
            return False
        self.validate()
        body = json.dumps(payload).encode("utf-8")
        with redaction.scrubbed("the alert webhook", self.webhook_url):
            try:
                self._post(body, time.monotonic() + self.deadline_seconds)
            except _Retryable as error:
                raise NotifierError(f"alert webhook unavailable: {error}") from None
        return True

    def _post(self, body: bytes, deadline: float) -> None:
        backoff = wait_exponential(multiplier=0.5, max=5)

        def wait(retry_state: Any) -> float:
            return max(0.0, min(backoff(retry_state), deadline - time.monotonic()))

        def out_of_time(retry_state: Any) -> bool:
            return time.monotonic() >= deadline

        @retry(
            retry=retry_if_exception_type(_Retryable),
            stop=stop_after_attempt(max(self.attempts, 1)) | out_of_time,
            wait=wait,
            reraise=True,
        )
        def attempt() -> None:
            self._attempt(body, deadline)

        attempt()

    def _attempt(self, body: bytes, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _Retryable(f"no answer within the {self.deadline_seconds:g} s deadline")
        watchdog = _Watchdog()
        timer = threading.Timer(remaining, watchdog.expire)
        timer.daemon = True
        request = urllib.request.Request(
            self.webhook_url or "",
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        timer.start()
        try:
            with _opener(watchdog).open(
                request, timeout=min(self.timeout_seconds, remaining)
            ) as response:
                response.read()
        except urllib.error.HTTPError as error:
            if error.code == 429 or error.code >= 500:
                raise _Retryable(f"HTTP {error.code}") from None
            raise NotifierError(
                f"alert webhook refused the message: HTTP {error.code} (check {WEBHOOK_VARIABLE})"
            ) from None
        except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
            if watchdog.expired:
                raise _Retryable(
                    f"no complete answer within the {self.deadline_seconds:g} s deadline"
                ) from None
            reason = getattr(error, "reason", error)
            raise _Retryable(f"{type(reason).__name__}: {reason}") from None
        finally:
            timer.cancel()
