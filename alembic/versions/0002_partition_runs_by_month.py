"""Partition `runs` by month of `run_date`, keeping every row and index; derive trace_id.

Years of traces in one heap make every per-day delete, vacuum and index larger than it
needs to be, and make dropping old data a slow DELETE. Declarative range partitions by
month keep a day's replace inside one small table, and let `lse db prune` drop a month
as a table. Monthly (not daily) keeps the partition count in the hundreds after decades.

A unique key on a partitioned table must contain the partition column, so the primary
key becomes (run_id, run_date). run_date is derived from the run's own document (CHECK
below), so a run id still has exactly one run_date; the load removes a run id from the
other projects of that day before copying it in (resources/postgres/resource.py).

`trace_id` becomes a stored generated column, `(data->>'trace_id')::uuid`: the database
derives it from the document, so it cannot disagree with it (an explicit value is
refused), a run without a trace id is refused by NOT NULL, and the load no longer has to
parse each document on the client just to send the column the server can read itself.
The other CHECKs of 0001 stay as they were.

Partitions are named runs_YYYY_MM and hold [first of month, first of next month). The
load creates the month it needs (resources/postgres/monthly_tables.py); this migration creates
those that the existing rows need. There is deliberately no DEFAULT partition: a row
without its month fails loudly instead of piling up where pruning cannot see it.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_COLUMNS = "run_id, project, run_date, data, loaded_at"

# The constraints of 0001 (see 0001 for why each is written `(...) IS TRUE`), except
# that trace_id is now generated from the document instead of checked against it.
_TABLE_BODY = """
    run_id    uuid        NOT NULL,
    trace_id  uuid        NOT NULL GENERATED ALWAYS AS ((data->>'trace_id')::uuid) STORED,
    project   text        NOT NULL,
    run_date  date        NOT NULL,
    data      jsonb       NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT runs_project_not_empty CHECK (project <> ''),
    CONSTRAINT runs_run_id_matches_data
        CHECK ((run_id = (data->>'id')::uuid) IS TRUE),
    CONSTRAINT runs_run_date_matches_data
        CHECK ((run_date = to_date(left(data->>'dotted_order', 8), 'YYYYMMDD')) IS TRUE)
"""

_INDEXES = (
    "CREATE INDEX runs_project_run_date_idx ON runs (project, run_date)",
    "CREATE INDEX runs_trace_id_idx ON runs (trace_id)",
    "CREATE INDEX runs_run_date_idx ON runs (run_date)",
    "CREATE INDEX runs_data_idx ON runs USING gin (data jsonb_path_ops)",
)
_INDEX_NAMES = (
    "runs_project_run_date_idx",
    "runs_trace_id_idx",
    "runs_run_date_idx",
    "runs_data_idx",
)

_CREATE_MONTHS_OF = """
DO $$
DECLARE month date;
BEGIN
    FOR month IN SELECT DISTINCT date_trunc('month', run_date)::date FROM {source} LOOP
        EXECUTE format(
            'CREATE TABLE %I PARTITION OF runs FOR VALUES FROM (%L) TO (%L)',
            'runs_' || to_char(month, 'YYYY_MM'), month, (month + interval '1 month')::date
        );
    END LOOP;
END $$
"""


def _set_aside_old_table(new_name: str, pkey_name: str) -> None:
    """Rename `runs` out of the way; free its index names for the new table."""
    op.execute(f"ALTER TABLE runs RENAME TO {new_name}")
    op.execute(f"ALTER TABLE {new_name} RENAME CONSTRAINT runs_pkey TO {pkey_name}")
    for index in _INDEX_NAMES:
        op.execute(f"DROP INDEX {index}")


def upgrade() -> None:
    _set_aside_old_table("runs_0001", "runs_0001_pkey")
    op.execute(
        f"CREATE TABLE runs ({_TABLE_BODY}, CONSTRAINT runs_pkey PRIMARY KEY (run_id, run_date))"
        " PARTITION BY RANGE (run_date)"
    )
    op.execute(_CREATE_MONTHS_OF.format(source="runs_0001"))
    op.execute(f"INSERT INTO runs ({_COLUMNS}) SELECT {_COLUMNS} FROM runs_0001")
    op.execute("DROP TABLE runs_0001")
    for statement in _INDEXES:  # built once over the copied rows, not row by row
        op.execute(statement)


_TABLE_BODY_0001 = """
    run_id    uuid        PRIMARY KEY,
    trace_id  uuid        NOT NULL,
    project   text        NOT NULL,
    run_date  date        NOT NULL,
    data      jsonb       NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT runs_project_not_empty CHECK (project <> ''),
    CONSTRAINT runs_run_id_matches_data
        CHECK ((run_id = (data->>'id')::uuid) IS TRUE),
    CONSTRAINT runs_trace_id_matches_data
        CHECK ((trace_id = (data->>'trace_id')::uuid) IS TRUE),
    CONSTRAINT runs_run_date_matches_data
        CHECK ((run_date = to_date(left(data->>'dotted_order', 8), 'YYYYMMDD')) IS TRUE)
"""


def downgrade() -> None:
    _set_aside_old_table("runs_0002", "runs_0002_pkey")
    op.execute(f"CREATE TABLE runs ({_TABLE_BODY_0001})")
    # A run id held in two months would break the old primary key: keep its latest load.
    op.execute(
        f"INSERT INTO runs (trace_id, {_COLUMNS}) SELECT DISTINCT ON (run_id) trace_id, {_COLUMNS}"
        " FROM runs_0002 ORDER BY run_id, loaded_at DESC"
    )
    op.execute("DROP TABLE runs_0002")  # drops its partitions with it
    for statement in _INDEXES:
        op.execute(statement)
