"""`lse sql`: DuckDB over the Parquet copy, with a `runs` view ready to query.

The rule: the copy is read where `parquet_runs` writes it (LSE_PARQUET_URL, else
$LSE_HOME/parquet) and the way it writes it. A folder is read directly; an object store
through the same fsspec driver (s3fs, gcsfs), registered with DuckDB, so whatever lets LSE
write the copy reads it (the AWS_* variables or profile or instance role, the endpoint
variables of MinIO, GOOGLE_APPLICATION_CREDENTIALS): no DuckDB extension or secret to set up.

`runs` is docs/parquet.md's view: every `*.parquet` under the root (staging files end in
`.tmp`, so none is read), the Hive path's keys (`resource`, `year`, `month`, `day`) as columns.
Values print as DuckDB's own text (timestamps in UTC) in the table and the CSV, and as
DuckDB's own `to_json` in the JSON. Every error is one line, without a traceback; none holds
a secret (the URL holds none: the settings refuse one that does).
"""

from __future__ import annotations

import csv

import click

from lse_assets.core.invocation import LSE

FORMATS = ("table", "csv", "json")
_RESULT = "lse_sql_result"  # the name a result is queried under, to format it
_INTEGERS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT")
_NUMERIC = (*_INTEGERS, *(f"U{name}" for name in _INTEGERS), "FLOAT", "DOUBLE", "DECIMAL")


def empty_copy_message(url: str) -> str:
    return (
        f"no Parquet files under {url} (LSE_PARQUET_URL): materialize parquet_runs first, "
        f"e.g. `{LSE} materialize --date YYYY-MM-DD` (or `python3 run.py demo`, then "
        f"`{LSE} --demo sql ...`)"
    )


def _one_line(error: Exception) -> str:
    """DuckDB's message without its context lines (`LINE 1: ...`, a caret)."""
    return next((line.strip() for line in str(error).splitlines() if line.strip()), repr(error))


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def connect(url: str):
    """An in-memory DuckDB with the `runs` view over the copy at `url`."""
    import duckdb

    from lse_assets.core.errors import LseError
    from resources.object_store.resource import ParquetStoreResource

    store = ParquetStoreResource(url=url)
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")  # the same text on every machine
    files = store.location("**/*.parquet")
    try:
        if not store.is_local:
            connection.register_filesystem(store.filesystem())
        found = connection.execute("SELECT 1 FROM glob(?) LIMIT 1", [files]).fetchone()
        if not found:
            raise click.ClickException(empty_copy_message(url))
        connection.execute(
            f"CREATE VIEW runs AS SELECT * FROM read_parquet({_quoted(files)}, "
            "hive_partitioning = true)"
        )
    except (duckdb.Error, LseError) as error:
        raise click.ClickException(
            f"cannot read the Parquet copy at {url} (LSE_PARQUET_URL): {_one_line(error)}"
        ) from None
    return connection


def _print_table(columns: list[str], types: list[str], rows: list[tuple]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(caption=f"{len(rows)} row{'' if len(rows) == 1 else 's'}")
    for column, kind in zip(columns, types, strict=True):
        table.add_column(column, justify="right" if kind.startswith(_NUMERIC) else "left")
    for row in rows:
        table.add_row(*("NULL" if value is None else value for value in row))
    console = Console()
    if not console.is_terminal:
        console = Console(width=220)  # piped or logged: wide rather than folded
    console.print(table)


def _print_csv(columns: list[str], rows: list[tuple]) -> None:
    stdout = click.get_text_stream("stdout")
    writer = csv.writer(stdout, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(("" if value is None else value for value in row) for row in rows)


def run_query(connection, query: str, output: str) -> None:
    """Run `query` (one statement, or several: the last one's result is printed)."""
    import duckdb

    try:
        result = connection.sql(query)
        if result is None:  # a statement without a result (SET, CREATE ...)
            return
        if output == "json":
            as_json = result.query(_RESULT, f"SELECT to_json({_RESULT}) FROM {_RESULT}")
            click.echo("[" + ",\n".join(row[0] for row in as_json.fetchall()) + "]")
            return
        text = result.query(_RESULT, f"SELECT COLUMNS(*)::VARCHAR FROM {_RESULT}")
        columns, types, rows = result.columns, [str(t) for t in result.types], text.fetchall()
    except duckdb.Error as error:
        raise click.ClickException(_one_line(error)) from None
    if output == "csv":
        _print_csv(columns, rows)
    else:
        _print_table(columns, types, rows)


@click.command("sql")
@click.argument("query")
@click.option(
    "--format",
    "output",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="A table, CSV (header, then rows), or JSON (an array of objects).",
)
def sql(query: str, output: str) -> None:
    """Run DuckDB SQL on the Parquet copy (LSE_PARQUET_URL: a folder, s3:// or gs://).

    The view `runs` holds every run, with the columns of docs/parquet.md and the Hive
    path's `year`, `month`, `day`. Several statements may be given (e.g. `SET VARIABLE
    ...; SELECT ...`): the last one's result is printed. Example:

    \b
        python3 run.py lse sql "SELECT project, count(*) AS runs FROM runs GROUP BY project"
    """
    import logging

    from lse_assets.settings import load_settings

    # The storage SDKs log their retries with tracebacks to stderr when nothing is set up to
    # take them; the error they end in is printed on one line.
    logging.getLogger().addHandler(logging.NullHandler())
    connection = connect(load_settings().parquet_destination)
    try:
        run_query(connection, query, output)
    finally:
        connection.close()
