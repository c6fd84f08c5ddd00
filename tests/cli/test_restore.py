"""Restore from the archive store: our zips and the predecessor's, through the real Drive
client against the fake Drive, then real Dagster loads and checks on the restored files."""

import json
import shutil
from datetime import date, timedelta

import dagster as dg
import pytest
from click.testing import CliRunner

from lse_assets.cli.main import main
from lse_assets.core import runfiles
from lse_assets.core.partition import Partition
from lse_assets.core.restore import restore
from lse_assets.core.runfiles import PartitionPaths
from lse_assets.defs.assets import DB_RUNS, build_assets
from lse_assets.defs.checks import FILES_MATCH_DB, build_checks
from lse_assets.defs.partitions import partition_key
from lse_assets.settings import load_settings
from resources.langsmith.sample import SampleLangSmithResource
from tests.conftest import PROJECT_A, PROJECT_B
from tests.fakes.fake_drive import FakeDrive
from tests.fakes.fake_drive_auth import authorized_user_file, drive_resource
from tests.fakes.helpers import check_results, local_resources, materialize
from tests.fakes.legacy_zips import predecessor_zips, sample_runs

DAY = date(2025, 9, 13)
LEGACY_PREFIX = "TeamBünïcodes"  # the predecessor's "safe" name for PROJECT_B


@pytest.fixture
def fake():
    with FakeDrive() as drive:
        yield drive


@pytest.fixture
def root(fake):
    return fake.add("LSE archives", None)


@pytest.fixture
def token(tmp_path, fake):
    return authorized_user_file(tmp_path, fake)


@pytest.fixture
def drive(fake, root, token):
    return drive_resource(fake, token, root)


def paths_for(tmp_path, project):
    return lambda day: PartitionPaths(tmp_path / "data", project, day)


def snapshot(directory):
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def test_round_trip_through_drive_gives_identical_files(tmp_path, postgres, fake, drive):
    resources = {**local_resources(tmp_path, postgres), "drive": drive}
    assert materialize(PROJECT_B, DAY, resources).success
    paths = PartitionPaths(tmp_path / "data", PROJECT_B, DAY)
    before = snapshot(paths.project_dir)
    writes = len(fake.writes())
    shutil.rmtree(paths.project_dir)

    report = restore(drive, PROJECT_B, [DAY], paths_for(tmp_path, PROJECT_B))

    (outcome,) = report.outcomes
    assert (outcome.status, outcome.kind, outcome.archive) == ("restored", "lse", paths.zip_name)
    assert outcome.runs == runfiles.read_manifest(paths)["counts"]["runs"] > 100
    assert snapshot(paths.project_dir) == before  # run files, manifest and zip, byte for byte
    assert len(fake.writes()) == writes
    checks = check_results(materialize(PROJECT_B, DAY, resources, only_checks=True))
    assert all(check.passed for check in checks.values())


def test_other_local_runs_are_kept_unless_forced(tmp_path, postgres, drive):
    resources = {**local_resources(tmp_path, postgres), "drive": drive}
    assert materialize(PROJECT_A, DAY, resources).success
    paths = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)
    archived = snapshot(paths.dir)
    newer = SampleLangSmithResource(variant=1).fetch_day(PROJECT_A, DAY)
    runfiles.write_partition(paths, newer.runs, newer.source)
    local = snapshot(paths.dir)

    kept = restore(drive, PROJECT_A, [DAY], paths_for(tmp_path, PROJECT_A))
    assert kept.outcomes[0].status == "skipped" and "--force" in kept.outcomes[0].detail
    assert snapshot(paths.dir) == local

    forced = restore(drive, PROJECT_A, [DAY], paths_for(tmp_path, PROJECT_A), force=True)
    assert forced.outcomes[0].status == "restored"
    assert snapshot(paths.dir) == archived

    again = restore(drive, PROJECT_A, [DAY], paths_for(tmp_path, PROJECT_A))
    assert again.outcomes[0].status == "unchanged"


