"""`lse demo`: archive days x sample projects through Dagster and print what happened."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from datetime import date

import dagster as dg
from rich.console import Console
from rich.table import Table

from lse_assets.cli.runner import PartitionRun, run_partitions
from lse_assets.core.invocation import LSE
from lse_assets.core.partition import Partition
from lse_assets.definitions import build_defs
from lse_assets.defs.jobs import archive_day_job
from lse_assets.settings import load_settings
from resources.object_store.resource import ParquetStoreResource

NUMBERS = ("runs", "traces", "zip bytes")
# Printed after the demo as a ready `lse sql` command (shell-quoted), tested as printed.
QUERY = "SELECT project, count(*) AS runs FROM runs GROUP BY project ORDER BY project"


def _row(run: PartitionRun) -> list[str]:
    raw, zipped, drive, parquet = (
        run.metadata.get(asset, {})
        for asset in ("raw_runs", "run_archive", "drive_archive", "parquet_runs")
    )
    if not run.success:
        checks = "RUN FAILED"
    elif run.checks_passed:
        checks = f"{len(run.checks)} passed"
    else:
        checks = "FAILED: " + ", ".join(name for name, ok in run.checks.items() if not ok)
    return [
        run.partition.label,
        str(raw.get("runs", "-")),
        str(raw.get("traces", "-")),
        str(zipped.get("bytes", "-")),
        str(drive.get("action", "-")),
        _parquet_cell(parquet),
        checks,
    ]


def _parquet_cell(metadata: dict) -> str:
    if not metadata:
        return "-"
    return "unchanged" if metadata.get("unchanged") else f"{metadata.get('rows')} rows"


def run_demo(days: list[date], echo: Callable[[str], None] | None = None) -> bool:
    """Archive every (day, sample project); return True if any run or check failed."""
    console = Console()
    if not console.is_terminal:
        console = Console(width=120)  # piped or logged: never truncate a partition's name
    settings = load_settings()
    defs = build_defs(settings)
    partitions = [Partition(project, day) for day in days for project in settings.projects]
    table = Table(title="LSE demo: sample LangSmith runs archived through Dagster")
    for column in ("partition", *NUMBERS, "archive", "parquet", "checks"):
        table.add_column(column, justify="right" if column in NUMBERS else "left")
    failed = False
    instance = dg.DagsterInstance.get()
    for run in run_partitions(defs, archive_day_job.name, partitions, instance, echo):
        console.print(f"archived {run.partition.label}")
        table.add_row(*_row(run))
        failed = failed or not (run.success and run.checks_passed)
    console.print(table)
    parquet = ParquetStoreResource(url=settings.parquet_destination)
    console.print(
        f"\nParquet copy (LangSmith Bulk Export layout, docs/parquet.md): {parquet.url}\n"
        f"Query it with SQL (DuckDB, view `runs`):  {LSE} --demo sql {shlex.quote(QUERY)}",
        soft_wrap=True,
        highlight=False,
    )
    return failed
