"""LangSmith: the real API (LangSmithResource), and the refusal to guess without a key."""

from __future__ import annotations

from datetime import date

import dagster as dg

from resources.run_source import DayFetch, RunSourceResource


class MissingLangSmithKeyResource(RunSourceResource):
    """Bound when neither LANGSMITH_API_KEY nor LSE_SOURCE=sample is set: fetching fails loudly."""

    def fetch_day(self, project: str, day: date) -> DayFetch:
        raise dg.Failure(
            description=(
                "LANGSMITH_API_KEY is not set, so raw_runs cannot fetch from LangSmith. Set "
                "LANGSMITH_API_KEY (and LANGSMITH_ENDPOINT for self-hosted LangSmith), or set "
                "LSE_SOURCE=sample to archive generated demo data instead."
            ),
            allow_retries=False,
        )


class LangSmithResource(RunSourceResource):
    """The real fetch (v2 runs query, full feedback, rate limits)."""

    api_key: str
    endpoint: str = "https://api.smith.langchain.com"

    def fetch_day(self, project: str, day: date) -> DayFetch:
        raise NotImplementedError("the real LangSmith fetch is not built yet")
