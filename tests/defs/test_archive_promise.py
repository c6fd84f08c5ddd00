"""The archive's promise (docs/archive.md) through real Dagster runs and the real Postgres:
a re-fetch never shrinks any of the four copies, and one re-materialization repairs damage."""

import json
import os
import subprocess
import sys
import zipfile
from datetime import date, timedelta

from lse_assets.core.archive import file_md5
from lse_assets.core.runfiles import PartitionPaths
from resources.langsmith.sample import SampleLangSmithResource
from tests.conftest import PROJECT_A
from tests.fakes.helpers import asset_metadata, check_results, local_resources, materialize

DAY = date(2025, 9, 13)


def _ids(**sample) -> set[str]:
    return {run["id"] for run in SampleLangSmithResource(**sample).fetch_day(PROJECT_A, DAY).runs}


def _copies(tmp_path, postgres) -> dict[str, set[str]]:
    """The run ids each of the four copies holds."""
    paths = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)
    stored = tmp_path / "drive" / PROJECT_A / paths.zip_name

    def in_zip(path):
        with zipfile.ZipFile(path) as archive:
            return {n[5:-5] for n in archive.namelist() if n.startswith("runs/")}

    return {
        "files": {p.stem for p in paths.runs_dir.iterdir()},
        "zip": in_zip(paths.zip_path),
        "drive": in_zip(stored),
        "db": {
            str(r[0])
            for r in postgres.execute("SELECT run_id FROM runs WHERE project = :p", p=PROJECT_A)
        },
    }


def _all_passed(result) -> bool:
    return result.success and all(c.passed for c in check_results(result).values())


def test_refetch_after_base_tier_traces_dropped_keeps_every_run_and_merges_new_feedback(
    tmp_path, postgres
):
    assert _all_passed(materialize(PROJECT_A, DAY, local_resources(tmp_path, postgres)))
    archived = _ids()
    later = SampleLangSmithResource(retention="base_dropped", late_feedback=True)
    returned = _ids(retention="base_dropped")
    assert 0 < len(returned) < len(archived)

    result = materialize(PROJECT_A, DAY, local_resources(tmp_path, postgres, later))

    assert _all_passed(result)
    assert all(ids == archived for ids in _copies(tmp_path, postgres).values())
    paths = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)
    manifest = json.loads(paths.manifest.read_text())
    assert set(manifest["vanished"]) == archived - returned
    assert asset_metadata(result, "raw_runs")["vanished_runs"] == len(archived - returned)
    roots = [
        rid for rid in returned if json.loads(paths.run_file(rid).read_text())["trace_id"] == rid
    ]
    keys_on_disk = {
        record["key"]
        for rid in roots
        for record in json.loads(paths.run_file(rid).read_text())["feedback_records"]
    }
    late_in_db = postgres.execute(
        "SELECT count(*) FROM runs, jsonb_array_elements(data->'feedback_records') f"
        " WHERE f->>'key' = 'late_review'"
    )[0][0]
    assert "late_review" in keys_on_disk and late_in_db == len(roots) > 0
    assert asset_metadata(result, "drive_archive")["action"] == "updated"


def test_refetch_after_the_whole_day_dropped_keeps_the_day(tmp_path, postgres):
    assert _all_passed(materialize(PROJECT_A, DAY, local_resources(tmp_path, postgres)))
    paths = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)
    archived = _ids()
    gone = SampleLangSmithResource(retention="all_dropped")

    result = materialize(PROJECT_A, DAY, local_resources(tmp_path, postgres, gone))
    again = materialize(PROJECT_A, DAY, local_resources(tmp_path, postgres, gone))

    assert _all_passed(result) and _all_passed(again)
    assert all(ids == archived for ids in _copies(tmp_path, postgres).values())
    manifest = json.loads(paths.manifest.read_text())
    assert set(manifest["vanished"]) == archived
    assert asset_metadata(again, "raw_runs")["unchanged"] is True  # "since" stays as it was
    assert asset_metadata(again, "drive_archive")["action"] == "unchanged"


