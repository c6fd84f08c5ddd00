"""The `lse` command: the demo, the UI, and operations from a terminal."""

from __future__ import annotations

import os
import shutil
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import click

from lse_assets.db_commands import db

DEMO_PROJECTS = "demo-chatbot,demo-rag-agent"
DEMO_DAYS = 3


def _use_demo_environment() -> None:
    # Before lse_assets.definitions is imported: settings are read once, at import.
    os.environ["LSE_SOURCE"] = "sample"
    os.environ["LSE_PROJECTS"] = DEMO_PROJECTS


# Not at the repository root: Dagster reads ./dagster.yaml as instance config when run there.
LOCAL_INSTANCE_CONFIG = Path(__file__).resolve().parents[1] / "deploy" / "dagster.local.yaml"


def _use_instance_home() -> str:
    """DAGSTER_HOME under LSE_HOME (unless set), so run history persists between sessions."""
    from lse_assets.settings import load_settings

    home = Path(os.environ.get("DAGSTER_HOME") or load_settings().dagster_home)
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copyfile(LOCAL_INSTANCE_CONFIG, home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)
    return str(home)


@click.group()
def main() -> None:
    """LSE: archive LangSmith traces per project and UTC day, with Dagster."""


@main.command()
@click.option("--days", default=DEMO_DAYS, show_default=True, help="Complete UTC days to archive.")
def demo(days: int) -> None:
    """Archive the last complete days of two sample projects through Dagster."""
    _use_demo_environment()
    _use_instance_home()
    from lse_assets.demo import run_demo

    today = datetime.now(UTC).date()
    failed = run_demo([today - timedelta(days=n) for n in range(days, 0, -1)])
    click.echo(
        "\nOpen the Dagster UI on these runs:  python3 run.py ui --demo   (then http://127.0.0.1:3000)"
    )
    sys.exit(1 if failed else 0)


@main.command(context_settings={"ignore_unknown_options": True})
@click.option("--demo", "demo_env", is_flag=True, help="Use the demo's sample projects.")
@click.argument("dagster_args", nargs=-1, type=click.UNPROCESSED)
def ui(demo_env: bool, dagster_args: tuple[str, ...]) -> None:
    """Run `dagster dev` (webserver + daemon) on the LSE_HOME instance."""
    if demo_env:
        _use_demo_environment()
    home = _use_instance_home()
    click.echo(f"DAGSTER_HOME={home}")
    dagster = os.path.join(os.path.dirname(sys.executable), "dagster")
    os.execv(dagster, [dagster, "dev", "-m", "lse_assets.definitions", *dagster_args])


DATE = click.DateTime(formats=["%Y-%m-%d"])


def _days(day: datetime | None, first: datetime | None, last: datetime | None) -> list[date]:
    """The UTC days named by --date, or by --from and --to (inclusive)."""
    if day and (first or last):
        raise click.UsageError("give either --date, or --from and --to, not both")
    if day:
        return [day.date()]
    if not (first and last):
        raise click.UsageError("give --date D, or a range with --from D1 --to D2")
    if last < first:
        raise click.UsageError(f"--to {last.date()} is before --from {first.date()}")
    return [first.date() + timedelta(days=n) for n in range((last - first).days + 1)]


def _selected_partitions(day, first, last, projects: tuple[str, ...]):
    """Partitions named on the command line; every configured project unless some are named."""
    from lse_assets.partitions import Partition
    from lse_assets.settings import load_settings

    settings = load_settings()
    days = _days(day, first, last)
    unknown = set(projects) - set(settings.projects)
    if unknown:
        raise click.UsageError(
            f"{sorted(unknown)} not in LSE_PROJECTS ({settings.projects}); add them there first"
        )
    if days[0] < settings.start_date:
        raise click.UsageError(f"{days[0]} is before LSE_START_DATE ({settings.start_date})")
    return [Partition(project, d) for d in days for project in (projects or settings.projects)]


def _partition_options(command):
    command = click.option(
        "--project", "projects", multiple=True, help="Repeat for several; default all."
    )(command)
    command = click.option("--to", "last", type=DATE, help="Last day of a range (inclusive).")(
        command
    )
    command = click.option("--from", "first", type=DATE, help="First day of a range.")(command)
    return click.option("--date", "day", type=DATE, help="One UTC day, YYYY-MM-DD.")(command)


