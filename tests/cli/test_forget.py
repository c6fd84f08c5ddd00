"""`lse forget` end to end: real Dagster runs, the real Postgres, the real Drive client
against the fake Drive (with revisions), the Parquet copy read by DuckDB and pyarrow, and
the `lse` command itself."""

import json
import os
import subprocess
import sys
import zipfile
from datetime import date

import duckdb
import pyarrow.parquet as pq
import pytest

from lse_assets.cli.forget import DRY_RUN_CAPTION
from lse_assets.core import bulk_export, forget, tombstones
from lse_assets.core.runfiles import PartitionPaths
from resources.langsmith.sample import SampleLangSmithResource
from tests.conftest import PROJECT_A
from tests.fakes.fake_drive import FakeDrive
from tests.fakes.fake_drive_auth import authorized_user_file, drive_resource
from tests.fakes.helpers import asset_metadata, check_results, local_resources, materialize

DAY = date(2025, 9, 13)


@pytest.fixture
def fake():
    with FakeDrive() as drive:
        yield drive


def _all_passed(result) -> bool:
    return result.success and all(c.passed for c in check_results(result).values())


def _victims(paths: PartitionPaths) -> tuple[str, str, set[str]]:
    """A trace to forget, a run with children in another trace, and what both remove."""
    runs = [json.loads(p.read_text()) for p in paths.runs_dir.iterdir()]
    roots = sorted(r["id"] for r in runs if r["id"] == r["trace_id"])
    trace = roots[0]
    parents = {r["parent_run_ids"][-1] for r in runs if r.get("parent_run_ids")}
    run = next(
        r for r in runs if r["id"] in parents and r["trace_id"] != trace and r["id"] not in roots
    )
    gone = {r["id"] for r in runs if r["trace_id"] == trace} | {
        r["id"]
        for r in runs
        if r["id"] == run["id"] or run["id"] in (r.get("parent_run_ids") or [])
    }
    return trace, run["id"], gone


def _in_zip(path) -> set[str]:
    with zipfile.ZipFile(path) as archive:
        return {n[5:-5] for n in archive.namelist() if n.startswith("runs/")}


def _in_parquet(root) -> set[str]:
    """Run ids DuckDB sees under the Parquet root, the way docs/parquet.md queries it;
    asserted equal to what pyarrow reads from the files themselves."""
    files = sorted(root.rglob("*.parquet"))
    by_pyarrow = {i for f in files for i in pq.read_table(f, columns=["id"])["id"].to_pylist()}
    if not files:
        return by_pyarrow
    query = f"SELECT id FROM read_parquet('{root}/**/*.parquet', hive_partitioning = true)"
    by_duckdb = {row[0] for row in duckdb.sql(query).fetchall()}
    assert by_duckdb == by_pyarrow
    return by_duckdb


def test_forget_removes_runs_from_every_copy_and_drive_history_and_they_stay_gone(
    tmp_path, postgres, fake
):
    root = fake.add("LSE archives", None)
    drive = drive_resource(fake, authorized_user_file(tmp_path, fake), root)
    resources = {**local_resources(tmp_path, postgres), "drive": drive}
    assert _all_passed(materialize(PROJECT_A, DAY, resources))
    later = SampleLangSmithResource(late_feedback=True)  # a second revision in Drive
    assert _all_passed(materialize(PROJECT_A, DAY, {**resources, "langsmith": later}))
    paths = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)
    stored = next(f for f in fake.files.values() if f.name == paths.zip_name)
    assert len(stored.revisions) == 2
    trace, run, gone = _victims(paths)
    before = {p.stem for p in paths.runs_dir.iterdir()}

    def paths_for(day):
        return PartitionPaths(tmp_path / "data", PROJECT_A, day)

    parquet = resources["parquet"]
    assert _in_parquet(tmp_path / "parquet") == before
    dry = forget.forget(
        PROJECT_A,
        [run],
        [trace],
        paths_for=paths_for,
        store=drive,
        parquet=parquet,
        rows=postgres,
        dry_run=True,
    )
    assert set(dry.days[0].run_ids) == gone and dry.rows == len(gone)
    relative = bulk_export.export_of(paths).relative_path
    assert dry.days[0].parquet == parquet.location(relative)
    assert {p.stem for p in paths.runs_dir.iterdir()} == before
    assert _in_parquet(tmp_path / "parquet") == before
    assert not tombstones.path_in(paths.project_dir).exists()

    report = forget.forget(
        PROJECT_A, [run], [trace], paths_for=paths_for, store=drive, parquet=parquet, rows=postgres
    )

    kept = before - gone
    assert report.runs == len(gone) and report.rows == len(gone)
    assert report.days[0].store_action == "updated" and report.days[0].revisions_deleted == 2
    assert {p.stem for p in paths.runs_dir.iterdir()} == kept
    assert set(json.loads(paths.manifest.read_text())["files"]) == kept
    assert _in_zip(paths.zip_path) == kept
    assert len(stored.revisions) == 1 and stored.content == paths.zip_path.read_bytes()
    rows = {str(r[0]) for r in postgres.execute("SELECT run_id FROM runs")}
    assert rows == kept
    assert _in_parquet(tmp_path / "parquet") == kept
    assert report.days[0].parquet_rows == len(kept)
    # Every copy agrees again, by the checks alone (nothing re-materialized).
    checks = check_results(materialize(PROJECT_A, DAY, resources, only_checks=True))
    assert len(checks) == 5 and all(check.passed for check in checks.values())

    # LangSmith still returns them: the tombstone keeps them out of every copy.
    again = materialize(PROJECT_A, DAY, {**resources, "langsmith": later})
    assert _all_passed(again)
    assert asset_metadata(again, "raw_runs")["forgotten_skipped"] == len(gone)
    assert {p.stem for p in paths.runs_dir.iterdir()} == kept
    assert {str(r[0]) for r in postgres.execute("SELECT run_id FROM runs")} == kept
    assert _in_parquet(tmp_path / "parquet") == kept


