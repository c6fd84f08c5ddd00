"""The `lse` command: the demo, the UI, and operations from a terminal."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime, timedelta

import click

from lse_assets.db_commands import db

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


main.add_command(db)


if __name__ == "__main__":
    main()
