"""Postgres: where the runs become queryable. Connection, migrations, slice replace, reads.

The `runs` schema belongs to Alembic (alembic/ at the repository root); this resource
applies pending migrations the first time it connects in a process.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import sqlalchemy as sa
from alembic.config import Config
from pydantic import Field

from alembic import command
from resources import embedded_postgres

ALEMBIC_DIR = Path(__file__).resolve().parents[1] / "alembic"
RUN_COLUMNS = ("run_id", "trace_id", "project", "run_date", "data")

_engines: dict[str, sa.Engine] = {}
_lock = threading.Lock()


def normalize_url(url: str) -> str:
    """Accept plain `postgresql://` URLs as users write them; use the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def migrate(engine: sa.Engine, revision: str = "head") -> None:
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


class PostgresResource(dg.ConfigurableResource):
    """The application database. Without `database_url`, the embedded server under LSE_HOME."""

    database_url: str | None = Field(
        default=None, description="SQLAlchemy/libpq URL; set through EnvVar('LSE_DATABASE_URL')."
    )
    embedded_dir: str = Field(description="Data directory of the embedded server.")

    def engine(self) -> sa.Engine:
        if self.database_url:
            return _engine_for(normalize_url(self.database_url))
        return _engine_for(embedded_postgres.embedded_url(Path(self.embedded_dir)))

    def replace_slice(
        self, project: str, run_date: date, run_ids: list[str], rows: Iterable[tuple[Any, ...]]
    ) -> int:
        """Make the (project, run_date) slice exactly `rows`, in one transaction.

        Rows of these run ids filed under another slice are removed too, so a run whose
        trace moved days is never held twice. On any error nothing changes.
        """
        with self.engine().begin() as connection:
            connection.execute(
                sa.text(
                    "DELETE FROM runs WHERE (project = :project AND run_date = :run_date)"
                    " OR run_id = ANY(CAST(:run_ids AS uuid[]))"
                ),
                {"project": project, "run_date": run_date, "run_ids": run_ids},
            )
            cursor = connection.connection.driver_connection.cursor()
            written = 0
            with cursor.copy(f"COPY runs ({', '.join(RUN_COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    written += 1
            return written

    @contextmanager
    def slice_reader(
        self, project: str, run_date: date
    ) -> Iterator[Iterator[tuple[str, str, Any]]]:
        """(run_id, trace_id, data) of a slice in run-id order, streamed by a server cursor."""
        with self.engine().connect() as connection:
            result = connection.execution_options(stream_results=True, yield_per=1000).execute(
                sa.text(
                    "SELECT run_id::text, trace_id::text, data FROM runs"
                    " WHERE project = :project AND run_date = :run_date ORDER BY run_id"
                ),
                {"project": project, "run_date": run_date},
            )
            yield (tuple(row) for row in result)

    def execute(self, statement: str, **params: Any) -> list[tuple[Any, ...]]:
        """Run one SQL statement in its own transaction (for operators' tools and tests)."""
        with self.engine().begin() as connection:
            result = connection.execute(sa.text(statement), params)
            return [tuple(row) for row in result] if result.returns_rows else []
