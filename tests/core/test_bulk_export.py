"""A partition as Parquet (core/bulk_export.py, core/parquet_verify.py), read back by real
pyarrow and DuckDB: the path, every column, the edges of JSON, and what the check finds."""

import io
import json
import uuid
from datetime import UTC, date, datetime

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lse_assets.core import bulk_export, parquet_verify, runfiles
from lse_assets.core.runfiles import PartitionPaths
from tests.fakes.fake_langsmith import every_field_run

DAY = date(2025, 9, 13)
PROJECT = "proj-a"
PROJECT_ID = "3f0c1f4e-1111-4a4a-8b8b-000000000001"
TENANT_ID = "7a7a7a7a-2222-4b4b-9c9c-000000000002"


def _child(parent: dict, suffix: int, **fields) -> dict:
    run_id = f"{parent['id'][:-2]}{suffix:02d}"
    return {
        **{key: value for key, value in parent.items() if key not in ("feedback_records",)},
        "id": run_id,
        "name": f"child {suffix}",
        "is_root": False,
        "parent_run_ids": [*parent["parent_run_ids"], parent["id"]],
        "dotted_order": f"{parent['dotted_order']}.20250913T123016000000Z{run_id}",
        "feedback_records": [],
        "feedback_stats": {},
        **fields,
    }


def _partition(tmp_path, runs, source=None) -> PartitionPaths:
    paths = PartitionPaths(tmp_path / "data", PROJECT, DAY)
    source = {"kind": "test", "project_id": PROJECT_ID, "tenant_id": TENANT_ID, **(source or {})}
    runfiles.write_partition(paths, iter(runs), source)
    return paths


def _root_and_children():
    root, feedback = every_field_run(PROJECT_ID, DAY)
    root = {**root, "feedback_records": feedback}
    child = _child(root, 1, run_type="TOOL", status="SUCCESS")
    grandchild = _child(child, 2, run_type="LLM", status="PENDING", end_time=None)
    return root, child, grandchild


def _write(paths, **batch_limits) -> tuple[bytes, bulk_export.Export]:
    export = bulk_export.export_of(paths)
    sink = io.BytesIO()
    bulk_export.write(sink, bulk_export.batches(paths, export, **batch_limits), export)
    return sink.getvalue(), export


def _table(data: bytes) -> pa.Table:
    return pq.read_table(io.BytesIO(data))


def test_the_path_is_bulk_exports_hive_layout_under_the_roots_day(tmp_path):
    paths = _partition(tmp_path, _root_and_children())

    export = bulk_export.export_of(paths)

    assert export.relative_path == (
        f"tenant_id={TENANT_ID}/session_id={PROJECT_ID}/resource=runs/"
        "year=2025/month=09/day=13/proj-a_2025-09-13.parquet"
    )


def test_ids_missing_from_the_manifest_come_from_a_run_file_and_never_climb_out(tmp_path):
    root, child, _ = _root_and_children()
    paths = _partition(
        tmp_path, [root, child], source={"project_id": None, "tenant_id": "../../../etc"}
    )

    export = bulk_export.export_of(paths)

    assert export.session_id == PROJECT_ID  # from the run's own project_id
    assert export.tenant_id == bulk_export.UNKNOWN_ID  # not a UUID: never part of a path
    assert ".." not in export.relative_path


