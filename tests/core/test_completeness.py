"""lse_assets.core.completeness: each way a partition can be incomplete, found and named."""

import json
import shutil
import time
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from lse_assets.core import completeness, jsondoc, runfiles
from lse_assets.core.runfiles import PartitionPaths
from resources.langsmith.sample import SampleLangSmithResource

DAY = date(2025, 9, 13)


@pytest.fixture
def paths(tmp_path) -> PartitionPaths:
    paths = PartitionPaths(tmp_path, "proj", DAY)
    fetch = SampleLangSmithResource().fetch_day("proj", DAY)
    runfiles.write_partition(paths, fetch.runs, fetch.source)
    return paths


def runs_of(paths: PartitionPaths) -> list[dict]:
    return [json.loads(p.read_bytes()) for p in sorted(paths.runs_dir.iterdir())]


def unlist(paths: PartitionPaths, run_id: str) -> None:
    """Delete a run's file and its manifest entry, as if it had never been fetched."""
    paths.run_file(run_id).unlink()
    manifest = runfiles.read_manifest(paths)
    del manifest["files"][run_id]
    paths.manifest.write_bytes(jsondoc.canonical_bytes(manifest))


def found(paths: PartitionPaths) -> dict[str, int]:
    report = completeness.inspect_partition(paths)
    return {kind: d.count for kind, d in report.found.items() if d.count}


def test_a_whole_partition_passes(paths):
    report = completeness.inspect_partition(paths)
    assert report.passed and report.errors == report.warnings == 0
    assert report.runs == report.files == len(runs_of(paths))
    assert report.traces == len({run["trace_id"] for run in runs_of(paths)}) > 10


def test_a_missing_file_is_an_error(paths):
    leaf = next(r for r in runs_of(paths) if r["run_type"] == "LLM")
    paths.run_file(leaf["id"]).unlink()
    assert found(paths) == {"missing_files": 1}


def test_an_extra_file_is_an_error(paths):
    shutil.copy(next(paths.runs_dir.iterdir()), paths.runs_dir / "stray.json")
    assert found(paths) == {"unlisted_files": 1, "misnamed_files": 1, "duplicate_run_ids": 1}


def test_a_changed_file_is_an_error(paths):
    victim = sorted(paths.runs_dir.iterdir())[5]
    victim.write_bytes(victim.read_bytes().replace(b'"name":"', b'"name":"x', 1))
    report = completeness.inspect_partition(paths)
    assert found(paths) == {"checksum_mismatches": 1}
    assert report.found["checksum_mismatches"].sample == [victim.name]


def test_one_run_in_two_files_is_a_duplicate(paths):
    first, second = sorted(paths.runs_dir.iterdir())[:2]
    second.write_bytes(first.read_bytes())
    assert found(paths) == {
        "checksum_mismatches": 1,
        "misnamed_files": 1,
        "duplicate_run_ids": 1,
    }


def test_a_file_that_is_not_a_run_is_an_error(paths):
    victim = sorted(paths.runs_dir.iterdir())[0]
    victim.write_bytes(b"{not json")
    assert found(paths) == {"checksum_mismatches": 1, "unreadable_files": 1}


def test_a_missing_parent_is_an_error(paths):
    runs = runs_of(paths)
    planner = next(r for r in runs if r["name"] == "planner")
    children = [r["id"] for r in runs if r["parent_run_ids"][-1:] == [planner["id"]]]
    unlist(paths, planner["id"])
    report = completeness.inspect_partition(paths)
    assert found(paths) == {"missing_parents": len(children)}
    assert sorted(report.found["missing_parents"].sample) == sorted(children)


def test_a_missing_root_cuts_its_trace(paths):
    runs = runs_of(paths)
    root = next(r for r in runs if r["is_root"])
    trace = [r for r in runs if r["trace_id"] == root["id"] and r["id"] != root["id"]]
    direct = [r for r in trace if r["parent_run_ids"] == [root["id"]]]
    unlist(paths, root["id"])
    assert found(paths) == {"missing_roots": len(trace), "missing_parents": len(direct)}