def test_a_download_unlike_drives_md5_changes_nothing(tmp_path, postgres, fake, drive):
    resources = {**local_resources(tmp_path, postgres), "drive": drive}
    result = materialize(PROJECT_A, DAY, resources)
    file_id = next(
        e.event_specific_data.materialization.metadata["file_id"].value
        for e in result.get_asset_materialization_events()
        if "file_id" in e.event_specific_data.materialization.metadata
    )
    fake.files[file_id].md5 = "0" * 32
    paths = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)
    before = snapshot(paths.project_dir)

    report = restore(drive, PROJECT_A, [DAY], paths_for(tmp_path, PROJECT_A), force=True)

    assert report.outcomes[0].status == "failed"
    assert "does not match the store's copy" in report.outcomes[0].detail
    assert snapshot(paths.project_dir) == before
    assert not list((tmp_path / "data").glob(".lse-restore-*"))  # downloads cleaned up


def test_a_day_without_archive_is_reported_missing(tmp_path, drive):
    report = restore(drive, PROJECT_A, [DAY], paths_for(tmp_path, PROJECT_A))
    assert report.outcomes[0].status == "missing" and not report.ok


def test_predecessor_zips_restore_to_a_partition_that_loads_and_verifies(
    tmp_path, postgres, fake, root, drive
):
    zips, shapes = predecessor_zips(
        PROJECT_B, [DAY, DAY + timedelta(days=1)], tmp_path, LEGACY_PREFIX
    )
    folder = fake.add(PROJECT_B, root)  # the predecessor used the raw project name too
    for n in range(120):  # more than a page of unrelated files in the project folder
        fake.add(f"notes_{n:03d}.txt", folder, b"x")
    for path in zips.values():
        fake.add(path.name, folder, path.read_bytes())

    report = restore(drive, PROJECT_B, [DAY], paths_for(tmp_path, PROJECT_B))

    (outcome,) = report.outcomes
    expected = {run["id"]: run for run in sample_runs(PROJECT_B, DAY)}
    assert (outcome.status, outcome.kind) == ("restored", "legacy")
    assert outcome.archive == f"{LEGACY_PREFIX}_{DAY}.zip"
    assert outcome.runs == len(expected)
    assert any("2025-09-12" in note for note in report.notes)  # late children of the 12th
    paths = PartitionPaths(tmp_path / "data", PROJECT_B, DAY)
    for run_id, raw in runfiles.iter_run_bytes(paths):
        want = dict(expected[run_id])
        if shapes[run_id] == "wrapped":
            want.pop("feedback_records")
        assert json.loads(raw) == want
    source = runfiles.read_manifest(paths)["source"]
    assert source["kind"] == "legacy" and source["duplicates_dropped"] == 1
    assert source["archives"] == [f"{LEGACY_PREFIX}_{DAY}.zip", f"{LEGACY_PREFIX}_2025-09-14.zip"]
    pages = [e.query.get("pageToken") for e in fake.requests("/drive/v3/files", "GET")]
    assert "100" in pages

    loaded = dg.materialize(
        [
            *(a for a in build_assets(load_settings()) if a.key == dg.AssetKey(DB_RUNS)),
            *(
                c
                for c in build_checks(load_settings())
                if FILES_MATCH_DB in {k.name for k in c.check_keys}
            ),
        ],
        partition_key=partition_key(Partition(project=PROJECT_B, day=DAY)),
        resources=local_resources(tmp_path, postgres),
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert loaded.success
    assert check_results(loaded)["files_match_db"].passed
    rows = postgres.execute("SELECT count(*) FROM runs WHERE project = :p", p=PROJECT_B)[0][0]
    assert rows == len(expected)

    again = restore(drive, PROJECT_B, [DAY], paths_for(tmp_path, PROJECT_B))
    assert again.outcomes[0].status == "unchanged"
    newer = SampleLangSmithResource(variant=1).fetch_day(PROJECT_B, DAY)
    runfiles.write_partition(paths, newer.runs, newer.source)
    kept = restore(drive, PROJECT_B, [DAY], paths_for(tmp_path, PROJECT_B))
    assert kept.outcomes[0].status == "skipped"


def test_a_damaged_predecessor_zip_fails_its_day_by_file_name(tmp_path, fake, root, drive):
    folder = fake.add(PROJECT_A, root)
    zips, _ = predecessor_zips(PROJECT_A, [DAY], tmp_path, "proj-a")
    fake.add(f"proj-a_{DAY}.zip", folder, zips[DAY].read_bytes()[:-200])  # truncated

    report = restore(drive, PROJECT_A, [DAY], paths_for(tmp_path, PROJECT_A))

    assert report.outcomes[0].status == "failed"
    assert not PartitionPaths(tmp_path / "data", PROJECT_A, DAY).dir.exists()


@pytest.fixture
def drive_environment(tmp_path, fake, root, token, monkeypatch):
    monkeypatch.setenv("LSE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LSE_DRIVE_FOLDER_ID", root)
    monkeypatch.setenv("LSE_DRIVE_ROOT_URL", fake.url)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(token))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))  # restored after the test
    load_settings.cache_clear()
    yield
    load_settings.cache_clear()


