"""lse_assets.core.completeness names what it finds: the sample of each kind is the file or run
id a human must look at, not just a count (fast, on a written sample partition)."""

import json
from datetime import date

from lse_assets.core import completeness, jsondoc, runfiles
from lse_assets.core.runfiles import PartitionPaths
from resources.langsmith.sample import SampleLangSmithResource

DAY = date(2025, 9, 13)


def _written(tmp_path, runs=None) -> PartitionPaths:
    paths = PartitionPaths(tmp_path, "proj", DAY)
    fetch = SampleLangSmithResource().fetch_day("proj", DAY)
    runfiles.write_partition(paths, runs if runs is not None else fetch.runs, fetch.source)
    return paths


def _samples(paths: PartitionPaths) -> dict[str, list[str]]:
    report = completeness.inspect_partition(paths)
    return {kind: d.sample for kind, d in report.found.items() if d.count}


def test_a_missing_manifest_is_named_by_its_path(tmp_path):
    paths = PartitionPaths(tmp_path, "proj", DAY)
    assert _samples(paths) == {"manifest_missing": [str(paths.manifest)]}


def test_stray_unreadable_and_misnamed_files_are_named(tmp_path):
    paths = _written(tmp_path)
    ids = runfiles.run_ids_on_disk(paths)
    stray = paths.runs_dir / "notes.txt"
    stray.write_text("{}")
    unreadable = paths.run_file(ids[0])
    unreadable.write_bytes(b"{broken")
    misnamed = paths.run_file(ids[1])
    document = json.loads(misnamed.read_bytes())
    document["id"] = ids[2]  # a second copy of another run, under the wrong name
    misnamed.write_bytes(jsondoc.canonical_bytes(document))

    samples = _samples(paths)

    assert samples["unlisted_files"] == ["notes.txt"]
    assert samples["unreadable_files"] == sorted(["notes.txt", unreadable.name])
    assert samples["misnamed_files"] == [misnamed.name]
    assert samples["duplicate_run_ids"] == [ids[2]]


def test_wrong_day_pending_and_v1_parents_are_named(tmp_path):
    runs = list(SampleLangSmithResource().fetch_day("proj", DAY).runs)
    child = next(r for r in runs if r.get("parent_run_ids"))
    other_day = next(r for r in runs if r is not child and not r["is_root"])
    pending = next(r for r in runs if r is not child and r is not other_day and r["is_root"])
    # The v1 shape: only `parent_run_id`, here naming a run that is not in the partition.
    child.pop("parent_run_ids")
    child["parent_run_id"] = "00000000-0000-4000-8000-000000000000"
    other_day.pop("dotted_order")
    pending["end_time"] = None

    samples = _samples(_written(tmp_path, runs))

    assert samples["missing_parents"] == [child["id"]]
    assert samples["wrong_day_runs"] == [other_day["id"]]
    assert samples["pending_runs"] == [pending["id"]]


def test_end_times_with_z_or_a_space_are_read_as_moments():
    assert completeness._moment("2025-09-13T23:00:00Z").isoformat() == "2025-09-13T23:00:00+00:00"
    # A naive time is UTC (LangSmith's v1), an offset converted to UTC.
    assert completeness._moment("2025-09-13 23:00:00").isoformat() == "2025-09-13T23:00:00+00:00"
    assert completeness._moment("2025-09-14T01:00+02:00").isoformat() == "2025-09-13T23:00:00+00:00"
    assert completeness._moment("soon") is None and completeness._moment(None) is None


def test_an_empty_day_is_complete(tmp_path):
    report = completeness.inspect_partition(_written(tmp_path, runs=[]))
    assert report.passed and report.runs == 0


def test_missing_files_and_roots_are_named(tmp_path):
    runs = list(SampleLangSmithResource().fetch_day("proj", DAY).runs)
    root = next(r for r in runs if r["is_root"])
    children = [r for r in runs if r["trace_id"] == root["id"] and r is not root]
    paths = _written(tmp_path, [r for r in runs if r is not root])
    listed = json.loads(paths.manifest.read_bytes())
    listed["files"][root["id"]] = "0" * 64  # listed, never written
    paths.manifest.write_bytes(jsondoc.canonical_bytes(listed))

    samples = _samples(paths)

    assert samples["missing_files"] == [f"{root['id']}.json"]
    assert samples["missing_roots"] == sorted(r["id"] for r in children)[:20]


def test_a_root_ending_exactly_at_the_window_end_is_not_late(tmp_path):
    runs = list(SampleLangSmithResource().fetch_day("proj", DAY).runs)
    roots = sorted((r for r in runs if r["is_root"]), key=lambda r: r["id"])
    roots[0]["end_time"] = "2025-09-13T23:00:00"
    roots[1]["end_time"] = "2025-09-13T23:00:01"
    for late in roots[2:]:
        late["end_time"] = "2025-09-13T22:00:00"
    paths = PartitionPaths(tmp_path, "proj", DAY)
    runfiles.write_partition(paths, runs, {"query": {"max_start_time": "2025-09-13T23:00:00Z"}})

    assert _samples(paths).get("roots_ending_after_window") == [roots[1]["id"]]
