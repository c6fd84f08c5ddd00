"""One (project, UTC day) of LangSmith runs as a stream, in as few requests as the API allows.

Runs: one v2 query for every run of every trace whose *root* started on the day
(`trace_filter` on the root's start), paged by cursor, every selectable field. Requests grow
with runs / page size, never with the number of traces.

Page size: a count cannot bound memory (1,000 runs of 2 KB are 2 MB, 200 runs of 3 MB are
600 MB), so pages are sized by bytes. The first asks for the API's maximum (1,000 runs); each
page's body size sets the next request's size to what fits the byte budget at the bytes per
run just seen (shrinking in one step, growing back at most doubling per page). The cursor is
the API's: only `page_size` changes between requests, so a resize never re-requests or skips a
run. A page larger than the budget (the server ignored the size, or one run is huge) is still
read whole and reported.

Data no retry can fix (a run or feedback record without an id, one id with two different
contents) stops the fetch with `LangSmithDataError` naming the run; a byte-identical run
served twice (on two pages) is dropped and counted.

Feedback: runs carry only aggregates (`feedback_stats`); the full records of the runs that
have any come from GET /feedback?run=..., at most 100 records per page, offset-paged until a
short page proves the end. Runs are batched so that the records their
`feedback_stats` announce fill at most 99: then one request normally answers a whole batch
with a short page, and stale stats (feedback arriving meanwhile) only cost further pages,
never records. Runs wait for their batch, so memory holds one page of runs plus one batch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol, get_args

import orjson
from langsmith.types.run_select_field import RunSelectField

from lse_assets.core import jsondoc
from lse_assets.settings import DEFAULT_PAGE_BYTES

FEEDBACK_PAGE_LIMIT = 100  # the API's largest `limit` for GET /feedback
# Records a batch may announce: one less than a page, so that its first page is a short one.
# Every run announces at least one, so a batch also names at most 99 run ids.
FEEDBACK_BATCH_RECORDS = FEEDBACK_PAGE_LIMIT - 1
ALL_SELECTS: list[str] = list(get_args(RunSelectField))  # a newer SDK adds fields by itself
MAX_PAGE_SIZE = 1000  # the API's largest `page_size` for POST /api/v2/runs/query


class LangSmithDataError(ValueError):
    """LangSmith returned data that asking again cannot fix; the message names the run."""


@dataclass
class RunsPage:
    """One answer of the runs query: its runs, the next cursor, and its body's size."""

    runs: list[dict[str, Any]]
    cursor: str | None
    body_bytes: int


class DayPages(Protocol):
    def runs_page(self, query: dict[str, Any], cursor: str | None, page_size: int) -> RunsPage: ...

    def feedback_page(self, run_ids: list[str], offset: int) -> list[dict[str, Any]]: ...


@dataclass
class PageSizer:
    """How many runs the next request asks for, so that its body stays within `budget_bytes`."""

    budget_bytes: int
    maximum: int = MAX_PAGE_SIZE
    size: int = 0

    def __post_init__(self) -> None:
        self.size = self.size or self.maximum

    def observe(self, runs: int, body_bytes: int) -> None:
        if runs <= 0:
            return
        fits = int(self.budget_bytes * runs / max(body_bytes, 1))
        # Shrink at once (the next page would be as heavy); grow at most 2x per page, so one
        # light page in a heavy stretch does not ask for a heavy page of the maximum size.
        self.size = max(1, min(self.maximum, fits, 2 * self.size))


