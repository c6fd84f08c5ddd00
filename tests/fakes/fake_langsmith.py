"""A local imitation of the LangSmith API, for driving the real `langsmith` SDK offline.

It serves what an exporter needs, with the behaviour that matters (see docs/langsmith.md):

    GET  /info                 server version (a version < 0.16 means "no v2 API")
    GET  /sessions?name=       project name -> [project] (empty list: no such project)
    POST /api/v2/runs/query    project_ids, min/max_start_time on the run's own start (min
                               defaults to now - 1 day, as the real API), trace_filter on the
                               root's start, selects (omitted: only `id`), page_size 1..1000,
                               opaque cursor paging (the cursor is a position: the next
                               request may ask for another page size); optionally capped
                               below the requested size (`max_page_size`) or ignoring it
    GET  /feedback?run=..      full feedback records of those runs, limit <= 100, offset paging
    POST /runs/stats           `run_count` (and a few aggregates) of the runs matching the v1
                               filters the SDK's `Client.get_run_stats` sends: `session`,
                               `start_time` (lower bound on start), `end_time` (upper bound on
                               END), `is_root`, `filter` and `trace_filter` (gt/gte/lt/lte on
                               start_time, alone or and-ed; trace_filter on the root's start);
                               any other field is refused (400), so a new one cannot pass unseen

A fault can also be silent: `drop_pages` names runs-query answers (1 = the first) whose runs
are skipped while the cursor moves on, as a server losing a page without an error would.

Faults can be injected per path (a status with headers, or a connection dropped in the middle
of a response), a per-key rate limit can be simulated, and every request is recorded.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, get_args
from urllib.parse import parse_qs, urlsplit

from langsmith.types.run_select_field import RunSelectField

RUN_FIELDS = [name.lower() for name in get_args(RunSelectField)]
RUNS_QUERY = "/api/v2/runs/query"
FEEDBACK = "/feedback"
SESSIONS = "/sessions"
INFO = "/info"
RUN_STATS = "/runs/stats"
STATS_FIELDS = {"session", "start_time", "end_time", "is_root", "filter", "trace_filter"}
MAX_FEEDBACK_LIMIT = 100

_TRACE_FILTER = re.compile(
    r'^and\(gte\(start_time, "(?P<min>[^"]+)"\), lt\(start_time, "(?P<max>[^"]+)"\)\)$'
)
_START_COMPARISON = re.compile(r'(?P<op>gte|gt|lte|lt)\(start_time, "(?P<at>[^"]+)"\)')
_COMPARE = {
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


def start_bounds(text: str) -> list[tuple[str, float]]:
    """The comparisons of a filter on start_time: `op(start_time, "T")` or and(...) of them."""
    inner = text[4:-1] if text.startswith("and(") and text.endswith(")") else text
    parts = [part.strip() for part in re.split(r",\s*(?=(?:gte|gt|lte|lt)\()", inner)]
    bounds = []
    for part in parts:
        match = _START_COMPARISON.fullmatch(part)
        if not match:
            raise ValueError(f"fake server cannot parse filter {text!r}")
        bounds.append((match["op"], parse_ts(match["at"])))
    return bounds


def _within(start: float, bounds: list[tuple[str, float]]) -> bool:
    return all(_COMPARE[op](start, at) for op, at in bounds)


def ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@dataclass
class Fault:
    """Answer the `nth` request to `path` (and the `times - 1` after it) with a failure."""

    path: str
    nth: int
    status: int | None  # None: drop the connection in the middle of the response
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    body: Any = None


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    status: int | None
    at: float
    api_key: str | None
    workspace: str | None = None


@dataclass
class _Row:
    project_id: str
    start: float
    trace_id: str
    data: dict[str, Any]
    encoded: bytes  # the full run as JSON, what a request selecting every field gets


class FakeLangSmith:
    """The server's state; `serve()` runs it on 127.0.0.1 in a thread."""

    def __init__(
        self,
        *,
        version: str = "0.16.12",
        api_key: str | None = None,
        rate_limit: tuple[int, float] | None = None,
        max_page_size: int | None = None,
        ignore_page_size: bool = False,
        drop_pages: set[int] | None = None,
    ) -> None:
        self.version = version
        self.drop_pages = drop_pages or set()
        self._pages_served = 0
        # Servers may answer fewer runs than asked (a cap) or disregard the size altogether.
        self.max_page_size = max_page_size
        self.ignore_page_size = ignore_page_size
        self.api_key = api_key  # None: any key (or none) is accepted
        self.rate_limit = rate_limit  # (requests, seconds) per API key, a sliding window
        self.projects: dict[str, str] = {}
        self.faults: list[Fault] = []
        self.requests: list[Recorded] = []
        self._rows: list[_Row] = []
        self._by_id: dict[str, _Row] = {}
        self._by_trace: dict[str, list[_Row]] = {}
        self._feedback: dict[str, list[dict[str, Any]]] = {}
        self._queries: dict[str, list[_Row]] = {}
        self._accepted: dict[str | None, deque[float]] = {}
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()
        self._holds: dict[str, tuple[Any, threading.Event, threading.Event]] = {}

    # ---- data -------------------------------------------------------------------------
    def add_project(self, name: str) -> str:
        project_id = str(uuid.UUID(bytes=hashlib.sha256(name.encode()).digest()[:16], version=4))
        self.projects[name] = project_id
        return project_id

    def add_runs(self, runs: list[dict[str, Any]]) -> None:
        for run in runs:
            row = _Row(
                project_id=run["project_id"],
                start=parse_ts(run["start_time"]),
                trace_id=run["trace_id"],
                data=run,
                encoded=json.dumps(run, ensure_ascii=False).encode(),
            )
            self._rows.append(row)
            self._by_id[run.get("id", "")] = row
            self._by_trace.setdefault(run["trace_id"], []).append(row)
        self._rows.sort(key=lambda row: (row.start, row.data.get("id", "")))
        self._queries.clear()

    def delete_traces(self, trace_ids: set[str]) -> None:
        """Remove every run of these traces, as a deletion or LangSmith's retention would."""
        self._rows = [row for row in self._rows if row.trace_id not in trace_ids]
        self._by_id = {
            key: row for key, row in self._by_id.items() if row.trace_id not in trace_ids
        }
        for trace_id in trace_ids:
            self._by_trace.pop(trace_id, None)
        self._queries.clear()

    def add_feedback(self, records: list[dict[str, Any]]) -> None:
        for record in records:
            self._feedback.setdefault(record["run_id"], []).append(record)

    # ---- faults and counters ----------------------------------------------------------
    def fail(
        self,
        path: str,
        *,
        nth: int = 1,
        status: int | None,
        headers: dict[str, str] | None = None,
        times: int = 1,
        body: Any = None,
    ) -> None:
        self.faults.append(Fault(path, nth, status, headers or {}, times, body))

    def hold(
        self, path: str, when: Any = lambda body: True
    ) -> tuple[threading.Event, threading.Event]:
        """Make requests to `path` whose body satisfies `when` hang (a slow LangSmith) until
        `release` is set; `arrived` is set when the first one comes in."""
        arrived, release = threading.Event(), threading.Event()
        self._holds[path] = (when, arrived, release)
        return arrived, release

    def reset_counters(self) -> None:
        """Forget requests, faults' progress and the rate limiter's window."""
        with self._lock:
            self.requests.clear()
            self._seen.clear()
            self._pages_served = 0
            self._accepted.clear()

    def count(self, path: str | None = None) -> int:
        return sum(1 for request in self.requests if path is None or request.path == path)

    def served(self, path: str) -> list[Recorded]:
        return [request for request in self.requests if request.path == path]

    # ---- request handling -------------------------------------------------------------
    def handle(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        body: Any,
        key: str | None,
        workspace: str | None = None,
    ) -> tuple[int | None, dict[str, str], bytes]:
        when, arrived, release = self._holds.get(path) or (None, None, None)
        if when is not None and when(body):
            arrived.set()
            release.wait(120)
        with self._lock:
            self._seen[path] = self._seen.get(path, 0) + 1
            nth = self._seen[path]
            recorded = Recorded(method, path, query, body, None, time.monotonic(), key, workspace)
            self.requests.append(recorded)
            status, headers, payload = self._answer(method, path, query, body, key, nth)
            recorded.status = status
        return status, headers, payload

    def _answer(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        body: Any,
        key: str | None,
        nth: int,
    ) -> tuple[int | None, dict[str, str], bytes]:
        for fault in self.faults:
            if fault.path == path and fault.nth <= nth < fault.nth + fault.times:
                detail = fault.body if fault.body is not None else {"detail": "injected fault"}
                return fault.status, dict(fault.headers), _json(detail)
        if self.api_key is not None and key != self.api_key:
            return 401, {}, _json({"detail": "Invalid token"})
        if self.rate_limit is not None:
            wait = self._rate_limited(key)
            if wait is not None:
                return 429, {"Retry-After": f"{wait:.3f}"}, _json({"detail": "Too many requests"})
        if method == "GET" and path == INFO:
            return 200, {}, _json({"version": self.version, "instance_flags": {}})
        if method == "GET" and path == SESSIONS:
            return self._sessions(query)
        if method == "POST" and path == RUNS_QUERY:
            return self._runs_query(body)
        if method == "GET" and path == FEEDBACK:
            return self._feedback_page(query)
        if method == "POST" and path == RUN_STATS:
            return self._run_stats(body)
        return 404, {}, _json({"detail": "Not Found"})

    def _rate_limited(self, key: str | None) -> float | None:
        """Seconds until a request would be accepted, or None (and count it) if it is now."""
        limit, window = self.rate_limit or (0, 0.0)
        accepted = self._accepted.setdefault(key, deque())
        now = time.monotonic()
        while accepted and accepted[0] <= now - window:
            accepted.popleft()
        if len(accepted) >= limit:
            return max(accepted[0] + window - now, 0.001)
        accepted.append(now)
        return None

    def _sessions(self, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        name = (query.get("name") or [""])[0]
        if name not in self.projects:
            return 200, {}, _json([])
        project = {"id": self.projects[name], "name": name, "tenant_id": str(uuid.UUID(int=7))}
        return 200, {}, _json([project])

    def _runs_query(self, body: Any) -> tuple[int, dict[str, str], bytes]:
        if not isinstance(body, dict) or not body.get("project_ids"):
            return 422, {}, _json({"detail": "project_ids is required"})
        page_size = body.get("page_size", 100)
        if not isinstance(page_size, int) or not 1 <= page_size <= 1000:
            return 422, {}, _json({"detail": "page_size must be between 1 and 1000"})
        selects = body.get("selects") or ["ID"]
        unknown = [name for name in selects if name.lower() not in RUN_FIELDS]
        if unknown:
            return 422, {}, _json({"detail": f"unknown selects {unknown}"})
        try:
            rows = self._matching(body)
        except ValueError as error:
            return 400, {}, _json({"detail": str(error)})
        offset = 0
        if body.get("cursor"):
            offset = json.loads(base64.urlsafe_b64decode(body["cursor"]))["offset"]
        if self.ignore_page_size:
            page_size = len(rows)
        elif self.max_page_size is not None:
            page_size = min(page_size, self.max_page_size)
        self._pages_served += 1
        if self._pages_served in self.drop_pages:
            offset += page_size  # this page's runs are lost, and nothing says so
        page = rows[offset : offset + page_size]
        more = offset + len(page) < len(rows)
        cursor = (
            base64.urlsafe_b64encode(json.dumps({"offset": offset + len(page)}).encode()).decode()
            if more
            else None
        )
        fields = [name.lower() for name in selects]
        if set(fields) == set(RUN_FIELDS):
            items = b",".join(row.encoded for row in page)
        else:
            items = b",".join(_json({k: row.data.get(k) for k in fields}) for row in page)
        return 200, {}, b'{"items":[' + items + b'],"next_cursor":' + _json(cursor) + b"}"

    def _matching(self, body: dict[str, Any]) -> list[_Row]:
        paging = ("cursor", "page_size")
        key = json.dumps({k: v for k, v in body.items() if k not in paging}, sort_keys=True)
        if key in self._queries:
            return self._queries[key]
        projects = set(body["project_ids"])
        low = (
            parse_ts(body["min_start_time"])
            if body.get("min_start_time")
            else time.time() - 86_400  # the real API's default: the last day only
        )
        high = parse_ts(body["max_start_time"]) if body.get("max_start_time") else time.time()
        root_window = None
        if body.get("trace_filter"):
            match = _TRACE_FILTER.match(body["trace_filter"])
            if not match:
                raise ValueError(f"fake server cannot parse trace_filter {body['trace_filter']!r}")
            root_window = (parse_ts(match["min"]), parse_ts(match["max"]))
        candidates = (
            self._by_trace.get(body["trace_id"], []) if body.get("trace_id") else self._rows
        )
        rows = []
        for row in candidates:
            if row.project_id not in projects or not low <= row.start <= high:
                continue
            if body.get("is_root") is not None and body["is_root"] != (
                row.trace_id == row.data.get("id")
            ):
                continue
            if root_window is not None:
                root = self._by_id.get(row.trace_id)
                if root is None or not root_window[0] <= root.start < root_window[1]:
                    continue
            rows.append(row)
        rows.sort(key=lambda row: (row.start, row.data.get("id", "")))
        self._queries[key] = rows
        return rows

    def _run_stats(self, body: Any) -> tuple[int, dict[str, str], bytes]:
        if not isinstance(body, dict) or not body.get("session"):
            return 422, {}, _json({"detail": "session is required"})
        unknown = sorted(set(body) - STATS_FIELDS)
        if unknown:
            return 400, {}, _json({"detail": f"fake server cannot filter runs by {unknown}"})
        try:
            runs_bounds = start_bounds(body["filter"]) if body.get("filter") else []
            roots_bounds = start_bounds(body["trace_filter"]) if body.get("trace_filter") else None
        except ValueError as error:
            return 400, {}, _json({"detail": str(error)})
        if body.get("start_time"):
            runs_bounds.append(("gte", parse_ts(body["start_time"])))
        ended_by = parse_ts(body["end_time"]) if body.get("end_time") else None
        projects = set(body["session"])
        rows = []
        for row in self._rows:
            if row.project_id not in projects or not _within(row.start, runs_bounds):
                continue
            if body.get("is_root") is not None and body["is_root"] != (
                row.trace_id == row.data.get("id")
            ):
                continue
            if ended_by is not None:
                end = row.data.get("end_time")
                if end is None or parse_ts(end) > ended_by:
                    continue
            if roots_bounds is not None:
                root = self._by_id.get(row.trace_id)
                if root is None or not _within(root.start, roots_bounds):
                    continue
            rows.append(row)
        # A run the query pages serve twice is still one run to the counter.
        rows = list({row.data.get("id"): row for row in rows}.values())
        errors = sum(1 for row in rows if row.data.get("error"))
        return (
            200,
            {},
            _json(
                {
                    "run_count": len(rows),
                    "error_rate": errors / len(rows) if rows else 0.0,
                    "last_run_start_time": max(
                        (row.data["start_time"] for row in rows), default=None
                    ),
                }
            ),
        )

    def _feedback_page(self, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        limit = int((query.get("limit") or ["100"])[0])
        offset = int((query.get("offset") or ["0"])[0])
        if not 1 <= limit <= MAX_FEEDBACK_LIMIT:
            return 422, {}, _json({"detail": "limit must be between 1 and 100"})
        records = sorted(
            (
                record
                for run_id in query.get("run", [])
                for record in self._feedback.get(run_id, [])
            ),
            key=lambda record: (record["created_at"], record.get("id", "")),
        )
        return 200, {}, _json(records[offset : offset + limit])

    # ---- serving ----------------------------------------------------------------------
    def serve(self) -> RunningServer:
        return RunningServer(self)


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms ACK waits
    fake: FakeLangSmith

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        self._dispatch("GET", None)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        self._dispatch("POST", json.loads(raw) if raw else None)

    def _dispatch(self, method: str, body: Any) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        try:
            status, headers, payload = self.fake.handle(
                method,
                url.path,
                query,
                body,
                self.headers.get("x-api-key"),
                self.headers.get("x-tenant-id"),
            )
        except Exception as error:  # a bug in the fake must show, not hang the client
            status, headers, payload = 500, {}, _json({"detail": f"fake server error: {error}"})
        if status is None:
            self._drop(payload)
            return
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _drop(self, payload: bytes) -> None:
        """Promise a body, send part of it, and hang up: a connection lost mid-response."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload) + 1000))
        self.end_headers()
        self.wfile.write(payload[: len(payload) // 2])
        self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)


class RunningServer:
    """The fake on a free loopback port until `stop()` (or the end of a `with` block)."""

    def __init__(self, fake: FakeLangSmith) -> None:
        handler = type("Handler", (_Handler,), {"fake": fake})
        self.fake = fake
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---- synthetic days ----------------------------------------------------------------------
@dataclass
class SyntheticDay:
    runs: list[dict[str, Any]]
    feedback: list[dict[str, Any]]

    def install(self, fake: FakeLangSmith) -> None:
        fake.add_runs(self.runs)
        fake.add_feedback(self.feedback)

    def ids_for_root_day(self, day: date) -> set[str]:
        """Ids of every run whose trace root started on `day` (what a fetch must return)."""
        prefix = day.strftime("%Y%m%d")
        return {run["id"] for run in self.runs if run["dotted_order"].startswith(prefix)}

    def records_by_run(self) -> dict[str, list[dict[str, Any]]]:
        grouped: dict[str, list[dict[str, Any]]] = {}
        for record in self.feedback:
            grouped.setdefault(record["run_id"], []).append(record)
        return grouped


class DayMaker:
    """Realistic v2 runs with every selectable field, deterministic for a seed."""

    def __init__(self, project_id: str, seed: int = 0, payload_bytes: int = 200) -> None:
        self.project_id = project_id
        self.rng = random.Random(seed)
        alphabet = "abcdefghij klmnopqrstuvwxyzé✓"
        self.texts = [
            "".join(self.rng.choice(alphabet) for _ in range(payload_bytes)) for _ in range(64)
        ]

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def day(
        self,
        day: date,
        *,
        traces: int,
        runs_per_trace: int = 5,
        feedback_every: int = 0,
        records_per_run: int = 1,
        pending_every: int = 0,
        midnight_crossers: int = 0,
    ) -> SyntheticDay:
        """`traces` roots spread over `day` (plus `midnight_crossers` roots in its last second,
        whose children start on the next day); every `feedback_every`-th run gets
        `records_per_run` feedback records, every `pending_every`-th run has not ended."""
        midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
        starts = sorted(
            midnight + timedelta(seconds=self.rng.uniform(1, 86_000)) for _ in range(traces)
        )
        starts += [
            midnight + timedelta(seconds=86_399.5 + n * 0.01) for n in range(midnight_crossers)
        ]
        result = SyntheticDay([], [])
        counter = 0
        for start in starts:
            for run in self.trace(start, runs_per_trace):
                counter += 1
                if pending_every and counter % pending_every == 0:
                    run.update(end_time=None, status="PENDING", latency_seconds=None)
                if feedback_every and counter % feedback_every == 0:
                    result.feedback += self.feedback(run, records_per_run)
                result.runs.append(run)
        return result

    def trace(self, start: datetime, size: int) -> list[dict[str, Any]]:
        root = self.run(start, None)
        runs = [root]
        clock = start
        for _ in range(size - 1):
            parent = self.rng.choice(runs)
            clock += timedelta(milliseconds=self.rng.randint(5, 900))
            runs.append(self.run(max(clock, _when(parent) + timedelta(microseconds=1)), parent))
        return runs

    def run(self, start: datetime, parent: dict[str, Any] | None) -> dict[str, Any]:
        run_id = self.uuid()
        own = start.strftime("%Y%m%dT%H%M%S%fZ") + run_id
        end = start + timedelta(seconds=self.rng.uniform(0.05, 3))
        run_type = "CHAIN" if parent is None else self.rng.choice(["LLM", "TOOL", "RETRIEVER"])
        text = self.rng.choice(self.texts)
        prompt = self.rng.randint(10, 3000)
        completion = self.rng.randint(1, 800)
        return {
            "id": run_id,
            "name": "agent" if parent is None else f"step_{run_type.lower()}",
            "run_type": run_type,
            "status": "SUCCESS",
            "start_time": ts(start),
            "end_time": ts(end),
            "latency_seconds": round((end - start).total_seconds(), 3),
            "first_token_time": ts(start + timedelta(milliseconds=40)),
            "error": None,
            "error_preview": None,
            "extra": {"runtime": {"sdk": "langsmith-py", "sdk_version": "0.15.0"}},
            "metadata": {"ls_run_depth": 0 if parent is None else 1, "tenant": "acme"},
            "events": [{"name": "start", "time": ts(start), "kwargs": None}],
            "inputs": {"question": text},
            "inputs_preview": text[:100],
            "outputs": {"answer": text[::-1]},
            "outputs_preview": text[::-1][:100],
            "manifest": None,
            "parent_run_ids": [] if parent is None else [*parent["parent_run_ids"], parent["id"]],
            "project_id": self.project_id,
            "trace_id": run_id if parent is None else parent["trace_id"],
            "thread_id": None,
            "dotted_order": own if parent is None else f"{parent['dotted_order']}.{own}",
            "is_root": parent is None,
            "reference_example_id": None,
            "reference_dataset_id": None,
            "total_tokens": prompt + completion,
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_cost": round((prompt + completion) * 1e-6, 9),
            "prompt_cost": round(prompt * 1e-6, 9),
            "completion_cost": round(completion * 1e-6, 9),
            "prompt_token_details": None,
            "completion_token_details": None,
            "prompt_cost_details": None,
            "completion_cost_details": None,
            "price_model_id": None,
            "tags": ["synthetic"],
            "app_path": f"/o/x/projects/p/{self.project_id}/r/{run_id}",
            "attachments": {},
            "thread_evaluation_time": None,
            "is_in_dataset": False,
            "last_queued_at": None,
            "share_url": None,
            "feedback_stats": {},
            "ls_user_id": None,
        }

    def feedback(self, run: dict[str, Any], count: int) -> list[dict[str, Any]]:
        created = datetime.fromisoformat(run["start_time"].replace("Z", "+00:00"))
        records = []
        for n in range(count):
            score = self.rng.choice([0, 0.5, 1])
            records.append(
                {
                    "id": self.uuid(),
                    "run_id": run["id"],
                    "trace_id": run["trace_id"],
                    "session_id": run["project_id"],
                    "key": f"quality_{n % 3}",
                    "score": score,
                    "value": None,
                    "comment": self.rng.choice([None, "Cites the right policy.", "Missed a step"]),
                    "correction": {"answer": "use the refund form"} if n == 1 else None,
                    "feedback_source": {"type": "api", "metadata": {"by": "reviewer"}},
                    "feedback_group_id": None,
                    "comparative_experiment_id": None,
                    "extra": None,
                    "created_at": ts(created + timedelta(minutes=5 + n)),
                    "modified_at": ts(created + timedelta(minutes=5 + n)),
                }
            )
        run["feedback_stats"] = {
            key: {"n": sum(1 for r in records if r["key"] == key), "avg": 0.5}
            for key in {record["key"] for record in records}
        }
        return records


def _when(run: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(run["start_time"].replace("Z", "+00:00"))


def every_field_run(project_id: str, day: date) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A root run with every selectable field populated (no nulls), and its feedback."""
    start = datetime(day.year, day.month, day.day, 12, 30, 15, 123456, tzinfo=UTC)
    run_id = "0d1f9a5e-3c2b-4a7d-9e8f-0123456789ab"
    run = {
        "id": run_id,
        "name": 'every_field ✓ «quoted» "name"',
        "run_type": "LLM",
        "status": "ERROR",
        "start_time": "2025-09-13T12:30:15.123456Z",
        "end_time": "2025-09-13T12:30:17.5Z",
        "latency_seconds": 2.376544,
        "first_token_time": "2025-09-13T12:30:15.4Z",
        "error": "ValueError: bad\nTraceback (most recent call last): …",
        "error_preview": "ValueError: bad",
        "extra": {"runtime": {"sdk": "langsmith-py", "platform": "linux"}, "invocation": [1, 2]},
        "metadata": {"ls_model_name": "gpt-4o", "nested": {"deep": [{"x": None, "y": True}]}},
        "events": [{"name": "new_token", "time": "2025-09-13T12:30:15.4Z", "kwargs": {"t": "Hi"}}],
        "inputs": {"messages": [{"role": "user", "content": "東京の天気は\uff1f 🤔 \u0000 nul"}]},
        "inputs_preview": "東京の天気は\uff1f",
        "outputs": {"generations": [{"text": "Sunny", "score": 1e-9, "big": 12345678901234567890}]},
        "outputs_preview": "Sunny",
        "manifest": {"id": ["langchain", "chat_models", "ChatOpenAI"], "kwargs": {"t": 0.2}},
        "parent_run_ids": [],
        "project_id": project_id,
        "trace_id": run_id,
        "thread_id": "thread-42",
        "dotted_order": start.strftime("%Y%m%dT%H%M%S%fZ") + run_id,
        "is_root": True,
        "reference_example_id": "5b7c1e0a-8d9f-4e3a-b2c1-fedcba987654",
        "reference_dataset_id": "6c8d2f1b-9e0a-4f4b-a3d2-0fedcba98765",
        "total_tokens": 1234,
        "prompt_tokens": 1000,
        "completion_tokens": 234,
        "total_cost": 0.00123456789,
        "prompt_cost": 0.001,
        "completion_cost": 0.00023456789,
        "prompt_token_details": {"raw": {"cache_read": 250, "audio": 0}},
        "completion_token_details": {"raw": {"reasoning": 100}},
        "prompt_cost_details": {"raw": {"cache_read": 0.0001}},
        "completion_cost_details": {"raw": {"reasoning": 0.0002}},
        "price_model_id": "7d9e3a2c-0f1b-4a5c-b4e3-10fedcba9876",
        "tags": ["prod", "ünïcode"],
        "app_path": f"/o/org/projects/p/{project_id}/r/{run_id}",
        "attachments": {"image.png": "https://files.example/presigned?sig=abc"},
        "thread_evaluation_time": "2025-09-13T13:00:00Z",
        "is_in_dataset": True,
        "last_queued_at": "2025-09-13T14:00:00.000001Z",
        "share_url": "https://smith.example/public/abc/r",
        "feedback_stats": {"correctness": {"n": 1, "avg": 1.0, "values": {}, "comments": ["ok"]}},
        "ls_user_id": "8e0f4b3d-1a2c-4b6d-c5f4-210fedcba987",
    }
    missing = [name for name in RUN_FIELDS if run.get(name) in (None, {}, [])]
    assert missing == ["parent_run_ids"], missing  # a root's parent list is empty by definition
    feedback = [
        {
            "id": "9f1a5c4e-2b3d-4c7e-d6a5-3210fedcba98",
            "run_id": run_id,
            "trace_id": run_id,
            "session_id": project_id,
            "key": "correctness",
            "score": 1,
            "value": {"label": "right", "confidence": 0.97},
            "comment": "Matches the forecast ✓",
            "correction": {"outputs": {"text": "Sunny, 31°C"}},
            "feedback_source": {"type": "app", "metadata": {"user": "a@b.c"}, "user_id": "u-1"},
            "feedback_group_id": "1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d",
            "comparative_experiment_id": None,
            "extra": {"error": False},
            "created_at": "2025-09-13T12:35:00.000001Z",
            "modified_at": "2025-09-14T08:00:00Z",
        }
    ]
    return run, feedback
