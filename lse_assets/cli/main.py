"""The `lse` command: the demo, the UI, and operations from a terminal."""

from __future__ import annotations

import os
import shutil
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from lse_assets.cli.db import db
from lse_assets.cli.selection import check_days, day_options, project_option, selected_days
from lse_assets.core.invocation import LSE, RUN_PY

DEMO_DAYS = 3
VERBOSE = click.option(
    "--verbose", is_flag=True, help="Also print Dagster's logs (they always go to the run)."
)

# Not at the repository root: Dagster reads ./dagster.yaml as instance config when run there.
LOCAL_INSTANCE_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "dagster.local.yaml"


def _echo(verbose: bool):
    """Where a run's log lines go: the terminal's stderr with --verbose, else nowhere."""
    return (lambda line: click.echo(line, err=True)) if verbose else None


def _use_instance_home() -> str:
    """The profile's Dagster instance folder (DAGSTER_HOME, or under LSE_HOME), so run
    history persists between sessions; set for this process and the ones it starts."""
    from lse_assets.settings import load_settings

    home = load_settings().dagster_home
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copyfile(LOCAL_INSTANCE_CONFIG, home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)
    return str(home)


class _Lse(click.Group):
    """The one place an error explained for the user (a setting, a domain error such as an
    unreachable database) becomes one line on stderr and exit code 1: tracebacks are for
    bugs. Imported lazily so `lse --help` stays light."""

    def invoke(self, ctx: click.Context):
        from lse_assets.core.errors import LseError
        from lse_assets.settings import SettingsError

        try:
            return super().invoke(ctx)
        except (SettingsError, LseError) as error:
            raise click.ClickException(" ".join(str(error).split())) from None


@click.group(cls=_Lse)
@click.option(
    "--demo",
    "demo_profile",
    is_flag=True,
    help="Use the demo profile: sample projects, its own home ($LSE_HOME/demo), no secrets; "
    "its schedules and retention_alarm start stopped, while check_failure_alerts runs (with "
    "a daemon: ui --demo) and only logs, as no webhook is used.",
)
def main(demo_profile: bool) -> None:
    """LSE: archive LangSmith traces per project and UTC day, with Dagster.

    Configuration: environment variables, then ./.env, then defaults (see .env.example).
    """
    from lse_assets.settings import DEMO, load_env_file, use_profile

    load_env_file()  # now: options with `envvar=` (LSE_DAGSTER_URL) are parsed after this
    if demo_profile:
        use_profile(DEMO)


@main.command()
@click.option("--days", default=DEMO_DAYS, show_default=True, help="Complete UTC days to archive.")
@VERBOSE
def demo(days: int, verbose: bool) -> None:
    """Archive the last complete days of two sample projects through Dagster (demo profile)."""
    from lse_assets.settings import DEMO, use_profile

    use_profile(DEMO)
    _use_instance_home()
    from lse_assets.cli.demo import run_demo

    today = datetime.now(UTC).date()
    dates = check_days(
        [today - timedelta(days=n) for n in range(days, 0, -1)], "'--days'", complete=True
    )
    failed = run_demo(dates, _echo(verbose))
    click.echo(
        f"\nOpen the Dagster UI on these runs:  {RUN_PY} ui --demo   (then http://127.0.0.1:3000)"
        f"\nOr from a terminal:                  {LSE} --demo status"
    )
    sys.exit(1 if failed else 0)


@main.command(context_settings={"ignore_unknown_options": True})
@click.option(
    "--demo", "demo_profile", is_flag=True, help=f"The demo profile (as `{LSE} --demo ui`)."
)
@click.argument("dagster_args", nargs=-1, type=click.UNPROCESSED)
def ui(demo_profile: bool, dagster_args: tuple[str, ...]) -> None:
    """Run `dagster dev` (webserver + daemon) on the profile's instance; Ctrl-C or SIGTERM
    stops every process it started."""
    from lse_assets.cli.runner import MODULE
    from lse_assets.cli.ui import run_supervised
    from lse_assets.settings import DEMO, use_profile

    if demo_profile:
        use_profile(DEMO)
    home = _use_instance_home()
    click.echo(f"DAGSTER_HOME={home}")
    dagster = os.path.join(os.path.dirname(sys.executable), "dagster")
    # `dagster dev` says the separate `dg` tool supersedes it; `dg` is not part of this
    # install, so a user could do nothing with that line. Only that exact message is hidden.
    quiet = "ignore:Function `dev_command` is superseded"
    os.environ["PYTHONWARNINGS"] = ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"), quiet]))
    sys.exit(run_supervised([dagster, "dev", "-m", MODULE, *dagster_args]))