@dataclass
class FetchTally:
    """What the stream has done so far: the progress line and the manifest read it."""

    runs: int = 0
    pages: int = 0
    bytes: int = 0
    largest_page_bytes: int = 0
    oversized_pages: int = 0
    page_sizes: list[int] = field(default_factory=list)  # asked for, per request, in order
    duplicate_runs_dropped: int = 0


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def day_query(project_id: str, day: date, *, late_child_days: int) -> dict[str, Any]:
    """The v2 runs query for the traces whose root started on `day` (UTC), without paging.

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
    }


def day_count_queries(
    project_id: str, day: date, *, late_child_days: int
) -> dict[str, dict[str, Any]]:
    """The two `/runs/stats` bodies that count, server-side, what `day_query` fetches.

    Shaped as the SDK's `Client.get_run_stats` shapes them (`session` = project ids, None
    left out; tests/resources/test_langsmith_counts.py compares them with the SDK's own).
    v1 `start_time` is a lower bound on a run's start and `end_time` would bound its end,
    so starts are bounded from above by a `filter`:
    - `traces`: roots (`is_root`) that started on the day;
    - `runs`: runs of the traces whose root started on the day (`trace_filter`, as the
      fetch), in the fetch's run window (`lte`: `max_start_time` includes its bound).
    """
    query = day_query(project_id, day, late_child_days=late_child_days)
    start = query["min_start_time"]
    end = _iso(datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1))
    return {
        "traces": {
            "session": [project_id],
            "start_time": start,
            "filter": f'lt(start_time, "{end}")',
            "is_root": True,
        },
        "runs": {
            "session": [project_id],
            "start_time": start,
            "filter": f'lte(start_time, "{query["max_start_time"]}")',
            "trace_filter": query["trace_filter"],
        },
    }


def content_digest(run: dict[str, Any]) -> bytes:
    """A digest of the run's content, independent of key order."""
    try:
        raw = orjson.dumps(run, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # beyond orjson: integers over 64 bits, lone surrogates
        raw = jsondoc.canonical_bytes(run)
    return hashlib.sha256(raw).digest()[:16]  # sha256: hardware-accelerated, 2x blake2b here


class RunDeduplicator:
    """Refuses runs without an id or with one id and two contents; drops exact repeats.

    Holds a 16-byte digest per run id (about 0.15 KB per run with the dict's overhead)."""

    def __init__(self, tally: FetchTally) -> None:
        self.tally = tally
        self.digests: dict[str, bytes] = {}

    def is_new(self, run: dict[str, Any], page: int) -> bool:
        run_id = run.get("id")
        if not isinstance(run_id, str) or not run_id:
            raise LangSmithDataError(
                f"LangSmith returned a run without an id on page {page} of the runs query "
                f"(trace_id {run.get('trace_id')!r}, name {run.get('name')!r}, start_time "
                f"{run.get('start_time')!r}): it cannot be archived under a name. Retrying "
                "will not help; report it to LangSmith with these details."
            )
        digest = content_digest(run)
        known = self.digests.get(run_id)
        if known is None:
            self.digests[run_id] = digest
            return True
        if known == digest:
            self.tally.duplicate_runs_dropped += 1
            return False
        raise LangSmithDataError(
            f"LangSmith returned run {run_id} (trace {run.get('trace_id')}) twice with "
            f"different content (again on page {page} of the runs query): which one to archive "
            "cannot be decided. Retrying will not help while LangSmith serves both; report "
            "the run id to LangSmith."
        )


def stream_runs(
    api: DayPages,
    query: dict[str, Any],
    sizer: PageSizer | None = None,
    tally: FetchTally | None = None,
    on_page: Callable[[RunsPage, int], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """Every run of the query once, each with `feedback_records` (empty when it has none).

    `on_page(page, next_size)` is told of each page as it arrives."""
    sizer = sizer or PageSizer(DEFAULT_PAGE_BYTES)
    tally = tally if tally is not None else FetchTally()
    unique = RunDeduplicator(tally)
    waiting: list[dict[str, Any]] = []  # runs with feedback, until their batch is full
    announced = 0  # feedback records the waiting runs' stats announce
    cursor: str | None = None
    cursors_seen: set[str] = set()
    while True:
        tally.page_sizes.append(sizer.size)
        answer = api.runs_page(query, cursor, sizer.size)
        cursor, page = answer.cursor, answer.runs
        tally.pages += 1
        tally.bytes += answer.body_bytes
        tally.largest_page_bytes = max(tally.largest_page_bytes, answer.body_bytes)
        if answer.body_bytes > sizer.budget_bytes:
            tally.oversized_pages += 1
        sizer.observe(len(page), answer.body_bytes)
        if on_page is not None:
            on_page(answer, sizer.size)
        answer.runs = []  # the page's runs are released one by one below
        page.reverse()  # pop() from the end releases each run once it is handed on
        while page:
            run = page.pop()
            if not unique.is_new(run, tally.pages):
                continue
            tally.runs += 1
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
            if not record.get("id"):
                raise LangSmithDataError(
                    f"LangSmith returned a feedback record without an id for run "
                    f"{record.get('run_id')} (key {record.get('key')!r}): it cannot be told "
                    "apart from the run's other records. Retrying will not help; report the "
                    "run id to LangSmith."
                )
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
