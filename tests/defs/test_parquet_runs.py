"""parquet_runs and parquet_matches_files through real Dagster materializations: unchanged
days left alone, damaged or tampered copies found and rewritten, damaged run files never
copied, removal and new data reaching the Parquet file."""

import threading
from datetime import date

import dagster as dg
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lse_assets.core import bulk_export, parquet_publish
from lse_assets.core.errors import PermanentError
from lse_assets.core.runfiles import PartitionPaths
from resources.langsmith.sample import SampleLangSmithResource
from resources.object_store.resource import ParquetStoreResource
from tests.conftest import PROJECT_A
from tests.fakes.helpers import asset_metadata, check_results, local_resources, materialize
from tests.fakes.s3_server import KEY_ID, SECRET, duckdb_connection

DAY = date(2025, 9, 13)


def _paths(tmp_path) -> PartitionPaths:
    return PartitionPaths(tmp_path / "data", PROJECT_A, DAY)


def _parquet_file(tmp_path):
    return tmp_path / "parquet" / bulk_export.export_of(_paths(tmp_path)).relative_path


def _archived(tmp_path, postgres, **sample):
    result = materialize(
        PROJECT_A, DAY, local_resources(tmp_path, postgres, SampleLangSmithResource(**sample))
    )
    assert result.success
    return result


def _ids_in_parquet(tmp_path) -> set[str]:
    return {
        row[0]
        for row in duckdb.sql(
            f"SELECT id FROM read_parquet('{tmp_path / 'parquet'}/**/*.parquet', "
            "hive_partitioning = true)"
        ).fetchall()
    }


def test_a_second_materialization_of_an_unchanged_day_leaves_the_file_alone(tmp_path, postgres):
    first = _archived(tmp_path, postgres)
    file = _parquet_file(tmp_path)
    before = (file.read_bytes(), file.stat().st_mtime_ns)

    second = _archived(tmp_path, postgres)

    assert asset_metadata(first, "parquet_runs")["unchanged"] is False
    written = asset_metadata(second, "parquet_runs")
    assert written["unchanged"] is True and written["rows"] == len(_ids_in_parquet(tmp_path))
    assert (file.read_bytes(), file.stat().st_mtime_ns) == before
    check = check_results(second)["parquet_matches_files"]
    assert check.passed and check.metadata["compared"].value == written["rows"] > 100


def test_new_data_rewrites_the_file_and_keeps_runs_langsmith_no_longer_returns(tmp_path, postgres):
    _archived(tmp_path, postgres)
    before = _ids_in_parquet(tmp_path)

    second = _archived(tmp_path, postgres, variant=1)

    after = _ids_in_parquet(tmp_path)
    assert asset_metadata(second, "parquet_runs")["unchanged"] is False
    assert before < after  # the first fetch's runs are kept; the second's are added
    assert check_results(second)["parquet_matches_files"].passed


def _rewrite_rows(file, change) -> None:
    """Tamper with the file the way a stray tool would: same footer, other rows."""
    parquet = pq.ParquetFile(file)
    metadata = parquet.schema_arrow.metadata
    rows = change(parquet.read().to_pylist())
    table = pa.Table.from_pylist(rows, schema=bulk_export.SCHEMA.with_metadata(metadata))
    pq.write_table(table, file)


def test_a_tampered_row_fails_the_check_by_id_and_column_and_is_rewritten(tmp_path, postgres):
    _archived(tmp_path, postgres)
    file = _parquet_file(tmp_path)
    victim: list[str] = []

    def change(rows):
        victim.append(rows[7]["id"])
        rows[7]["inputs"] = rows[7]["inputs"].replace('"', "'")
        return rows

    _rewrite_rows(file, change)

    checked = materialize(PROJECT_A, DAY, local_resources(tmp_path, postgres), only_checks=True)
    check = check_results(checked)["parquet_matches_files"]
    assert not check.passed
    assert check.metadata["differing"].value == 1
    assert check.metadata["differing_sample"].value == [f"{victim[0]}: inputs"]

    # The footer still names the content, but "unchanged" needs every row to agree.
    repaired = _archived(tmp_path, postgres)
    assert asset_metadata(repaired, "parquet_runs")["unchanged"] is False
    assert check_results(repaired)["parquet_matches_files"].passed