def test_every_column_of_a_run_with_every_field(tmp_path):
    root, child, grandchild = _root_and_children()
    paths = _partition(tmp_path, [root, child, grandchild])

    rows = {row["id"]: row for row in _table(_write(paths)[0]).to_pylist()}

    first = rows[root["id"]]
    assert first["tenant_id"] == TENANT_ID and first["session_id"] == PROJECT_ID
    assert first["trace_id"] == root["id"] and first["is_root"] is True
    assert first["parent_run_id"] is None and json.loads(first["parent_run_ids"]) == []
    assert (first["run_type"], first["status"]) == ("llm", "error")
    assert first["start_time"] == datetime(2025, 9, 13, 12, 30, 15, 123456, tzinfo=UTC)
    assert first["end_time"] == datetime(2025, 9, 13, 12, 30, 17, 500000, tzinfo=UTC)
    assert first["first_token_time"] == datetime(2025, 9, 13, 12, 30, 15, 400000, tzinfo=UTC)
    assert json.loads(first["inputs"]) == root["inputs"]  # U+0000 and emoji survive
    assert json.loads(first["outputs"]) == root["outputs"]  # including a 64-bit integer
    assert json.loads(first["tags"]) == ["prod", "ünïcode"]
    # v2 returns metadata beside extra; Bulk Export has it inside.
    assert json.loads(first["extra"]) == {**root["extra"], "metadata": root["metadata"]}
    assert json.loads(first["feedback_stats"]) == root["feedback_stats"]
    assert json.loads(first["feedback"]) == root["feedback_records"]  # full records
    assert (first["total_tokens"], first["prompt_tokens"], first["completion_tokens"]) == (
        1234,
        1000,
        234,
    )
    assert first["total_cost"] == pytest.approx(0.00123456789)
    assert first["name"] == root["name"] and first["error"] == root["error"]
    assert first["reference_example_id"] == root["reference_example_id"]
    assert first["project"] == PROJECT and first["root_day"] == DAY
    assert json.loads(first["child_run_ids"]) == [child["id"]]
    second = rows[child["id"]]
    assert second["parent_run_id"] == root["id"] and second["is_root"] is False
    assert json.loads(second["child_run_ids"]) == [grandchild["id"]]
    third = rows[grandchild["id"]]
    assert third["parent_run_id"] == child["id"]
    assert json.loads(third["parent_run_ids"]) == [root["id"], child["id"]]
    assert third["status"] == "pending" and third["end_time"] is None
    assert json.loads(third["child_run_ids"]) == []


def test_the_schema_readers_see_microsecond_utc_and_zstd(tmp_path):
    data, export = _write(_partition(tmp_path, _root_and_children()))

    parquet = pq.ParquetFile(io.BytesIO(data))

    assert parquet.schema_arrow.field("start_time").type == pa.timestamp("us", tz="UTC")
    assert parquet.schema_arrow.remove_metadata() == bulk_export.SCHEMA
    assert parquet.metadata.row_group(0).column(0).compression == "ZSTD"
    assert export.footer_matches(parquet.schema_arrow.metadata)


def test_nul_unicode_and_big_numbers_reach_duckdb_byte_exact(tmp_path):
    root, child, _ = _root_and_children()
    odd = {
        **child,
        "name": "nul\x00in a name ✓",
        "inputs": {"k\x00ey": "bin\x00ary 😀", "huge": 2**70},
        "total_cost": "0.000000123",
    }
    paths = _partition(tmp_path, [root, odd])
    data, export = _write(paths)
    file = tmp_path / "day.parquet"
    file.write_bytes(data)

    name, inputs, cost = duckdb.sql(
        f"SELECT name, inputs, total_cost FROM read_parquet('{file}') WHERE id = '{odd['id']}'"
    ).fetchall()[0]

    assert name == "nul\x00in a name ✓"
    assert json.loads(inputs) == odd["inputs"]
    assert cost == pytest.approx(1.23e-7)
    with pq.ParquetFile(file) as parquet:
        assert parquet_verify.compare(paths, export, parquet.iter_batches()).consistent


def test_times_without_a_zone_are_utc_and_offsets_are_converted(tmp_path):
    root, child, _ = _root_and_children()
    child = {
        **child,
        "start_time": "2025-09-13T12:30:16.25",
        "end_time": "2025-09-13T14:30:17+02:00",
    }
    rows = {
        row["id"]: row for row in _table(_write(_partition(tmp_path, [root, child]))[0]).to_pylist()
    }

    assert rows[child["id"]]["start_time"] == datetime(2025, 9, 13, 12, 30, 16, 250000, tzinfo=UTC)
    assert rows[child["id"]]["end_time"] == datetime(2025, 9, 13, 12, 30, 17, tzinfo=UTC)


def test_row_groups_are_cut_by_bytes_so_memory_is_one_group(tmp_path):
    root, _, _ = _root_and_children()
    runs = [root] + [_child(root, index) for index in range(1, 60)]
    paths = _partition(tmp_path, runs)

    data, _ = _write(paths, max_bytes=5_000)

    metadata = pq.ParquetFile(io.BytesIO(data)).metadata
    assert metadata.num_rows == 60
    assert metadata.num_row_groups >= 5  # a group closes once it holds 5,000 bytes of text
    assert max(metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)) <= 12


