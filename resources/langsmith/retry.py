"""When a LangSmith request is tried again, after how long, and when we stop.

One HTTP request is one tenacity attempt (the SDK's own retries are switched off), so the
request budget counts every request that reaches the server, retries included.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import langsmith
import tenacity

T = TypeVar("T")

# Statuses a later identical request may succeed on: timeouts, lock conflicts, rate limits,
# server errors. Everything else (400, 401, 403, 404, 422, ...) fails at once.
_TRANSIENT_STATUSES = {408, 409, 425, 429}


class RequestBudgetSpent(Exception):
    """The fetch made as many requests as it may; raised instead of sending another."""


@dataclass
class RequestLedger:
    """Requests sent during one fetch, against its budget."""

    budget: int
    requests: int = 0
    retries: int = 0
    waited_seconds: float = 0.0

    def spend(self) -> None:
        if self.requests >= self.budget:
            raise RequestBudgetSpent(self.requests)
        self.requests += 1


def retry_after_seconds(error: BaseException) -> float | None:
    """The wait the server asked for (Retry-After as seconds or an HTTP date), if any."""
    response = getattr(error, "response", None)
    if response is None:
        return None
    headers = response.headers
    try:
        return float(headers["retry-after-ms"]) / 1000
    except (KeyError, ValueError):
        pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(moment.timestamp() - time.time(), 0.0)


def is_transient(error: BaseException) -> bool:
    if isinstance(error, langsmith.APIConnectionError):  # includes timeouts, dropped connections
        return True
    if not isinstance(error, langsmith.APIStatusError):
        return False
    hint = error.response.headers.get("x-should-retry")
    if hint in ("true", "false"):
        return hint == "true"
    return error.status_code in _TRANSIENT_STATUSES or error.status_code >= 500


class WaitRetryAfterOrBackoff(tenacity.wait.wait_base):
    """Wait what Retry-After asks plus up to `jitter` of it on top (never less, so a shared
    key's limit is respected, and never in lockstep with other clients); without the header,
    exponential backoff with full jitter."""

    # 5 %: enough to break lockstep between clients of one key, small enough that a fetch
    # bound by the limit stays near the limit's own time (each wait pays it; issue 12).
    def __init__(self, backoff: float, max_backoff: float, jitter: float = 0.05) -> None:
        self.backoff = tenacity.wait_random_exponential(multiplier=backoff, max=max_backoff)
        self.jitter = jitter

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        asked = retry_after_seconds(error) if error else None
        if asked:
            return asked * (1 + random.uniform(0, self.jitter))
        return self.backoff(retry_state)


class StopWhenAskedToWaitLonger(tenacity.stop.stop_base):
    """Give up rather than block a worker when the server asks for a very long pause."""

    def __init__(self, max_seconds: float) -> None:
        self.max_seconds = max_seconds

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        asked = retry_after_seconds(error) if error else None
        return asked is not None and asked > self.max_seconds


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    backoff_seconds: float
    max_backoff_seconds: float
    max_retry_after_seconds: float

    def call(
        self,
        ledger: RequestLedger,
        send: Callable[[], T],
        on_retry: Callable[[BaseException, float, int], None] | None = None,
    ) -> T:
        """`send()` once per attempt, each attempt spending one request of `ledger`."""

        def before_sleep(state: tenacity.RetryCallState) -> None:
            wait = state.next_action.sleep if state.next_action else 0.0
            ledger.retries += 1
            ledger.waited_seconds += wait
            if on_retry and state.outcome:
                on_retry(state.outcome.exception(), wait, state.attempt_number)

        def attempt() -> T:
            ledger.spend()
            return send()

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(is_transient),
            wait=WaitRetryAfterOrBackoff(self.backoff_seconds, self.max_backoff_seconds),
            stop=tenacity.stop_after_attempt(self.max_attempts)
            | StopWhenAskedToWaitLonger(self.max_retry_after_seconds),
            before_sleep=before_sleep,
            reraise=True,
        )
        return retrying(attempt)
