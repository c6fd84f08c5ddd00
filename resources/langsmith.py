"""LangSmith: the real API (LangSmithResource), and the refusal to guess without a key."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import dagster as dg
import langsmith
from pydantic import Field

from resources.langsmith_api import V2_RUNS_QUERY, LangSmithApi
from resources.langsmith_day import day_query, stream_runs
from resources.langsmith_retry import RequestLedger, RetryPolicy
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
    """The real fetch: v2 runs query on the root's day, full feedback, within rate limits."""

    api_key: str = Field(description="LangSmith API key (from LANGSMITH_API_KEY via EnvVar).")
    endpoint: str = Field(
        default="https://api.smith.langchain.com",
        description="The API root (LANGSMITH_ENDPOINT); self-hosted: https://host/api/v1.",
    )
    workspace_id: str | None = Field(
        default=None, description="Workspace of an organization-scoped key."
    )
    page_size: int = Field(
        default=200,
        ge=1,
        le=1000,
        description="Runs per request (the API allows 1..1000). Memory holds one page.",
    )
    request_budget: int = Field(
        default=20_000, ge=1, description="Most requests one day's fetch may send, retries too."
    )
    max_attempts: int = Field(default=6, ge=1, description="Attempts per request.")
    backoff_seconds: float = Field(
        default=1.0, gt=0, description="First backoff step when no Retry-After is given."
    )
    max_backoff_seconds: float = Field(default=60.0, gt=0)
    max_retry_after_seconds: float = Field(
        default=300.0, description="A longer Retry-After fails the fetch instead of blocking."
    )
    timeout_seconds: float = Field(default=90.0, gt=0, description="Per request.")
    late_child_days: int = Field(
        default=1,
        ge=0,
        le=30,
        description="How long after the day a child of one of its traces may start and "
        "still be fetched (traces running past midnight).",
    )

    def fetch_day(self, project: str, day: date) -> DayFetch:
        ledger = RequestLedger(budget=self.request_budget)
        api = LangSmithApi(
            endpoint=self.endpoint,
            api_key=self.api_key,
            workspace_id=self.workspace_id or None,
            timeout_seconds=self.timeout_seconds,
            policy=RetryPolicy(
                max_attempts=self.max_attempts,
                backoff_seconds=self.backoff_seconds,
                max_backoff_seconds=self.max_backoff_seconds,
                max_retry_after_seconds=self.max_retry_after_seconds,
            ),
            ledger=ledger,
        )
        try:
            version = api.server_version()
            api.check_v2()
            project_id = api.project_id(project)
        except BaseException:
            api.close()
            raise
        query = day_query(
            project_id, day, page_size=self.page_size, late_child_days=self.late_child_days
        )
        source: dict[str, Any] = {
            "kind": "langsmith",
            "endpoint": api.endpoint,
            "server_version": version,
            "sdk": f"langsmith {langsmith.__version__}",
            "api": V2_RUNS_QUERY,
            "project_id": project_id,
            "query": {key: value for key, value in query.items() if key != "project_ids"},
            "fetched_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
        return DayFetch(source=source, runs=self._stream(api, query, source))

    @staticmethod
    def _stream(
        api: LangSmithApi, query: dict[str, Any], source: dict[str, Any]
    ) -> Iterator[dict[str, Any]]:
        started = time.monotonic()
        try:
            yield from stream_runs(api, query)
        finally:
            api.close()
        # The manifest is written after the last run, so these land in it.
        source["requests"] = {
            "total": api.ledger.requests,
            "run_pages": api.run_pages,
            "feedback_pages": api.feedback_pages,
            "retries": api.ledger.retries,
            "waited_seconds": round(api.ledger.waited_seconds, 3),
            "budget": api.ledger.budget,
        }
        source["seconds"] = round(time.monotonic() - started, 3)
