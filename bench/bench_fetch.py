"""Our LangSmith fetch under LangSmith's rate limit: against the predecessor, against the
request floor of each day profile, and its peak memory.

    .venv/bin/python -m bench.bench_fetch              # about eight minutes
    .venv/bin/python -m bench.bench_fetch --skip-rss --skip-predecessor   # profiles only

Every fetch goes through the real `langsmith` SDK to the fake LangSmith server
(tests/fakes/fake_langsmith.py), which runs in its own process and enforces LangSmith's documented
per-key limit of 15 requests per 10 s. To keep the benchmark short the time axis is
compressed (`--scale` for the predecessor comparison, `--profile-scale` for the profiles):
the window becomes 10 s / scale, sleeps and Retry-After shrink alike. Request counts do not
depend on the scale.

1. Predecessor: our fetch and the predecessor's algorithm (docs/drive.md, "Restore": list the
   day's roots, then per trace one query and one feedback call, each after a fixed 1 s sleep,
   Retry-After ignored) on one day (~2,000 traces, ~20,000 runs, feedback on every 10th run).
2. Profiles (issue 12): 20,000 runs of ~5 KB, 30,000 small runs, and 20,000 runs of which
   1 % are 3 MB, each fetched with byte-sized pages and with the former fixed 200-run pages:
   requests against the floor ceil(runs / 1000) + ceil(runs with feedback / 100) + 4 fixed,
   and wall time against the time the limit alone needs for that floor.
3. Peak RSS of a fresh process fetching (and writing, to tmpfs) a 100,000-run day and the
   3 MB profile, with fixed 200-run pages (before) and byte-sized pages (now).
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

from resources.langsmith.paging import ALL_SELECTS
from resources.langsmith.resource import LangSmithResource

T = TypeVar("T")
KEY = "lsv2_bench_key"
PROJECT = "bench-project"
DAY = date(2025, 9, 13)
REAL_LIMIT = (15, 10.0)  # requests per seconds, per API key (docs/langsmith.md)
PREDECESSOR_SLEEP = 1.0  # seconds, before each per-trace query and each feedback call
PREDECESSOR_ATTEMPTS = 50


# ---- the fake server, in its own process --------------------------------------------------
def _serve(spec: dict[str, Any], conn: Any) -> None:
    from tests.fakes.fake_langsmith import DayMaker, FakeLangSmith

    fake = FakeLangSmith(api_key=KEY, rate_limit=spec["rate_limit"])
    maker = DayMaker(fake.add_project(PROJECT), seed=42, payload_bytes=spec["payload"])
    day = maker.day(
        DAY,
        traces=spec["traces"],
        runs_per_trace=spec["runs_per_trace"],
        feedback_every=spec["feedback_every"],
        records_per_run=1,
    )
    blob = "z" * spec.get("big_bytes", 0)  # one string shared by every big run's dict
    for run in day.runs[spec.get("big_every", 1) - 1 :: spec.get("big_every") or len(day.runs) + 1]:
        run["outputs"] = {"blob": blob}
    big = sum(1 for run in day.runs if run["outputs"].get("blob") is blob) if blob else 0
    day.install(fake)
    shape = {
        "runs": len(day.runs),
        "traces": spec["traces"],
        "runs_with_feedback": len({record["run_id"] for record in day.feedback}),
        "feedback_records": len(day.feedback),
        "big_runs": big,
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
# Today's paging before byte-sized pages (issue 12): a fixed 200 runs a request.
FIXED_200 = {"page_size": 200, "page_bytes": 10**15}


def ours(url: str, scale: float, **paging: int) -> tuple[set[str], int]:
    fetch = LangSmithResource(
        api_key=KEY,
        endpoint=url,
        backoff_seconds=1 / scale,
        max_backoff_seconds=60 / scale,
        **paging,
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
def rss_child(url: str, write: bool, paging: str) -> None:
    """Fetch the whole day (and write it, if `write`); print peak RSS before and after."""
    from lse_assets.core import jsondoc, locks, runfiles

    locks.install(locks.FlockBackend())  # one host; the lock is not what is measured
    api = LangSmithResource(api_key=KEY, endpoint=url, **(FIXED_200 if paging == "200" else {}))
    before = peak_kb(reset=True)
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
    peak = peak_kb()
    largest = fetch.source["paging"]["largest_page_bytes"]
    print(
        json.dumps(
            {
                "before_kb": before,
                "peak_kb": peak,
                "runs": runs,
                "bytes": size,
                "largest_page": largest,
            }
        )
    )


def peak_kb(reset: bool = False) -> int:
    """This process's peak RSS in KB. `ru_maxrss` is no use here: Linux carries the parent's
    peak across fork and exec, so a child of a big benchmark process starts at its parent's
    peak. VmHWM can be reset (`clear_refs` 5) and is this process's own."""
    if reset:
        Path("/proc/self/clear_refs").write_text("5")
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def peak_rss(**spec: Any) -> dict[tuple[str, str], dict[str, Any]]:
    """Peak RSS of fresh processes fetching the day: alone and writing it, each with today's
    fixed 200-run pages and with byte-sized pages."""
    with fake_server(rate_limit=None, feedback_every=10, **spec) as server:
        results = {}
        for paging in ("200", "bytes"):
            for mode in ("fetch", "write"):
                out = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "bench.bench_fetch",
                        "--rss-child",
                        mode,
                        paging,
                        server.url,
                    ],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                results[paging, mode] = json.loads(out.strip().splitlines()[-1])
        return results


