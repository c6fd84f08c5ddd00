"""Verify benchmark: files_match_db's comparison against merely reading both sides once.

    python -m bench.bench_verify                  # 20,000 runs
    python -m bench.bench_verify --runs 100000    # the issue's size

- ours: what the check does (lse_assets.defs.checks.files_match_db without Dagster around it):
  the partition's files and its rows streamed in run-id order, each file compared with its
  row (lse_assets.core.verify), trace ids tallied;
- baseline: every file read once, then every row streamed once through the same reader
  (PostgresResource.slice_reader: the same query, read ahead on its worker thread, each
  document parsed, as any reader of the rows would).
Each repeat runs both back to back; the ratio of each pair is printed (min/median/max) with
the load average, and the best of each side's times. Peak RSS of ours is measured in a
child process at N/10 and N runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from pathlib import Path

from bench.bench_load import our_load
from bench.common import CACHE, child_peak_rss, fresh_database, peak_rss_mib, settle, timed
from bench.rundata import write_partition
from lse_assets.core import runfiles, verify
from lse_assets.core.runfiles import PartitionPaths
from resources.postgres.resource import PostgresResource, normalize_url


def ours(postgres: PostgresResource, paths: PartitionPaths) -> verify.VerifyReport:
    with postgres.slice_reader(paths.project, paths.day) as rows:
        report = verify.compare(runfiles.iter_run_bytes(paths), rows)
    assert report.consistent, {kind: found.count for kind, found in report.kinds().items()}
    return report


def baseline(postgres: PostgresResource, paths: PartitionPaths) -> int:
    size = sum(len(raw) for _, raw in runfiles.iter_run_bytes(paths))
    with postgres.slice_reader(paths.project, paths.day) as rows:
        count = sum(1 for _ in rows)
    return size + count


def child(url: str, data_dir: str, runs: int) -> None:
    """In a fresh process: verify an already loaded `runs`-run partition; print peak RSS."""
    paths = write_partition(Path(data_dir), runs, project=f"bench-{runs}")
    postgres = PostgresResource(database_url=url, embedded_dir="unused")
    seconds, report = timed(lambda: ours(postgres, paths))
    print(json.dumps({"runs": report.files, "seconds": seconds, "peak_rss_mib": peak_rss_mib()}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3, help="best of this many of each")
    parser.add_argument("--child", nargs=3, metavar=("URL", "DATA_DIR", "RUNS"), help="internal")
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]))
        return

    data_dir = CACHE / "data"
    sizes = (max(args.runs // 10, 1), args.runs)
    with fresh_database() as url:
        url = normalize_url(url)
        postgres = PostgresResource(database_url=url, embedded_dir="unused")
        for size in sizes:
            our_load(url, write_partition(data_dir, size, project=f"bench-{size}"))
        settle(url)
        paths = write_partition(data_dir, args.runs, project=f"bench-{args.runs}")
        measured: dict[str, list[float]] = {"baseline": [], "ours": []}
        for _ in range(args.repeat):  # alternate: other processes share these cores
            measured["baseline"].append(timed(lambda: baseline(postgres, paths))[0])
            seconds, report = timed(lambda: ours(postgres, paths))
            measured["ours"].append(seconds)
        rss = {
            size: child_peak_rss("bench.bench_verify", "--child", url, str(data_dir), str(size))
            for size in sizes
        }

    best = {name: min(values) for name, values in measured.items()}
    print(
        f"partition: {report.files} files, {report.rows} rows, "
        f"{report.normalized.count} NUL-normalized"
    )
    for name, seconds in best.items():
        print(f"{name:9s} {seconds:6.2f} s  {args.runs / seconds:8.0f} runs/s")
    print(
        f"ours vs baseline (read every file + stream every row): "
        f"{best['ours'] / best['baseline']:.2f}x the baseline's time  (target <= 1.3x)"
    )
    # Each repeat's pair, measured back to back: what load does to one pair, it does to both.
    ratios = sorted(o / b for o, b in zip(measured["ours"], measured["baseline"], strict=True))
    print(
        f"per repeat: {' / '.join(f'{r:.2f}' for r in ratios)}x "
        f"(min / median / max: {ratios[0]:.2f} / {statistics.median(ratios):.2f} / "
        f"{ratios[-1]:.2f}), load {os.getloadavg()[0]:.1f}"
    )
    for size, found in rss.items():
        print(f"peak RSS of files_match_db at {size:>7} runs: {found['peak_rss_mib']:.0f} MiB")


if __name__ == "__main__":
    main()