@main.command()
@_partition_options
@click.option("--backfill", is_flag=True, help="Launch a backfill on a running webserver instead.")
@click.option(
    "--dagster-url",
    envvar="LSE_DAGSTER_URL",
    default="http://127.0.0.1:3000",
    show_default=True,
    help="Webserver for --backfill.",
)
def materialize(day, first, last, projects, backfill, dagster_url):
    """Archive days x projects through Dagster (runs are recorded on the instance and UI)."""
    partitions = _selected_partitions(day, first, last, projects)
    if backfill:
        from lse_assets.dagster_api import DagsterApi
        from lse_assets.jobs import ALL_ASSETS

        assets = [asset.key.to_user_string() for asset in ALL_ASSETS]
        backfill_id = DagsterApi(dagster_url).launch_backfill(partitions, assets)
        click.echo(f"backfill {backfill_id}: {len(partitions)} partitions")
        click.echo(f"follow it at {dagster_url}/overview/backfills/{backfill_id}")
        return
    _use_instance_home()
    import time

    import dagster as dg

    from lse_assets.definitions import defs
    from lse_assets.jobs import archive_day_job
    from lse_assets.runner import run_partitions

    started, failures = time.monotonic(), 0
    runs = run_partitions(defs, archive_day_job.name, partitions, dg.DagsterInstance.get(), "INFO")
    for done, run in enumerate(runs, start=1):
        ok = run.success and run.checks_passed
        failures += not ok
        elapsed = time.monotonic() - started
        click.echo(
            f"[{done}/{len(partitions)}] {run.partition.run_tags['dagster/partition']}: "
            f"{'ok' if ok else 'FAILED'} ({run.metadata.get('raw_runs', {}).get('runs', 0)} runs; "
            f"{done / elapsed * 60:.1f} partitions/min) run {run.run_id}"
        )
    sys.exit(1 if failures else 0)


@main.command()
@_partition_options
def verify(day, first, last, projects):
    """Files versus database for days x projects (the files_match_db check, through Dagster).

    Prints one line per partition and every kind of difference with sample run ids;
    exit code 1 when any partition is inconsistent.
    """
    partitions = _selected_partitions(day, first, last, projects)
    _use_instance_home()
    import dagster as dg

    from lse_assets.checks import FILES_MATCH_DB
    from lse_assets.definitions import defs
    from lse_assets.jobs import verify_day_job
    from lse_assets.runner import run_partitions

    inconsistent = 0
    runs = run_partitions(defs, verify_day_job.name, partitions, dg.DagsterInstance.get())
    for run in runs:
        name = run.partition.run_tags["dagster/partition"]
        if FILES_MATCH_DB not in run.checks:
            inconsistent += 1
            click.echo(f"{name}: check did not run (run {run.run_id} failed; see the UI)")
            continue
        found = run.check_metadata[FILES_MATCH_DB]
        ok = run.checks[FILES_MATCH_DB]
        inconsistent += not ok
        click.echo(
            f"{name}: {'consistent' if ok else 'INCONSISTENT'} "
            f"({found.get('files', 0)} files, {found.get('rows', 0)} rows"
            f", {found.get('normalized', 0)} NUL-normalized)"
        )
        for kind, count in found.items():
            if kind.endswith("_sample") or kind in {"files", "rows", "normalized"} or not count:
                continue
            sample = found.get(f"{kind}_sample", [])
            click.echo(f"    {kind}: {count}  e.g. {', '.join(map(str, sample[:5]))}")
    sys.exit(1 if inconsistent else 0)


