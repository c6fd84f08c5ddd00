"""How the check-failure sensor reads the check records (fast tier, the storage stubbed at
its one method): every record above the cursor once, across pages; a failure's partition
taken from the record, else from its evaluation (issue 18: the slow sensor tests let a
repeated page boundary and the partition fallback pass)."""

from types import SimpleNamespace

import dagster as dg

from lse_assets.defs.sensors.check_failures import _PAGE, _failure, _records_after

KEY = dg.AssetCheckKey(dg.AssetKey("raw_runs"), "runs_complete")


class _Storage:
    """Records 1..n, newest first, paged as the event log storage pages them."""

    def __init__(self, n: int):
        self.records = [SimpleNamespace(id=i) for i in range(n, 0, -1)]
        self.cursors: list[int | None] = []

    def get_asset_check_execution_history(self, key, limit, cursor=None):
        assert key == KEY
        self.cursors.append(cursor)
        older = [r for r in self.records if cursor is None or r.id < cursor]
        return older[:limit]


def _read(n: int, after_id: int) -> tuple[list[int], list[int | None]]:
    storage = _Storage(n)
    found = _records_after(SimpleNamespace(event_log_storage=storage), KEY, after_id)
    return [r.id for r in found], storage.cursors


def test_every_record_above_the_cursor_is_read_once_across_pages():
    n = 2 * _PAGE + 5
    ids, cursors = _read(n, 0)
    assert ids == list(range(n, 0, -1))  # each once, none skipped
    assert cursors == [None, n - _PAGE + 1, n - 2 * _PAGE + 1]


def test_reading_stops_at_the_cursor():
    ids, cursors = _read(2 * _PAGE + 5, 100)  # the cursor falls in the second page
    assert ids == list(range(2 * _PAGE + 5, 100, -1))
    assert len(cursors) == 2  # the page that reached the cursor is the last one read


def _record(record_partition, evaluation_partition):
    evaluation = SimpleNamespace(
        metadata={},
        asset_key=KEY.asset_key,
        check_name=KEY.name,
        partition=evaluation_partition,
        severity=dg.AssetCheckSeverity.ERROR,
        description="d",
    )
    return SimpleNamespace(evaluation=evaluation, partition=record_partition, run_id="r")


def test_a_failures_partition_is_the_records_else_its_evaluations():
    assert _failure(_record("2025-09-13|proj-a", None)).partition == "2025-09-13|proj-a"
    assert _failure(_record(None, "2025-09-13|proj-a")).partition == "2025-09-13|proj-a"
    failure = _failure(_record("2025-09-13|proj-a", "2025-09-13|proj-a"))
    assert (failure.asset, failure.check, failure.severity, failure.run_id) == (
        "raw_runs",
        "runs_complete",
        "ERROR",
        "r",
    )


def test_a_planned_check_holds_the_cursor_only_while_its_run_goes():
    from dagster._core.storage.asset_check_execution_record import (
        AssetCheckExecutionRecordStatus,
    )

    from lse_assets.defs.sensors.check_failures import _candidates

    runs = {
        "going": SimpleNamespace(dagster_run=SimpleNamespace(is_finished=False)),
        "over": SimpleNamespace(dagster_run=SimpleNamespace(is_finished=True)),
    }
    instance = SimpleNamespace(get_run_record_by_id=runs.get)
    planned = AssetCheckExecutionRecordStatus.PLANNED
    records = [
        SimpleNamespace(id=i, status=planned, run_id=run_id)
        for i, run_id in enumerate(["going", "over", "deleted", ""], start=1)
    ]
    candidates = _candidates(instance, records, include_warnings=False, announce_since=None)
    assert [(c.record_id, c.in_progress, c.failure) for c in candidates] == [
        (1, True, None),
        (2, False, None),
        (3, False, None),  # its run was deleted: nothing can still be going
        (4, False, None),
    ]
