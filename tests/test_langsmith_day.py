"""resources.langsmith_day: batching and API faults, with the request seam stubbed."""

import pytest

from resources.langsmith_day import announced_records, stream_runs


class Pages:
    """Serves fixed run pages (by cursor) and feedback; records the feedback batches."""

    def __init__(self, pages, feedback=None):
        self.pages = pages
        self.feedback = feedback or {}
        self.batches = []

    def runs_page(self, query, cursor):
        items, next_cursor = self.pages[cursor]
        return [dict(item) for item in items], next_cursor

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
