"""What `raw_runs` needs from LangSmith, whichever LangSmith it is (the real API or a twin)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import dagster as dg


@dataclass
class DayFetch:
    """One (project, UTC day): runs streamed one at a time, and where they came from.

    Each run is a JSON-ready dict in LangSmith's v2 run shape, plus `feedback_records`:
    the run's full feedback records (an empty list when it has none). `source` goes into
    the partition manifest; it must never hold a secret. `duplicate_runs_dropped` counts
    byte-identical repeats of a run the source served more than once (final once `runs`
    is exhausted).
    """

    source: dict[str, Any]
    runs: Iterator[dict[str, Any]]
    duplicate_runs_dropped: int = 0


class RunSourceResource(dg.ConfigurableResource):
    """Every run of every trace whose root started on `day` (UTC), each exactly once."""

    def fetch_day(self, project: str, day: date) -> DayFetch:
        raise NotImplementedError
