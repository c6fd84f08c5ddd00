"""`lse status` says one thing per partition, and names what is missing or failed."""

from datetime import date

from lse_assets.core.partition import Partition, PartitionStatus

ASSETS = ("db_runs", "drive_archive", "parquet_runs", "raw_runs", "run_archive")
CHECKED = {  # check -> its asset
    "files_match_db": "db_runs",
    "parquet_matches_files": "parquet_runs",
    "runs_complete": "raw_runs",
}


def _status(assets: dict[str, str] | None = None, checks: dict[str, str] | None = None):
    return PartitionStatus(
        Partition("proj-a", date(2025, 9, 13)),
        assets={name: "missing" for name in ASSETS} | (assets or {}),
        checks={name: "missing" for name in CHECKED} | (checks or {}),
        checked=dict(CHECKED),
    )


DONE = {name: "MATERIALIZED" for name in ASSETS}
PASSED = {name: "SUCCEEDED" for name in CHECKED}


def test_each_state_is_named_with_what_is_missing_or_failed():
    assert _status().summary == "not archived" and _status().never_archived
    assert _status(DONE, PASSED).summary == "archived" and _status(DONE, PASSED).archived
    assert (
        _status(DONE, {**PASSED, "runs_complete": "WARN"}).summary
        == "archived (warning: runs_complete)"
    )
    partly = _status({"raw_runs": "MATERIALIZED", "run_archive": "MATERIALIZED"})
    assert partly.summary == "partly archived (missing: db_runs, drive_archive, parquet_runs)"
    assert not partly.never_archived and not partly.archived
    assert _status({**DONE, "drive_archive": "FAILED"}).summary == "failed (drive_archive)"
    assert _status(DONE, {**PASSED, "files_match_db": "FAILED"}).summary == (
        "failed (files_match_db)"
    )
    assert not _status({"raw_runs": "FAILED"}).never_archived


def test_the_parquet_copy_counts_only_when_it_is_there_and_its_check_passed():
    without = _status({**DONE, "parquet_runs": "missing"}, PASSED)
    assert without.summary == "partly archived (missing: parquet_runs)" and not without.archived
    assert without.copy_state("parquet_runs") == "missing"
    unchecked = _status(DONE, {**PASSED, "parquet_matches_files": "missing"})
    assert unchecked.summary == "unchecked (parquet_matches_files)" and not unchecked.archived
    assert unchecked.copy_state("parquet_runs") == "unchecked"
    assert unchecked.copy_state("db_runs") == "ok"
    failed = _status(DONE, {**PASSED, "parquet_matches_files": "FAILED"})
    assert failed.copy_state("parquet_runs") == "check FAILED" and failed.failed


def test_a_check_that_raised_or_still_runs_is_said_so_as_the_ui_resolves_it():
    crashed = _status(DONE, {**PASSED, "parquet_matches_files": "EXECUTION_FAILED"})
    assert crashed.summary == "failed (parquet_matches_files)" and crashed.failed
    assert crashed.copy_state("parquet_runs") == "check FAILED"
    running = _status(DONE, {**PASSED, "parquet_matches_files": "IN_PROGRESS"})
    assert running.summary == "in progress" and not running.archived
    assert running.copy_state("parquet_runs") == "checking"
    skipped = _status(DONE, {**PASSED, "parquet_matches_files": "SKIPPED"})
    assert skipped.summary == "unchecked (parquet_matches_files)"
    assert _status({**DONE, "parquet_runs": "IN_PROGRESS"}).copy_state("parquet_runs") == (
        "in progress"
    )


def test_a_partition_key_reads_back_as_its_project_and_day():
    partition = Partition.from_key("2025-09-13|support|bot")  # a project name may hold "|"
    assert (partition.project, partition.day) == ("support|bot", date(2025, 9, 13))
    assert Partition.from_key(partition.label) == partition
