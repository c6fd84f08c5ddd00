"""The pure decisions, pinned where mutation testing showed no fast test noticed a change:
verify's counts and kinds, the zip's entry attributes and summary, the NUL rule's "changed"
flag, value equality across types, the alert tick's counters, and the retention alarm's
words. Fast: no Postgres, no Dagster run."""

import zipfile
from datetime import date

import pytest

from lse_assets.core import archive, jsondoc, retention, runfiles, verify
from lse_assets.core.alerting import AlertCursor, Candidate, CheckFailure, run_tick
from lse_assets.core.partition import Partition, PartitionStatus
from lse_assets.core.runfiles import PartitionPaths
from lse_assets.settings import Settings
from resources.langsmith.sample import SampleLangSmithResource

DAY = date(2025, 9, 13)


def _doc(run_id: str, trace: str = "t1", **extra) -> bytes:
    return jsondoc.canonical_bytes({"id": run_id, "trace_id": trace, **extra})


# --- verify -----------------------------------------------------------------------------


def test_verify_counts_every_file_and_row_and_names_its_kinds():
    files = [("a", _doc("a")), ("b", _doc("b")), ("c", _doc("c"))]
    rows = [("b", "t1", {"id": "b", "trace_id": "t1"}), ("d", "t1", {"id": "d"})]

    report = verify.compare(files, rows)

    assert (report.files, report.rows) == (3, 2)
    assert list(report.kinds()) == [
        "missing_in_db",
        "missing_in_files",
        "differing",
        "traces_missing_in_db",
        "traces_missing_in_files",
        "normalized",
        "unreadable",
    ]
    assert report.missing_in_db.sample == ["a", "c"] and report.missing_in_files.sample == ["d"]
    assert not report.consistent


def test_a_file_that_is_not_json_differs_and_is_not_counted_as_normalized():
    report = verify.compare([("a", b"{not json\n")], [("a", "t1", {"id": "a"})])

    assert report.differing.sample == ["a"]
    assert report.normalized.count == 0
    assert (report.files, report.rows) == (1, 1)


# --- archive ----------------------------------------------------------------------------


def _partition(root) -> PartitionPaths:
    paths = PartitionPaths(root, "p", DAY)
    runfiles.write_partition(paths, SampleLangSmithResource().fetch_day("p", DAY).runs, {})
    return paths


