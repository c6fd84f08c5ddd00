"""The `lse` command: the demo, the UI, and operations from a terminal."""

from __future__ import annotations

import os
import sys
from datetime import UTC, date, datetime, timedelta

import click

DEMO_PROJECTS = "demo-chatbot,demo-rag-agent"
DEMO_DAYS = 3


def _use_demo_environment() -> None:
    # Before lse_assets.definitions is imported: settings are read once, at import.
    os.environ["LSE_SOURCE"] = "sample"
    os.environ["LSE_PROJECTS"] = DEMO_PROJECTS


def _use_instance_home() -> str:
    from lse_assets.settings import load_settings

    home = load_settings().dagster_home
    home.mkdir(parents=True, exist_ok=True)
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


def _restore_days(
    day: datetime | None, first: datetime | None, last: datetime | None
) -> list[date]:
    if day and (first or last):
        raise click.UsageError("give either --date, or --from and --to, not both")
    if day:
        return [day.date()]
    if not (first and last):
        raise click.UsageError("give --date D, or a range with --from D1 --to D2")
    if last < first:
        raise click.UsageError(f"--to {last.date()} is before --from {first.date()}")
    return [first.date() + timedelta(days=n) for n in range((last - first).days + 1)]


@main.command()
@click.option("--project", required=True, help="LangSmith project name (as in LSE_PROJECTS).")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="One UTC day.")
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), help="First day of a range.")
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), help="Last day (inclusive).")
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
    days = _restore_days(day, first, last)
    if load_db:
        _use_instance_home()
    from lse_assets.restore_command import run_restore

    sys.exit(0 if run_restore(project, days, force=force, load_db=load_db) else 1)


if __name__ == "__main__":
    main()
