"""Helpers for database tests: synthetic rows that satisfy the schema, and snapshots."""

from __future__ import annotations

from datetime import date

from resources.postgres import monthly_tables
from resources.postgres.resource import PostgresResource


def insert_synthetic_runs(
    postgres: PostgresResource, projects: list[str], days: list[date], per_slice: int
) -> None:
    """`per_slice` minimal run documents per (project, day), generated inside Postgres."""
    for day in {day.replace(day=1) for day in days}:
        monthly_tables.ensure_month(postgres.engine(), day)
    postgres.execute(
        """
        WITH g AS (
            SELECT gen_random_uuid() AS id, p.project, d.day::date AS day
            FROM unnest(CAST(:projects AS text[])) AS p(project),
                 unnest(CAST(:days AS date[])) AS d(day),
                 generate_series(1, :per_slice)
        )
        INSERT INTO runs (run_id, project, run_date, data)
        SELECT id, project, day, jsonb_build_object(
            'id', id, 'trace_id', id, 'name', 'synthetic',
            'dotted_order', to_char(day, 'YYYYMMDD') || 'T000000000000Z' || id)
        FROM g
        """,
        projects=projects,
        days=days,
        per_slice=per_slice,
    )


def slice_snapshot(postgres: PostgresResource, project: str, day: date) -> dict[str, object]:
    """run_id -> document of one (project, day) slice."""
    rows = postgres.execute(
        "SELECT run_id::text, data FROM runs WHERE project = :p AND run_date = :d",
        p=project,
        d=day,
    )
    return dict(rows)