def test_an_empty_day_is_a_file_of_zero_rows_and_compares_as_such(tmp_path):
    paths = _partition(tmp_path, [])
    data, export = _write(paths)

    assert _table(data).num_rows == 0
    report = parquet_verify.compare(paths, export, pq.ParquetFile(io.BytesIO(data)).iter_batches())
    assert report.consistent and (report.files, report.rows, report.compared) == (0, 0, 0)


def test_no_file_is_never_consistent_even_for_an_empty_day(tmp_path):
    paths = _partition(tmp_path, [])
    export = bulk_export.export_of(paths)

    report = parquet_verify.compare(paths, export, None, "s3://bucket/x.parquet")

    assert not report.consistent
    assert report.missing_file.sample == ["s3://bucket/x.parquet"]


def _tampered(data: bytes, change) -> list[pa.RecordBatch]:
    rows = _table(data).to_pylist()
    rows = change(rows)
    return [pa.RecordBatch.from_pylist(rows, schema=bulk_export.SCHEMA)]


def test_the_check_names_each_differing_column_missing_and_extra_row(tmp_path):
    root, child, grandchild = _root_and_children()
    paths = _partition(tmp_path, [root, child, grandchild])
    data, export = _write(paths)
    stranger = str(uuid.UUID(int=2**128 - 1))

    def change(rows):
        rows[0]["outputs"] = rows[0]["outputs"].replace("Sunny", "Rainy")
        rows[0]["feedback"] = '[{"score":1}]'
        del rows[1]
        return [*rows, {**rows[-1], "id": stranger}]

    report = parquet_verify.compare(paths, export, _tampered(data, change))

    assert not report.consistent
    ids = sorted([root["id"], child["id"], grandchild["id"]])
    assert report.differing.sample == [f"{ids[0]}: outputs, feedback"]
    assert report.missing_in_parquet.sample == [ids[1]]
    assert report.missing_in_files.sample == [stranger]
    assert (report.files, report.rows, report.compared) == (3, 3, 2)


def test_rows_out_of_order_or_of_another_schema_are_findings(tmp_path):
    paths = _partition(tmp_path, _root_and_children())
    data, export = _write(paths)

    unsorted = parquet_verify.compare(paths, export, _tampered(data, lambda rows: rows[::-1]))
    other = parquet_verify.compare(
        paths, export, [_table(data).drop_columns(["feedback"]).to_batches()[0]]
    )

    assert not unsorted.consistent and unsorted.unreadable.count == 1
    assert not other.consistent and other.wrong_schema.sample == ["columns feedback"]


def test_a_damaged_page_is_an_unreadable_finding_not_an_exception(tmp_path):
    paths = _partition(tmp_path, _root_and_children())
    data, export = _write(paths)
    # Flip bytes inside the first data page (after the 4-byte magic): page checksums catch it.
    damaged = bytearray(data)
    for offset in range(40, 60):
        damaged[offset] ^= 0xFF

    with pq.ParquetFile(io.BytesIO(bytes(damaged)), page_checksum_verification=True) as parquet:
        report = parquet_verify.compare(paths, export, parquet.iter_batches())

    assert not report.consistent
    assert report.unreadable.count == 1 and report.unreadable.sample[0].startswith("parquet:")


def test_raw_runs_records_the_parent_links_and_the_writer_uses_them_or_reads_the_files(
    tmp_path,
):
    root, child, grandchild = _root_and_children()
    paths = _partition(tmp_path, [root, child, grandchild])
    manifest = runfiles.read_manifest(paths)
    assert manifest["parents"] == {child["id"]: root["id"], grandchild["id"]: child["id"]}
    run_ids = runfiles.run_ids_on_disk(paths)
    from_files = bulk_export.child_index(paths, run_ids)

    assert bulk_export.child_index_from_manifest(manifest, run_ids) == from_files
    links_from_files = _table(_write(paths)[0])  # no verified manifest: links from the files
    export = bulk_export.export_of(paths)
    sink = io.BytesIO()
    bulk_export.write(sink, bulk_export.batches(paths, export, verified_manifest=manifest), export)
    assert _table(sink.getvalue()).equals(links_from_files)


