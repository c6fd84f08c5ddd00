"""The alert a human reads, pinned exactly (fast: no instance, no webhook): what failed,
where, how badly, the counts that are not zero first, a few sample ids, and the run link."""

from lse_assets.core.alerting import (
    MAX_COUNT_FIELDS,
    MAX_SAMPLE_IDS,
    AlertCursor,
    CheckFailure,
    run_url,
    slack_message,
)

URL = "http://ui:3000/runs/run-1"


def test_a_full_failure_gives_this_exact_message():
    failure = CheckFailure(
        asset="db_runs",
        check="files_match_db",
        partition="2025-09-13|proj-a",
        severity="ERROR",
        counts={"files": 10, "missing_in_db": 0, "differing": 2, "ratio": 0.25, "rows": 3.0},
        samples={"differing": ["r1", "r2", "r3", "r4", "r5", "r6"], "missing_in_db": []},
        run_id="run-1",
        description="Every run file has an equal row.",
    )

    assert slack_message(failure, URL) == {
        "text": "Check files_match_db failed (ERROR) on db_runs [2025-09-13|proj-a]: "
        "files=10, differing=2, ratio=0.25, rows=3 - http://ui:3000/runs/run-1",
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "*Check failed:* `files_match_db` on `db_runs`\n"
                    "*Partition:* `2025-09-13|proj-a`\n"
                    "*Severity:* ERROR\n"
                    "Every run file has an equal row.",
                },
            },
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": "*differing*\n2"},
                    {"type": "mrkdwn", "text": "*files*\n10"},
                    {"type": "mrkdwn", "text": "*ratio*\n0.25"},
                    {"type": "mrkdwn", "text": "*rows*\n3"},
                    {"type": "mrkdwn", "text": "*missing_in_db*\n0"},
                ],
            },
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "*differing*: `r1`, `r2`, `r3`, `r4`, `r5`",
                },
            },
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": "<http://ui:3000/runs/run-1|Open the run>"}
                ],
            },
        ],
    }


def test_a_bare_failure_without_partition_counts_or_link():
    failure = CheckFailure(
        asset="tiny", check="is_big", partition=None, severity="WARN", counts={}, samples={},
        run_id="r",
    )  # fmt: skip

    assert slack_message(failure, None) == {
        "text": "Check is_big failed (WARN) on tiny",
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "*Check failed:* `is_big` on `tiny`\n"
                    "*Partition:* none\n*Severity:* WARN",
                },
            }
        ],
    }


def test_counts_and_samples_are_capped_for_slack():
    counts = {f"kind_{n:02d}": n + 1 for n in range(MAX_COUNT_FIELDS + 3)}
    ids = [f"id{n}" for n in range(MAX_SAMPLE_IDS + 4)]
    failure = CheckFailure("a", "c", "p", "ERROR", counts, {"kind_00": ids}, "r")

    message = slack_message(failure, None)

    fields = message["blocks"][1]["fields"]
    assert [f["text"].split("\n")[0] for f in fields] == [
        f"*kind_{n:02d}*" for n in range(MAX_COUNT_FIELDS)
    ]
    assert message["blocks"][2]["text"]["text"] == "*kind_00*: " + ", ".join(
        f"`{i}`" for i in ids[:MAX_SAMPLE_IDS]
    )
    assert (MAX_COUNT_FIELDS, MAX_SAMPLE_IDS) == (10, 5)


def test_run_links_join_the_ui_url_and_the_run_id():
    assert run_url("http://ui:3000/", "abc") == "http://ui:3000/runs/abc"
    assert run_url("/ui", "abc") == "/ui/runs/abc"
    assert run_url("http://BOX/", "abc") == "http://BOX/runs/abc"  # only slashes trimmed
    assert run_url(None, "abc") is None
    assert run_url("", "abc") is None


def test_the_cursor_survives_its_json():
    cursor = AlertCursor(settled_through=7, sent=frozenset({9, 8}))
    assert cursor.to_json() == '{"settled_through": 7, "sent": [8, 9]}'
    assert AlertCursor.from_json(cursor.to_json()) == cursor
    assert AlertCursor.from_json(None) is None
    assert AlertCursor.from_json("") is None


def test_large_counts_are_whole_numbers_and_each_sample_kind_has_its_line():
    failure = CheckFailure(
        "db_runs", "c", None, "ERROR", {"rows": 1234567, "ratio": 2.5},
        {"differing": ["a"], "missing_in_db": ["b"]}, "r",
    )  # fmt: skip

    message = slack_message(failure, None)

    assert message["text"] == "Check c failed (ERROR) on db_runs: rows=1234567, ratio=2.5"
    assert message["blocks"][2]["text"]["text"] == "*differing*: `a`\n*missing_in_db*: `b`"
