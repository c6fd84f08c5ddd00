"""Write benchmark: what durability costs raw_runs' partition write (issue 9, part 7).

    python -m bench.bench_write                  # 20,000 runs
    python -m bench.bench_write --runs 100000    # the issue's size

Every variant writes the same N runs (the sample day cloned with fresh UUIDs, streamed as
parsed dicts, as a fetch hands them over) into an empty data dir with
runfiles.write_partition, which fsyncs the manifest and the directory after the swap:
- none: run files not synced at all, no write-back started (the floor);
- syncfs (what raw_runs does): each file's write-back started as it is written
  (sync_file_range, no waiting), then one syncfs of the file system before the swap;
- fsync: one fsync per run file.
Then a re-fetch of the same runs onto the partition (the merge: every local file read and
hashed, unchanged runs hard-linked, nothing swapped because nothing changed). Generating
the runs is timed alone and subtracted. Prints seconds and the cost of each durability
mode relative to `none`.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.common import timed
from lse_assets.core import durable, jsondoc, runfiles
from lse_assets.core.runfiles import PartitionPaths
from resources.langsmith.sample import SampleLangSmithResource

_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
DAY = runfiles.date(2025, 9, 13)


def _runs(n: int) -> Iterator[dict[str, Any]]:
    template = [
        jsondoc.canonical_bytes(run)
        for run in SampleLangSmithResource().fetch_day("bench-write", DAY).runs
    ]
    made, copy = 0, 0
    while made < n:
        mapping: dict[bytes, bytes] = {}
        rng = uuid.UUID(int=copy + 1)

        def fresh(match: re.Match[bytes], mapping=mapping, rng=rng) -> bytes:
            key = match.group(0)
            if key not in mapping:
                mapping[key] = str(uuid.uuid5(rng, key.decode())).encode()
            return mapping[key]

        for raw in template:
            if made == n:
                return
            yield jsondoc.parse(_UUID.sub(fresh, raw))
            made += 1
        copy += 1


def _write(root: Path, n: int, mode: str) -> tuple[float, int]:
    data_dir = root / mode
    shutil.rmtree(data_dir, ignore_errors=True)
    paths = PartitionPaths(data_dir, "bench-write", DAY)
    real_write, real_sync, real_range = (
        durable.write_file,
        durable.sync_filesystem,
        durable._sync_file_range,
    )
    if mode == "none":
        durable.sync_filesystem = lambda path: None
        durable._sync_file_range = None
    elif mode == "fsync":
        durable.sync_filesystem = lambda path: None
        durable.write_file = lambda path, data, sync=True: real_write(path, data, sync=True)
    try:
        real_sync(root)  # start every variant with nothing dirty left by the previous one
        seconds, stats = timed(lambda: runfiles.write_partition(paths, _runs(n), {}))
    finally:
        durable.write_file, durable.sync_filesystem = real_write, real_sync
        durable._sync_file_range = real_range
    assert stats.runs == n
    return seconds, stats.bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20_000)
    parser.add_argument("--dir", type=Path, default=None, help="where to write (a real disk)")
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds of every mode, interleaved; best kept"
    )
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="lse-write-bench-", dir=args.dir))
    try:
        generate = min(
            timed(lambda: sum(1 for _ in _runs(args.runs)))[0] for _ in range(args.repeat)
        )
        results: dict[str, float] = {}
        size = 0
        for _ in range(args.repeat):  # interleaved, so a busy moment does not favour one mode
            for mode in ("none", "syncfs", "fsync"):
                seconds, size = _write(root, args.runs, mode)
                results[mode] = min(results.get(mode, seconds), seconds)
        results = {mode: value - generate for mode, value in results.items()}
        paths = PartitionPaths(root / "syncfs", "bench-write", DAY)
        refetch, stats = timed(lambda: runfiles.write_partition(paths, _runs(args.runs), {}))
        assert stats.unchanged
        floor = results["none"]
        report = {
            "runs": args.runs,
            "megabytes": round(size / 1e6, 1),
            "repeat": args.repeat,
            "generate_seconds": round(generate, 2),
            **{f"write_{mode}_seconds": round(value, 2) for mode, value in results.items()},
            "syncfs_cost_percent": round(100 * (results["syncfs"] - floor) / floor, 1),
            "fsync_each_cost_percent": round(100 * (results["fsync"] - floor) / floor, 1),
            "refetch_unchanged_seconds": round(refetch - generate, 2),
        }
        print(json.dumps(report))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