def test_a_run_of_another_day_is_an_error(tmp_path):
    paths = PartitionPaths(tmp_path, "proj", DAY)
    other = list(SampleLangSmithResource().fetch_day("proj", date(2025, 9, 12)).runs)
    runfiles.write_partition(paths, other, {})
    assert found(paths) == {"wrong_day_runs": len(other)}


def test_pending_runs_are_only_a_warning(tmp_path):
    paths = PartitionPaths(tmp_path, "proj", DAY)
    runs = list(SampleLangSmithResource().fetch_day("proj", DAY).runs)
    for run in runs[:3]:
        run["end_time"] = None
    runfiles.write_partition(paths, runs, {})
    assert found(paths) == {"pending_runs": 3}
    midday = datetime(DAY.year, DAY.month, DAY.day, 12, tzinfo=UTC)
    # A warning on every day: today's runs are still going, yesterday's late ones finishing;
    # an older day's may never end in LangSmith. Only the words differ.
    for now, settling in [
        (midday, True),
        (midday + timedelta(days=1, hours=11, minutes=59), True),  # the next day's last minute
        (midday + timedelta(days=2), False),
    ]:
        report = completeness.inspect_partition(paths, now)
        assert report.errors == 0 and not report.passed and report.settling is settling
        assert ("not final yet" in report.summary()) is settling


def test_a_day_settles_at_the_end_of_the_next_utc_day():
    assert completeness.settling(DAY, datetime(2025, 9, 13, 0, 0, tzinfo=UTC))
    assert completeness.settling(DAY, datetime(2025, 9, 14, 23, 59, 59, tzinfo=UTC))
    assert not completeness.settling(DAY, datetime(2025, 9, 15, 0, 0, tzinfo=UTC))
    # The UTC day decides, whatever the clock's zone: 2025-09-15 01:00 in +02:00 is the 14th.
    plus_two = timezone(timedelta(hours=2))
    assert completeness.settling(DAY, datetime(2025, 9, 15, 1, 0, tzinfo=plus_two))


def test_roots_ending_after_the_fetch_window_are_a_warning(tmp_path):
    paths = PartitionPaths(tmp_path, "proj", DAY)
    runs = list(SampleLangSmithResource().fetch_day("proj", DAY).runs)
    late_roots = [r for r in runs if r["is_root"] and r["end_time"] > "2025-09-13T23:00"]
    source = {"query": {"max_start_time": "2025-09-13T23:00:00Z"}}
    runfiles.write_partition(paths, runs, source)
    assert late_roots and found(paths) == {"roots_ending_after_window": len(late_roots)}


def test_a_partition_never_fetched_is_an_error(tmp_path):
    report = completeness.inspect_partition(PartitionPaths(tmp_path, "proj", DAY))
    assert report.errors == 1 and report.found["manifest_missing"].count == 1
    assert "re-materialize raw_runs" in report.summary()


def test_a_vanished_run_must_be_kept(tmp_path):
    day = date(2025, 9, 13)
    paths = PartitionPaths(tmp_path, "p", day)
    runs = list(SampleLangSmithResource().fetch_day("p", day).runs)
    runfiles.write_partition(paths, iter(runs), {})
    runfiles.write_partition(paths, iter(runs[:6]), {})
    assert completeness.inspect_partition(paths).passed  # vanished runs kept: the union is whole

    manifest = runfiles.read_manifest(paths)
    manifest["vanished"]["00000000-0000-4000-8000-000000000000"] = "2025-10-01T00:00:00Z"
    paths.manifest.write_bytes(jsondoc.canonical_bytes(manifest))

    report = completeness.inspect_partition(paths)
    assert report.found["vanished_not_kept"].count == 1 and not report.passed


@pytest.mark.parametrize(
    ("day", "settling"),
    [(date(2025, 9, 15), True), (date(2025, 9, 14), True), (date(2025, 9, 13), False)],
)
def test_counts_settle_after_yesterday_utc(day, settling):
    # 23:30 in New York on the 14th is already the 15th in UTC: yesterday is the 14th.
    now = datetime(2025, 9, 14, 23, 30, tzinfo=timezone(timedelta(hours=-4)))
    assert completeness.settling(day, now) is settling


