"""JSON nested deeper than the parsers allow is an `unreadable` finding of the checks (real
Dagster check runs, real Postgres), on the file side and on the database side: never a crash."""

from datetime import date

import pytest

from lse_assets.core import jsondoc, verify
from lse_assets.core.runfiles import PartitionPaths
from tests.conftest import PROJECT_A
from tests.fakes.helpers import check_results, local_resources, materialize

DAY = date(2025, 9, 13)
DEPTH = 5000


def _deep(depth: int = DEPTH) -> str:
    return "[" * depth + "]" * depth


def test_parse_refuses_too_deep_json_as_a_value_error():
    with pytest.raises(jsondoc.TooDeepError, match="nested deeper"):
        jsondoc.parse(_deep())
    assert isinstance(jsondoc.parse_or_unreadable(_deep()), jsondoc.Unreadable)
    assert jsondoc.parse("[[1]]") == [[1]]


def test_verify_reports_unreadable_files_and_rows():
    files = [("a", b'{"id": "a", "trace_id": "a"}\n'), ("b", _deep().encode())]
    rows = [("a", "a", jsondoc.Unreadable("deep")), ("b", "b", {"id": "b", "trace_id": "b"})]
    report = verify.compare(files, rows)
    assert report.unreadable.sample == ["row a", "file b"]
    assert report.differing.count == 2 and not report.consistent


@pytest.fixture
def archived(tmp_path, postgres):
    resources = local_resources(tmp_path, postgres)
    assert materialize(PROJECT_A, DAY, resources).success
    paths = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)
    victim = sorted(paths.runs_dir.iterdir())[0]
    return resources, paths, victim


def test_a_too_deep_run_file_is_unreadable_in_both_file_checks(archived):
    resources, _, victim = archived
    document = victim.read_text()
    victim.write_text(document.rstrip("}\n") + ',"deep":' + _deep() + "}\n")

    checks = check_results(materialize(PROJECT_A, DAY, resources, only_checks=True))

    complete = checks["runs_complete"]
    assert not complete.passed
    assert complete.metadata["unreadable_files"].value == 1
    assert complete.metadata["unreadable_files_sample"].value == [victim.name]
    matches = checks["files_match_db"]
    assert not matches.passed
    assert matches.metadata["unreadable"].value == 1
    assert matches.metadata["unreadable_sample"].value == [f"file {victim.stem}"]


def test_a_too_deep_row_is_unreadable_in_files_match_db(archived, postgres):
    resources, _, victim = archived
    postgres.execute(
        "UPDATE runs SET data = jsonb_set(data, '{deep}', CAST(:deep AS jsonb))"
        " WHERE run_id = CAST(:id AS uuid)",
        deep=_deep(),
        id=victim.stem,
    )

    checks = check_results(materialize(PROJECT_A, DAY, resources, only_checks=True))

    matches = checks["files_match_db"]
    assert not matches.passed
    assert matches.metadata["unreadable"].value == 1
    assert matches.metadata["unreadable_sample"].value == [f"row {victim.stem}"]
    assert checks["runs_complete"].passed
