"""Progress reports of long streams."""

from lse_assets.core.progress import reporting


def test_reports_count_and_rate_at_most_every_interval_and_passes_items_through():
    ticks = iter([0.0, 1.0, 5.0, 10.5, 12.0, 21.0])  # start, then one reading per item
    reports = []

    items = list(
        reporting(range(5), lambda n, rate: reports.append((n, rate)), 10.0, ticks.__next__)
    )

    assert items == [0, 1, 2, 3, 4]
    assert reports == [(3, 3 / 10.5), (5, 5 / 21.0)]
