"""Parquet benchmark: parquet_runs' write and parquet_matches_files' check against the floor
of pyarrow writing the same rows from memory, and the write's peak memory.

    python -m bench.bench_parquet                  # 20,000 runs
    python -m bench.bench_parquet --runs 100000    # the issue's size
    python -m bench.bench_parquet --runs 10000 --profile   # where ours spends its time

The partition is the house's generated day (bench/rundata.py: the sample twin cloned with
fresh UUIDs, cached under the system temp folder). Each measurement writes a new file in
one scratch folder on the same disk:
- floor: the partition's rows already built in memory as dicts (bulk_export.rows, run
  before the clock starts), then pa.Table.from_pylist and pq.write_table with zstd: what
  pyarrow alone costs for the same rows and file;
- ours: bulk_export.write(batches(paths, export, verified_manifest=...)), what parquet_runs
  does inside its store's staging write: parent links from the manifest (as raw_runs
  records them), every run file read and parsed once, its row made, batches of at most
  ROW_GROUP_BYTES written as row groups (encoded on a second thread);
- read (for scale): every run file read and parsed once, nothing else;
- check: parquet_verify.compare of the file written against the run files (both read
  again, every column of every row compared), what parquet_matches_files does.
Fsync and the store's commit are left out of every variant.
Peak RSS of ours is measured in a fresh child process at N/10, N/2 and N runs.
CPU seconds (this process, every thread) are printed beside the wall times: less moved by
the other work on the machine, and they bound what any split over the machine's cores
could reach (ours' CPU over the cores, against the floor's one thread).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from bench.common import CACHE, child_peak_rss, peak_rss_mib, timed
from bench.rundata import write_partition
from lse_assets.core import bulk_export, jsondoc, parquet_verify, runfiles
from lse_assets.core.runfiles import PartitionPaths


def floor(rows: list[dict], target: Path) -> int:
    table = pa.Table.from_pylist(rows, schema=bulk_export.SCHEMA)
    pq.write_table(table, target, compression=bulk_export.COMPRESSION)
    return table.num_rows


def read(paths: PartitionPaths) -> int:
    return sum(1 for _, raw in runfiles.iter_run_bytes(paths) if jsondoc.parse(raw))


def ours(paths: PartitionPaths, export: bulk_export.Export, target: Path) -> int:
    with target.open("wb") as sink:
        manifest = runfiles.read_manifest(paths)
        batches = bulk_export.batches(paths, export, verified_manifest=manifest)
        return bulk_export.write(sink, batches, export)


def check(
    paths: PartitionPaths, export: bulk_export.Export, target: Path
) -> parquet_verify.ParquetReport:
    parquet = pq.ParquetFile(target, page_checksum_verification=True)
    report = parquet_verify.compare(paths, export, parquet.iter_batches(batch_size=1_000))
    assert report.consistent, {kind: found.count for kind, found in report.kinds().items()}
    return report


def timed_cpu(action: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall seconds, CPU seconds of this process, the result)."""
    cpu = time.process_time()
    seconds, result = timed(action)
    return seconds, time.process_time() - cpu, result


def child(data_dir: str, runs: int, scratch: str) -> None:
    """In a fresh process: write an already generated `runs`-run partition; print peak RSS."""
    paths = write_partition(Path(data_dir), runs, project=f"bench-{runs}")
    export = bulk_export.export_of(paths)
    seconds, written = timed(lambda: ours(paths, export, Path(scratch) / f"rss-{runs}.parquet"))
    print(json.dumps({"runs": written, "seconds": seconds, "peak_rss_mib": peak_rss_mib()}))


