"""The alert cursor: nothing skipped, nothing sent twice, whatever order records settle in."""

import pytest

from lse_assets.core.alerting import (
    AlertCursor,
    Candidate,
    CheckFailure,
    run_tick,
    slack_message,
    tick_summary,
)


def failure(name: str, **counts: int) -> CheckFailure:
    return CheckFailure(
        asset="db_runs",
        check=name,
        partition="2025-09-13|proj-a",
        severity="ERROR",
        counts=counts,
        samples={"differing": ["r1", "r2"]},
        run_id="run-1",
    )


class Outbox:
    def __init__(self) -> None:
        self.sent: list[str] = []
        self.down = False

    def __call__(self, item: CheckFailure) -> None:
        if self.down:
            raise RuntimeError("alert webhook unavailable: HTTP 503")
        self.sent.append(item.check)


def test_a_check_still_running_holds_the_watermark_and_later_failures_are_not_resent():
    outbox = Outbox()
    records = [Candidate(1), Candidate(2, in_progress=True), Candidate(3, failure=failure("c3"))]
    first = run_tick(AlertCursor(), records, outbox)
    assert outbox.sent == ["c3"]
    assert first.cursor == AlertCursor(settled_through=1, sent=frozenset({3}))

    # Record 2 finishes as a failure; 3 must not go out again.
    records[1] = Candidate(2, failure=failure("c2"))
    second = run_tick(AlertCursor.from_json(first.cursor.to_json()), records, outbox)
    assert outbox.sent == ["c3", "c2"]
    assert second.cursor == AlertCursor(settled_through=3)


def test_an_outage_keeps_the_unsent_failure_and_everything_after_it():
    outbox = Outbox()
    records = [
        Candidate(1, failure=failure("c1")),
        Candidate(2),
        Candidate(3, failure=failure("c3")),
    ]
    outbox.down = True
    down = run_tick(AlertCursor(), records, outbox)
    assert outbox.sent == [] and down.cursor.settled_through == 0
    assert down.failures_waiting == [1, 3] and "HTTP 503" in down.error

    outbox.down = False
    up = run_tick(down.cursor, records, outbox)
    again = run_tick(up.cursor, records, outbox)
    assert outbox.sent == ["c1", "c3"] and again.sent == 0
    assert again.cursor == AlertCursor(settled_through=3)


def test_an_outage_after_some_were_sent_resends_none_of_them():
    outbox = Outbox()
    records = [Candidate(1, failure=failure("c1")), Candidate(2, failure=failure("c2"))]

    def flaky(item: CheckFailure) -> None:
        outbox(item)
        outbox.down = True  # the webhook dies right after the first message

    partial = run_tick(AlertCursor(), records, flaky)
    assert partial.cursor == AlertCursor(settled_through=1)
    outbox.down = False
    run_tick(partial.cursor, records, outbox)
    assert outbox.sent == ["c1", "c2"]


@pytest.mark.parametrize("run_url", [None, "http://ui:3000/runs/run-1"])
def test_the_message_is_slack_shaped_and_names_what_failed(run_url):
    message = slack_message(failure("files_match_db", differing=2, files=10, rows=10), run_url)
    assert message["text"].startswith("Check files_match_db failed (ERROR) on db_runs")
    assert "differing=2" in message["text"] and "rows=10" in message["text"]
    fields = message["blocks"][1]["fields"]
    assert fields[0] == {"type": "mrkdwn", "text": "*differing*\n2"}  # nonzero counts first
    assert "`r1`, `r2`" in message["blocks"][2]["text"]["text"]
    assert ("<http://ui:3000/runs/run-1|Open the run>" in str(message)) is bool(run_url)


def test_a_tick_cut_short_by_an_outage_says_what_it_sent_what_waits_and_why():
    outbox = Outbox()
    records = [Candidate(n, failure=failure(f"c{n}")) for n in (1, 2, 3)]

    def flaky(item: CheckFailure) -> None:
        outbox(item)
        outbox.down = True  # the webhook dies right after the first message

    outcome = run_tick(AlertCursor(), records, flaky)

    assert tick_summary(outcome, webhook=True, budget_seconds=40.0) == (
        "alerted 1 failed check (webhook); 2 failed checks waiting for the next tick: "
        "alert webhook unavailable: HTTP 503"
    )
