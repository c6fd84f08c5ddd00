"""One (project, UTC day) of LangSmith runs as a stream, in as few requests as the API allows.

Runs: one v2 query for every run of every trace whose *root* started on the day
(`trace_filter` on the root's start), paged by cursor, every selectable field. Requests grow
with runs / page size, never with the number of traces.

Feedback: runs carry only aggregates (`feedback_stats`); the full records of the runs that
have any come from GET /feedback?run=..., at most 100 records per page, offset-paged until a
short page proves the end. Runs are batched so that the records their
`feedback_stats` announce fill at most 99: then one request normally answers a whole batch
with a short page, and stale stats (feedback arriving meanwhile) only cost further pages,
never records. Runs wait for their batch, so memory holds one page of runs plus one batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol, get_args

from langsmith.types.run_select_field import RunSelectField

FEEDBACK_PAGE_LIMIT = 100  # the API's largest `limit` for GET /feedback
# Records a batch may announce: one less than a page, so that its first page is a short one.
# Every run announces at least one, so a batch also names at most 99 run ids.
FEEDBACK_BATCH_RECORDS = FEEDBACK_PAGE_LIMIT - 1
ALL_SELECTS: list[str] = list(get_args(RunSelectField))  # a newer SDK adds fields by itself


class DayPages(Protocol):
    def runs_page(
        self, query: dict[str, Any], cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]: ...

    def feedback_page(self, run_ids: list[str], offset: int) -> list[dict[str, Any]]: ...


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def day_query(
    project_id: str, day: date, *, page_size: int, late_child_days: int
) -> dict[str, Any]:
    """The v2 runs query for the traces whose root started on `day` (UTC).

    The run window starts at the day (a child never starts before its root) and ends
    `late_child_days` after it, so children of a root started at 23:59 are included; the
    API's own default window (the last 24 hours) would silently miss every older day.
    Token and cost fields of roots and intermediate runs come as subtree totals, as v1
    exports and the sample twin have them (leaf runs keep their own usage).
    """
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    end = start + timedelta(days=1)
    return {
        "project_ids": [project_id],
        "min_start_time": _iso(start),
        "max_start_time": _iso(end + timedelta(days=late_child_days)),
        "trace_filter": f'and(gte(start_time, "{_iso(start)}"), lt(start_time, "{_iso(end)}"))',
        "selects": ALL_SELECTS,
        "include_subtree_usage": True,
        "page_size": page_size,
    }


def stream_runs(api: DayPages, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every run of the query, each with `feedback_records` (empty when it has none)."""
    waiting: list[dict[str, Any]] = []  # runs with feedback, until their batch is full
    announced = 0  # feedback records the waiting runs' stats announce
    cursor: str | None = None
    cursors_seen: set[str] = set()
    while True:
        page, cursor = api.runs_page(query, cursor)
        page.reverse()  # pop() from the end releases each run once it is handed on
        while page:
            run = page.pop()
            if not run.get("feedback_stats"):
                run["feedback_records"] = []
                yield run
                continue
            expected = announced_records(run)
            if waiting and announced + expected > FEEDBACK_BATCH_RECORDS:
                yield from with_feedback(api, waiting)
                waiting, announced = [], 0
            waiting.append(run)
            announced += expected
        if cursor is None:
            break
        if cursor in cursors_seen:
            raise RuntimeError(
                "LangSmith returned a cursor it had already returned: paging would never end "
                "(a LangSmith API fault); re-materialize later"
            )
        cursors_seen.add(cursor)
    if waiting:
        yield from with_feedback(api, waiting)


def announced_records(run: dict[str, Any]) -> int:
    """How many feedback records the run's `feedback_stats` count (at least 1)."""
    total = 0
    for stats in (run.get("feedback_stats") or {}).values():
        count = stats.get("n") if isinstance(stats, dict) else None
        total += count if isinstance(count, int) and count > 0 else 1
    return max(total, 1)


def with_feedback(api: DayPages, runs: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """`runs` with their full feedback records, read in as few pages as the API allows."""
    records: dict[str, dict[str, dict[str, Any]]] = {run["id"]: {} for run in runs}
    run_ids = list(records)
    offset = 0
    while True:
        page = api.feedback_page(run_ids, offset)
        for record in page:
            owner = records.get(record.get("run_id"))
            if owner is None:
                raise ValueError(
                    f"LangSmith returned feedback {record.get('id')} of run "
                    f"{record.get('run_id')}, which was not asked for (a LangSmith API fault)"
                )
            owner[record["id"]] = record  # by id: a record shifted across pages counts once
        if len(page) < FEEDBACK_PAGE_LIMIT:
            break
        offset += len(page)
    for run in runs:
        run["feedback_records"] = sorted(records[run["id"]].values(), key=lambda r: r["id"])
        yield run
