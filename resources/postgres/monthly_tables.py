"""The monthly partitions of `runs`: name, create on demand, list, drop.

A month is [first day, first day of the next month) and its table is `runs_YYYY_MM`
(alembic/versions/0002). The catalog, not the name, is the truth about which range a
partition holds, so listing and pruning read the bounds Postgres stores.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

# Arbitrary, fixed: serialises the creation of partitions across processes.
_PARTITION_LOCK = 7_150_002
_BOUNDS = re.compile(r"FROM \('(\d{4}-\d{2}-\d{2})'\) TO \('(\d{4}-\d{2}-\d{2})'\)")


@dataclass(frozen=True)
class MonthPartition:
    name: str
    first_day: date
    end_day: date  # exclusive: the first day of the next month
    estimated_rows: int


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def partition_name(day: date) -> str:
    return f"runs_{day:%Y_%m}"


def _is_attached(connection: sa.Connection, name: str) -> bool:
    return bool(
        connection.execute(
            sa.text(
                "SELECT 1 FROM pg_inherits"
                " WHERE inhparent = 'runs'::regclass AND inhrelid = to_regclass(:name)"
            ),
            {"name": name},
        ).first()
    )


def ensure_month(engine: sa.Engine, day: date) -> bool:
    """Make sure the partition holding `day` exists; return True if this call created it.

    Idempotent and safe when several loads race for the same new month: the check is
    repeated under an advisory lock, in a transaction of its own that commits before the
    load starts. The table is created apart and then ATTACHed, which takes only a SHARE
    UPDATE EXCLUSIVE lock on `runs`: loads and reads of other months carry on meanwhile
    (CREATE TABLE ... PARTITION OF would lock them all out).
    """
    name = partition_name(day)
    with engine.connect() as connection:
        if _is_attached(connection, name):
            return False
    first, end = month_start(day), next_month(day)
    with engine.begin() as connection:
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PARTITION_LOCK})
        if _is_attached(connection, name):
            return False
        connection.execute(
            sa.text(
                f'CREATE TABLE "{name}"'
                " (LIKE runs INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED"
                " INCLUDING STORAGE)"
            )
        )
        connection.execute(
            sa.text(
                f'ALTER TABLE runs ATTACH PARTITION "{name}"'
                f" FOR VALUES FROM ('{first.isoformat()}') TO ('{end.isoformat()}')"
            )
        )
    return True


def list_months(connection: sa.Connection) -> list[MonthPartition]:
    rows = connection.execute(
        sa.text(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), greatest(c.reltuples, 0)"
            " FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'runs'::regclass"
        )
    )
    months = []
    for name, bounds, estimated_rows in rows:
        match = _BOUNDS.search(bounds or "")
        if not match:
            raise RuntimeError(
                f"partition {name} of runs has bounds {bounds!r}, not a date range; "
                "it was not created by LSE: detach it before pruning"
            )
        months.append(
            MonthPartition(
                name=name,
                first_day=date.fromisoformat(match.group(1)),
                end_day=date.fromisoformat(match.group(2)),
                estimated_rows=int(estimated_rows),
            )
        )
    return sorted(months, key=lambda month: month.first_day)


def check_prune_boundary(before: date) -> None:
    """Runs are dropped by whole months: `before` must be the first day of a month."""
    if before.day != 1:
        earlier, later = month_start(before), next_month(before)
        raise ValueError(
            f"--before {before.isoformat()} is not the first day of a month, and runs are "
            f"dropped by whole months. Use --before {earlier.isoformat()} to drop everything "
            f"before {earlier:%B %Y}, or --before {later.isoformat()} to drop "
            f"{before:%B %Y} too."
        )


def months_before(connection: sa.Connection, before: date) -> list[MonthPartition]:
    check_prune_boundary(before)
    return [month for month in list_months(connection) if month.end_day <= before]


def drop_months(connection: sa.Connection, months: list[MonthPartition]) -> None:
    """Detach and drop whole partitions (in the caller's transaction: all or none)."""
    for month in months:
        connection.execute(sa.text(f'ALTER TABLE runs DETACH PARTITION "{month.name}"'))
        connection.execute(sa.text(f'DROP TABLE "{month.name}"'))
