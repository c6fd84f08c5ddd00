"""End to end through real Dagster materializations, the sample twin and the embedded Postgres."""

import json
from datetime import date

import sqlalchemy as sa

from lse_assets.core.runfiles import PartitionPaths
from resources.langsmith.sample import SampleLangSmithResource
from tests.conftest import PROJECT_A, PROJECT_B
from tests.fakes.helpers import asset_metadata, check_results, local_resources, materialize

DAY = date(2025, 9, 13)


def test_all_five_assets_and_checks_succeed(tmp_path, postgres):
    result = materialize(PROJECT_A, DAY, local_resources(tmp_path, postgres))

    assert result.success
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {"raw_runs", "run_archive", "drive_archive", "db_runs", "parquet_runs"}
    assert len(check_results(result)) == 5
    assert all(evaluation.passed for evaluation in check_results(result).values())
    paths = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)
    files = sorted(paths.runs_dir.iterdir())
    rows = postgres.execute("SELECT count(*) FROM runs WHERE project = :p", p=PROJECT_A)[0][0]
    assert rows == len(files) > 100
    assert (tmp_path / "drive" / PROJECT_A / paths.zip_name).exists()
    parquet = asset_metadata(result, "parquet_runs")
    assert parquet["rows"] == len(files) and parquet["unchanged"] is False


def test_rematerializing_merges_files_and_rows(tmp_path, postgres):
    first = materialize(PROJECT_A, DAY, local_resources(tmp_path, postgres))
    second = materialize(
        PROJECT_A, DAY, local_resources(tmp_path, postgres, SampleLangSmithResource(variant=1))
    )
    assert first.success and second.success

    paths = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)
    fetched = [
        {run["id"] for run in SampleLangSmithResource(variant=v).fetch_day(PROJECT_A, DAY).runs}
        for v in (0, 1)
    ]
    on_disk = {path.stem for path in paths.runs_dir.iterdir()}
    in_db = {str(row[0]) for row in postgres.execute("SELECT run_id FROM runs")}
    assert on_disk == fetched[0] | fetched[1] == in_db
    manifest = json.loads(paths.manifest.read_text())
    assert set(manifest["files"]) == on_disk
    assert set(manifest["vanished"]) == fetched[0] - fetched[1]
    assert manifest["source"]["variant"] == 1


def test_tampered_row_fails_files_match_db_for_that_partition_only(tmp_path, postgres):
    resources = local_resources(tmp_path, postgres)
    assert materialize(PROJECT_A, DAY, resources).success
    assert materialize(PROJECT_B, DAY, resources).success
    victim = postgres.execute(
        "SELECT run_id::text FROM runs WHERE project = :p LIMIT 1", p=PROJECT_A
    )[0][0]
    postgres.execute(
        "UPDATE runs SET data = jsonb_set(data, '{name}', '\"tampered\"') WHERE run_id = :id",
        id=victim,
    )

    tampered = check_results(materialize(PROJECT_A, DAY, resources, only_checks=True))
    healthy = check_results(materialize(PROJECT_B, DAY, resources, only_checks=True))

    assert not tampered["files_match_db"].passed
    assert tampered["files_match_db"].metadata["differing"].value == 1
    assert tampered["files_match_db"].metadata["differing_sample"].value == [victim]
    assert healthy["files_match_db"].passed


def test_deleted_file_fails_files_match_db_and_names_the_run(tmp_path, postgres):
    resources = local_resources(tmp_path, postgres)
    assert materialize(PROJECT_A, DAY, resources).success
    paths = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)
    victim = sorted(paths.runs_dir.iterdir())[3]
    victim.unlink()

    check = check_results(materialize(PROJECT_A, DAY, resources, only_checks=True))[
        "files_match_db"
    ]

    assert not check.passed
    assert check.metadata["missing_in_files"].value == 1
    assert check.metadata["missing_in_files_sample"].value == [victim.stem]


def test_database_rejects_a_row_that_disagrees_with_its_json(tmp_path, postgres):
    assert materialize(PROJECT_A, DAY, local_resources(tmp_path, postgres)).success
    run_id = postgres.execute("SELECT run_id::text FROM runs LIMIT 1")[0][0]
    for statement, refusal in (
        # trace_id is generated from the document: it cannot be set to anything else.
        ("UPDATE runs SET trace_id = gen_random_uuid() WHERE run_id = :id", "only be updated"),
        ("UPDATE runs SET data = data - 'trace_id' WHERE run_id = :id", "not-null constraint"),
        ("UPDATE runs SET run_date = run_date + 1 WHERE run_id = :id", "check constraint"),
        ("UPDATE runs SET data = data - 'dotted_order' WHERE run_id = :id", "check constraint"),
        ("UPDATE runs SET data = jsonb_set(data, '{id}', 'null') WHERE run_id = :id", "check"),
    ):
        try:
            postgres.execute(statement, id=run_id)
        except sa.exc.DBAPIError as error:
            assert refusal in str(error), str(error)
        else:
            raise AssertionError(f"accepted: {statement}")


def test_reexport_of_an_unchanged_day_writes_nothing(tmp_path, postgres):
    resources = local_resources(tmp_path, postgres)
    assert materialize(PROJECT_A, DAY, resources).success
    zip_path = tmp_path / "drive" / PROJECT_A / PartitionPaths(tmp_path, PROJECT_A, DAY).zip_name
    drive_mtime = zip_path.stat().st_mtime_ns
    loaded = postgres.execute("SELECT run_id, loaded_at FROM runs ORDER BY run_id")

    again = materialize(PROJECT_A, DAY, resources)

    assert again.success
    assert asset_metadata(again, "raw_runs")["unchanged"] is True
    assert asset_metadata(again, "drive_archive")["action"] == "unchanged"
    assert asset_metadata(again, "db_runs")["unchanged"] is True
    assert zip_path.stat().st_mtime_ns == drive_mtime
    assert postgres.execute("SELECT run_id, loaded_at FROM runs ORDER BY run_id") == loaded


def test_reexport_repairs_a_tampered_slice(tmp_path, postgres):
    resources = local_resources(tmp_path, postgres)
    assert materialize(PROJECT_A, DAY, resources).success
    # Same row count, one document differs: only a full comparison can tell.
    postgres.execute(
        "UPDATE runs SET data = jsonb_set(data, '{name}', '\"x\"') WHERE run_id ="
        " (SELECT run_id FROM runs LIMIT 1)"
    )

    again = materialize(PROJECT_A, DAY, resources)

    assert asset_metadata(again, "db_runs")["unchanged"] is False
    assert check_results(again)["files_match_db"].passed
