"""drive_archive and drive_matches_archive in real Dagster runs, with the real Drive client
against the fake Drive, and with the local-folder twin; and how definitions choose them."""

from datetime import date

import dagster as dg
import pytest

from lse_assets.core.runfiles import PartitionPaths
from lse_assets.definitions import archive_store
from lse_assets.settings import Settings
from resources.drive.local_folder import LocalFolderDriveResource
from resources.drive.resource import GoogleDriveResource
from resources.langsmith.sample import SampleLangSmithResource
from tests.conftest import PROJECT_A, PROJECT_B
from tests.fakes.fake_drive import FakeDrive
from tests.fakes.fake_drive_auth import authorized_user_file, drive_resource
from tests.fakes.helpers import check_results, local_resources, materialize

DAY = date(2025, 9, 13)


@pytest.fixture
def fake():
    with FakeDrive() as drive:
        yield drive


@pytest.fixture
def make_drive(tmp_path, fake):
    root = fake.add("LSE archives", None)
    token = authorized_user_file(tmp_path, fake)
    return lambda **overrides: drive_resource(fake, token, root, **overrides)


@pytest.fixture
def drive(make_drive):
    return make_drive()


def drive_metadata(result: dg.ExecuteInProcessResult) -> dict:
    (event,) = [
        e.event_specific_data.materialization
        for e in result.get_asset_materialization_events()
        if e.event_specific_data.materialization.asset_key.to_user_string() == "drive_archive"
    ]
    return {key: value.value for key, value in event.metadata.items()}


def test_materialize_uploads_once_then_makes_no_upload_request(tmp_path, postgres, fake, drive):
    resources = {**local_resources(tmp_path, postgres), "drive": drive}

    first = materialize(PROJECT_B, DAY, resources)
    writes_after_first = len(fake.writes())
    second = materialize(PROJECT_B, DAY, resources)

    assert first.success and second.success
    created, unchanged = drive_metadata(first), drive_metadata(second)
    paths = PartitionPaths(tmp_path / "data", PROJECT_B, DAY)
    assert created["action"] == "created" and unchanged["action"] == "unchanged"
    assert created["file_id"] == unchanged["file_id"]
    assert created["bytes"] == paths.zip_path.stat().st_size
    assert created["url"].startswith(fake.url)
    assert fake.files[created["file_id"]].content == paths.zip_path.read_bytes()
    assert fake.files[created["file_id"]].parents[0] in {
        f.id for f in fake.files.values() if f.name == PROJECT_B
    }
    assert len(fake.writes()) == writes_after_first  # zero upload requests on the re-run
    for result in (first, second):
        check = check_results(result)["drive_matches_archive"]
        assert check.passed
        assert check.metadata["remote_md5"].value == created["md5"]


def test_new_runs_update_the_same_drive_file_with_a_chunked_upload(
    tmp_path, postgres, fake, make_drive
):
    chunked = make_drive(resumable_threshold_bytes=0, chunk_size_bytes=256 * 1024)
    base = local_resources(tmp_path, postgres)
    first = materialize(PROJECT_A, DAY, {**base, "drive": chunked})
    changed = {**base, "drive": chunked, "langsmith": SampleLangSmithResource(variant=1)}
    second = materialize(PROJECT_A, DAY, changed)

    assert first.success and second.success
    assert drive_metadata(second)["action"] == "updated"
    assert drive_metadata(second)["file_id"] == drive_metadata(first)["file_id"]
    starts = [(r.method, r.query.get("uploadType")) for r in fake.requests("/upload/")]
    assert [s for s in starts if s[0] != "PUT"] == [("POST", "resumable"), ("PATCH", "resumable")]
    assert {r.length for r in fake.requests("/upload/", "PUT")} >= {256 * 1024}
    assert check_results(second)["drive_matches_archive"].passed


def test_corrupted_upload_fails_the_asset_and_the_check(tmp_path, postgres, fake, drive):
    resources = {**local_resources(tmp_path, postgres), "drive": drive}
    fake.corrupt_md5 = True

    result = materialize(PROJECT_A, DAY, resources)
    checks = check_results(materialize(PROJECT_A, DAY, resources, only_checks=True))

    assert not result.success
    failed = [e.step_key for e in result.get_step_failure_events()]
    assert failed == ["drive_archive"]
    check = checks["drive_matches_archive"]
    assert not check.passed
    assert any("md5 differs" in problem for problem in check.metadata["problems"].value)
    assert checks["files_match_db"].passed  # the other copies are fine


def test_local_twin_check_fails_when_the_archived_zip_changed(tmp_path, postgres):
    resources = local_resources(tmp_path, postgres)
    assert materialize(PROJECT_A, DAY, resources).success
    paths = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)
    archived = tmp_path / "drive" / PROJECT_A / paths.zip_name
    archived.write_bytes(archived.read_bytes() + b"tampered")

    check = check_results(materialize(PROJECT_A, DAY, resources, only_checks=True))[
        "drive_matches_archive"
    ]

    assert not check.passed
    assert check.metadata["remote_bytes"].value == paths.zip_path.stat().st_size + 8


def test_definitions_choose_drive_only_when_a_folder_is_configured(tmp_path, monkeypatch):
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/secret/place/key.json")
    local = archive_store(Settings(home=tmp_path))
    remote = archive_store(
        Settings(
            home=tmp_path,
            drive_folder_id="https://drive.google.com/drive/folders/1Folder",
            drive_root_url="http://127.0.0.1:1/",
            drive_scope="drive",
            drive_subject="alice@example.com",
        )
    )

    assert isinstance(local, LocalFolderDriveResource)
    assert isinstance(remote, GoogleDriveResource)
    assert (remote.folder_id, remote.scope, remote.subject) == (
        "1Folder",
        "drive",
        "alice@example.com",
    )
    assert remote.root_url == "http://127.0.0.1:1/"
    assert isinstance(remote.credentials_file, dg.EnvVar)  # resolved at run time, not stored
    with dg.build_resources({"drive": remote}) as live:
        assert live.drive.credentials_file == "/secret/place/key.json"