def test_a_truncated_file_fails_the_check_and_is_rewritten(tmp_path, postgres):
    _archived(tmp_path, postgres)
    file = _parquet_file(tmp_path)
    file.write_bytes(file.read_bytes()[: file.stat().st_size // 2])

    checked = materialize(PROJECT_A, DAY, local_resources(tmp_path, postgres), only_checks=True)
    check = check_results(checked)["parquet_matches_files"]
    assert not check.passed and check.metadata["unreadable"].value == 1

    repaired = _archived(tmp_path, postgres)
    assert check_results(repaired)["parquet_matches_files"].passed


def test_a_deleted_file_fails_the_check_naming_where_it_should_be(tmp_path, postgres):
    _archived(tmp_path, postgres)
    file = _parquet_file(tmp_path)
    file.unlink()

    checked = materialize(PROJECT_A, DAY, local_resources(tmp_path, postgres), only_checks=True)

    check = check_results(checked)["parquet_matches_files"]
    assert not check.passed
    assert check.metadata["missing_file_sample"].value == [str(file)]


def test_damaged_run_files_are_never_copied_and_the_good_parquet_stays(tmp_path, postgres):
    _archived(tmp_path, postgres)
    file = _parquet_file(tmp_path)
    before = file.read_bytes()
    paths = _paths(tmp_path)
    run_file = sorted(paths.runs_dir.iterdir())[3]
    run_file.write_bytes(run_file.read_bytes().replace(b'"', b"'", 1))

    with pytest.raises(PermanentError, match="materialize raw_runs for this partition first"):
        parquet_publish.publish(paths, ParquetStoreResource(url=str(tmp_path / "parquet")))

    assert file.read_bytes() == before


def test_two_writers_of_one_partition_at_once_leave_one_good_file(tmp_path, postgres):
    _archived(tmp_path, postgres)
    file = _parquet_file(tmp_path)
    file.unlink()  # both must write
    paths, store = _paths(tmp_path), ParquetStoreResource(url=str(tmp_path / "parquet"))
    outcomes: list[object] = []
    start = threading.Barrier(2)

    def publish():
        start.wait()
        outcomes.append(parquet_publish.publish(paths, store))

    threads = [threading.Thread(target=publish) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sorted(outcome.unchanged for outcome in outcomes) == [False, True]  # serialized
    checked = materialize(PROJECT_A, DAY, local_resources(tmp_path, postgres), only_checks=True)
    assert check_results(checked)["parquet_matches_files"].passed
    assert not list((tmp_path / "parquet" / "_lse_staging").iterdir())


def test_to_s3_through_the_production_path_duckdb_reads_it_and_no_key_is_recorded(
    tmp_path, postgres, s3_bucket
):
    url = f"{s3_bucket.url}/warehouse/langsmith"
    resources = {**local_resources(tmp_path, postgres), "parquet": ParquetStoreResource(url=url)}
    instance = dg.DagsterInstance.ephemeral()

    first = materialize(PROJECT_A, DAY, resources, instance=instance)
    second = materialize(PROJECT_A, DAY, resources, instance=instance)

    assert first.success and second.success
    written = asset_metadata(first, "parquet_runs")
    relative = bulk_export.export_of(_paths(tmp_path)).relative_path
    assert written["location"] == f"{url}/{relative}"
    assert asset_metadata(second, "parquet_runs")["unchanged"] is True
    assert check_results(second)["parquet_matches_files"].passed
    connection = duckdb_connection(s3_bucket.emulator)
    rows, roots, day = connection.sql(
        f"SELECT count(*), count(*) FILTER (WHERE is_root), any_value(day) "
        f"FROM read_parquet('{url}/**/*.parquet', hive_partitioning = true)"
    ).fetchall()[0]
    assert rows == written["rows"] == len(list(_paths(tmp_path).runs_dir.iterdir()))
    assert roots > 0 and str(day) in ("13", "2025-09-13")
    stored = s3_bucket.emulator.client().list_objects_v2(Bucket=s3_bucket.name)["Contents"]
    assert [item["Key"] for item in stored] == [f"warehouse/langsmith/{relative}"]
    recorded = repr(list(instance.all_logs(first.run_id))) + repr(
        list(instance.all_logs(second.run_id))
    )
    assert KEY_ID not in recorded and SECRET not in recorded


def test_a_copy_left_under_ids_learned_later_is_removed_so_no_run_counts_twice(tmp_path, postgres):
    _archived(tmp_path, postgres)
    file = _parquet_file(tmp_path)
    relative = file.relative_to(tmp_path / "parquet").as_posix()
    unknown = bulk_export.UNKNOWN_ID
    stale = f"tenant_id={unknown}/session_id={unknown}/" + relative.split("/", 2)[2]
    (tmp_path / "parquet" / stale).parent.mkdir(parents=True)
    (tmp_path / "parquet" / stale).write_bytes(file.read_bytes())  # as an earlier write left it
    assert len(_ids_in_parquet(tmp_path)) < 2 * len(list(_paths(tmp_path).runs_dir.iterdir()))

    again = _archived(tmp_path, postgres)

    assert asset_metadata(again, "parquet_runs")["stale_copies_removed"] == [stale]
    assert not (tmp_path / "parquet" / stale).exists() and file.exists()
    rows = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{tmp_path / 'parquet'}/**/*.parquet')"
    ).fetchall()[0][0]
    assert rows == len(list(_paths(tmp_path).runs_dir.iterdir()))


def test_a_day_whose_parquet_copy_failed_is_no_retention_emergency(
    tmp_path, postgres, instance, receiver
):
    from lse_assets.defs.sensors.retention_alarm import build_retention_alarm
    from lse_assets.settings import Settings
    from resources.notifier import WebhookNotifier

    day = date(2025, 9, 8)  # 12 days old on 2025-09-20: watched by the alarm
    (tmp_path / "not-a-folder").write_text("")
    broken = {
        **local_resources(tmp_path, postgres),
        "parquet": ParquetStoreResource(url=str(tmp_path / "not-a-folder")),
    }
    result = materialize(PROJECT_A, day, broken, instance=instance)
    assert not result.success  # parquet_runs failed; the four full copies are good
    sensor = build_retention_alarm(
        Settings(projects=[PROJECT_A], start_date=day), None, today=lambda: date(2025, 9, 20)
    )
    context = dg.build_sensor_context(
        instance=instance,
        resources={"notifier": WebhookNotifier(webhook_url=receiver.url, attempts=1)},
    )

    tick = sensor.evaluate_tick(context)

    [message] = receiver.messages  # the days never archived, not the one that is
    assert "2025-09-09" in message["text"] and "2025-09-08" not in message["text"]
    assert "2 partition(s) at risk" in tick.skip_message