def recount(paths: PartitionPaths, **changes) -> None:
    manifest = runfiles.read_manifest(paths)
    manifest["source"]["counts"].update(changes)
    paths.manifest.write_bytes(jsondoc.canonical_bytes(manifest))


def test_the_sample_records_counts_equal_to_what_it_returned(paths):
    report = completeness.inspect_partition(paths)
    metadata = report.counted.metadata()
    assert report.passed
    assert metadata["source_runs"] == metadata["archived_runs"] == report.runs
    assert metadata["source_traces"] == metadata["archived_traces"] == report.traces


def test_langsmith_counting_more_is_an_error_on_a_settled_day_and_a_warning_before(paths):
    recount(paths, source_traces=runfiles.read_manifest(paths)["counts"]["root_runs"] + 1)
    settled = completeness.inspect_partition(paths, now=datetime(2025, 9, 20, tzinfo=UTC))
    settling = completeness.inspect_partition(paths, now=datetime(2025, 9, 14, tzinfo=UTC))
    assert found(paths) == {"runs_not_fetched": 1}  # a missing trace is at least one run
    assert settled.errors == 1 and "re-materialize raw_runs" in settled.summary()
    assert settling.errors == 0 and settling.found["runs_not_fetched_yet"].count == 1


def test_langsmith_counting_fewer_is_no_finding(paths):
    recount(paths, source_runs=3, source_traces=1)
    report = completeness.inspect_partition(paths)
    assert report.passed and "fewer than archived: vanished from LangSmith" in report.summary()


@pytest.mark.parametrize("record", [None, {"runs": 1}, "damaged", "no number"])
def test_damaged_or_missing_counts_are_unknown_not_a_finding(paths, record):
    manifest = runfiles.read_manifest(paths)
    if record == "no number":
        manifest["source"]["counts"]["source_runs"] = None
    elif record is None:
        del manifest["source"]["counts"]
    else:
        manifest["source"]["counts"] = record
    paths.manifest.write_bytes(jsondoc.canonical_bytes(manifest))
    report = completeness.inspect_partition(paths)
    assert report.passed and report.counted.metadata()["source_counts"].startswith("unknown")


def test_a_run_file_renamed_away_from_its_json_name_is_not_the_runs_file(paths):
    # A stray copy left by a tool ("<id>.orig") is not the run's file, however well its
    # content and checksum fit: the run's own file is missing.
    victim = sorted(paths.runs_dir.iterdir())[3]
    victim.rename(victim.with_suffix(".orig"))

    report = completeness.inspect_partition(paths)

    assert found(paths) == {"unlisted_files": 1, "misnamed_files": 1, "missing_files": 1}
    assert report.found["missing_files"].sample == [victim.name]
    assert report.found["misnamed_files"].sample == [victim.with_suffix(".orig").name]


@pytest.fixture
def away_from_utc(monkeypatch):
    """The machine's local zone far from UTC: a time must never be read as local."""
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(
    "end_time",
    [
        "2025-09-14 00:30:00",
        "2025-09-14T00:30:00Z",
        "2025-09-14T00:30:00.5+00:00",
        "2025-09-14T01:30:00+01:00",
    ],
)
def test_a_roots_end_is_read_in_every_iso_form_langsmith_writes(tmp_path, end_time, away_from_utc):
    # v1 answers naive UTC with a space, v2 a "Z" or an offset (converted, not dropped):
    # each ends after a 2025-09-14T00:00Z window and before a 00:31Z one.
    runs = list(SampleLangSmithResource().fetch_day("proj", DAY).runs)
    root = next(r for r in runs if r["is_root"])
    root["end_time"] = end_time

    def late_roots(window_end: str) -> list[str]:
        paths = PartitionPaths(tmp_path / window_end, "proj", DAY)
        runfiles.write_partition(paths, runs, {"query": {"max_start_time": window_end}})
        return completeness.inspect_partition(paths).found["roots_ending_after_window"].sample

    assert root["id"] in late_roots("2025-09-14T00:00:00Z")
    assert root["id"] not in late_roots("2025-09-14T00:31:00Z")
