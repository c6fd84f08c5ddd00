"""The files-versus-rows merge: every kind of discrepancy, counted and sampled."""

import json

from lse_assets.core import jsondoc, verify


def _run(run_id: str, trace_id: str, **extra) -> dict:
    return {"id": run_id, "trace_id": trace_id, **extra}


def _file(run: dict) -> tuple[str, bytes]:
    return run["id"], jsondoc.canonical_bytes(run)


def _row(run: dict) -> tuple[str, str, dict]:
    return run["id"], run["trace_id"], json.loads(json.dumps(run).replace("\\u0000", "\ufffd"))


def test_matching_sides_are_consistent_and_nul_runs_are_counted_as_normalized():
    runs = [_run("a", "t1"), _run("b", "t1", out="x\x00y"), _run("c", "t2")]
    report = verify.compare(map(_file, runs), map(_row, runs))
    assert report.consistent
    assert (report.files, report.rows) == (3, 3)
    assert report.normalized.count == 1 and report.normalized.sample == ["b"]


def test_each_kind_of_discrepancy_is_reported_with_its_ids():
    files = [_run("a", "t1"), _run("b", "t2"), _run("c", "t3", n=1), _run("e", "t5")]
    rows = [_run("a", "t1"), _run("c", "t3", n=2), _run("d", "t4"), _run("e", "t5")]
    broken = ("e", b'{"id": "e", "trace_')  # a file that is not JSON any more

    report = verify.compare([*map(_file, files[:3]), broken], map(_row, rows))

    assert not report.consistent
    assert report.missing_in_db.sample == ["b"]
    assert report.missing_in_files.sample == ["d"]
    assert report.differing.sample == ["c", "e"]
    assert report.traces_missing_in_db.sample == ["t2"]
    assert report.traces_missing_in_files.sample == ["t4", "t5"]


def test_samples_stop_at_twenty_but_counts_do_not():
    runs = [_run(f"{n:03d}", f"t{n}") for n in range(50)]
    report = verify.compare(map(_file, runs), iter([]))
    assert report.missing_in_db.count == 50
    assert report.missing_in_db.sample == [f"{n:03d}" for n in range(20)]


def test_files_the_fast_path_cannot_prove_are_compared_as_values():
    # orjson writes 1e-05 as 0.00001 and refuses integers beyond 64 bits: these files are
    # not their row's orjson encoding, yet equal to it; one of them also differs.
    runs = [_run("a", "t1", cost=1e-05), _run("b", "t1", n=2**70), _run("c", "t2", cost=2e-05)]
    rows = [_row(runs[0]), _row(runs[1]), _row({**runs[2], "cost": 3e-05})]
    report = verify.compare(map(_file, runs), rows)
    assert report.differing.sample == ["c"]
    assert report.files == report.rows == 3
    assert report.traces_missing_in_db.count == report.traces_missing_in_files.count == 0


def test_a_partition_without_files_reports_every_row_missing_in_files():
    rows = [_run("a", "t1"), _run("b", "t1")]
    report = verify.compare(iter([]), map(_row, rows))
    assert (report.files, report.rows) == (0, 2)
    assert report.missing_in_files.sample == ["a", "b"]
    assert report.traces_missing_in_files.sample == ["t1"]