def test_cli_restores_a_range_from_drive_and_loads_the_database(
    tmp_path, postgres, drive, drive_environment
):
    resources = {**local_resources(tmp_path, postgres), "drive": drive}
    days = [DAY, DAY + timedelta(days=1)]
    for day in days:
        assert materialize(PROJECT_A, day, resources).success
    before = {day: snapshot(PartitionPaths(tmp_path / "data", PROJECT_A, day).dir) for day in days}
    shutil.rmtree(tmp_path / "data")
    postgres.execute("TRUNCATE runs")

    result = CliRunner().invoke(
        main,
        [
            "restore",
            "--project",
            PROJECT_A,
            "--from",
            str(days[0]),
            "--to",
            str(days[1]),
            "--load-db",
        ],
    )

    assert result.exit_code == 0, result.output
    assert result.output.count("restored") == 2 and "files_match_db passed" in result.output
    for day in days:
        assert snapshot(PartitionPaths(tmp_path / "data", PROJECT_A, day).dir) == before[day]
    rows = postgres.execute("SELECT count(*) FROM runs WHERE project = :p", p=PROJECT_A)[0][0]
    assert rows == sum(
        len([k for k in files if k.startswith("runs/")]) for files in before.values()
    )


def test_cli_advises_loading_the_database_only_when_a_day_was_restored(
    tmp_path, postgres, drive, drive_environment
):
    resources = {**local_resources(tmp_path, postgres), "drive": drive}
    assert materialize(PROJECT_A, DAY, resources).success
    restore_day = ["restore", "--project", PROJECT_A, "--date", str(DAY)]
    advice = "Load the restored days into Postgres"

    unchanged = CliRunner().invoke(main, restore_day)
    shutil.rmtree(tmp_path / "data")
    restored = CliRunner().invoke(main, restore_day)

    assert unchanged.exit_code == restored.exit_code == 0, unchanged.output + restored.output
    assert "unchanged" in unchanged.output and advice not in unchanged.output
    assert "restored" in restored.output and advice in restored.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--date", "2025-09-13", "--from", "2025-09-12"], "either --date, or --from and --to"),
        (["--from", "2025-09-13"], "give --date D, or a range"),
        (["--from", "2025-09-13", "--to", "2025-09-12"], "is before --from"),
    ],
)
def test_cli_explains_wrong_day_options(arguments, message):
    result = CliRunner().invoke(main, ["restore", "--project", PROJECT_A, *arguments])
    assert result.exit_code == 2 and message in result.output


def test_cli_exits_non_zero_when_a_day_is_missing(tmp_path, drive_environment):
    result = CliRunner().invoke(main, ["restore", "--project", PROJECT_A, "--date", "2025-09-13"])
    assert result.exit_code == 1 and "missing" in result.output


def test_cli_reports_a_store_that_refuses_access_without_a_traceback(
    tmp_path, fake, drive_environment
):
    fake.fail("GET", "/drive/v3/files", 403, "insufficientFilePermissions")
    result = CliRunner().invoke(main, ["restore", "--project", PROJECT_A, "--date", "2025-09-13"])
    assert result.exit_code == 1
    assert "restore stopped" in result.output and "insufficientFilePermissions" in result.output
    assert "Traceback" not in result.output