def test_lse_forget_command(tmp_path, postgres, postgres_url):
    assert _all_passed(materialize(PROJECT_A, DAY, local_resources(tmp_path, postgres)))
    paths = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)
    trace, _, _ = _victims(paths)
    trace_runs = {
        p.stem for p in paths.runs_dir.iterdir() if json.loads(p.read_text())["trace_id"] == trace
    }
    env = {**os.environ, "LSE_HOME": str(tmp_path), "LSE_DATABASE_URL": postgres_url}
    command = [sys.executable, "-m", "lse_assets.cli.main", "forget", "--project", PROJECT_A]

    dry = subprocess.run(
        [*command, "--trace-id", trace, "--dry-run"], env=env, capture_output=True, text=True
    )
    done = subprocess.run([*command, "--trace-id", trace], env=env, capture_output=True, text=True)
    bad = subprocess.run(
        [*command, "--run-id", "not-a-uuid"], env=env, capture_output=True, text=True
    )

    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert f"would remove {len(trace_runs)} run files and {len(trace_runs)} rows" in dry.stdout
    parquet_file = tmp_path / "parquet" / bulk_export.export_of(paths).relative_path
    assert f"would rewrite the Parquet file {parquet_file}" in dry.stdout
    row = next(line for line in dry.stdout.splitlines() if line.startswith(f"│ {DAY}"))
    assert [cell.strip() for cell in row.strip("│").split("│")][2:4] == ["to replace", "-"]
    assert " ".join(dry.stdout.split()).count(" ".join(DRY_RUN_CAPTION.split())) == 1
    assert "to replace" not in done.stdout and "not counted in a dry run" not in done.stdout
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"removed {len(trace_runs)} run files and {len(trace_runs)} rows" in done.stdout
    assert all(f"removed {DAY.isoformat()} {run_id}" in done.stdout for run_id in trace_runs)
    assert not trace_runs & {p.stem for p in paths.runs_dir.iterdir()}
    assert not trace_runs & _in_zip(tmp_path / "drive" / PROJECT_A / paths.zip_name)
    assert f"rewrote the Parquet file {parquet_file}" in done.stdout
    assert _in_parquet(tmp_path / "parquet") == {p.stem for p in paths.runs_dir.iterdir()}
    assert bad.returncode == 1 and "'not-a-uuid' is not a UUID" in bad.stdout
    checks = check_results(
        materialize(PROJECT_A, DAY, local_resources(tmp_path, postgres), only_checks=True)
    )
    assert "parquet_matches_files" in checks
    assert all(check.passed for check in checks.values())


