"""resources.langsmith.retry: reading Retry-After, the wait, the budget (seams stubbed)."""

import email.utils
import time
from types import SimpleNamespace

import pytest

from resources.langsmith.retry import (
    RequestBudgetSpent,
    RequestLedger,
    RetryPolicy,
    WaitRetryAfterOrBackoff,
    retry_after_seconds,
)


def answered(**headers: str) -> SimpleNamespace:
    return SimpleNamespace(response=SimpleNamespace(headers=headers))


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": "0.25"}, 0.25),
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_reads_retry_after_in_its_forms(headers, seconds):
    assert retry_after_seconds(answered(**headers)) == seconds


def test_reads_retry_after_as_an_http_date():
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= retry_after_seconds(answered(**{"retry-after": when})) <= 30


def test_waits_at_least_what_the_server_asked_with_jitter_on_top():
    wait = WaitRetryAfterOrBackoff(backoff=1, max_backoff=60, jitter=0.2)
    state = SimpleNamespace(
        outcome=SimpleNamespace(exception=lambda: answered(**{"retry-after": "10"})),
        attempt_number=1,
    )
    waits = {wait(state) for _ in range(200)}
    assert min(waits) >= 10 and max(waits) <= 12 and len(waits) > 100


def test_backs_off_exponentially_without_retry_after():
    wait = WaitRetryAfterOrBackoff(backoff=1, max_backoff=5)
    for attempt, ceiling in [(1, 1), (2, 2), (3, 4), (8, 5)]:
        state = SimpleNamespace(
            outcome=SimpleNamespace(exception=lambda: ConnectionError()), attempt_number=attempt
        )
        assert all(0 <= wait(state) <= ceiling for _ in range(50))


def test_the_budget_refuses_the_request_beyond_it():
    ledger = RequestLedger(budget=2)
    ledger.spend()
    ledger.spend()
    with pytest.raises(RequestBudgetSpent):
        ledger.spend()
    assert ledger.requests == 2


def test_an_error_no_retry_can_fix_is_raised_after_one_attempt():
    policy = RetryPolicy(
        max_attempts=5, backoff_seconds=0.001, max_backoff_seconds=0.001, max_retry_after_seconds=1
    )
    ledger = RequestLedger(budget=10)

    def send():
        raise KeyError("not an API error")

    with pytest.raises(KeyError):
        policy.call(ledger, send)
    assert ledger.requests == 1 and ledger.retries == 0
