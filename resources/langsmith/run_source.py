"""What `raw_runs` needs from LangSmith, whichever LangSmith it is (the real API or a twin)."""

from __future__ import annotations

from datetime import date

import dagster as dg

from lse_assets.core.ports import DayFetch


class RunSourceResource(dg.ConfigurableResource):
    """Every run of every trace whose root started on `day` (UTC), each exactly once."""

    def fetch_day(self, project: str, day: date) -> DayFetch:
        raise NotImplementedError