def test_the_zip_summary_and_every_entrys_attributes(tmp_path):
    paths = _partition(tmp_path)

    info = archive.build_archive(paths)

    names = ["manifest.json", *(f"runs/{p.name}" for p in sorted(paths.runs_dir.iterdir()))]
    assert info.files == len(names)
    assert info.bytes == paths.zip_path.stat().st_size
    assert info.md5 == archive.file_md5(paths.zip_path)
    with zipfile.ZipFile(paths.zip_path) as zipped:
        assert zipped.namelist() == names
        for entry in zipped.infolist():
            assert entry.external_attr == 0o100644 << 16
            assert entry.create_system == 3
            assert entry.compress_type == zipfile.ZIP_DEFLATED
    assert [p.name for p in paths.zip_path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_no_zip_at_all_is_named_as_missing(tmp_path):
    paths = _partition(tmp_path)

    assert archive.archive_differences(paths) == {"missing_zip": [str(paths.zip_path)]}


# --- jsondoc ----------------------------------------------------------------------------


def test_the_nul_rule_reports_no_change_when_there_is_no_nul():
    plain = {"a": ["x", {"k": "v"}], "n": 1}
    assert jsondoc.replace_nul(plain) == (plain, False)
    assert jsondoc.replace_nul({"k": "v"})[1] is False
    assert jsondoc.replace_nul(["x", 1])[1] is False
    # An escaped-looking sequence that is not a NUL: parsed, still no change.
    raw = jsondoc.canonical_bytes({"t": "\\u0000", "u": "\x01"})
    assert jsondoc.database_form(raw)[1] is False
    assert jsondoc.database_bytes(raw) == (raw, False)


def test_values_of_different_types_are_different_documents():
    same = jsondoc.same_document
    assert not same({"a": 1}, {"a": "1"})
    assert not same({"a": "1"}, {"a": 1})
    assert not same({"a": [1]}, {"a": {"0": 1}})
    assert not same({"a": {"0": 1}}, {"a": [1]})
    assert not same([1, 2], [1, 2, 3])
    assert not same([1e300], [1e300, 2])
    assert not same(["x"], ["y"])
    assert not same([None], [0])
    assert same([1e300, "x", None], [10**300, "x", None])
    assert same({"n": 1e300, "s": "x"}, {"n": 10**300, "s": "x"})
    assert same([2], [2.0]) and same([10**20], [1e20])


# --- alert tick ---------------------------------------------------------------------------


def _failure(name: str) -> CheckFailure:
    return CheckFailure("db_runs", name, "p", "ERROR", {}, {}, "run")


def test_the_tick_counts_what_it_sent_and_skips_what_was_sent_before():
    sent: list[CheckFailure] = []
    records = [
        Candidate(1, failure=_failure("c1")),
        Candidate(2, failure=_failure("c2")),
        Candidate(3, failure=_failure("c3")),
    ]
    # 1 is settled, 2 was sent on a tick whose watermark was held: only 3 is new.
    outcome = run_tick(AlertCursor(settled_through=1, sent=frozenset({2})), records, sent.append)

    assert [f.check for f in sent] == ["c3"] and outcome.sent == 1
    assert outcome.cursor == AlertCursor(settled_through=3)

    fresh: list[CheckFailure] = []
    assert run_tick(AlertCursor(), records, fresh.append).sent == 3


# --- retention ----------------------------------------------------------------------------

SETTINGS = Settings(
    projects=["a", "b"], start_date=date(2025, 1, 1), retention_days=14, retention_warn_days=10
)
TODAY = date(2025, 9, 20)


def test_watched_partitions_are_each_project_on_each_day():
    watched = retention.watched_partitions(SETTINGS, TODAY)
    assert watched[:2] == [Partition("a", date(2025, 9, 6)), Partition("b", date(2025, 9, 6))]


def test_the_retention_alarm_says_exactly_when_each_day_is_deleted():
    def risk(day: int, project: str, days_left: int) -> retention.AtRisk:
        status = PartitionStatus(Partition(project, date(2025, 9, day)), {"raw_runs": "missing"})
        return retention.AtRisk(status, days_left)

    risks = [risk(8, "a", 2), risk(6, "a", 0), risk(7, "b", 1)]

    text = retention.alarm_message(risks, "http://BOX/")["text"]

    assert text == (
        ":rotating_light: LSE: 3 partition(s) near LangSmith's retention limit are not "
        "safely archived. Materialize them now (UI, or `python3 run.py lse materialize`).\n"
        "• `2025-09-06|a`: not archived, LangSmith deletes it today\n"
        "• `2025-09-07|b`: not archived, LangSmith deletes it in 1 day(s)\n"
        "• `2025-09-08|a`: not archived, LangSmith deletes it in 2 day(s)\n"
        "<http://BOX/assets/raw_runs?view=partitions|Open raw_runs partitions>"
    )
    assert "\n<" not in retention.alarm_message(risks, None)["text"]


# --- completeness, runfiles, more jsondoc ---------------------------------------------------


def test_the_completeness_summary_says_what_and_what_to_do():
    from lse_assets.core.completeness import CompletenessReport

    report = CompletenessReport()
    report.found["missing_files"].add("r1")
    report.found["missing_files"].add("r2")
    report.found["pending_runs"].add("r3")
    assert report.summary() == (
        "2 missing files, 1 pending runs: re-materialize raw_runs for this partition"
    )
    warning_only = CompletenessReport(settling=True)
    warning_only.found["pending_runs"].add("r3")
    assert warning_only.summary() == (
        "1 pending runs: not final yet: a later refresh or re-export will complete it"
    )
    warning_only.settling = False
    assert warning_only.summary().startswith("1 pending runs: not ended in LangSmith days later")


def test_run_bytes_are_read_in_id_order_or_the_order_asked(tmp_path):
    paths = _partition(tmp_path)
    ids = runfiles.run_ids_on_disk(paths)

    everything = list(runfiles.iter_run_bytes(paths))
    chosen = list(runfiles.iter_run_bytes(paths, [ids[2], ids[0]]))

    assert [run_id for run_id, _ in everything] == ids
    assert everything[1] == (ids[1], paths.run_file(ids[1]).read_bytes())
    assert chosen == [
        (ids[2], paths.run_file(ids[2]).read_bytes()),
        (ids[0], paths.run_file(ids[0]).read_bytes()),
    ]


def test_manifests_are_the_same_data_whatever_their_source():
    manifest = {"counts": {"runs": 2}, "files": {"a": "1"}, "source": {"fetched_at": "x"}}
    assert runfiles.same_data(manifest, {**manifest, "source": {"fetched_at": "y"}})
    assert not runfiles.same_data(manifest, {**manifest, "files": {"a": "2"}})
    assert not runfiles.same_data({**manifest, "files": {"a": "2"}}, manifest)


def test_bytes_without_any_escape_go_to_the_database_unchanged():
    raw = b'{"a":1}\n'
    assert jsondoc.database_bytes(raw) == (raw, False)
    assert jsondoc.database_form(raw) == ({"a": 1}, False)


def test_a_list_is_never_the_same_as_a_string_or_a_dict():
    assert not jsondoc.same_document({"a": ["a", "b"]}, {"a": "ab"})
    assert not jsondoc.same_document({"a": "ab"}, {"a": ["a", "b"]})


def test_entries_are_deflated_at_level_6_so_old_archives_keep_their_md5(tmp_path):
    # The md5 on Drive decides "unchanged": the level is part of the zip's promise.
    import struct
    import zlib

    paths = _partition(tmp_path)
    archive.build_archive(paths)
    with open(paths.zip_path, "rb") as raw, zipfile.ZipFile(paths.zip_path) as zipped:
        for entry in zipped.infolist()[:5]:
            raw.seek(entry.header_offset)
            header = raw.read(30)
            name_length, extra_length = struct.unpack("<HH", header[26:30])
            raw.seek(entry.header_offset + 30 + name_length + extra_length)
            stored = raw.read(entry.compress_size)
            deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
            expected = deflate.compress(zipped.read(entry)) + deflate.flush()
            assert stored == expected, entry.filename


def test_manifest_counts_round_the_cost_to_six_decimals():
    stats = runfiles.PartitionStats(runs=2, total_cost=0.1 + 0.2 + 0.00000049)
    counts = stats.counts()
    assert counts["total_cost"] == 0.3 and counts["runs"] == 2
    assert "unchanged" not in counts
    assert runfiles.PartitionStats(total_cost=1.2345675).counts()["total_cost"] == 1.234568


def test_the_day_window_is_the_utc_day():
    assert runfiles.day_window(DAY) == {
        "root_start_min": "2025-09-13T00:00:00Z",
        "root_start_max_exclusive": "2025-09-14T00:00:00Z",
    }


def test_a_partition_never_fetched_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError) as missing:
        runfiles.read_manifest(PartitionPaths(tmp_path, "p", DAY))
    assert "no run files for 'p' on 2025-09-13" in str(missing.value)
    assert str(missing.value).endswith("materialize raw_runs for this partition first")
