"""Postgres: where the runs become queryable. Connection, migrations, slice replace, reads.

The `runs` schema belongs to Alembic (alembic/ at the repository root); this resource
applies pending migrations the first time it connects in a process.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg
import sqlalchemy as sa
from psycopg.types.json import Jsonb, set_json_loads
from pydantic import Field

from lse_assets.core import jsondoc, redaction
from lse_assets.core.errors import TransientError
from lse_assets.settings import DATABASE_VARIABLE, check_database_url
from resources.postgres import monthly_tables
from resources.postgres.read_ahead import read_ahead

ALEMBIC_DIR = Path(__file__).resolve().parents[2] / "alembic"
# trace_id is not sent: the database derives it from `data` (a generated column).
COPY_COLUMNS = ("run_id", "project", "run_date", "data")
_COPY_TYPES = ("uuid", "text", "date", "jsonb")
_COPY_LINE = re.compile(r"COPY \S+, line (\d+)")

# The slice, and these run ids under another project that day (see replace_slice).
DELETE_SLICE = (
    "DELETE FROM runs WHERE run_date = :run_date AND (project = :project"
    " OR run_id = ANY(CAST(string_to_array(:run_ids, ',') AS uuid[])))"
)


_engines: dict[str, sa.Engine] = {}
_lock = threading.Lock()


def normalize_url(url: str) -> str:
    """Accept plain `postgresql://` URLs as users write them; use the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def migrate(engine: sa.Engine, revision: str = "head") -> None:
    # Imported here: every run process loads this module, few migrate (0.1 s of each start).
    from alembic.config import Config

    from alembic import command

    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def _engine_for(url: str) -> sa.Engine:
    with _lock:
        if url not in _engines:
            engine = sa.create_engine(url, pool_pre_ping=True)
            migrate(engine)
            _engines[url] = engine
        return _engines[url]


def _already_json(data: bytes) -> bytes:
    return data


def _row_size(row: tuple[str, str, bytes]) -> int:
    return len(row[2])


def _parsed(
    batches: Iterator[list[tuple[str, str, bytes]]],
) -> Iterator[tuple[str, str, Any]]:
    # The same parser as the file side (lse_assets.core.jsondoc): fast, and equal results;
    # a row it cannot read becomes a marker that verify reports, not an exception.
    parse = jsondoc.parse_or_unreadable
    for batch in batches:
        for run_id, trace_id, data in batch:
            yield run_id, trace_id, parse(data)


class SliceRejectedError(ValueError):
    """The database refused a document of a slice (not JSON, or not a run of that slice)."""


class DatabaseUnreachableError(TransientError):
    """The database of LSE_DATABASE_URL did not take a connection (down, wrong address)."""


def unreachable(
    error: Exception, url: str | None, needed_for: str = ""
) -> DatabaseUnreachableError:
    """One line naming the variable, the server's own reason (host and port, never the
    password) and the fix; `needed_for` says what waited on it (e.g. the partition locks)."""
    cause = getattr(error, "orig", None) or error  # SQLAlchemy wraps the driver's error
    said = (str(cause).strip().splitlines() or ["no reason given"])[0]
    return DatabaseUnreachableError(
        f"cannot connect to the database of {DATABASE_VARIABLE}{needed_for}: "
        f"{redaction.scrub(said, [url])}. Start that server, or fix {DATABASE_VARIABLE} "
        "(unset, the embedded database under LSE_HOME is used)"
    )


class LoadInterruptedError(RuntimeError):
    """The connection was lost during a load (nothing was committed)."""


def _rejected(error: psycopg.Error, run_ids: list[str]) -> SliceRejectedError:
    # The COPY context names the line; rows go in run_ids order, so line n is run n.
    line = _COPY_LINE.search(error.diag.context or "")
    which = "a run"
    if line and 0 < int(line.group(1)) <= len(run_ids):
        which = f"run {run_ids[int(line.group(1)) - 1]}"
    return SliceRejectedError(
        f"the database rejected {which}: {error.diag.message_primary}. Its file is not a valid "
        "run of this partition (not JSON, no trace_id, or an id or day that disagrees with "
        "its document); the slice was left as it was. Re-materialize raw_runs for this "
        "partition."
    )