def test_forgetting_a_whole_day_whose_parquet_path_moves_leaves_no_file_with_the_runs(
    tmp_path, postgres
):
    """A day archived before sources recorded tenant and project ids: its Hive path takes
    them from a run file, so forgetting every run moves it; the old file must go."""
    resources = local_resources(tmp_path, postgres)
    paths = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)
    assert _all_passed(materialize(PROJECT_A, DAY, resources))
    (tmp_path / "parquet" / bulk_export.export_of(paths).relative_path).unlink()
    manifest = json.loads(paths.manifest.read_text())
    for key in ("tenant_id", "project_id"):
        manifest["source"].pop(key)
    paths.manifest.write_text(json.dumps(manifest))
    old = bulk_export.export_of(paths).relative_path
    assert _all_passed(materialize(PROJECT_A, DAY, resources))  # the file at the old path
    assert _in_parquet(tmp_path / "parquet") == {p.stem for p in paths.runs_dir.iterdir()}
    assert (tmp_path / "parquet" / old).exists()
    traces = sorted({json.loads(p.read_text())["trace_id"] for p in paths.runs_dir.iterdir()})

    report = forget.forget(
        PROJECT_A,
        [],
        traces,
        paths_for=lambda day: PartitionPaths(tmp_path / "data", PROJECT_A, day),
        store=resources["drive"],
        parquet=resources["parquet"],
        rows=postgres,
    )

    assert report.days[0].parquet_rows == 0
    assert not (tmp_path / "parquet" / old).exists()
    assert [
        p.relative_to(tmp_path / "parquet").as_posix()
        for p in (tmp_path / "parquet").rglob("*.parquet")
    ] == [bulk_export.export_of(paths).relative_path]
    assert _in_parquet(tmp_path / "parquet") == set()
    checks = check_results(materialize(PROJECT_A, DAY, resources, only_checks=True))
    assert checks["parquet_matches_files"].passed


def test_forget_rewrites_the_parquet_file_on_s3(tmp_path, postgres, s3_bucket):
    """The same through the object-store path (the S3 emulator, a plain s3:// URL): the file
    is replaced by copy, the staging key is gone, DuckDB's httpfs no longer sees the runs."""
    from resources.object_store.resource import ParquetStoreResource
    from tests.fakes.s3_server import duckdb_connection

    url = f"{s3_bucket.url}/warehouse"
    parquet = ParquetStoreResource(url=url)
    resources = {**local_resources(tmp_path, postgres), "parquet": parquet}
    assert _all_passed(materialize(PROJECT_A, DAY, resources))
    paths = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)
    trace, _, gone = _victims(paths)
    gone = {r for r in gone if json.loads(paths.run_file(r).read_text())["trace_id"] == trace}

    report = forget.forget(
        PROJECT_A,
        [],
        [trace],
        paths_for=lambda day: PartitionPaths(tmp_path / "data", PROJECT_A, day),
        store=resources["drive"],
        parquet=parquet,
        rows=postgres,
    )

    relative = bulk_export.export_of(paths).relative_path
    assert report.days[0].parquet == f"{url}/{relative}"
    query = f"SELECT id FROM read_parquet('{url}/**/*.parquet', hive_partitioning = true)"
    seen = {row[0] for row in duckdb_connection(s3_bucket.emulator).sql(query).fetchall()}
    assert seen == {p.stem for p in paths.runs_dir.iterdir()} and not seen & gone
    stored = s3_bucket.emulator.client().list_objects_v2(Bucket=s3_bucket.name)["Contents"]
    assert [item["Key"] for item in stored] == [f"warehouse/{relative}"]
    checks = check_results(materialize(PROJECT_A, DAY, resources, only_checks=True))
    assert checks["parquet_matches_files"].passed


def test_a_damaged_forgotten_json_stops_forget_and_every_materialization(
    tmp_path, postgres, postgres_url
):
    """Each kind of damage: the real raw_runs step fails with the file and the fix, writes
    nothing, and the file is left as it was; `lse forget` refuses with the same message."""
    from tests.core.test_tombstones import DAMAGE

    resources = local_resources(tmp_path, postgres)
    assert _all_passed(materialize(PROJECT_A, DAY, resources))
    paths = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)
    manifest = paths.manifest.read_bytes()
    path = tombstones.path_in(paths.project_dir)
    for kind, damage in DAMAGE.items():
        path.write_bytes(damage)
        result = materialize(PROJECT_A, DAY, resources)
        failures = {e.step_key: e.step_failure_data for e in result.get_step_failure_events()}
        assert not result.success and set(failures) == {"raw_runs"}, kind
        message = failures["raw_runs"].user_failure_data.description
        assert f"{path} is damaged" in message and "Do not delete it" in message, kind
        assert paths.manifest.read_bytes() == manifest and path.read_bytes() == damage

    env = {**os.environ, "LSE_HOME": str(tmp_path), "LSE_DATABASE_URL": postgres_url}
    trace, _, _ = _victims(paths)
    command = [sys.executable, "-m", "lse_assets.cli.main", "forget", "--project", PROJECT_A]
    refused = subprocess.run(
        [*command, "--trace-id", trace],
        env={**env, "COLUMNS": "400"},
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 1
    assert f"{path} is damaged" in refused.stdout and "Do not delete it" in refused.stdout
    assert trace in {p.stem for p in paths.runs_dir.iterdir()}
    assert path.read_bytes() == damage
