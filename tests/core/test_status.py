"""`lse status` says one thing per partition, and names what is missing or failed."""

from datetime import date

from lse_assets.core.partition import Partition, PartitionStatus

ASSETS = ("db_runs", "drive_archive", "raw_runs", "run_archive")
CHECKS = ("files_match_db", "runs_complete")


def _status(assets: dict[str, str] | None = None, checks: dict[str, str] | None = None):
    return PartitionStatus(
        Partition("proj-a", date(2025, 9, 13)),
        assets={name: "missing" for name in ASSETS} | (assets or {}),
        checks={name: "missing" for name in CHECKS} | (checks or {}),
    )


def test_each_state_is_named_with_what_is_missing_or_failed():
    done = {name: "MATERIALIZED" for name in ASSETS}
    passed = {name: "SUCCEEDED" for name in CHECKS}

    assert _status().summary == "not archived" and _status().never_archived
    assert _status(done, passed).summary == "archived"
    assert (
        _status(done, {**passed, "runs_complete": "WARN"}).summary
        == "archived (warning: runs_complete)"
    )
    partly = _status({"raw_runs": "MATERIALIZED", "run_archive": "MATERIALIZED"})
    assert partly.summary == "partly archived (missing: db_runs, drive_archive)"
    assert not partly.never_archived
    assert _status({**done, "drive_archive": "FAILED"}).summary == "failed (drive_archive)"
    assert _status(done, {**passed, "files_match_db": "FAILED"}).summary == (
        "failed (files_match_db)"
    )
    assert not _status({"raw_runs": "FAILED"}).never_archived
