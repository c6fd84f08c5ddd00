"""Each state `lse status` can show, word for word (docs/operations.md): one column per copy
(`ok`, `ok (warning)`, `missing`, `FAILED`, `check FAILED`, `unchecked`, `in progress`,
`checking`) and one state per partition (`archived`, `archived (warning: …)`,
`partly archived (missing: …)`, `unchecked (…)`, `failed (…)`, `in progress`,
`not archived`). A state mapped to the wrong word fails here."""

from datetime import date

import pytest

from lse_assets.core.partition import (
    EXECUTION_FAILED,
    FAILED,
    IN_PROGRESS,
    MATERIALIZED,
    MISSING,
    SKIPPED,
    SUCCEEDED,
    WARN,
    Partition,
    PartitionStatus,
)

ASSETS = ("raw_runs", "run_archive", "drive_archive", "db_runs", "parquet_runs")
CHECKED = {
    "runs_complete": "raw_runs",
    "archive_matches_files": "run_archive",
    "files_match_db": "db_runs",
    "parquet_matches_files": "parquet_runs",
}
DONE = dict.fromkeys(ASSETS, MATERIALIZED)
PASSED = dict.fromkeys(CHECKED, SUCCEEDED)


def _status(assets=None, checks=None) -> PartitionStatus:
    return PartitionStatus(
        Partition("proj-a", date(2025, 9, 13)),
        assets=dict.fromkeys(ASSETS, MISSING) | (assets or {}),
        checks=dict.fromkeys(CHECKED, MISSING) | (checks or {}),
        checked=dict(CHECKED),
    )


# ---- one cell per copy -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("asset_state", "word"),
    [
        (MISSING, "missing"),
        (FAILED, "FAILED"),
        (IN_PROGRESS, "in progress"),
    ],
)
def test_a_copy_not_materialized_is_named_by_its_own_state(asset_state, word):
    status = _status({**DONE, "raw_runs": asset_state}, PASSED)
    assert status.copy_state("raw_runs") == word
    assert status.copy_state("run_archive") == "ok"


@pytest.mark.parametrize(
    ("check_state", "word"),
    [
        (SUCCEEDED, "ok"),
        (WARN, "ok (warning)"),
        (FAILED, "check FAILED"),
        (EXECUTION_FAILED, "check FAILED"),
        (IN_PROGRESS, "checking"),
        (SKIPPED, "unchecked"),
        (MISSING, "unchecked"),
    ],
)
def test_a_materialized_copy_is_named_by_its_check(check_state, word):
    status = _status(DONE, {**PASSED, "runs_complete": check_state})
    assert status.copy_state("raw_runs") == word
    assert status.copy_state("db_runs") == "ok"  # another copy's check does not leak over


def test_a_copy_without_a_check_is_ok_once_materialized():
    assert _status(DONE, PASSED).copy_state("drive_archive") == "ok"
    assert _status().copy_state("drive_archive") == "missing"
    assert _status().copy_state("not_an_asset") == "missing"


def test_a_failed_check_outranks_a_running_one_and_a_running_one_an_unchecked_one():
    checked = {**CHECKED, "second_check": "raw_runs"}
    status = PartitionStatus(
        Partition("proj-a", date(2025, 9, 13)),
        assets=dict(DONE),
        checks={**PASSED, "runs_complete": IN_PROGRESS, "second_check": FAILED},
        checked=checked,
    )
    assert status.copy_state("raw_runs") == "check FAILED"
    status.checks["second_check"] = MISSING
    assert status.copy_state("raw_runs") == "checking"
    status.checks["runs_complete"] = WARN
    assert status.copy_state("raw_runs") == "unchecked"


# ---- one state per partition -------------------------------------------------------------


def test_every_partition_state_word():
    assert _status().summary == "not archived"
    assert _status(DONE, PASSED).summary == "archived"
    warned = _status(DONE, {**PASSED, "runs_complete": WARN, "files_match_db": WARN})
    assert warned.summary == "archived (warning: runs_complete, files_match_db)"
    assert warned.archived and not warned.failed
    partly = _status({"raw_runs": MATERIALIZED})
    assert partly.summary == (
        "partly archived (missing: run_archive, drive_archive, db_runs, parquet_runs)"
    )
    unchecked = _status(DONE, {**PASSED, "runs_complete": SKIPPED, "files_match_db": MISSING})
    assert unchecked.summary == "unchecked (runs_complete, files_match_db)"
    failed = _status(
        {**DONE, "run_archive": FAILED}, {**PASSED, "files_match_db": EXECUTION_FAILED}
    )
    assert failed.summary == "failed (run_archive, files_match_db)"
    assert _status({**DONE, "db_runs": IN_PROGRESS}, PASSED).summary == "in progress"
    assert _status(DONE, {**PASSED, "runs_complete": IN_PROGRESS}).summary == "in progress"


def test_the_states_rank_failed_then_in_progress_then_missing_then_unchecked():
    # Failed wins over a running step and over missing copies.
    status = _status({"raw_runs": FAILED, "db_runs": IN_PROGRESS})
    assert status.summary == "failed (raw_runs)"
    # A running step wins over missing copies (all but one missing is not "not archived").
    assert _status({"raw_runs": IN_PROGRESS}).summary == "in progress"
    # Missing copies win over unchecked ones.
    assert _status({**DONE, "parquet_runs": MISSING}).summary == (
        "partly archived (missing: parquet_runs)"
    )


@pytest.mark.parametrize(
    ("assets", "never"),
    [
        ({}, True),
        ({"raw_runs": IN_PROGRESS}, True),
        ({"raw_runs": MATERIALIZED}, False),
        ({"raw_runs": FAILED}, False),
        ({"parquet_runs": MATERIALIZED}, False),
    ],
)
def test_never_archived_means_no_copy_was_made_or_attempted(assets, never):
    assert _status(assets).never_archived is never


@pytest.mark.parametrize(
    ("assets", "checks", "archived", "failed"),
    [
        (DONE, PASSED, True, False),
        (DONE, {**PASSED, "runs_complete": WARN}, True, False),
        (DONE, {**PASSED, "runs_complete": FAILED}, False, True),
        (DONE, {**PASSED, "runs_complete": EXECUTION_FAILED}, False, True),
        (DONE, {**PASSED, "runs_complete": SKIPPED}, False, False),
        (DONE, {**PASSED, "runs_complete": IN_PROGRESS}, False, False),
        ({**DONE, "db_runs": FAILED}, PASSED, False, True),
        ({**DONE, "db_runs": MISSING}, PASSED, False, False),
    ],
)
def test_archived_and_failed_follow_every_copy_and_check(assets, checks, archived, failed):
    status = _status(assets, checks)
    assert status.archived is archived and status.failed is failed
