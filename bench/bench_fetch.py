"""Our LangSmith fetch against the predecessor's algorithm, under one simulated rate limit.

    .venv/bin/python -m bench.bench_fetch              # about two minutes
    .venv/bin/python -m bench.bench_fetch --scale 20   # slower, closer to real time

Both algorithms fetch the same day (~2,000 traces, ~20,000 runs, feedback on every 10th
run) through the real `langsmith` SDK from the fake LangSmith server (tests/fake_langsmith.py),
which runs in its own process and enforces LangSmith's documented per-key limit of 15
requests per 10 s. To keep the benchmark short, the time axis is compressed by `--scale` for
both alike: the window becomes 10 s / scale, the predecessor's 1 s sleeps 1 s / scale, and
the server's Retry-After shrinks with the window. Request counts do not depend on the scale;
the printed real-time floors derive from them.

The predecessor (notes/predecessor.md): list the day's root runs, then per trace one query
for its runs and one feedback call, each after a fixed 1 s sleep; on errors it retried after
a fixed pause, ignoring Retry-After.

Last, the peak RSS of our fetch writing a 100,000-run day to disk (tmpfs, so that fsync
does not dominate the time), next to a 10,000-run day: constant memory means equal peaks.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import multiprocessing
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

import langsmith

from resources.langsmith import LangSmithResource
from resources.langsmith_day import ALL_SELECTS

T = TypeVar("T")
KEY = "lsv2_bench_key"
PROJECT = "bench-project"
DAY = date(2025, 9, 13)
REAL_LIMIT = (15, 10.0)  # requests per seconds, per API key (notes/langsmith.md)
PREDECESSOR_SLEEP = 1.0  # seconds, before each per-trace query and each feedback call
PREDECESSOR_ATTEMPTS = 50


# ---- the fake server, in its own process --------------------------------------------------
def _serve(spec: dict[str, Any], conn: Any) -> None:
    from tests.fake_langsmith import DayMaker, FakeLangSmith

    fake = FakeLangSmith(api_key=KEY, rate_limit=spec["rate_limit"])
    maker = DayMaker(fake.add_project(PROJECT), seed=42, payload_bytes=spec["payload"])
    day = maker.day(
        DAY,
        traces=spec["traces"],
        runs_per_trace=spec["runs_per_trace"],
        feedback_every=spec["feedback_every"],
        records_per_run=1,
    )
    day.install(fake)
    shape = {
        "runs": len(day.runs),
        "traces": spec["traces"],
        "runs_with_feedback": len({record["run_id"] for record in day.feedback}),
        "feedback_records": len(day.feedback),
    }
    del day
    with fake.serve() as server:
        conn.send((server.url, shape))
        while (message := conn.recv()) != "stop":
            if message == "reset":
                fake.reset_counters()
                conn.send(None)
            elif message == "stats":
                statuses = [request.status for request in fake.requests]
                conn.send({"requests": len(statuses), "rejected": statuses.count(429)})


class FakeProcess:
    def __init__(self, conn: Any, url: str, shape: dict[str, int]) -> None:
        self.conn, self.url, self.shape = conn, url, shape

    def ask(self, message: str) -> Any:
        self.conn.send(message)
        return self.conn.recv()


@contextmanager
def fake_server(**spec: Any) -> Iterator[FakeProcess]:
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=_serve, args=(spec, theirs), daemon=True)
    process.start()
    try:
        url, shape = ours.recv()
        yield FakeProcess(ours, url, shape)
    finally:
        ours.send("stop")
        process.join(timeout=30)
        if process.is_alive():
            process.terminate()


# ---- the two algorithms -------------------------------------------------------------------
def ours(url: str, scale: float) -> tuple[set[str], int]:
    fetch = LangSmithResource(
        api_key=KEY, endpoint=url, backoff_seconds=1 / scale, max_backoff_seconds=60 / scale
    ).fetch_day(PROJECT, DAY)
    ids, records = set(), 0
    for run in fetch.runs:
        ids.add(run["id"])
        records += len(run["feedback_records"])
    return ids, records


def predecessor(url: str, scale: float) -> tuple[set[str], int]:
    client = langsmith.Langsmith(api_key=KEY, base_url=url, max_retries=0)
    pause = PREDECESSOR_SLEEP / scale

    def call(send: Callable[[], T]) -> T:
        for _ in range(PREDECESSOR_ATTEMPTS):
            try:
                return send()
            except (langsmith.RateLimitError, langsmith.InternalServerError):
                time.sleep(pause)  # a fixed pause: Retry-After ignored
        raise RuntimeError("gave up")

    def query(**filters: Any) -> Iterator[dict[str, Any]]:
        cursor: dict[str, str] = {}
        while True:
            page = call(
                lambda cursor=cursor: client.runs.with_raw_response.query_v2(
                    project_ids=[project_id],
                    selects=ALL_SELECTS,
                    page_size=100,
                    **filters,
                    **cursor,
                ).json()
            )
            yield from page["items"]
            if not page.get("next_cursor"):
                return
            cursor = {"cursor": page["next_cursor"]}

    start, end = DAY.isoformat() + "T00:00:00Z", (DAY + timedelta(days=1)).isoformat()
    project_id = call(
        lambda: client.get("/sessions", cast_to=object, options={"params": {"name": PROJECT}})
    )[0]["id"]
    roots = [
        run["id"]
        for run in query(is_root=True, min_start_time=start, max_start_time=end + "T00:00:00Z")
    ]
    ids, records = set(), 0
    for root in roots:
        time.sleep(pause)
        trace = list(
            query(
                trace_id=root,
                min_start_time=start,
                max_start_time=(DAY + timedelta(days=2)).isoformat() + "T00:00:00Z",
            )
        )
        ids.update(run["id"] for run in trace)
        time.sleep(pause)
        feedback = call(
            lambda trace=trace: client.get(
                "/feedback",
                cast_to=object,
                options={"params": {"run": [run["id"] for run in trace], "limit": 100}},
            )
        )
        records += len(feedback)
    client.close()
    return ids, records


def timed(server: FakeProcess, fetch: Callable[[str, float], Any], scale: float) -> dict[str, Any]:
    time.sleep(REAL_LIMIT[1] / scale)  # an empty rate-limit window for each contender
    server.ask("reset")
    started = time.perf_counter()
    ids, records = fetch(server.url, scale)
    seconds = time.perf_counter() - started
    return {"ids": ids, "records": records, "seconds": seconds, **server.ask("stats")}


# ---- peak memory of a large day -----------------------------------------------------------
def rss_child(url: str, write: bool) -> None:
    """Fetch the whole day (and write it, if `write`); print peak RSS before and after."""
    from lse_assets import jsondoc, runfiles

    api = LangSmithResource(api_key=KEY, endpoint=url)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    fetch = api.fetch_day(PROJECT, DAY)
    if write:
        with tempfile.TemporaryDirectory(dir="/dev/shm") as data_dir:
            paths = runfiles.PartitionPaths(Path(data_dir), PROJECT, DAY)
            stats = runfiles.write_partition(paths, fetch.runs, fetch.source)
            runs, size = stats.runs, stats.bytes
    else:
        runs = size = 0
        for run in fetch.runs:
            runs += 1
            size += len(jsondoc.canonical_bytes(run))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"before_kb": before, "peak_kb": peak, "runs": runs, "bytes": size}))


def peak_rss(runs: int, payload: int) -> dict[str, dict[str, Any]]:
    """Peak RSS of a fresh process fetching a `runs`-run day: alone, and writing it."""
    with fake_server(
        rate_limit=None, traces=runs // 10, runs_per_trace=10, feedback_every=10, payload=payload
    ) as server:
        results = {}
        for mode in ("fetch", "write"):
            out = subprocess.run(
                [sys.executable, "-m", "bench.bench_fetch", "--rss-child", mode, server.url],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            results[mode] = json.loads(out.strip().splitlines()[-1])
        return results


def limit_floor(requests: int, limit: int, window: float) -> float:
    """Least time `requests` take under `limit` per sliding `window`: request k (from 0)
    cannot be accepted before (k // limit) windows have passed."""
    return ((requests - 1) // limit) * window if requests else 0.0


def binding(args: argparse.Namespace, shape: dict[str, int]) -> None:
    """Ours alone under a compression where the limit binds it: 429s and Retry-After."""
    limit, window = REAL_LIMIT[0], REAL_LIMIT[1] / args.binding_scale
    with fake_server(
        rate_limit=(limit, window),
        traces=args.traces,
        runs_per_trace=args.runs_per_trace,
        feedback_every=10,
        payload=200,
    ) as server:
        result = timed(server, ours, args.binding_scale)
    floor = limit_floor(result["requests"] - result["rejected"], limit, window)
    print(
        f"ours, binding: 15 requests per {window:.1f} s ({args.binding_scale:g}x): "
        f"{result['requests']} requests ({result['rejected']} answered 429, Retry-After "
        f"honoured), {result['seconds']:.1f} s wall; the limit alone needs {floor:.1f} s"
    )


# ---- report -------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=100.0, help="time compression (both)")
    parser.add_argument("--traces", type=int, default=2000)
    parser.add_argument("--runs-per-trace", type=int, default=10)
    parser.add_argument(
        "--binding-scale", type=float, default=10.0, help="compression for ours alone"
    )
    parser.add_argument("--rss-runs", type=int, default=100_000)
    parser.add_argument("--skip-rss", action="store_true")
    parser.add_argument("--rss-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # our retry notices would interleave with the report
    if args.rss_child:
        mode, url = args.rss_child
        rss_child(url, write=mode == "write")
        return

    limit, window = REAL_LIMIT[0], REAL_LIMIT[1] / args.scale
    with fake_server(
        rate_limit=(limit, window),
        traces=args.traces,
        runs_per_trace=args.runs_per_trace,
        feedback_every=10,
        payload=200,
    ) as server:
        shape = server.shape
        new = timed(server, ours, args.scale)
        old = timed(server, predecessor, args.scale)
    assert new["ids"] == old["ids"] and new["records"] == old["records"], "different data"

    print(
        f"day: {shape['traces']:,} traces, {shape['runs']:,} runs, "
        f"{shape['runs_with_feedback']:,} runs with feedback ({shape['feedback_records']:,} "
        "records); both fetched the same runs and records"
    )
    print(
        f"rate limit: {limit} requests per {window:.3f} s per key = LangSmith's 15 per 10 s "
        f"with time compressed {args.scale:g}x for both; predecessor's 1 s sleeps -> "
        f"{PREDECESSOR_SLEEP / args.scale:.3f} s; Retry-After compressed alike"
    )
    for name, result in (("ours", new), ("predecessor", old)):
        print(
            f"{name:>12}: {result['requests']:>6,} requests ({result['rejected']:,} answered "
            f"429), {result['seconds']:7.2f} s wall"
        )
    print(
        f"       ratio: {old['requests'] / new['requests']:.1f}x fewer requests, "
        f"{old['seconds'] / new['seconds']:.1f}x less wall time (compressed time)"
    )
    real_limit, real_window = REAL_LIMIT
    ours_floor = limit_floor(new["requests"] - new["rejected"], real_limit, real_window)
    sleeps = 2 * shape["traces"] * PREDECESSOR_SLEEP
    old_floor = max(limit_floor(old["requests"], real_limit, real_window), sleeps)
    print(
        f"  real limit: ours >= {ours_floor:,.0f} s ({new['requests']} requests at 15 per 10 s); "
        f"predecessor >= {old_floor:,.0f} s ({old_floor / 60:.0f} min: {sleeps:,.0f} s of 1 s "
        f"sleeps alone) -> at least {old_floor / ours_floor:.0f}x"
    )
    issue_bound = math.ceil(shape["runs"] / 200) + math.ceil(shape["runs_with_feedback"] / 100)
    ours_bound = math.ceil(shape["runs"] / 200) + math.ceil(shape["feedback_records"] / 99) + 2
    print(
        f"       bound: ceil(runs/200) + ceil(runs with feedback/100) = {issue_bound}; ours made "
        f"{new['requests'] - new['rejected']} (+{new['rejected']} answered 429) = "
        f"ceil(runs/200) + ceil(records/99) + 2 lookups = {ours_bound}"
    )
    binding(args, shape)
    if args.skip_rss:
        return
    for runs in (args.rss_runs // 10, args.rss_runs):
        rss = peak_rss(runs, payload=1000)
        fetched, written = rss["fetch"], rss["write"]
        print(
            f"    peak RSS: {written['runs']:>7,}-run day ({written['bytes'] / 1e6:,.0f} MB of run "
            f"files): fetch {fetched['peak_kb'] / 1024:.0f} MB, fetch + write_partition "
            f"{written['peak_kb'] / 1024:.0f} MB (process after imports: "
            f"{fetched['before_kb'] / 1024:.0f} MB)"
        )


if __name__ == "__main__":
    main()