def limit_floor(requests: int, limit: int, window: float) -> float:
    """Least time `requests` take under `limit` per sliding `window`: request k (from 0)
    cannot be accepted before (k // limit) windows have passed."""
    return ((requests - 1) // limit) * window if requests else 0.0


# ---- day profiles under the limit ----------------------------------------------------------
PROFILES = {
    "20,000 runs of ~5 KB": {"traces": 2000, "runs_per_trace": 10, "payload": 200},
    "30,000 small runs": {"traces": 3000, "runs_per_trace": 10, "payload": 200},
    "20,000 runs, 1 % of 3 MB": {
        "traces": 2000,
        "runs_per_trace": 10,
        "payload": 200,
        "big_every": 100,
        "big_bytes": 3_000_000,
        # Real time: 600 MB take seconds to move and parse, longer than a compressed window,
        # so under compression the bytes (not the limit) would bind the fetch.
        "scale": 1.0,
    },
}
LOOKUPS = 4  # GET /info, GET /sessions and the day's two counts (POST /runs/stats)


def profiles(scale: float, names: list[str]) -> None:
    """Each profile under the compressed limit: byte-sized pages, then today's 200-run pages.
    Requests against the floor ceil(runs/1000) + ceil(runs with feedback/100) + lookups, and
    wall time against the time the limit alone needs for the floor."""
    print("profiles: LangSmith's 15 requests per 10 s, feedback on every 10th run")
    for name in names:
        spec = dict(PROFILES[name])
        scale = min(scale, spec.pop("scale", scale))
        limit, window = REAL_LIMIT[0], REAL_LIMIT[1] / scale
        with fake_server(rate_limit=(limit, window), feedback_every=10, **spec) as server:
            shape = server.shape
            floor = (
                math.ceil(shape["runs"] / 1000)
                + math.ceil(shape["runs_with_feedback"] / 100)
                + LOOKUPS
            )
            need = limit_floor(floor, limit, window)
            results = {
                paging: timed(server, lambda url, s, p=knobs: ours(url, s, **p), scale)
                for paging, knobs in (("byte-sized", {}), ("fixed 200", FIXED_200))
            }
        assert results["byte-sized"]["ids"] == results["fixed 200"]["ids"], "different runs"
        print(
            f"  {name}: {shape['runs']:,} runs ({shape['big_runs']} of 3 MB), "
            f"{shape['runs_with_feedback']:,} with feedback; floor {floor} requests "
            f"({math.ceil(shape['runs'] / 1000)} + {math.ceil(shape['runs_with_feedback'] / 100)}"
            f" + {LOOKUPS}), which the limit alone holds {need:.1f} s at 15 per {window:g} s "
            f"({scale:g}x compressed)"
        )
        for paging, result in results.items():
            accepted = result["requests"] - result["rejected"]
            print(
                f"    {paging:>10}: {accepted:>4} requests = floor {accepted - floor:+d} "
                f"(+{result['rejected']} answered 429); {result['seconds']:6.2f} s wall = "
                f"{result['seconds'] / need:.2f}x the limit's floor"
            )


# ---- report -------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=100.0, help="time compression (both)")
    parser.add_argument("--traces", type=int, default=2000)
    parser.add_argument("--runs-per-trace", type=int, default=10)
    parser.add_argument(
        "--profile-scale",
        type=float,
        default=2.5,
        help="compression for the profiles (mild: a 3 MB page must take less than a window)",
    )
    parser.add_argument("--profile", action="append", choices=list(PROFILES), help="only these")
    parser.add_argument("--rss-runs", type=int, default=100_000)
    parser.add_argument("--skip-rss", action="store_true")
    parser.add_argument("--skip-predecessor", action="store_true")
    parser.add_argument("--skip-profiles", action="store_true")
    parser.add_argument("--rss-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # our retry notices would interleave with the report
    if args.rss_child:
        mode, paging, url = args.rss_child
        rss_child(url, write=mode == "write", paging=paging)
        return

    if not args.skip_predecessor:
        predecessor_report(args)
    if not args.skip_profiles:
        profiles(args.profile_scale, args.profile or list(PROFILES))
    if args.skip_rss:
        return
    for label, spec in (
        (
            f"{args.rss_runs:,} runs of ~5 KB",
            {"traces": args.rss_runs // 10, "runs_per_trace": 10, "payload": 1000},
        ),
        ("20,000 runs, 1 % of 3 MB", PROFILES["20,000 runs, 1 % of 3 MB"]),
    ):
        rss = peak_rss(**spec)
        print(
            f"    peak RSS, {label} ({rss['bytes', 'write']['bytes'] / 1e6:,.0f} MB of run "
            f"files; process after imports {rss['bytes', 'fetch']['before_kb'] / 1024:.0f} MB):"
        )
        for paging, title in (("200", "fixed 200 (before)"), ("bytes", "byte-sized (now)")):
            fetched, written = rss[paging, "fetch"], rss[paging, "write"]
            print(
                f"      {title:>18}: fetch {fetched['peak_kb'] / 1024:.0f} MB, fetch + "
                f"write_partition {written['peak_kb'] / 1024:.0f} MB (largest page "
                f"{fetched['largest_page'] / 1e6:.1f} MB)"
            )


def predecessor_report(args: argparse.Namespace) -> None:
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


if __name__ == "__main__":
    main()
