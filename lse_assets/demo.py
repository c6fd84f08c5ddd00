"""`lse demo`: materialize days x sample projects through Dagster and print what happened."""

from __future__ import annotations

from datetime import date

import dagster as dg
from rich.console import Console
from rich.table import Table

from lse_assets.definitions import archive_day_job, defs
from lse_assets.partitions import Partition
from lse_assets.settings import load_settings

# Step-by-step DEBUG events belong in the UI; the terminal gets warnings and the table.
_QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def _metadata_value(result: dg.ExecuteInProcessResult, asset: str, key: str) -> object:
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        if materialization.asset_key.to_user_string() == asset and key in materialization.metadata:
            return materialization.metadata[key].value
    return "-"


def _checks(result: dg.ExecuteInProcessResult) -> str:
    evaluations = result.get_asset_check_evaluations()
    failed = [e.check_name for e in evaluations if not e.passed]
    if failed:
        return "FAILED: " + ", ".join(failed)
    return f"{len(evaluations)} passed"


def run_demo(days: list[date]) -> bool:
    """Run the archive job per partition; return True if any run or check failed."""
    console = Console()
    instance = dg.DagsterInstance.get()
    job = defs.resolve_job_def(archive_day_job.name)
    table = Table(title="LSE demo: sample LangSmith runs archived through Dagster")
    for column in ("partition", "runs", "traces", "zip bytes", "archive", "checks"):
        table.add_column(
            column, justify="right" if column in {"runs", "traces", "zip bytes"} else "left"
        )
    any_failed = False
    for day in days:
        for project in load_settings().projects:
            partition = Partition(project=project, day=day)
            console.print(f"materializing {day}|{project} ...")
            result = job.execute_in_process(
                partition_key=partition.key,
                instance=instance,
                raise_on_error=False,
                run_config=_QUIET,
            )
            checks = _checks(result)
            any_failed = any_failed or not result.success or checks.startswith("FAILED")
            table.add_row(
                f"{day}|{project}",
                str(_metadata_value(result, "raw_runs", "runs")),
                str(_metadata_value(result, "raw_runs", "traces")),
                str(_metadata_value(result, "run_archive", "bytes")),
                str(_metadata_value(result, "drive_archive", "action")),
                checks if result.success else "RUN FAILED",
            )
    console.print(table)
    return any_failed
