"""Two faults at once (issue 18): the manifest is unreadable AND no zip copy exists (local
zip gone, the store has none), while LangSmith no longer returns some runs. Real Dagster
materializations, the real Postgres, the local-folder store and Parquet folder: the intact
run files on disk are the archive's evidence and no run leaves any of the five copies."""

import hashlib
import json
import zipfile
from datetime import date

import duckdb
import pytest

from lse_assets.core.runfiles import PartitionPaths
from resources.langsmith.sample import SampleLangSmithResource
from tests.conftest import PROJECT_A
from tests.fakes.helpers import asset_metadata, check_results, local_resources, materialize

DAY = date(2025, 9, 13)


def _ids(**sample) -> set[str]:
    return {run["id"] for run in SampleLangSmithResource(**sample).fetch_day(PROJECT_A, DAY).runs}


def _copies(tmp_path, postgres) -> dict[str, set[str]]:
    """The run ids each of the five copies holds."""
    paths = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)

    def in_zip(path):
        with zipfile.ZipFile(path) as archive:
            return {n[5:-5] for n in archive.namelist() if n.startswith("runs/")}

    parquet = tmp_path / "parquet"
    return {
        "files": {p.stem for p in paths.runs_dir.iterdir()},
        "zip": in_zip(paths.zip_path),
        "store": in_zip(_stored(tmp_path)),
        "db": {
            str(r[0])
            for r in postgres.execute("SELECT run_id FROM runs WHERE project = :p", p=PROJECT_A)
        },
        "parquet": {
            row[0]
            for row in duckdb.sql(
                f"SELECT id FROM read_parquet('{parquet}/**/*.parquet', hive_partitioning = true)"
            ).fetchall()
        },
    }


def _stored(tmp_path):
    return tmp_path / "drive" / PROJECT_A / PartitionPaths(tmp_path, PROJECT_A, DAY).zip_name


def _snapshot(root) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".locks" not in p.parts
    }


@pytest.fixture
def two_faults(tmp_path, postgres):
    """A day archived whole, then its manifest truncated and both zip copies gone."""
    assert materialize(PROJECT_A, DAY, local_resources(tmp_path, postgres)).success
    paths = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)
    paths.manifest.write_bytes(paths.manifest.read_bytes()[:40])
    paths.zip_path.unlink()
    _stored(tmp_path).unlink()
    return paths


def test_intact_run_files_survive_an_unreadable_manifest_without_any_zip(
    tmp_path, postgres, two_faults
):
    paths = two_faults
    archived, returned = _ids(), _ids(retention="base_dropped")
    assert 0 < len(returned) < len(archived)
    bytes_before = {rid: paths.run_file(rid).read_bytes() for rid in archived - returned}
    later = local_resources(tmp_path, postgres, SampleLangSmithResource(retention="base_dropped"))

    result = materialize(PROJECT_A, DAY, later)

    assert result.success
    assert all(check.passed for check in check_results(result).values())
    copies = _copies(tmp_path, postgres)
    assert {name: ids == archived for name, ids in copies.items()} == dict.fromkeys(copies, True)
    metadata = asset_metadata(result, "raw_runs")
    assert metadata["recovered_from_disk"] == len(archived - returned)
    assert metadata["vanished_runs"] == len(archived - returned)
    manifest = json.loads(paths.manifest.read_text())
    assert set(manifest["vanished"]) == archived - returned
    for run_id, data in bytes_before.items():  # kept byte for byte, sha256 from the bytes
        assert paths.run_file(run_id).read_bytes() == data
        assert manifest["files"][run_id] == hashlib.sha256(data).hexdigest()


def test_a_garbage_run_file_fails_the_step_by_name_and_changes_nothing(
    tmp_path, postgres, two_faults
):
    paths = two_faults
    vanished = sorted(_ids() - _ids(retention="base_dropped"))
    victim = paths.run_file(vanished[0])
    victim.write_bytes(b'{"id": "' + vanished[0].encode() + b'", "trunc')
    before = _snapshot(tmp_path / "data"), _snapshot(tmp_path / "drive")
    later = local_resources(tmp_path, postgres, SampleLangSmithResource(retention="base_dropped"))

    result = materialize(PROJECT_A, DAY, later)

    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert failure.step_key == "raw_runs"
    text = str(failure.event_specific_data.error)
    assert str(victim) in text and "nothing was changed" in text
    assert f"--run-id {vanished[0]}" in text and "lse restore --force" in text
    assert "Traceback" not in failure.event_specific_data.error.message
    assert (_snapshot(tmp_path / "data"), _snapshot(tmp_path / "drive")) == before


def test_every_leftover_of_a_killed_writer_is_cleared_and_counted(tmp_path, postgres):
    """One of each temporary name LSE uses for a partition, as a kill -9 leaves it; the
    next materialization (which rewrites every copy: late feedback) clears them all."""
    assert materialize(PROJECT_A, DAY, local_resources(tmp_path, postgres)).success
    paths = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)
    staging = paths.project_dir / f".{DAY}.tmp-{'a' * 32}"
    (staging / "runs").mkdir(parents=True)
    (staging / "runs" / "x.json").write_bytes(b"{}")
    swapped_out = paths.project_dir / f".{DAY}.old-{'b' * 32}"
    (swapped_out / "runs").mkdir(parents=True)
    zip_tmp = paths.project_dir / f"{paths.zip_name}.{'c' * 32}.zip.tmp"
    zip_tmp.write_bytes(b"PK" + bytes(1 << 20))
    partial = _stored(tmp_path).with_name(f"{paths.zip_name}.{'d' * 32}.partial")
    partial.write_bytes(b"PK")
    parquet_file = next((tmp_path / "parquet").rglob("*.parquet"))
    staged = tmp_path / "parquet" / "_lse_staging" / f"{'e' * 32}-{parquet_file.name}.tmp"
    staged.parent.mkdir(parents=True, exist_ok=True)
    staged.write_bytes(b"PAR1")
    planted = [staging, swapped_out, zip_tmp, partial, staged]
    later = local_resources(tmp_path, postgres, SampleLangSmithResource(late_feedback=True))

    result = materialize(PROJECT_A, DAY, later)

    assert result.success
    assert all(check.passed for check in check_results(result).values())
    assert [p for p in planted if p.exists()] == []
    cleared = {
        asset: asset_metadata(result, asset)["leftovers_cleared"]
        for asset in ("raw_runs", "run_archive", "drive_archive", "parquet_runs")
    }
    # raw_runs, the first writer, clears the three kinds in the project folder.
    assert cleared == {"raw_runs": 3, "run_archive": 0, "drive_archive": 1, "parquet_runs": 1}
    assert sorted(p.name for p in paths.project_dir.iterdir()) == sorted([str(DAY), paths.zip_name])
