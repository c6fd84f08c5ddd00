"""Load benchmark: db_runs' load against the predecessor's way and against a bare COPY.

    python -m bench.bench_load                  # 20,000 runs (about a minute)
    python -m bench.bench_load --runs 100000    # the issue's size (a few minutes)

Every method fills its own empty table with the same DDL as `runs` (monthly partition,
primary key, CHECKs, generated trace_id, B-tree and GIN indexes), from the same files:
- ours: PostgresResource.replace_slice fed by dbrows.documents_for_load, as db_runs does
  (files read and streamed, NUL rule, one transaction, binary COPY);
- predecessor: files parsed, executemany of INSERT ... ON CONFLICT in batches of 100, one
  commit per batch, with the old driver's executemany semantics (psycopg2 runs one
  statement per row, one round trip each);
- predecessor_pipelined: the same batches through psycopg 3's executemany, which
  pipelines the 100 statements of a batch in one round trip (a stricter baseline);
- floor: a bare binary COPY of rows prepared in memory beforehand (no file reading).
Peak RSS of our load is measured in a child process at N/10 and N runs.
"""

from __future__ import annotations

import argparse
import json
import uuid
from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb

from bench.common import CACHE, child_peak_rss, fresh_database, peak_rss_mib, settle, timed
from bench.rundata import DAY, write_partition
from lse_assets.core import dbrows, jsondoc, runfiles
from lse_assets.core.runfiles import PartitionPaths
from resources.postgres.monthly_tables import next_month
from resources.postgres.resource import PostgresResource, normalize_url

BATCH = 100
_COLUMNS = "run_id, project, run_date, data"


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def our_load(url: str, paths: PartitionPaths) -> int:
    postgres = PostgresResource(database_url=url, embedded_dir="unused")
    run_ids = runfiles.run_ids_on_disk(paths)
    tally = dbrows.LoadTally()
    return postgres.replace_slice(
        paths.project, paths.day, run_ids, dbrows.documents_for_load(paths, run_ids, tally)
    )


def create_identical_table(url: str, name: str) -> None:
    with psycopg.connect(_libpq(url), autocommit=True) as connection:
        connection.execute(f"DROP TABLE IF EXISTS {name}")
        connection.execute(
            f"CREATE TABLE {name} (LIKE runs INCLUDING ALL) PARTITION BY RANGE (run_date)"
        )
        first = DAY.replace(day=1)
        connection.execute(
            f"CREATE TABLE {name}_month PARTITION OF {name}"
            f" FOR VALUES FROM ('{first}') TO ('{next_month(first)}')"
        )


def predecessor_load(url: str, paths: PartitionPaths, table: str, pipelined: bool) -> int:
    statement = (
        f"INSERT INTO {table} ({_COLUMNS}) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (run_id, run_date) DO UPDATE"
        " SET project = EXCLUDED.project, data = EXCLUDED.data, loaded_at = now()"
    )
    run_ids = runfiles.run_ids_on_disk(paths)
    with psycopg.connect(_libpq(url)) as connection, connection.cursor() as cursor:
        for start in range(0, len(run_ids), BATCH):
            batch = []
            for run_id in run_ids[start : start + BATCH]:
                document, _ = jsondoc.database_form(paths.run_file(run_id).read_bytes())
                batch.append((run_id, paths.project, paths.day, Jsonb(document)))
            if pipelined:
                cursor.executemany(statement, batch)
            else:  # what psycopg2's executemany does: a loop of execute
                for row in batch:
                    cursor.execute(statement, row)
            connection.commit()
    return len(run_ids)


def rows_in_memory(paths: PartitionPaths) -> list[tuple]:
    rows = []
    for run_id, raw in runfiles.iter_run_bytes(paths):
        data, _ = jsondoc.database_bytes(raw)
        rows.append((uuid.UUID(run_id), paths.project, paths.day, Jsonb(data, dumps=bytes)))
    return rows


def bare_copy(url: str, rows: list[tuple], table: str) -> int:
    with psycopg.connect(_libpq(url)) as connection, connection.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["uuid", "text", "date", "jsonb"])
            for row in rows:
                copy.write_row(row)
        connection.commit()
    return len(rows)


def child(url: str, data_dir: str, runs: int) -> None:
    """In a fresh process: our load of an `runs`-run partition; print its peak RSS."""
    paths = write_partition(Path(data_dir), runs, project=f"bench-{runs}")
    seconds, written = timed(lambda: our_load(url, paths))
    print(json.dumps({"runs": written, "seconds": seconds, "peak_rss_mib": peak_rss_mib()}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3, help="best of this many (floor, ours)")
    parser.add_argument("--skip-predecessor", action="store_true")
    parser.add_argument("--child", nargs=3, metavar=("URL", "DATA_DIR", "RUNS"), help="internal")
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]))
        return

    data_dir = CACHE / "data"
    paths = write_partition(data_dir, args.runs, project=f"bench-{args.runs}")
    megabytes = sum(path.stat().st_size for path in paths.runs_dir.iterdir()) / 1e6
    print(f"partition: {args.runs} runs, {megabytes:.0f} MB of JSON files")
    with fresh_database() as url:
        url = normalize_url(url)
        postgres = PostgresResource(database_url=url, embedded_dir="unused")
        postgres.engine()  # migrate
        results: dict[str, float] = {}

        rows = rows_in_memory(paths)
        create_identical_table(url, "runs_floor")
        floor, ours, reload = [], [], []
        # Alternate and keep the best of each: other processes share these cores.
        for _ in range(args.repeat):
            postgres.execute("TRUNCATE runs_floor")
            settle(url)
            floor.append(timed(lambda: bare_copy(url, rows, "runs_floor"))[0])
            postgres.execute("TRUNCATE runs")
            settle(url)
            seconds, written = timed(lambda: our_load(url, paths))
            assert written == args.runs, written
            ours.append(seconds)
            settle(url)
            reload.append(timed(lambda: our_load(url, paths))[0])
        rows.clear()
        results["floor"], results["ours"], results["ours_reload"] = (
            min(floor),
            min(ours),
            min(reload),
        )

        if not args.skip_predecessor:
            for name, pipelined in (("predecessor", False), ("predecessor_pipelined", True)):
                create_identical_table(url, f"runs_{name}")
                settle(url)
                results[name], _ = timed(
                    lambda name=name, pipelined=pipelined: predecessor_load(
                        url, paths, f"runs_{name}", pipelined
                    )
                )

        rss = {}
        for size in (max(args.runs // 10, 1), args.runs):
            write_partition(data_dir, size, project=f"bench-{size}")
            rss[size] = child_peak_rss("bench.bench_load", "--child", url, str(data_dir), str(size))

    for name, seconds in results.items():
        print(f"{name:22s} {seconds:7.2f} s  {args.runs / seconds:9.0f} runs/s")
    for name in ("predecessor", "predecessor_pipelined"):
        if name in results:
            print(
                f"ours vs {name} (INSERT ON CONFLICT, batches of {BATCH}): "
                f"{results[name] / results['ours']:.1f}x faster  (target >= 10x)"
            )
    print(
        f"ours vs bare COPY floor: {results['ours'] / results['floor']:.2f}x the floor's time"
        "  (target <= 1.3x)"
    )
    print(
        f"reload (replace an existing slice) vs floor: "
        f"{results['ours_reload'] / results['floor']:.2f}x"
    )
    for size, found in rss.items():
        print(f"peak RSS of our load at {size:>7} runs: {found['peak_rss_mib']:.0f} MiB")


if __name__ == "__main__":
    main()
