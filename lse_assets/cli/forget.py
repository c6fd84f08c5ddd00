"""`lse forget`: the click command, wired to the resources the code location uses; the
logic is lse_assets.core.forget."""

from __future__ import annotations

import sys

import click
from rich.console import Console
from rich.table import Table

from lse_assets.core.invocation import LSE

# A dry run changes nothing, so the store has no action yet and no revision was counted.
DRY_RUN_CAPTION = (
    "store: the day's zip in the archive store (Drive or the local folder), to be rebuilt "
    "without these runs and replaced. old revisions: Drive's earlier versions of that zip, "
    "which still hold the runs, deleted then; not counted in a dry run (-)."
)


@click.command("forget")
@click.option("--project", required=True, help="LangSmith project name.")
@click.option("--trace-id", "trace_ids", multiple=True, help="Forget every run of this trace.")
@click.option("--run-id", "run_ids", multiple=True, help="Forget this run.")
@click.option("--dry-run", is_flag=True, help="Show what would be removed; change nothing.")
def forget(project: str, trace_ids: tuple[str, ...], run_ids: tuple[str, ...], dry_run: bool):
    """Remove runs from every copy (files, zip, Drive and its revisions, `runs` table, the
    Parquet file) and remember them so that no later fetch brings them back. For
    data-subject requests."""
    import dagster as dg

    from lse_assets.core.errors import LseError
    from lse_assets.core.forget import forget as forget_runs
    from lse_assets.definitions import build_resources
    from lse_assets.settings import load_settings

    if not trace_ids and not run_ids:
        raise click.UsageError("name at least one --trace-id or --run-id")
    resources = build_resources(load_settings())
    console = Console()
    try:
        with dg.build_resources(
            {key: resources[key] for key in ("drive", "run_files", "postgres", "parquet")}
        ) as live:
            report = forget_runs(
                project,
                list(run_ids),
                list(trace_ids),
                paths_for=lambda day: live.run_files.paths(project, day),
                store=live.drive,
                parquet=live.parquet,
                rows=live.postgres,
                dry_run=dry_run,
            )
    except (ValueError, LseError) as error:
        console.print(f"[red]forget stopped: {error}[/red]")
        sys.exit(1)
    verb = "would remove" if dry_run else "removed"
    table = Table(title=f"forget: {project}" + (" (dry run)" if dry_run else ""))
    for column in ("day", "runs", "store", "old revisions deleted", "parquet"):
        table.add_column(column)
    if dry_run:
        table.caption = DRY_RUN_CAPTION
    for day in report.days:
        table.add_row(
            day.day.isoformat(),
            str(len(day.run_ids)),
            "to replace" if dry_run else day.store_action,
            "-" if dry_run else str(day.revisions_deleted),
            _parquet_cell(day, dry_run),
        )
    console.print(table)
    for day in report.days:
        for run_id in day.run_ids:
            console.print(f"{verb} {day.day.isoformat()} {run_id}")
    rewrite = "would rewrite" if dry_run else "rewrote"
    for day in report.days:
        if day.parquet:
            console.print(f"{rewrite} the Parquet file {day.parquet}", soft_wrap=True)
    console.print(f"{verb} {report.runs} run files and {report.rows} rows of table runs")
    if report.not_found:
        console.print(
            f"not found on any local day: {', '.join(report.not_found)} "
            f"(days only in the store: `{LSE} restore` them first)"
            + ("" if dry_run else "; remembered all the same, so no fetch brings them back")
        )


def _parquet_cell(day, dry_run: bool) -> str:
    if not day.parquet:
        return "no file"
    return "to rewrite" if dry_run else f"rewritten ({day.parquet_rows} rows)"