def test_a_manifest_without_fitting_links_falls_back_to_the_files(tmp_path):
    root, child, grandchild = _root_and_children()
    paths = _partition(tmp_path, [root, child, grandchild])
    manifest = runfiles.read_manifest(paths)
    run_ids = runfiles.run_ids_on_disk(paths)

    for parents in (None, {"not-a-run-of-this-day": root["id"]}):
        if parents is None:
            manifest.pop("parents")
        else:
            manifest["parents"] = parents
        paths.manifest.write_bytes(json.dumps(manifest).encode())
        assert bulk_export.child_index_from_manifest(manifest, run_ids) is None


def test_wrong_links_in_the_manifest_are_caught_by_the_check_which_reads_the_files(tmp_path):
    root, child, grandchild = _root_and_children()
    paths = _partition(tmp_path, [root, child, grandchild])
    manifest = runfiles.read_manifest(paths)
    manifest["parents"][grandchild["id"]] = root["id"]  # a stray edit, files untouched
    paths.manifest.write_bytes(json.dumps(manifest).encode())
    export = bulk_export.export_of(paths)
    sink = io.BytesIO()
    bulk_export.write(sink, bulk_export.batches(paths, export, verified_manifest=manifest), export)

    report = parquet_verify.compare(paths, export, _table(sink.getvalue()).to_batches())

    assert not report.consistent
    assert sorted(report.differing.sample) == sorted(
        [f"{root['id']}: child_run_ids", f"{child['id']}: child_run_ids"]
    )


def test_an_integer_beyond_64_bits_is_compact_json_text_like_every_other_value():
    # orjson refuses such an integer, so the standard encoder writes that value: the text
    # must still be the compact form every other row has.
    export = bulk_export.Export(PROJECT, DAY, TENANT_ID, PROJECT_ID, "f.parquet", "digest")
    run = {"id": "r1", "inputs": {"huge": 2**70, "list": [1, 2]}, "outputs": {"list": [1, 2]}}

    row = bulk_export.row_of(run, export, [])

    assert row["inputs"] == '{"huge":1180591620717411303424,"list":[1,2]}'
    assert row["outputs"] == '{"list":[1,2]}'


@pytest.mark.parametrize(
    ("flag", "parents", "is_root"),
    [(None, [], True), (None, ["p1"], False), (False, [], False), (True, ["p1"], True)],
)
def test_langsmiths_own_root_flag_wins_over_the_parent_links(flag, parents, is_root):
    export = bulk_export.Export(PROJECT, DAY, TENANT_ID, PROJECT_ID, "f.parquet", "digest")
    run = {"id": "r1", "parent_run_ids": parents} | ({} if flag is None else {"is_root": flag})

    assert bulk_export.row_of(run, export, [])["is_root"] is is_root


def test_a_run_file_that_is_not_json_is_named_in_the_unreadable_finding(tmp_path):
    paths = _partition(tmp_path, _root_and_children())
    data, export = _write(paths)
    victim = sorted(paths.runs_dir.glob("*.json"))[1]
    victim.write_bytes(b"{not json")

    report = parquet_verify.compare(paths, export, _table(data).to_batches())

    assert not report.consistent
    (finding,) = report.unreadable.sample
    assert finding.startswith(f"files: run file {victim.name} is not readable JSON: ")


@pytest.mark.parametrize("document", [b"[1, 2]", b'"a run"', b"null"])
def test_a_run_file_that_is_json_but_no_object_is_named_not_a_crash(tmp_path, document):
    paths = _partition(tmp_path, _root_and_children())
    data, export = _write(paths)
    victim = sorted(paths.runs_dir.glob("*.json"))[1]
    victim.write_bytes(document)

    report = parquet_verify.compare(paths, export, _table(data).to_batches())
    with pytest.raises(bulk_export.BulkExportError, match=f"^run file {victim.name} is not"):
        _write(paths)

    assert not report.consistent
    assert report.unreadable.sample == [f"files: run file {victim.name} is not a JSON object"]
