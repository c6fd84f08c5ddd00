"""Alembic: 0001 (one table) to 0002 (monthly partitions) with data in it, and back."""

from datetime import date

import pytest
import sqlalchemy as sa
from alembic.config import Config

from alembic import command
from resources.postgres.resource import ALEMBIC_DIR

DATABASE = "lse_migration_test"


def _alembic(engine: sa.Engine, action, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        action(config, revision)


@pytest.fixture
def fresh_engine(postgres_url):
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
        connection.execute(sa.text(f"CREATE DATABASE {DATABASE}"))
    engine = sa.create_engine(sa.make_url(postgres_url).set(database=DATABASE))
    yield engine
    engine.dispose()
    with admin.connect() as connection:
        connection.execute(sa.text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
    admin.dispose()


_ROWS_0001 = """
    INSERT INTO runs (run_id, trace_id, project, run_date, data, loaded_at)
    SELECT id, id, project, day, jsonb_build_object(
        'id', id, 'trace_id', id, 'outputs', jsonb_build_object('n', n),
        'dotted_order', to_char(day, 'YYYYMMDD') || 'T000000000000Z' || id),
        timestamptz '2025-10-01 12:00:00+00' + n * interval '1 second'
    FROM (SELECT gen_random_uuid() AS id, n,
                 (ARRAY['proj-a', 'Team B/ünïcode''s'])[1 + n % 2] AS project,
                 (ARRAY[DATE '2025-08-31', DATE '2025-09-01', DATE '2025-09-13'])[1 + n % 3] AS day
          FROM generate_series(1, 60) AS n) AS g
"""
_SNAPSHOT = "SELECT run_id, trace_id, project, run_date, data, loaded_at FROM runs ORDER BY run_id"


def _rows(engine):
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text(_SNAPSHOT))]


def _scalar(engine, statement):
    with engine.connect() as connection:
        return connection.execute(sa.text(statement)).scalar()


def test_upgrade_from_0001_keeps_every_row_and_partitions_by_month(fresh_engine):
    _alembic(fresh_engine, command.upgrade, "0001")
    with fresh_engine.begin() as connection:
        connection.execute(sa.text(_ROWS_0001))
    before = _rows(fresh_engine)
    assert len(before) == 60

    _alembic(fresh_engine, command.upgrade, "head")

    assert _rows(fresh_engine) == before
    assert _scalar(fresh_engine, "SELECT version_num FROM alembic_version") == "0002"
    assert _scalar(fresh_engine, "SELECT partstrat FROM pg_partitioned_table") == "r"
    partitions = _scalar(
        fresh_engine,
        "SELECT array_agg(c.relname::text ORDER BY c.relname) FROM pg_inherits i"
        " JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'runs'::regclass",
    )
    assert partitions == ["runs_2025_08", "runs_2025_09"]
    indexes = _scalar(
        fresh_engine,
        "SELECT array_agg(indexdef ORDER BY indexname) FROM pg_indexes WHERE tablename = 'runs'",
    )
    for expected in (
        "USING gin (data jsonb_path_ops)",
        "(project, run_date)",
        "(run_date)",
        "(trace_id)",
        "UNIQUE INDEX runs_pkey ON ONLY public.runs USING btree (run_id, run_date)",
    ):
        assert any(expected in index for index in indexes), (expected, indexes)
    checks = _scalar(
        fresh_engine,
        "SELECT array_agg(conname::text ORDER BY conname) FROM pg_constraint"
        " WHERE conrelid = 'runs'::regclass AND contype = 'c'",
    )
    assert checks == [
        "runs_project_not_empty",
        "runs_run_date_matches_data",
        "runs_run_id_matches_data",
    ]
    assert (
        _scalar(
            fresh_engine,
            "SELECT attgenerated FROM pg_attribute"
            " WHERE attrelid = 'runs'::regclass AND attname = 'trace_id'",
        )
        == "s"
    )
    assert _scalar(fresh_engine, "SELECT to_regclass('runs_0001')") is None


def test_downgrade_to_0001_keeps_every_row_and_upgrades_again(fresh_engine):
    _alembic(fresh_engine, command.upgrade, "0001")
    with fresh_engine.begin() as connection:
        connection.execute(sa.text(_ROWS_0001))
    before = _rows(fresh_engine)
    _alembic(fresh_engine, command.upgrade, "head")

    _alembic(fresh_engine, command.downgrade, "0001")
    assert _rows(fresh_engine) == before
    assert _scalar(fresh_engine, "SELECT count(*) FROM pg_partitioned_table") == 0

    _alembic(fresh_engine, command.upgrade, "head")
    assert _rows(fresh_engine) == before
    assert date(2025, 8, 31) in {row[3] for row in _rows(fresh_engine)}
