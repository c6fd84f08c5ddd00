"""LangSmith: the real API (LangSmithResource), and the refusal to guess without a key."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import dagster as dg
import langsmith
from pydantic import Field

from lse_assets.core.errors import PermanentError
from lse_assets.core.ports import DayFetch
from lse_assets.core.progress import Every
from resources.langsmith.api import V2_RUNS_QUERY, LangSmithApi
from resources.langsmith.paging import (
    DEFAULT_PAGE_BYTES,
    MAX_PAGE_SIZE,
    FetchTally,
    LangSmithDataError,
    PageSizer,
    RunsPage,
    day_count_queries,
    day_query,
    stream_runs,
)
from resources.langsmith.retry import RequestLedger, RetryPolicy
from resources.langsmith.run_source import RunSourceResource, with_source_counts


class MissingLangSmithKeyResource(RunSourceResource):
    """Bound when neither LANGSMITH_API_KEY nor LSE_SOURCE=sample is set: fetching fails loudly."""

    def fetch_day(self, project: str, day: date) -> DayFetch:
        raise PermanentError(
            "LANGSMITH_API_KEY is not set, so raw_runs cannot fetch from LangSmith. Set "
            "LANGSMITH_API_KEY (and LANGSMITH_ENDPOINT for self-hosted LangSmith), or set "
            "LSE_SOURCE=sample to archive generated demo data instead."
        )


class LangSmithResource(RunSourceResource):
    """The real fetch: v2 runs query on the root's day, full feedback, within rate limits;
    then LangSmith's own counts of the day, two `/runs/stats` requests on the same client,
    retry policy and request budget, so inside the `langsmith` pool too."""

    api_key: str = Field(description="LangSmith API key (from LANGSMITH_API_KEY via EnvVar).")
    endpoint: str = Field(
        default="https://api.smith.langchain.com",
        description="The API root (LANGSMITH_ENDPOINT); self-hosted: https://host/api/v1.",
    )
    workspace_id: str | None = Field(
        default=None, description="Workspace of an organization-scoped key."
    )
    page_bytes: int = Field(
        default=DEFAULT_PAGE_BYTES,
        ge=1,
        description="Byte budget of one page of runs (LSE_FETCH_PAGE_BYTES): each request asks "
        "for as many runs as fit, at the bytes per run of the page before.",
    )
    page_size: int = Field(
        default=MAX_PAGE_SIZE,
        ge=1,
        le=MAX_PAGE_SIZE,
        description="Most runs per request (the API allows 1..1000); pages start here and "
        "shrink below it when runs are large.",
    )
    request_budget: int = Field(
        default=20_000, ge=1, description="Most requests one day's fetch may send, retries too."
    )
    progress_seconds: float = Field(
        default=10.0, gt=0, description="Least time between two progress lines of a fetch."
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
            found = api.project(project)
            project_id = str(found["id"])
        except BaseException:
            api.close()
            raise
        query = day_query(project_id, day, late_child_days=self.late_child_days)
        source: dict[str, Any] = {
            "kind": "langsmith",
            "endpoint": api.endpoint,
            "server_version": version,
            "sdk": f"langsmith {langsmith.__version__}",
            "api": V2_RUNS_QUERY,
            "project_id": project_id,
            "tenant_id": found.get("tenant_id"),
            "query": {key: value for key, value in query.items() if key != "project_ids"},
            "paging": {"max_page_size": self.page_size, "page_bytes": self.page_bytes},
            "fetched_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
        counts = day_count_queries(project_id, day, late_child_days=self.late_child_days)
        fetch = DayFetch(source=source, runs=iter(()))
        fetch.runs = self._stream(api, query, counts, fetch)
        return fetch

    def _stream(
        self,
        api: LangSmithApi,
        query: dict[str, Any],
        counts: dict[str, dict[str, Any]],
        fetch: DayFetch,
    ) -> Iterator[dict[str, Any]]:
        log = dg.get_dagster_logger()
        started = time.monotonic()
        tally = FetchTally()
        sizer = PageSizer(self.page_bytes, maximum=self.page_size)
        every = Every(self.progress_seconds)

        def on_page(page: RunsPage, next_size: int) -> None:
            fetch.duplicate_runs_dropped = tally.duplicate_runs_dropped
            if page.body_bytes > self.page_bytes:
                log.warning(
                    f"LangSmith page {tally.pages} of {len(page.runs)} runs is "
                    f"{_mb(page.body_bytes)}, above the page budget of {_mb(self.page_bytes)} "
                    f"(LSE_FETCH_PAGE_BYTES): it was held whole; the next request asks for "
                    f"{next_size} runs"
                )
            if every.due():
                read = tally.runs + len(page.runs)  # this page's runs included
                log.info(
                    f"LangSmith: {read:,} runs ({every.rate(read):,.0f} runs/s), "
                    f"{api.ledger.requests:,} requests ({api.ledger.retries} retries), "
                    f"page size {next_size:,} runs (last page {_mb(page.body_bytes)})"
                )

        def count() -> tuple[int, int]:
            return api.run_count(counts["runs"]), api.run_count(counts["traces"])

        try:
            yield from with_source_counts(
                stream_runs(api, query, sizer, tally, on_page), fetch.source, count
            )
        except LangSmithDataError as error:
            raise PermanentError(f"{error} The partition's previous files are untouched.") from None
        finally:
            api.close()
        fetch.duplicate_runs_dropped = tally.duplicate_runs_dropped
        # The manifest is written after the last run, so these land in it.
        source = fetch.source
        source["requests"] = {
            "total": api.ledger.requests,
            "run_pages": api.run_pages,
            "feedback_pages": api.feedback_pages,
            "count_requests": api.count_requests,
            "retries": api.ledger.retries,
            "waited_seconds": round(api.ledger.waited_seconds, 3),
            "budget": api.ledger.budget,
        }
        source["paging"].update(
            {
                "bytes": tally.bytes,
                "largest_page_bytes": tally.largest_page_bytes,
                "oversized_pages": tally.oversized_pages,
                "smallest_page_size": min(tally.page_sizes),
                "duplicate_runs_dropped": tally.duplicate_runs_dropped,
            }
        )
        source["seconds"] = round(time.monotonic() - started, 3)


def _mb(size: int) -> str:
    return f"{size / 1e6:,.1f} MB" if size >= 1e6 else f"{size / 1e3:,.0f} KB"
