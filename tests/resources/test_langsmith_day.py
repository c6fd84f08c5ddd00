"""resources.langsmith.paging: batching and API faults, with the request seam stubbed."""

import json

import pytest

from resources.langsmith.paging import (
    FetchTally,
    LangSmithDataError,
    PageSizer,
    RunsPage,
    announced_records,
    stream_runs,
)


class Pages:
    """Serves fixed run pages (by cursor) and feedback; records the feedback batches."""

    def __init__(self, pages, feedback=None):
        self.pages = pages
        self.feedback = feedback or {}
        self.batches = []

    def runs_page(self, query, cursor, page_size):
        items, next_cursor = self.pages[cursor]
        return RunsPage([dict(item) for item in items], next_cursor, len(json.dumps(items)))

    def feedback_page(self, run_ids, offset):
        self.batches.append((list(run_ids), offset))
        records = [r for run_id in run_ids for r in self.feedback.get(run_id, [])]
        return records[offset : offset + 100]


def run(n: int, records: int = 0) -> dict:
    stats = {"k": {"n": records}} if records else {}
    return {"id": f"r{n:04d}", "feedback_stats": stats}


def test_batches_announce_at_most_99_records_and_span_pages():
    runs = [run(n, records=1 + n % 3) for n in range(120)]
    pages = Pages({None: (runs[:70], "c1"), "c1": (runs[70:], None)})

    out = list(stream_runs(pages, {}))

    assert sorted(r["id"] for r in out) == [r["id"] for r in runs]
    sizes = [sum(announced_records(r) for r in runs if r["id"] in ids) for ids, _ in pages.batches]
    assert all(size <= 99 for size in sizes[:-1]) and sum(sizes) == sum(
        1 + n % 3 for n in range(120)
    )
    assert len(pages.batches) == 3  # 240 announced records: ceil(240 / 99)


def test_a_repeated_cursor_stops_the_fetch():
    pages = Pages({None: ([run(1)], "same"), "same": ([run(2)], "same")})
    with pytest.raises(RuntimeError, match="already returned"):
        list(stream_runs(pages, {}))


def test_feedback_of_a_run_not_asked_for_stops_the_fetch():
    pages = Pages(
        {None: ([run(1, records=1)], None)},
        feedback={"r0001": [{"id": "f1", "run_id": "someone-else"}]},
    )
    with pytest.raises(ValueError, match="not asked for"):
        list(stream_runs(pages, {}))


def test_page_size_shrinks_to_the_budget_at_once_and_grows_back_at_most_doubling():
    sizer = PageSizer(budget_bytes=1_000_000)
    assert sizer.size == 1000  # the API's maximum first
    sizer.observe(runs=1000, body_bytes=3_000_000_000)  # 3 MB a run
    assert sizer.size == 1  # 1 MB budget / 3 MB: at least one run
    sizer.observe(runs=1, body_bytes=2_000)
    assert sizer.size == 2
    for expected in (4, 8, 16, 32, 64, 128, 256, 500, 500):
        sizer.observe(runs=sizer.size, body_bytes=sizer.size * 2_000)
        assert sizer.size == expected  # 500 runs of 2 KB fill the budget
    sizer.observe(runs=0, body_bytes=0)  # an empty last page says nothing
    assert sizer.size == 500
    capped = PageSizer(budget_bytes=10**12, maximum=50)
    capped.observe(runs=50, body_bytes=50)
    assert capped.size == 50


def test_byte_identical_repeats_are_dropped_and_counted():
    pages = Pages({None: ([run(1), run(2)], "c1"), "c1": ([run(2), run(3)], None)})
    tally = FetchTally()

    out = list(stream_runs(pages, {}, tally=tally))

    assert [r["id"] for r in out] == ["r0001", "r0002", "r0003"]
    assert tally.duplicate_runs_dropped == 1 and tally.runs == 3


def test_one_id_with_two_contents_stops_the_fetch_naming_the_run():
    other = {**run(2), "name": "changed"}
    pages = Pages({None: ([run(1), run(2)], "c1"), "c1": ([other], None)})
    with pytest.raises(LangSmithDataError, match=r"run r0002 .*twice with different content"):
        list(stream_runs(pages, {}))


def test_a_run_without_an_id_stops_the_fetch():
    pages = Pages({None: ([run(1), {"trace_id": "t9", "name": "lost"}], None)})
    with pytest.raises(LangSmithDataError, match=r"run without an id.*'t9'"):
        list(stream_runs(pages, {}))


def test_a_feedback_record_without_an_id_stops_the_fetch():
    pages = Pages(
        {None: ([run(1, records=1)], None)},
        feedback={"r0001": [{"run_id": "r0001", "key": "k"}]},
    )
    with pytest.raises(LangSmithDataError, match="feedback record without an id for run r0001"):
        list(stream_runs(pages, {}))
