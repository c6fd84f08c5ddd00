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


def test_a_row_whose_boolean_became_a_number_differs_from_its_file():
    # Python holds True == 1 and False == 0.0; JSON does not: a row that says 1 where its
    # file says true is a changed copy. An integer written as 1.0 is the same number.
    files = [
        _run("a", "t1", ok=True),
        _run("b", "t1", flags=[False, 2]),
        _run("c", "t1", n=1, big=2**70),
        _run("d", "t1", n=1),
    ]
    rows = [
        _row(_run("a", "t1", ok=1)),
        _row(_run("b", "t1", flags=[0.0, 2])),
        _row(_run("c", "t1", n=True, big=2**70)),
        _row(_run("d", "t1", n=1.0)),
    ]
    report = verify.compare(map(_file, files), rows)
    assert report.differing.sample == ["a", "b", "c"]


def test_a_partition_without_files_reports_every_row_missing_in_files():
    rows = [_run("a", "t1"), _run("b", "t1")]
    report = verify.compare(iter([]), map(_row, rows))
    assert (report.files, report.rows) == (0, 2)
    assert report.missing_in_files.sample == ["a", "b"]
    assert report.traces_missing_in_files.sample == ["t1"]


def _hostile_sides() -> tuple[list[tuple[str, bytes]], list[tuple[str, str, object]]]:
    """Files and rows where the fast path (a file that is its row's encoding) and the
    parsed comparison both have work: equal, different, normalized, unreadable, and trace
    ids that the row's column and the document spell differently."""
    same = [
        _run("a1", "t1", text='é ✓ \U0001f600 \\ " \n'),
        _run("a2", "t1", cost=9.48e-05, big=2**70, neg=-(2**63)),
        _run("a3", "t2", out="x\x00y", nested={"k\x00": [None, True, 1.5]}),
        _run("a4", "t3", start="2025-09-13T10:00:00", end="2025-09-13T10:00:00+02:00"),
        {"id": "a5", "name": "no trace id"},
    ]
    files = [_file(run) for run in same]
    rows: list[tuple[str, str, object]] = [_row(run) for run in same[:4]]
    rows.append(("a5", "t5", json.loads(files[4][1])))
    files += [_file(_run("b1", "t6", n=1)), ("b2", b'{"id": "b2", "trace_')]
    rows += [_row(_run("b1", "t6", n=2)), ("b2", "t7", {"id": "b2", "trace_id": "t7"})]
    # The column says T8, the document t8; the file is the document: both ids reported.
    files.append(_file(_run("c1", "t8")))
    rows.append(("c1", "T8", json.loads(_file(_run("c1", "t8"))[1])))
    files.append(_file(_run("c2", 9)))  # a trace id that is a number in both
    rows.append(("c2", "9", {"id": "c2", "trace_id": 9}))
    rows.append(("c3", "t9", jsondoc.Unreadable("bad")))
    # A backslash and the text u0000 in the file: not U+0000, so not the row's U+FFFD.
    files.append(_file(_run("c35", "t1", text="\\u0000")))
    rows.append(("c35", "t1", _run("c35", "t1", text="\ufffd")))
    files.append(_file(_run("c4", "t10")))
    return files, rows


def test_the_fast_path_finds_exactly_what_the_parsed_comparison_finds(monkeypatch):
    files, rows = _hostile_sides()
    fast = verify.compare(iter(files), iter(rows))
    monkeypatch.setattr(jsondoc, "is_encoding_of", lambda raw, document: False)
    parsed = verify.compare(iter(files), iter(rows))
    assert fast == parsed
    assert (fast.files, fast.rows) == (11, 11)
    assert fast.differing.sample == ["b1", "b2", "c35"]
    assert fast.unreadable.sample == ["file b2", "row c3"]
    assert fast.traces_missing_in_db.sample == ["t10", "t8"]
    assert fast.traces_missing_in_files.sample == ["T8", "t5", "t7", "t9"]
    assert fast.normalized.sample == ["a3"]