class PostgresResource(dg.ConfigurableResource):
    """The application database. Without `database_url`, the embedded server under LSE_HOME."""

    database_url: str | None = Field(
        default=None, description="SQLAlchemy/libpq URL; set through EnvVar('LSE_DATABASE_URL')."
    )
    embedded_dir: str = Field(description="Data directory of the embedded server.")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self.validate()

    def validate(self) -> None:
        """Refuse a malformed LSE_DATABASE_URL (an unescaped '@' in the password, no
        scheme) by the variable's name: a driver's error would quote the password's tail."""
        check_database_url(self.database_url)

    def engine(self) -> sa.Engine:
        if self.database_url:
            self.validate()
            with redaction.scrubbed(f"connecting to {DATABASE_VARIABLE}", self.database_url):
                try:
                    return _engine_for(normalize_url(self.database_url))
                except sa.exc.OperationalError as error:
                    raise unreachable(error, self.database_url) from None
        from resources.postgres import embedded  # only without LSE_DATABASE_URL (0.15 s)

        return _engine_for(embedded.embedded_url(Path(self.embedded_dir)))

    def replace_slice(
        self,
        project: str,
        run_date: date,
        run_ids: list[str],
        documents: Iterable[tuple[str, bytes]],
    ) -> int:
        """Make the (project, run_date) slice exactly `documents`, in one transaction.

        `documents` are (run_id, JSON bytes) in the order of `run_ids`, sent by binary COPY
        as they are (the server parses each once). Rows of these run ids filed under
        another project are removed too, so a run that moved is never held twice. Readers see
        the old slice until the commit; on any error (a refused document, a lost
        connection) nothing changes.
        """
        engine = self.engine()
        monthly_tables.ensure_month(engine, run_date)
        try:
            return self._replace_slice(engine, project, run_date, run_ids, documents)
        except (psycopg.OperationalError, sa.exc.OperationalError) as error:
            raise LoadInterruptedError(
                f"lost the database connection while loading {project!r} {run_date} "
                f"({type(error).__name__}); the previous rows of the slice are unchanged "
                "(one transaction): run the load again"
            ) from error

    def _replace_slice(
        self,
        engine: sa.Engine,
        project: str,
        run_date: date,
        run_ids: list[str],
        documents: Iterable[tuple[str, bytes]],
    ) -> int:
        with engine.begin() as connection:
            # Two loads of one slice at once would both delete, then collide on the key.
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(hashtext(:project), :day)"),
                {"project": project, "day": run_date.toordinal()},
            )
            # The slice, and these run ids under another project. Only this day's month is
            # searched: a run's run_date is its trace's start day (CHECKed against its
            # document), so the same run id is never filed under another day, and a search
            # of every month would read the whole table on every load.
            try:
                connection.execute(
                    sa.text(DELETE_SLICE),
                    # One string, not a list parameter: adapting 100,000 list items costs
                    # the client ~30 MB at once; the joined ids are 3.7 MB.
                    {"project": project, "run_date": run_date, "run_ids": ",".join(run_ids)},
                )
            except sa.exc.DataError as error:
                raise SliceRejectedError(
                    f"a run file of {project!r} {run_date} is not named <run id>.json "
                    f"({error.orig.diag.message_primary}); re-materialize raw_runs"
                ) from None
            cursor = connection.connection.driver_connection.cursor()
            written = 0
            try:
                with cursor.copy(
                    f"COPY runs ({', '.join(COPY_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
                ) as copy:
                    copy.set_types(_COPY_TYPES)
                    for run_id, data in documents:
                        copy.write_row(
                            (
                                uuid.UUID(run_id),
                                project,
                                run_date,
                                Jsonb(data, dumps=_already_json),
                            )
                        )
                        written += 1
            except (psycopg.errors.IntegrityError, psycopg.errors.DataError) as error:
                raise _rejected(error, run_ids) from None
            return written

    @contextmanager
    def slice_reader(
        self, project: str, run_date: date
    ) -> Iterator[Iterator[tuple[str, str, Any]]]:
        """(run_id, trace_id, data) of a slice in run-id order: one query, streamed in
        chunks and read ahead on a worker thread (read_ahead), so client memory stays flat
        and the server produces rows while the client parses and compares them."""
        with self.engine().connect() as connection:
            cursor = connection.connection.driver_connection.cursor()
            # The worker only reads: each document arrives as its JSON text and is parsed
            # here, in the caller's thread (a parse on the worker would contend for the GIL).
            set_json_loads(_already_json, context=cursor)
            rows = cursor.stream(
                "SELECT run_id::text, trace_id::text, data FROM runs"
                " WHERE project = %s AND run_date = %s ORDER BY runs.run_id",
                (project, run_date),
                binary=True,
                size=500,
            )
            try:
                with read_ahead(rows, _row_size) as batches:
                    yield _parsed(batches)
            finally:
                # A stream left half-read holds the connection's lock: the pool's rollback
                # would wait for it forever. Closing it cancels the query and drains it.
                rows.close()

    def slice_row_count(self, project: str, run_date: date) -> int:
        with self.engine().connect() as connection:
            return connection.execute(
                sa.text("SELECT count(*) FROM runs WHERE project = :p AND run_date = :d"),
                {"p": project, "d": run_date},
            ).scalar_one()

    def months(self) -> list[monthly_tables.MonthPartition]:
        with self.engine().connect() as connection:
            return monthly_tables.list_months(connection)

    def count_rows(self, partitions: list[str]) -> dict[str, int]:
        """Exact row counts of monthly partitions (by name, as `months()` lists them)."""
        with self.engine().connect() as connection:
            return {
                name: connection.execute(sa.text(f'SELECT count(*) FROM "{name}"')).scalar_one()
                for name in partitions
            }

    def prune_months_before(self, before: date) -> list[monthly_tables.MonthPartition]:
        """Drop, in one transaction, every monthly partition that ends on or before
        `before` (the first day of a month)."""
        with self.engine().begin() as connection:
            months = monthly_tables.months_before(connection, before)
            monthly_tables.drop_months(connection, months)
            return months

    def forget_runs(
        self, project: str, run_ids: list[str], trace_ids: list[str], *, dry_run: bool = False
    ) -> int:
        """Delete (or, `dry_run`, count) the project's rows of these runs and of every run of
        these traces, in one transaction; how many rows."""
        verb = "SELECT count(*)" if dry_run else "WITH gone AS (DELETE"
        tail = "" if dry_run else " RETURNING 1) SELECT count(*) FROM gone"
        statement = (
            f"{verb} FROM runs WHERE project = :project AND (run_id = ANY(CAST(:run_ids AS uuid[]))"
            f" OR trace_id = ANY(CAST(:trace_ids AS uuid[]))){tail}"
        )
        with self.engine().begin() as connection:
            return connection.execute(
                sa.text(statement),
                {"project": project, "run_ids": run_ids, "trace_ids": trace_ids},
            ).scalar_one()

    def execute(self, statement: str, **params: Any) -> list[tuple[Any, ...]]:
        """Run one SQL statement in its own transaction (for operators' tools and tests)."""
        with self.engine().begin() as connection:
            result = connection.execute(sa.text(statement), params)
            return [tuple(row) for row in result] if result.returns_rows else []
