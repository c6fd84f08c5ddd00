"""The LangSmith requests an export makes, one at a time, through the official SDK.

Transport: the SDK's generated synchronous client `langsmith.Langsmith` (httpx). The v2
runs query uses its typed `runs.query_v2`; the three classic endpoints it has no method
for (`/info`, `/sessions`, `/feedback`) go through the same client's generic `get`, so every
request shares one connection pool, one error taxonomy (`langsmith.APIStatusError` with the
response, hence Retry-After) and one retry policy. The classic `langsmith.Client` was not
used: it retries by itself, turns errors into strings (losing Retry-After), parses feedback
into models (losing the API's JSON), and prints part of the key in connection errors.

LangSmith's own count of a query (`POST /runs/stats`, the request of the classic
`Client.get_run_stats`, which the generated client has no method for) goes through the same
generic client as a `post`, with the body that method would send (paging.day_count_queries).

Responses are kept as the API's JSON, dates as the API's strings: the runs query through
`with_streaming_response` (its size is known as it is read), the rest `cast_to=object`.
Errors a retry cannot fix become `PermanentError`, the others `TransientError`
(lse_assets/core/errors.py), naming cause and fix; defs/boundary.py makes them dg.Failure.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Callable, Iterator
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlsplit, urlunsplit

import dagster as dg
import langsmith

# The HTTP library the SDK itself chose (httpx or its fork httpx2): its errors are ours to catch.
from langsmith._httpx import httpx

from lse_assets.core import jsondoc, redaction
from lse_assets.core.errors import PermanentError, TransientError
from resources.langsmith.paging import FEEDBACK_PAGE_LIMIT, RunsPage
from resources.langsmith.retry import RequestBudgetSpent, RequestLedger, RetryPolicy

T = TypeVar("T")

V2_RUNS_QUERY = "POST /api/v2/runs/query"
MIN_V2_SERVER = (0, 16)
_READ_CHUNK = 1024 * 1024


def split_endpoint(endpoint: str) -> tuple[str, str]:
    """(base URL of the v2 API, path prefix of the classic API) for LANGSMITH_ENDPOINT.

    LANGSMITH_ENDPOINT is the classic API's root: `https://api.smith.langchain.com` in the
    cloud, `https://host/api/v1` when self-hosted. The v2 API lives at `{base}/api/v2`
    (the SDK derives its generated client's base URL by the same rule)."""
    url = endpoint.strip().rstrip("/")
    for suffix in ("/api/v1", "/api"):
        if url.endswith(suffix):
            return url[: -len(suffix)], suffix
    return url, ""


def public_endpoint(endpoint: str) -> str:
    """The endpoint without credentials or query string, safe for manifests and messages."""
    parts = urlsplit(endpoint.strip().rstrip("/"))
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


@contextlib.contextmanager
def sdk_quiet() -> Iterator[None]:
    # The SDK warns about its own migration (v1 deprecations, backend-version notices,
    # compression fallbacks). Users cannot act on those, and in Dagster they land in every
    # run's logs as noise; whatever matters here surfaces as an error we explain instead.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def parse_version(text: str | None) -> tuple[int, ...] | None:
    match = re.match(r"\s*v?(\d+)\.(\d+)", text or "")
    return (int(match[1]), int(match[2])) if match else None


class LangSmithApi:
    """The requests of one fetch, counted in `ledger` and retried by `policy`."""

    def __init__(
        self,
        *,
        endpoint: str,
        api_key: str,
        workspace_id: str | None,
        timeout_seconds: float,
        policy: RetryPolicy,
        ledger: RequestLedger,
    ) -> None:
        base_url, self.classic_prefix = split_endpoint(endpoint)
        self.endpoint = public_endpoint(endpoint)
        self.policy = policy
        self.ledger = ledger
        self._secrets = (api_key,)  # a server may echo the key in an error body
        self.version: str | None = None
        self.run_pages = 0
        self.feedback_pages = 0
        self.count_requests = 0
        with sdk_quiet():
            self.client = langsmith.Langsmith(
                api_key=api_key,
                tenant_id=workspace_id,
                base_url=base_url,
                max_retries=0,  # tenacity retries, so each attempt is counted and logged
                timeout=timeout_seconds,
            )

    def close(self) -> None:
        self.client.close()

    # ---- the five requests ------------------------------------------------------------
    def server_version(self) -> str | None:
        """The server's version, or None when it does not say (some deployments hide /info)."""
        body = self._request(
            "reading the server version",
            lambda: self._get("/info"),
            not_found=lambda error: None,
        )
        self.version = body.get("version") if isinstance(body, dict) else None
        return self.version

    def project(self, name: str) -> dict[str, Any]:
        """The project (LangSmith's "session") of that name: its `id` and `tenant_id`."""
        projects = self._request(
            f"looking up project {name!r}",
            lambda: self._get("/sessions", {"name": name, "limit": 1}),
        )
        matches = [p for p in projects or [] if p.get("name") == name]
        if not matches:
            raise PermanentError(
                f"LangSmith project {name!r} does not exist at {self.endpoint}, or the API "
                "key's workspace cannot see it. Check the name in LSE_PROJECTS (exact and "
                "case-sensitive, as shown in the LangSmith UI), or use a key of the "
                "workspace that owns the project (LANGSMITH_WORKSPACE_ID for org keys)."
            )
        return matches[0]

    def runs_page(self, query: dict[str, Any], cursor: str | None, page_size: int) -> RunsPage:
        paging: dict[str, Any] = {"page_size": page_size}
        if cursor:
            paging["cursor"] = cursor
        body, size = self._request(
            "querying runs",
            lambda: self._read_runs_body(query, paging),
            not_found=self._v2_missing,
        )
        self.run_pages += 1
        return RunsPage(list(body.get("items") or []), body.get("next_cursor") or None, size)

    def _read_runs_body(
        self, query: dict[str, Any], paging: dict[str, Any]
    ) -> tuple[dict[str, Any], int]:
        """The page's JSON as the API wrote it (dates stay strings, no `Run` models) and its
        size. The streamed response is read chunk by chunk into one buffer (no second copy
        of the body); the JSON is parsed once the body is complete, as the SDK offers no
        incremental JSON parser and none is among the dependencies."""
        buffer = bytearray()
        with self.client.runs.with_streaming_response.query_v2(**query, **paging) as response:
            try:
                for chunk in response.iter_bytes(_READ_CHUNK):
                    buffer += chunk
            except httpx.TransportError as error:  # mid-body: the SDK's taxonomy, retried
                raise langsmith.APIConnectionError(request=response.http_response.request) from (
                    error
                )
        size = len(buffer)
        body = jsondoc.parse(buffer)
        del buffer
        if not isinstance(body, dict):
            raise ValueError(f"LangSmith answered the runs query with {type(body).__name__}")
        return body, size

    def feedback_page(self, run_ids: list[str], offset: int) -> list[dict[str, Any]]:
        records = self._request(
            "reading feedback",
            lambda: self._get(
                "/feedback", {"run": run_ids, "limit": FEEDBACK_PAGE_LIMIT, "offset": offset}
            ),
        )
        self.feedback_pages += 1
        return list(records or [])

    def run_count(self, body: dict[str, Any]) -> int:
        """How many runs LangSmith counts for the v1 run-query filters in `body`."""
        stats = self._request(
            "counting runs",
            lambda: self.client.post(
                self.classic_prefix + "/runs/stats", body=body, cast_to=object
            ),
        )
        self.count_requests += 1
        count = stats.get("run_count") if isinstance(stats, dict) else None
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise PermanentError(
                f"LangSmith at {self.endpoint} answered POST /runs/stats without a run count "
                f"(run_count={count!r}): a change in the LangSmith API; please report this "
                "message. The partition's previous files are untouched."
            )
        return count

    def check_v2(self) -> None:
        """Fail before querying when /info names a server older than the v2 API."""
        parsed = parse_version(self.version)
        if parsed is not None and parsed < MIN_V2_SERVER:
            raise self._too_old(answered_404=False)

    # ---- plumbing ---------------------------------------------------------------------
    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """The response's JSON as is (`cast_to=object`: no model, no date parsing)."""
        return self.client.get(
            self.classic_prefix + path, cast_to=object, options={"params": params or {}}
        )

    def _request(
        self,
        what: str,
        send: Callable[[], T],
        not_found: Callable[[langsmith.NotFoundError], Any] | None = None,
    ) -> T:
        try:
            with sdk_quiet():
                return self.policy.call(self.ledger, send, on_retry=self._log_retry(what))
        except RequestBudgetSpent:
            raise PermanentError(
                f"Stopped after {self.ledger.requests} requests to LangSmith at "
                f"{self.endpoint} while {what}: this fetch's request budget "
                f"(LangSmithResource request_budget={self.ledger.budget}) is spent, "
                f"{self.ledger.retries} of them retries. A day needs about runs/1000 (more "
                "when runs are large: a page holds at most LSE_FETCH_PAGE_BYTES) + runs "
                "with feedback/100 + 4 requests: raise request_budget for days this large; "
                "many retries mean the key is rate limited."
            ) from None
        except langsmith.AuthenticationError:
            raise PermanentError(
                f"LangSmith at {self.endpoint} rejected the API key (HTTP 401) while {what}. "
                "Set LANGSMITH_API_KEY to a valid key for this endpoint (LangSmith: "
                "Settings > API Keys); EU and self-hosted accounts also need "
                "LANGSMITH_ENDPOINT."
            ) from None
        except langsmith.PermissionDeniedError:
            raise PermanentError(
                f"LangSmith at {self.endpoint} refused access (HTTP 403) while {what}: the "
                "API key may not read this workspace. Use a key with read access to the "
                "project; an organization-scoped key also needs LANGSMITH_WORKSPACE_ID."
            ) from None
        except langsmith.NotFoundError as error:
            if not_found is None:
                raise self._unexpected(what, error) from None
            return not_found(error)
        except langsmith.APIConnectionError as error:
            raise TransientError(
                f"Could not reach LangSmith at {self.endpoint} while {what} "
                f"({type(error.__cause__ or error).__name__}), after "
                f"{self.policy.max_attempts} attempts. Check LANGSMITH_ENDPOINT and the "
                "network; the partition's previous files are untouched."
            ) from None
        except langsmith.RateLimitError as error:
            raise TransientError(self._rate_limited(what, error)) from None
        except langsmith.APIStatusError as error:
            if error.status_code >= 500 or error.status_code in (408, 409, 425):
                raise TransientError(
                    f"LangSmith at {self.endpoint} kept failing while {what} (last: HTTP "
                    f"{error.status_code}) after {self.policy.max_attempts} attempts. "
                    "Re-materialize later; the partition's previous files are untouched."
                ) from None
            raise self._unexpected(what, error) from None

    def _rate_limited(self, what: str, error: langsmith.RateLimitError) -> str:
        asked = error.response.headers.get("retry-after")
        return (
            f"LangSmith at {self.endpoint} kept answering HTTP 429 (rate limited) while {what}"
            f"{f', asking to wait {asked} s' if asked else ''}; gave up after "
            f"{self.policy.max_attempts} attempts or a wait longer than "
            f"max_retry_after_seconds={self.policy.max_retry_after_seconds:g}. The API key's "
            "limit is shared by everything using it: limit concurrent fetches with the "
            "`langsmith` pool and re-materialize later."
        )

    def _unexpected(self, what: str, error: langsmith.APIStatusError) -> PermanentError:
        detail = redaction.scrub(_detail(error), self._secrets)
        return PermanentError(
            f"LangSmith at {self.endpoint} rejected a request while {what} (HTTP "
            f"{error.status_code}: {detail}). Retrying will not help: this is a "
            "bug in LSE or a change in the LangSmith API; please report this message."
        )

    def _v2_missing(self, error: langsmith.NotFoundError) -> NoReturn:
        raise self._too_old(answered_404=True)

    def _too_old(self, *, answered_404: bool) -> PermanentError:
        return PermanentError(
            f"LangSmith at {self.endpoint} does not serve the v2 runs API ({V2_RUNS_QUERY}"
            f"{' answered 404' if answered_404 else ''}; server version "
            f"{self.version or 'unknown'}). Self-hosted LangSmith must be 0.16 or later: "
            "upgrade it, or check LANGSMITH_ENDPOINT (the API root, ending in /api/v1 "
            "when self-hosted)."
        )

    def _log_retry(self, what: str) -> Callable[[BaseException, float, int], None]:
        def log(error: BaseException, wait: float, attempt: int) -> None:
            dg.get_dagster_logger().warning(
                f"LangSmith {what}: {_describe(error)}; retrying in {wait:.2f} s "
                f"(attempt {attempt + 1} of {self.policy.max_attempts})"
            )

        return log


def _describe(error: BaseException) -> str:
    if isinstance(error, langsmith.APIStatusError):
        asked = error.response.headers.get("retry-after")
        return f"HTTP {error.status_code}" + (f" (Retry-After: {asked})" if asked else "")
    if isinstance(error, langsmith.APITimeoutError):
        return "request timed out"
    if isinstance(error, langsmith.APIConnectionError):
        return f"connection failed ({type(error.__cause__ or error).__name__})"
    return type(error).__name__


def _detail(error: langsmith.APIStatusError) -> str:
    body = error.body
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])[:500]
    return str(body)[:500] if body else error.response.reason_phrase