def _selected_partitions(day, first, last, projects: tuple[str, ...]):
    """Partitions named on the command line; every configured project unless some are named."""
    from lse_assets.core.partition import Partition
    from lse_assets.settings import load_settings

    days = selected_days(day, first, last)
    return [Partition(p, d) for d in days for p in (projects or load_settings().projects)]


def _partition_options(command):
    return day_options(project_option(multiple=True)(command))


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
@VERBOSE
def materialize(day, first, last, projects, backfill, dagster_url, verbose):
    """Archive days x projects through Dagster (runs are recorded on the instance and UI).
    Today (UTC) is a partial day: the runs LangSmith holds so far; a later run completes it."""
    partitions = _selected_partitions(day, first, last, projects)
    today = datetime.now(UTC).date()
    if any(partition.day == today for partition in partitions):
        click.echo(
            f"{today} is today (UTC), a partial day: archiving the runs LangSmith holds so far "
            "(runs still going are kept as pending); a later run of the day completes it "
            "and keeps every run archived now"
        )
    if backfill:
        from lse_assets.cli.dagster_api import DagsterApi
        from lse_assets.defs.assets import ASSET_KEYS

        assets = list(ASSET_KEYS)
        backfill_id = DagsterApi(dagster_url).launch_backfill(partitions, assets)
        click.echo(f"backfill {backfill_id}: {len(partitions)} partitions")
        click.echo(f"follow it at {dagster_url}/overview/backfills/{backfill_id}")
        return
    _use_instance_home()
    import time

    import dagster as dg

    from lse_assets.cli.runner import run_partitions
    from lse_assets.definitions import build_defs
    from lse_assets.defs.jobs import archive_day_job
    from lse_assets.settings import load_settings

    defs = build_defs(load_settings())
    started, failures = time.monotonic(), 0
    instance = dg.DagsterInstance.get()
    runs = run_partitions(defs, archive_day_job.name, partitions, instance, _echo(verbose))
    for done, run in _until_stopped(enumerate(runs, start=1)):
        ok = run.success and run.checks_passed
        failures += not ok
        elapsed = time.monotonic() - started
        click.echo(
            f"[{done}/{len(partitions)}] {run.partition.label}: "
            f"{'ok' if ok else 'FAILED'} ({run.metadata.get('raw_runs', {}).get('runs', 0)} runs; "
            f"{done / elapsed * 60:.1f} partitions/min) run {run.run_id}"
        )
        for failure in run.failures:  # every failed step, its own words (not Dagster's wrapper)
            click.echo(f"    {failure}")
    sys.exit(1 if failures else 0)


def _until_stopped(items):
    """Ctrl-C or SIGTERM while waiting for a pool: one line, exit code 130."""
    try:
        yield from items
    except KeyboardInterrupt:
        click.echo("stopped before the next run started (Ctrl-C or SIGTERM)", err=True)
        sys.exit(130)


@main.command()
@_partition_options
@VERBOSE
def verify(day, first, last, projects, verbose):
    """Check every copy of archived days x projects against each other, through Dagster.

    Without --date or --from/--to: the last 7 complete days (up to yesterday) that were
    archived (any copy made); today, a partial day, is verified when named. One line per
    partition: `consistent` with its counts, or what differs with sample ids. A named
    partition never archived is reported `not archived` and not checked (nothing is
    recorded for it). Exit code 1 when any partition is not archived or not consistent,
    or (by default) when none of the last 7 days was archived.
    """
    from lse_assets.cli.selection import RECENT_DAYS, recent_days

    named = bool(day or first or last)
    if named:
        partitions = _selected_partitions(day, first, last, projects)
    else:
        partitions = _selected_partitions(None, *recent_days(), projects)
    _use_instance_home()
    import dagster as dg

    from lse_assets.cli.runner import run_partitions
    from lse_assets.cli.verify_report import verdict
    from lse_assets.definitions import build_defs
    from lse_assets.defs.jobs import verify_day_job
    from lse_assets.defs.status import partition_statuses
    from lse_assets.settings import load_settings

    defs = build_defs(load_settings())
    instance = dg.DagsterInstance.get()
    statuses = partition_statuses(instance, defs.assets, defs.asset_checks, partitions)
    archived = [state.partition for state in statuses if not state.never_archived]
    bad = 0
    if not named:
        span = f"{partitions[0].day} .. {partitions[-1].day}"
        if not archived:
            click.echo(
                f"no partition of the last {RECENT_DAYS} days ({span}) was archived: name "
                "days with --date D or --from D1 --to D2",
                err=True,
            )
            sys.exit(1)
        click.echo(f"verifying the {len(archived)} archived partition(s) of {span}")
    for state in statuses:
        if named and state.never_archived:
            bad += 1
            click.echo(f"{state.partition.label}: not archived")
    for run in run_partitions(defs, verify_day_job.name, archived, instance, _echo(verbose)):
        ok, line = verdict(run)
        bad += not ok
        click.echo(line)
    sys.exit(1 if bad else 0)


