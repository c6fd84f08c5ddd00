"""What `raw_runs` needs from LangSmith, whichever LangSmith it is (the real API or a twin).

Every source also records LangSmith's own counts of the day (core/completeness.SourceCounts)
in the manifest, taken once its last run is handed on (`with_source_counts`): counted after
the fetch, a run LangSmith holds that the fetch missed shows as a shortfall, and runs that
expired or were deleted meanwhile only make the count smaller.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import dagster as dg

from lse_assets.core.completeness import SourceCounts
from lse_assets.core.ports import DayFetch


class RunSourceResource(dg.ConfigurableResource):
    """Every run of every trace whose root started on `day` (UTC), each exactly once."""

    def fetch_day(self, project: str, day: date) -> DayFetch:
        raise NotImplementedError


def with_source_counts(
    runs: Iterator[dict[str, Any]],
    source: dict[str, Any],
    count: Callable[[], tuple[int, int]],
) -> Iterator[dict[str, Any]]:
    """`runs`, then `source["counts"]`: `count()` = LangSmith's (runs, traces) for the day,
    beside the runs and traces (roots) the stream returned."""
    returned_runs = returned_traces = 0
    for run in runs:
        returned_runs += 1
        returned_traces += run.get("id") == run.get("trace_id")
        yield run
    source_runs, source_traces = count()
    counted_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    source[SourceCounts.KEY] = SourceCounts(
        source_runs, source_traces, returned_runs, returned_traces, counted_at
    ).record()
