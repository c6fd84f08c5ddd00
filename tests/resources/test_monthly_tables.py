"""Monthly partitions of `runs`: created on demand (idempotent, race-safe), listed, pruned."""

import threading
from datetime import date

import pytest
import sqlalchemy as sa

from resources.postgres import monthly_tables
from tests.fakes.dbfixtures import insert_synthetic_runs


def _attached(postgres) -> set[str]:
    return {month.name for month in postgres.months()}


def test_loads_racing_for_a_new_month_create_it_once(postgres):
    day = date(2031, 1, 15)
    postgres.execute("DROP TABLE IF EXISTS runs_2031_01")
    barrier = threading.Barrier(4)
    created, errors = [], []

    def ensure():
        barrier.wait(timeout=10)
        try:
            created.append(monthly_tables.ensure_month(postgres.engine(), day))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=ensure) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == [] and sorted(created) == [False, False, False, True]
    assert monthly_tables.ensure_month(postgres.engine(), date(2031, 1, 1)) is False
    month = next(m for m in postgres.months() if m.name == "runs_2031_01")
    assert (month.first_day, month.end_day) == (date(2031, 1, 1), date(2031, 2, 1))
    # The new partition has the parent's indexes, CHECKs and generated trace_id.
    indexes = postgres.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'runs_2031_01'")
    assert len(indexes) == 5 and any("gin" in row[0] for row in indexes)
    with pytest.raises(sa.exc.IntegrityError, match="violates check constraint"):
        postgres.execute(
            "INSERT INTO runs_2031_01 (run_id, project, run_date, data)"
            " VALUES (gen_random_uuid(), 'p', '2031-01-15', CAST(:doc AS jsonb))",
            doc='{"trace_id": "7d6f1f47-43a4-4f8a-9a3e-1a2b3c4d5e6f"}',
        )


def test_a_row_for_a_month_without_partition_is_refused(postgres):
    postgres.execute("DROP TABLE IF EXISTS runs_2032_06")
    with pytest.raises(sa.exc.IntegrityError, match="no partition"):
        postgres.execute(
            "INSERT INTO runs (run_id, project, run_date, data)"
            " SELECT id, 'p', '2032-06-01', jsonb_build_object('id', id, 'trace_id', id,"
            " 'dotted_order', '20320601T000000000000Z' || id) FROM gen_random_uuid() AS id"
        )


@pytest.mark.parametrize("before", [date(2025, 3, 15), date(2025, 12, 31)])
def test_prune_refuses_a_date_inside_a_month_and_says_which_to_use(before):
    with pytest.raises(ValueError) as refused:
        monthly_tables.check_prune_boundary(before)
    earlier, later = before.replace(day=1), monthly_tables.next_month(before)
    assert f"--before {earlier}" in str(refused.value)
    assert f"--before {later}" in str(refused.value)


def test_prune_drops_whole_months_before_the_date_and_keeps_the_rest(postgres):
    days = [date(2024, 11, 30), date(2024, 12, 1), date(2024, 12, 31), date(2025, 1, 1)]
    insert_synthetic_runs(postgres, ["p"], days, per_slice=3)

    dropped = postgres.prune_months_before(date(2025, 1, 1))

    assert {m.name for m in dropped} >= {"runs_2024_11", "runs_2024_12"}
    assert not {"runs_2024_11", "runs_2024_12"} & _attached(postgres)
    assert postgres.execute("SELECT run_date, count(*) FROM runs GROUP BY 1") == [
        (date(2025, 1, 1), 3)
    ]
    assert postgres.execute("SELECT to_regclass('runs_2024_12')") == [(None,)]
