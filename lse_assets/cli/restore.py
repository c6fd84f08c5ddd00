"""`lse restore`: the archive store and data directory as the code location wires them,
the domain restore (lse_assets.core.restore), a table of outcomes, and optionally the database
load (db_runs and its check, through Dagster, recorded in the LSE_HOME instance)."""

from __future__ import annotations

from datetime import date

import dagster as dg
from rich.console import Console
from rich.table import Table

from lse_assets.core.errors import LseError
from lse_assets.core.partition import Partition
from lse_assets.core.restore import RestoreReport, restore
from lse_assets.definitions import build_resources
from lse_assets.defs.assets import DB_RUNS, build_assets
from lse_assets.defs.checks import FILES_MATCH_DB, build_checks
from lse_assets.defs.partitions import partition_key
from lse_assets.settings import load_settings
from resources.drive.errors import DriveUnavailableError


def run_restore(project: str, days: list[date], *, force: bool, load_db: bool) -> bool:
    """Restore and print; return True when every day was restored (and loaded)."""
    console = Console()
    settings = load_settings()
    resources = build_resources(settings)
    try:
        with dg.build_resources(
            {"drive": resources["drive"], "run_files": resources["run_files"]}
        ) as live:
            report = restore(
                live.drive,
                project,
                days,
                lambda day: live.run_files.paths(project, day),
                force=force,
            )
    except (LseError, DriveUnavailableError) as error:
        # The store itself refused or is down (credentials, permissions, network): the
        # message names the fix; a traceback would only hide it.
        message = str(error)
        console.print(f"[red]restore stopped: {message}[/red]")
        return False
    _print_report(console, project, report)
    present = [outcome.day for outcome in report.outcomes if outcome.ok]
    if not present:
        return False
    if not load_db:
        # Advice only when files changed: an `unchanged` day brings nothing new to load.
        if any(outcome.status == "restored" for outcome in report.outcomes):
            console.print(
                "Load the restored days into Postgres with --load-db, or materialize db_runs "
                "for these partitions in Dagster."
            )
        return report.ok
    return load_days(console, project, present, resources) and report.ok


def _print_report(console: Console, project: str, report: RestoreReport) -> None:
    table = Table(title=f"restore: {project}")
    for column in ("day", "status", "archive", "format", "runs", "detail"):
        table.add_column(column, justify="right" if column == "runs" else "left", overflow="fold")
    for outcome in report.outcomes:
        table.add_row(
            str(outcome.day),
            outcome.status,
            outcome.archive,
            outcome.kind,
            str(outcome.runs) if outcome.ok else "",
            outcome.detail,
        )
    console.print(table)
    for note in report.notes:
        console.print(f"note: {note}")


def load_days(
    console: Console, project: str, days: list[date], resources: dict[str, object]
) -> bool:
    """db_runs and files_match_db for each day, through Dagster on the LSE_HOME instance."""
    settings = load_settings()
    if project not in settings.projects:
        console.print(
            f"[red]{project!r} is not in LSE_PROJECTS, so Dagster has no partition for it; add "
            "it there to load the restored files into Postgres.[/red]"
        )
        return False
    db_runs = next(a for a in build_assets(settings) if a.key == dg.AssetKey(DB_RUNS))
    files_match_db = next(
        c for c in build_checks(settings) if FILES_MATCH_DB in {k.name for k in c.check_keys}
    )
    instance = dg.DagsterInstance.get()
    all_ok = True
    for day in days:
        result = dg.materialize(
            [db_runs, files_match_db],
            partition_key=partition_key(Partition(project=project, day=day)),
            resources=resources,
            instance=instance,
            raise_on_error=False,
        )
        checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
        ok = result.success and checks.get(FILES_MATCH_DB, False)
        all_ok = all_ok and ok
        console.print(
            f"{day}: db_runs {'loaded' if result.success else 'FAILED'}, "
            f"{FILES_MATCH_DB} {'passed' if checks.get(FILES_MATCH_DB) else 'FAILED'}"
        )
    return all_ok
