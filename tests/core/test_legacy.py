"""lse_assets.core.legacy.formats: the predecessor's run files, converted without guessing."""

import json
import zipfile
from datetime import date

import pytest

from lse_assets.core.legacy import formats as legacy
from lse_assets.core.legacy.formats import LegacyFormatError, LegacyRuns
from tests.fakes.legacy_zips import predecessor_zips, sample_runs

ROOT = "11111111-1111-4111-8111-111111111111"
CHILD = "22222222-2222-4222-8222-222222222222"
GRANDCHILD = "33333333-3333-4333-8333-333333333333"


def write_files(directory, documents):
    directory.mkdir(exist_ok=True)
    for name, document in documents.items():
        (directory / name).write_text(json.dumps(document))
    return directory


def test_the_three_shapes_are_recognised():
    run = {"id": ROOT, "name": "x"}
    enhanced = {"metadata": {"enhanced_feedback": True}, "trace": run}
    assert legacy.unwrap(enhanced, "f") == (run, "wrapped_enhanced")
    assert legacy.unwrap({"metadata": {}, "trace": run}, "f") == (run, "wrapped")
    assert legacy.unwrap(run, "f") == (run, "bare")
    with pytest.raises(LegacyFormatError, match=r"a.zip:b.json: not a run file"):
        legacy.unwrap({"runs": []}, "a.zip:b.json")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-09-06 23:59:58.123", "2025-09-06T23:59:58.123000Z"),
        ("2025-09-06 23:59:58", "2025-09-06T23:59:58.000000Z"),
        ("2025-09-06 23:59:58.123456+00:00", "2025-09-06T23:59:58.123456Z"),
        ("2025-09-07 01:59:58.5+02:00", "2025-09-06T23:59:58.500000Z"),
        ("2025-09-06T23:59:58.123456Z", "2025-09-06T23:59:58.123456Z"),
    ],
)
def test_datetimes_become_iso_utc(text, expected):
    assert legacy.iso_utc(text) == expected


def test_only_datetime_fields_are_normalized():
    run = {
        "start_time": "2025-09-06 23:59:58.123",
        "end_time": None,
        "inputs": {"when": "2025-09-06 23:59:58.123"},
        "events": [{"name": "start", "time": "2025-09-06 23:59:58.123"}],
        "feedback_records": [{"created_at": "2025-09-07 00:00:01", "comment": "ok"}],
    }
    out = legacy.normalize_datetimes(run)
    assert out["start_time"] == "2025-09-06T23:59:58.123000Z"
    assert out["end_time"] is None
    assert out["inputs"] == {"when": "2025-09-06 23:59:58.123"}  # user content untouched
    assert out["events"][0]["time"] == "2025-09-06T23:59:58.123000Z"
    assert out["feedback_records"][0] == {
        "created_at": "2025-09-07T00:00:01.000000Z",
        "comment": "ok",
    }


def test_trace_id_and_dotted_order_are_derived_when_the_chain_is_known(tmp_path):
    files = write_files(
        tmp_path / "day",
        {
            "root.json": {
                "id": ROOT,
                "start_time": "2025-09-06 23:59:58.123",
                "parent_run_id": None,
            },
            "child.json": {
                "metadata": {},
                "trace": {"id": CHILD, "parent_run_id": ROOT, "start_time": "2025-09-07 00:00:01"},
            },
            "grandchild.json": {
                "id": GRANDCHILD,
                "parent_run_ids": [ROOT, CHILD],
                "start_time": "2025-09-07 00:00:02.5",
            },
        },
    )
    runs = LegacyRuns()
    runs.add_directory(files)

    assert runs.days() == {date(2025, 9, 6): 3}
    converted = {run["id"]: run for run in runs.runs_for(date(2025, 9, 6))}
    root_dotted = f"20250906T235958123000Z{ROOT}"
    child_dotted = f"{root_dotted}.20250907T000001000000Z{CHILD}"
    assert converted[ROOT]["dotted_order"] == root_dotted
    assert converted[CHILD]["dotted_order"] == child_dotted
    assert (
        converted[GRANDCHILD]["dotted_order"]
        == f"{child_dotted}.20250907T000002500000Z{GRANDCHILD}"
    )
    assert {run["trace_id"] for run in converted.values()} == {ROOT}
    assert converted[CHILD]["start_time"] == "2025-09-07T00:00:01.000000Z"
    assert runs.report(date(2025, 9, 6)).derived == {"trace_id": 3, "dotted_order": 3}