def profile(paths: PartitionPaths, export: bulk_export.Export, target: Path) -> None:
    """Where ours spends its time: cProfile's top functions, then each stage alone (each
    line includes the ones before it, except the child index and the conversion)."""
    profiler = cProfile.Profile()
    profiler.runcall(ours, paths, export, target)
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(15)
    run_ids = runfiles.run_ids_on_disk(paths)
    children = bulk_export.child_index(paths, run_ids)
    in_memory = list(bulk_export.rows(paths, export))
    stages = {
        "read every file once": lambda: sum(len(raw) for _, raw in runfiles.iter_run_bytes(paths)),
        "read + parse every file once": lambda: sum(
            1 for _, raw in runfiles.iter_run_bytes(paths) if jsondoc.parse(raw)
        ),
        "child_index (a full read + parse pass)": lambda: bulk_export.child_index(paths, run_ids),
        "read + parse + row_of (no child pass)": lambda: sum(
            1
            for _, raw in runfiles.iter_run_bytes(paths, run_ids)
            if bulk_export.row_of(jsondoc.parse(raw), export, children.get(_, []))
        ),
        "rows() (both passes)": lambda: sum(1 for _ in bulk_export.rows(paths, export)),
        "record batches of rows in memory": lambda: sum(
            pa.RecordBatch.from_pylist(in_memory[i : i + 5_000], schema=bulk_export.SCHEMA).num_rows
            for i in range(0, len(in_memory), 5_000)
        ),
        "ours (all of it)": lambda: ours(paths, export, target),
        "floor": lambda: floor(in_memory, target),
    }
    print("stage seconds (best of 3):")
    for name, action in stages.items():
        print(f"  {min(timed(action)[0] for _ in range(3)):6.3f}  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3, help="best of this many of each")
    parser.add_argument("--dir", type=Path, default=None, help="scratch folder (a real disk)")
    parser.add_argument("--profile", action="store_true", help="cProfile ours once, then stop")
    parser.add_argument("--skip-rss", action="store_true")
    parser.add_argument(
        "--child", nargs=3, metavar=("DATA_DIR", "RUNS", "SCRATCH"), help="internal"
    )
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.child[2])
        return

    data_dir = CACHE / "data"
    # Three sizes: with two, a row group that is not yet full at N/10 looks like growth.
    sizes = (max(args.runs // 10, 1), max(args.runs // 2, 1), args.runs)
    for size in sizes:
        write_partition(data_dir, size, project=f"bench-{size}")
    paths = write_partition(data_dir, args.runs, project=f"bench-{args.runs}")
    export = bulk_export.export_of(paths)
    scratch = Path(tempfile.mkdtemp(prefix="lse-parquet-bench-", dir=args.dir))
    try:
        if args.profile:
            profile(paths, export, scratch / "profile.parquet")
            return
        in_memory = list(bulk_export.rows(paths, export))
        measured: dict[str, list[float]] = {"floor": [], "read": [], "ours": [], "check": []}
        cpu: dict[str, list[float]] = {name: [] for name in measured}

        def measure(name: str, action: Callable[[], Any]) -> Any:
            seconds, cpu_seconds, result = timed_cpu(action)
            measured[name].append(seconds)
            cpu[name].append(cpu_seconds)
            return result

        for _ in range(args.repeat):  # alternate: other processes share these cores
            measure("read", lambda: read(paths))
            count = measure("floor", lambda: floor(in_memory, scratch / "floor.parquet"))
            written = measure("ours", lambda: ours(paths, export, scratch / "ours.parquet"))
            report = measure("check", lambda: check(paths, export, scratch / "ours.parquet"))
        assert count == written == report.compared == args.runs, (count, written, report)
        sizes_mb = {
            name: (scratch / f"{name}.parquet").stat().st_size / 1e6 for name in ("floor", "ours")
        }
        row_groups = pq.ParquetFile(scratch / "ours.parquet").metadata.num_row_groups
        rss = {}
        if not args.skip_rss:
            rss = {
                size: child_peak_rss(
                    "bench.bench_parquet", "--child", str(data_dir), str(size), str(scratch)
                )
                for size in sizes
            }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    best = {name: min(values) for name, values in measured.items()}
    best_cpu = {name: min(values) for name, values in cpu.items()}
    print(
        f"partition: {args.runs} runs; file: ours {sizes_mb['ours']:.1f} MB in {row_groups} "
        f"row groups, floor {sizes_mb['floor']:.1f} MB; best of {args.repeat}"
    )
    for name, seconds in best.items():
        print(
            f"{name:6s} {seconds:7.2f} s  {args.runs / seconds:8.0f} runs/s  "
            f"{seconds / best['floor']:5.2f}x the floor   CPU {best_cpu[name]:6.2f} s"
        )
    print(f"ours vs floor: {best['ours'] / best['floor']:.2f}x the floor's time (target <= 1.5x)")
    cores = len(os.sched_getaffinity(0))
    print(
        f"ours' CPU over all {cores} cores, at best: "
        f"{best_cpu['ours'] / cores / best_cpu['floor']:.2f}x the floor's CPU "
        f"(load average {os.getloadavg()[0]:.1f})"
    )
    files_floor = best["floor"] + best["read"]
    print(
        f"ours vs floor + one read and parse of every file ({files_floor:.2f} s): "
        f"{best['ours'] / files_floor:.2f}x"
    )
    for size, found in rss.items():
        print(f"peak RSS of ours at {size:>7} runs: {found['peak_rss_mib']:.0f} MiB")


if __name__ == "__main__":
    main()
