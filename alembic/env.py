"""Alembic environment: migrations run on a connection the caller provides.

A transaction-level advisory lock serialises concurrent upgrades (several Dagster steps
may connect for the first time at once).
"""

import sqlalchemy as sa

from alembic import context

_MIGRATION_LOCK = 7_150_001  # arbitrary, fixed: the advisory lock id of LSE migrations

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `lse db upgrade` (it supplies the connection)")

connection.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK})
context.configure(connection=connection, target_metadata=None)
context.run_migrations()
