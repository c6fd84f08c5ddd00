"""`lse db ...`: the `runs` schema and its monthly partitions, from a terminal."""

from __future__ import annotations

import os
from datetime import date, datetime
from typing import TYPE_CHECKING

import click

from lse_assets.settings import load_settings

if TYPE_CHECKING:
    from resources.postgres.resource import PostgresResource


def _postgres() -> PostgresResource:
    # Imported here: `lse --help` and `lse demo` need not load Dagster and SQLAlchemy.
    from resources.postgres.resource import PostgresResource

    # The same database the code location uses: LSE_DATABASE_URL, else the embedded one.
    return PostgresResource(
        database_url=os.environ["LSE_DATABASE_URL"] if _outside_database() else None,
        embedded_dir=str(load_settings().embedded_postgres_dir),
    )


def _outside_database() -> bool:
    return load_settings().secret_is_set("LSE_DATABASE_URL")


def _where() -> str:
    if _outside_database():
        return "the database of LSE_DATABASE_URL"  # the URL may hold a password: not shown
    return f"the embedded database in {load_settings().embedded_postgres_dir}"


@click.group()
def db() -> None:
    """The `runs` database: schema upgrades and pruning old months."""


@db.command()
def upgrade() -> None:
    """Apply pending schema migrations (loads also do this on first connect)."""
    import sqlalchemy as sa

    engine = _postgres().engine()
    with engine.connect() as connection:
        revision = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    click.echo(f"runs schema is at revision {revision} in {_where()}")


def _first_of_month(_ctx: click.Context, _param: click.Parameter, value: datetime) -> date:
    from resources.postgres.monthly_tables import check_prune_boundary

    try:
        check_prune_boundary(value.date())
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    return value.date()


@db.command()
@click.option(
    "--before",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    callback=_first_of_month,
    help="First day of a month (YYYY-MM-01): every month that ends before it is dropped.",
)
@click.option("--dry-run", is_flag=True, help="List what would be dropped, drop nothing.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def prune(before: date, dry_run: bool, yes: bool) -> None:
    """Drop whole months of runs that end before --before (files and zips are kept)."""
    postgres = _postgres()
    months = [month for month in postgres.months() if month.end_day <= before]
    if not months:
        click.echo(f"No month of runs ends before {before} in {_where()}: nothing to drop.")
        return
    counts = postgres.count_rows([month.name for month in months])
    click.echo(f"Months of runs before {before} in {_where()}:")
    for month in months:
        click.echo(f"  {month.first_day:%Y-%m}  {counts[month.name]:>10} runs  ({month.name})")
    if dry_run:
        click.echo("Dry run: nothing dropped.")
        return
    if not yes:
        click.confirm(f"Drop these {len(months)} month(s) for good?", abort=True)
    dropped = postgres.prune_months_before(before)
    click.echo(f"Dropped {len(dropped)} month(s): {', '.join(m.name for m in dropped)}.")