def test_one_rematerialization_repairs_disk_store_and_table(tmp_path, postgres):
    resources = local_resources(tmp_path, postgres)
    assert _all_passed(materialize(PROJECT_A, DAY, resources))
    paths = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)
    good = {p.name: p.read_bytes() for p in paths.dir.rglob("*") if p.is_file()}
    victims = sorted(paths.runs_dir.iterdir())
    victims[0].unlink()
    victims[1].write_bytes(victims[1].read_bytes()[:20])
    stored = tmp_path / "drive" / PROJECT_A / paths.zip_name
    stored.write_bytes(stored.read_bytes()[:-100])
    damaged_md5 = file_md5(stored)
    postgres.execute(
        "DELETE FROM runs WHERE run_id = (SELECT run_id FROM runs ORDER BY run_id LIMIT 1)"
    )

    result = materialize(PROJECT_A, DAY, resources)

    assert _all_passed(result)
    assert asset_metadata(result, "raw_runs")["unchanged"] is False
    assert {
        p.name: p.read_bytes() for p in paths.dir.rglob("*") if p.is_file()
    }.keys() == good.keys()
    assert {n: b for n, b in ((p.name, p.read_bytes()) for p in paths.runs_dir.iterdir())} == {
        n: b for n, b in good.items() if n != "manifest.json"
    }
    assert file_md5(stored) == file_md5(paths.zip_path) != damaged_md5
    assert asset_metadata(result, "drive_archive")["action"] == "updated"
    assert all(ids == _ids() for ids in _copies(tmp_path, postgres).values())


def test_a_damaged_disk_after_retention_is_repaired_from_the_store(tmp_path, postgres):
    resources = local_resources(tmp_path, postgres)
    assert _all_passed(materialize(PROJECT_A, DAY, resources))
    paths = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)
    archived = _ids()
    for victim in sorted(paths.runs_dir.iterdir())[:30]:
        victim.unlink()
    paths.manifest.unlink()
    paths.zip_path.unlink()
    gone = SampleLangSmithResource(retention="base_dropped")

    result = materialize(PROJECT_A, DAY, local_resources(tmp_path, postgres, gone))

    assert _all_passed(result)
    assert asset_metadata(result, "raw_runs")["recovered_from_archive"] > 0
    assert all(ids == archived for ids in _copies(tmp_path, postgres).values())


def test_two_cli_materializations_of_one_partition_at_once_give_exactly_the_day(
    tmp_path, postgres, postgres_url
):
    env = {
        **os.environ,
        "LSE_HOME": str(tmp_path),
        "LSE_DATABASE_URL": postgres_url,
        "DAGSTER_HOME": str(tmp_path / "dagster"),
    }
    (tmp_path / "dagster").mkdir()
    command = [
        sys.executable, "-m", "dagster", "asset", "materialize", "-m", "lse_assets.definitions",
        "--select", "raw_runs,run_archive,drive_archive,db_runs",
        "--partition", f"{DAY.isoformat()}|{PROJECT_A}",
    ]  # fmt: skip
    # A fresh instance first records the job's snapshots once: two processes creating them
    # at the same moment collide inside Dagster's own run storage, before our code runs.
    warm_up = [*command[:-1], f"{(DAY - timedelta(days=1)).isoformat()}|{PROJECT_A}"]
    subprocess.run(warm_up, env=env, capture_output=True, check=True, timeout=600)
    runs = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=600)[0].decode() for run in runs]
    codes = [run.returncode for run in runs]

    assert 0 in codes, outputs
    paths = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)
    expected = _ids()
    manifest = json.loads(paths.manifest.read_text())
    assert {p.stem for p in paths.runs_dir.iterdir()} == set(manifest["files"]) == expected
    assert manifest["vanished"] == {}
    with zipfile.ZipFile(paths.zip_path) as archive:
        assert len(archive.namelist()) == len(expected) + 1
    assert [p.name for p in paths.project_dir.iterdir() if p.name.startswith(".")] == []
    rows = postgres.execute(
        "SELECT run_id::text FROM runs WHERE project = :p AND run_date = :d", p=PROJECT_A, d=DAY
    )
    assert {row[0] for row in rows} == expected