@main.command()
@click.option("--days", default=14, show_default=True, help="How many recent days to show.")
@project_option(multiple=True)
def status(days, projects):
    """A table of project x day, as Dagster recorded it (the UI shows the same): each copy
    `ok` (materialized, its check passed), `missing`, `FAILED`, `check FAILED`, `unchecked`
    or `in progress`, and one state: archived (every copy there and checked), partly
    archived (which copies are missing), unchecked (which checks did not pass yet), failed
    (which asset or check), in progress, or not archived. Today (UTC) is the last row:
    `today (partial)` once refreshed, `today (not archived yet)` before. Exit code 1 when
    any partition shown is failed."""
    _use_instance_home()
    import dagster as dg
    from rich.console import Console
    from rich.table import Table

    from lse_assets.cli.dead_runs import fail_dead_runs
    from lse_assets.core.partition import Partition, days_between
    from lse_assets.defs.assets import ASSET_KEYS, build_assets
    from lse_assets.defs.checks import build_checks
    from lse_assets.defs.status import partition_statuses
    from lse_assets.settings import load_settings

    settings = load_settings()
    instance = dg.DagsterInstance.get()
    fail_dead_runs(instance)  # a run whose process died is not shown `in progress`
    today = datetime.now(UTC).date()
    first = max(settings.start_date, today - timedelta(days=days))
    partitions = [
        Partition(project, day)
        for day in days_between(first, today)  # today too: `today (partial)` once refreshed
        for project in (projects or settings.projects)
    ]
    statuses = partition_statuses(
        instance, build_assets(settings), build_checks(settings), partitions, today
    )
    table = Table(title=f"LSE status ({first} .. {today}, today partial)")
    for column in ("day", "project", *ASSET_KEYS, "state"):  # the copies in data-flow order
        table.add_column(column)
    for state in statuses:
        table.add_row(
            state.partition.day.isoformat(),
            state.partition.project,
            *(state.copy_state(asset) for asset in ASSET_KEYS),
            state.summary,
        )
    console = Console()
    if not console.is_terminal:
        console = Console(width=220)  # piped or logged: never truncate a day or a project
    console.print(table)
    sys.exit(1 if any(state.failed for state in statuses) else 0)  # for scripts and cron


@main.command()
@project_option(multiple=False, required=True, help="LangSmith project name (in LSE_PROJECTS).")
@day_options
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
    run files). Verifies md5 and swaps each partition in atomically. Complete days only (up
    to yesterday): today's zip is a snapshot the next refresh replaces.
    """
    days = selected_days(day, first, last, complete=True)
    if load_db:
        _use_instance_home()
    from lse_assets.cli.restore import run_restore

    sys.exit(0 if run_restore(project, days, force=force, load_db=load_db) else 1)


@main.command("import-legacy")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@project_option(
    multiple=False, required=True, help="The project these files belong to (in LSE_PROJECTS)."
)
@click.option("--force", is_flag=True, help="Replace local partitions that hold other runs.")
@click.option("--load-db", is_flag=True, help="Then load the imported days into Postgres.")
def import_legacy(path: Path, project: str, force: bool, load_db: bool) -> None:
    """Import the predecessor's data folders and zips under PATH as partitions of PROJECT."""
    from rich.console import Console

    from lse_assets.cli.restore import load_days
    from lse_assets.core.legacy.importer import import_legacy as run_import
    from lse_assets.definitions import build_resources
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

from lse_assets.cli.forget import forget  # noqa: E402  (issue 9: `lse forget`)

main.add_command(forget)

from lse_assets.cli.sql import sql  # noqa: E402  (issue 19: `lse sql`)

main.add_command(sql)


if __name__ == "__main__":
    main()
