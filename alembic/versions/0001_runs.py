"""The runs table: one row per LangSmith run, the run document as JSONB.

Every column but `project` is derived from the document, and a CHECK ties each to it so
that the database itself rejects a row whose columns disagree with its JSON. Each CHECK is
written `(...) IS TRUE` because a plain comparison with a missing key is NULL, and a NULL
CHECK passes (the predecessor's constraints bound nothing that way).
`run_date` is the UTC day of the trace's root start, the first 8 characters of
`dotted_order` (`YYYYMMDDTHHMMSSffffffZ<root id>.…`).

Revision ID: 0001
Revises:
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE runs (
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
        )
        """
    )
    op.execute("CREATE INDEX runs_project_run_date_idx ON runs (project, run_date)")
    op.execute("CREATE INDEX runs_trace_id_idx ON runs (trace_id)")
    op.execute("CREATE INDEX runs_run_date_idx ON runs (run_date)")
    op.execute("CREATE INDEX runs_data_idx ON runs USING gin (data jsonb_path_ops)")


def downgrade() -> None:
    op.execute("DROP TABLE runs")