@main.command()
@click.option("--days", default=14, show_default=True, help="How many recent days to show.")
@click.option("--project", "projects", multiple=True, help="Repeat for several; default all.")
def status(days, projects):
    """A table of project x day: each stage and check as Dagster recorded it."""
    _use_instance_home()
    import dagster as dg
    from rich.console import Console
    from rich.table import Table

    from lse_assets.checks import ALL_CHECKS
    from lse_assets.jobs import ALL_ASSETS
    from lse_assets.partitions import Partition
    from lse_assets.settings import load_settings
    from lse_assets.status import days_between, partition_statuses

    settings = load_settings()
    today = datetime.now(UTC).date()
    first = max(settings.start_date, today - timedelta(days=days))
    partitions = [
        Partition(project, day)
        for day in days_between(first, today - timedelta(days=1))
        for project in (projects or settings.projects)
    ]
    statuses = partition_statuses(dg.DagsterInstance.get(), ALL_ASSETS, ALL_CHECKS, partitions)
    table = Table(title=f"LSE status ({first} .. {today - timedelta(days=1)})")
    if statuses:
        for column in ("day", "project", *statuses[0].assets, *statuses[0].checks, "state"):
            table.add_column(column)
    for state in statuses:
        table.add_row(
            state.partition.day.isoformat(),
            state.partition.project,
            *state.assets.values(),
            *state.checks.values(),
            state.summary,
        )
    console = Console()
    if not console.is_terminal:
        console = Console(width=220)  # piped or logged: never truncate a day or a project
    console.print(table)


@main.command()
@click.option("--project", required=True, help="LangSmith project name (as in LSE_PROJECTS).")
@click.option("--date", "day", type=DATE, help="One UTC day.")
@click.option("--from", "first", type=DATE, help="First day of a range.")
@click.option("--to", "last", type=DATE, help="Last day (inclusive).")
@click.option("--force", is_flag=True, help="Replace local partitions that hold other runs.")
@click.option("--load-db", is_flag=True, help="Then load the days into Postgres (db_runs).")
def restore(
    project: str,
    day: datetime | None,
    first: datetime | None,
    last: datetime | None,
    force: bool,
    load_db: bool,
) -> None:
    """Rebuild partitions' files from the archive store (Google Drive or the local folder).

    Accepts this platform's zips and the predecessor's (flat, _summary.json, wrapped or bare
    run files). Verifies md5 and swaps each partition in atomically.
    """
    days = _days(day, first, last)
    if load_db:
        _use_instance_home()
    from lse_assets.restore_command import run_restore

    sys.exit(0 if run_restore(project, days, force=force, load_db=load_db) else 1)


@main.command("import-legacy")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--project", required=True, help="The LangSmith project these files belong to.")
@click.option("--force", is_flag=True, help="Replace local partitions that hold other runs.")
@click.option("--load-db", is_flag=True, help="Then load the imported days into Postgres.")
def import_legacy(path: Path, project: str, force: bool, load_db: bool) -> None:
    """Import the predecessor's data folders and zips under PATH as partitions of PROJECT."""
    from rich.console import Console

    from lse_assets.definitions import build_resources
    from lse_assets.import_legacy import import_legacy as run_import
    from lse_assets.restore_command import load_days
    from lse_assets.settings import load_settings

    console = Console()
    resources = build_resources(load_settings())
    try:
        report = run_import(path, lambda day: resources["run_files"].paths(project, day), force)
    except (ValueError, FileNotFoundError) as error:
        raise click.ClickException(str(error)) from error
    console.print(f"read {len(report.sources)} zip(s)/folder(s) under {path}")
    for day, stats in report.days.items():
        state = "unchanged" if stats.unchanged else "written"
        console.print(f"{day}: {stats.runs} runs in {stats.traces} traces ({state})")
    for day in report.kept:
        console.print(f"{day}: kept the local partition, which holds other runs (--force replaces)")
    for day, count in report.rootless_runs.items():
        console.print(
            f"{day}: {count} run(s) of traces whose root is in none of the files read were not "
            "imported; import that day's files too"
        )
    if report.unplaced:
        console.print(
            f"{len(report.unplaced)} run(s) belong to traces that started before the days read "
            f"and were not imported, e.g. {report.unplaced[:3]}: import the earlier days too."
        )
    if load_db and report.days:
        _use_instance_home()
        sys.exit(0 if load_days(console, project, list(report.days), resources) else 1)


main.add_command(db)

from lse_assets.forget_command import forget  # noqa: E402  (issue 9: `lse forget`)

main.add_command(forget)


if __name__ == "__main__":
    main()
