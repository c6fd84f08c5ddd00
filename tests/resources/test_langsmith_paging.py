"""resources.langsmith.paging's arithmetic, exactly: how many feedback records a run announces,
and feedback read page after page by offset (the request seam stubbed, as in
test_langsmith_day)."""

import pytest

from resources.langsmith.paging import announced_records, with_feedback
from tests.resources.test_langsmith_day import Pages


@pytest.mark.parametrize(
    ("stats", "announced"),
    [
        (None, 1),
        ({}, 1),
        ({"a": {"n": 3}, "b": {"n": 2}}, 5),
        ({"a": {"n": 0}, "b": {"n": 3}}, 4),  # a key without a count still has a record
        ({"a": "not a dict"}, 1),
        ({"a": {"n": None}, "b": {"n": 2}}, 3),
        ({"a": {"n": "7"}}, 1),
    ],
)
def test_each_run_announces_its_feedback_count(stats, announced):
    assert announced_records({"id": "r", "feedback_stats": stats}) == announced


def test_feedback_is_read_by_offset_until_a_short_page():
    records = [{"id": f"f{n:03d}", "run_id": "r1"} for n in range(250)]
    pages = Pages({}, feedback={"r1": records})

    (run,) = with_feedback(pages, [{"id": "r1"}])

    assert [offset for _, offset in pages.batches] == [0, 100, 200]
    assert run["feedback_records"] == records


def test_feedback_of_another_run_is_named_in_the_error():
    pages = Pages({}, feedback={"r1": [{"id": "f9", "run_id": "r2"}]})
    with pytest.raises(ValueError, match="returned feedback f9 of run r2, which was not asked"):
        list(with_feedback(pages, [{"id": "r1"}]))