def test_a_run_whose_ancestor_was_not_read_belongs_to_an_earlier_day_and_is_reported(tmp_path):
    files = write_files(
        tmp_path / "day",
        {
            "root.json": {"id": ROOT, "start_time": "2025-09-07 00:00:00.5"},
            "child.json": {
                "id": CHILD,
                "parent_run_id": GRANDCHILD,
                "start_time": "2025-09-07 00:00:01",
            },
        },
    )
    runs = LegacyRuns()
    runs.add_directory(files, label="proj_2025-09-07.zip")

    assert runs.days() == {date(2025, 9, 7): 1}
    assert runs.unplaced() == ["proj_2025-09-07.zip:child.json"]
    assert [run["id"] for run in runs.runs_for(date(2025, 9, 7))] == [ROOT]


def test_a_run_of_a_known_trace_that_cannot_be_placed_is_refused_naming_its_file(tmp_path):
    files = write_files(
        tmp_path / "day",
        {
            "root.json": {"id": ROOT, "start_time": "2025-09-07 00:00:00.5"},
            "child.json": {
                "id": CHILD,
                "trace_id": ROOT,
                "parent_run_id": GRANDCHILD,  # an intermediate run the old tool lost
                "start_time": "2025-09-07 00:00:01",
            },
        },
    )
    runs = LegacyRuns()
    runs.add_directory(files, label="proj_2025-09-07.zip")
    with pytest.raises(LegacyFormatError, match=r"proj_2025-09-07.zip:child.json: run 2222.*"):
        runs.days()


def test_trace_id_contradicting_dotted_order_is_refused(tmp_path):
    files = write_files(
        tmp_path / "day",
        {
            "x.json": {
                "id": CHILD,
                "trace_id": CHILD,
                "dotted_order": f"20250906T235958123000Z{ROOT}",
            }
        },
    )
    runs = LegacyRuns()
    runs.add_directory(files)
    with pytest.raises(LegacyFormatError, match="contradicts itself"):
        runs.days()


def test_a_run_without_start_time_or_dotted_order_is_refused(tmp_path):
    runs = LegacyRuns()
    runs.add_directory(write_files(tmp_path / "day", {"r.json": {"id": ROOT}}))
    with pytest.raises(
        LegacyFormatError, match=r"r.json: run 1111.* neither dotted_order nor start_time"
    ):
        runs.days()


def test_a_file_that_is_not_json_is_refused_by_name(tmp_path):
    path = tmp_path / "old.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "hello")
    with pytest.raises(LegacyFormatError, match=r"old.zip:notes.txt: not a JSON run file"):
        LegacyRuns().add_zip(path)


def test_predecessor_zips_convert_back_to_the_runs_of_each_root_day(tmp_path):
    project, day = "proj-a", date(2025, 9, 13)
    zips, shapes = predecessor_zips(project, [day, date(2025, 9, 14)], tmp_path, "proja")
    runs = LegacyRuns()
    for path in zips.values():
        runs.add_zip(path)

    expected = {run["id"]: run for run in sample_runs(project, day)}
    converted = {run["id"]: run for run in runs.runs_for(day)}

    assert set(converted) == set(expected)  # including children that started on the 14th
    for run_id, run in converted.items():
        want = dict(expected[run_id])
        if shapes[run_id] == "wrapped":
            want.pop("feedback_records")
        assert run == want
    report = runs.report(day)
    assert report.duplicates_dropped == 1 and report.derived["dotted_order"] > 0
    assert set(report.shapes) == set(legacy.SHAPES)
    assert report.summaries[0]["results"]["successful_saves"] > 0
    # The old wrapper had no feedback records: counted so the report says what is missing.
    wrapped = sum(1 for run_id in converted if shapes[run_id] == "wrapped")
    assert report.runs_without_feedback_records == wrapped > 0
    # The 13th's zip holds late children of the 12th's traces: placed when they carry a
    # dotted order, unplaced (their parents are in the 12th's zip, not read) otherwise.
    assert runs.days()[date(2025, 9, 12)] > 0
    assert runs.unplaced()
    assert all(origin.startswith("proja_2025-09-13.zip:") for origin in runs.unplaced())


def test_an_unreadable_summary_is_reported_as_such_and_the_runs_still_read(tmp_path):
    path = tmp_path / "old.zip"
    run = {"id": ROOT, "trace_id": ROOT, "dotted_order": f"20250913T080000000000Z{ROOT}"}
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("_summary.json", b'{"results": {"total_tr')  # truncated
        archive.writestr(f"{ROOT}.json", json.dumps({**run, "start_time": "2025-09-13 08:00:00"}))
    runs = LegacyRuns()
    runs.add_zip(path)

    assert [r["id"] for r in runs.runs_for(date(2025, 9, 13))] == [ROOT]
    assert runs.report(date(2025, 9, 13)).summaries == [{"unreadable": True}]
