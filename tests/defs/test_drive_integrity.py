"""What reaches Drive and what comes back is checked by its bytes: a corrupted *update*
(a re-export of a changed zip) is refused like a corrupted create, and a download that
fails half way resumes from the byte where it stopped and writes exactly the archive."""

import hashlib
import os
from datetime import date

import pytest

from lse_assets.core.errors import PermanentError
from lse_assets.core.runfiles import PartitionPaths
from resources.drive.errors import DriveIntegrityError
from resources.langsmith.sample import SampleLangSmithResource
from tests.conftest import PROJECT_A
from tests.fakes.fake_drive import FakeDrive
from tests.fakes.fake_drive_auth import authorized_user_file, drive_resource, service_account_file
from tests.fakes.helpers import local_resources, materialize

MIB = 1024 * 1024
PROJECT = "proj-a"
NAME = "proj-a_2025-09-13.zip"
DAY = date(2025, 9, 13)


@pytest.fixture
def fake():
    with FakeDrive() as drive:
        yield drive


@pytest.fixture
def drive(tmp_path, fake):
    root = fake.add("LSE archives", None)
    return lambda **overrides: drive_resource(
        fake, authorized_user_file(tmp_path, fake), root, **overrides
    )


def _zip(tmp_path, data: bytes):
    path = tmp_path / NAME
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("resumable", [False, True], ids=["multipart", "resumable"])
def test_a_corrupted_update_is_refused_naming_the_file(tmp_path, fake, drive, resumable):
    options = {"resumable_threshold_bytes": 0, "chunk_size_bytes": 256 * 1024} if resumable else {}
    store = drive(**options)
    created = store.upsert(PROJECT, _zip(tmp_path, b"A" * 5000))
    fake.corrupt_md5 = True  # Drive stores the new bytes but reports another md5

    with pytest.raises(DriveIntegrityError) as raised:
        store.upsert(PROJECT, _zip(tmp_path, b"B" * 6000))

    message = str(raised.value)
    assert "corrupted in transit" in message
    assert NAME in message and created.file.file_id in message
    assert hashlib.md5(b"B" * 6000).hexdigest() in message  # the local md5 it expected
    updates = [r for r in fake.writes() if r.method in {"PATCH", "PUT"}]
    assert updates, "the second upsert must have taken the update path"


def test_a_corrupted_update_fails_the_drive_archive_step(tmp_path, postgres, fake, drive):
    base = {**local_resources(tmp_path, postgres), "drive": drive()}
    assert materialize(PROJECT_A, DAY, base).success
    fake.corrupt_md5 = True

    changed = {**base, "langsmith": SampleLangSmithResource(variant=1)}
    result = materialize(PROJECT_A, DAY, changed)

    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert failure.step_key == "drive_archive"
    zip_name = PartitionPaths(tmp_path / "data", PROJECT_A, DAY).zip_name
    text = str(failure.event_specific_data.error)
    assert "corrupted in transit" in text and zip_name in text


def test_a_download_resumes_from_the_failed_range_and_writes_the_archive(tmp_path, fake, drive):
    data = os.urandom(3 * MIB + 12345)
    store = drive(chunk_size_bytes=MIB)
    store.upsert(PROJECT, _zip(tmp_path, data))
    # The first range arrives; the second fails once with a 503.
    fake.fail("GET", "/drive/v3/files/", 503, skip=1)

    target = tmp_path / "downloaded.zip"
    store.download(PROJECT, NAME, target)

    assert hashlib.md5(target.read_bytes()).hexdigest() == hashlib.md5(data).hexdigest()
    media = [r for r in fake.requests("/drive/v3/files/", "GET") if r.query.get("alt") == "media"]
    assert [(r.range, r.status) for r in media] == [
        (f"bytes=0-{MIB - 1}", 206),
        (f"bytes={MIB}-{2 * MIB - 1}", 503),
        (f"bytes={MIB}-{2 * MIB - 1}", 206),  # resumed where it stopped, not from 0
        (f"bytes={2 * MIB}-{3 * MIB - 1}", 206),
        (f"bytes={3 * MIB}-{4 * MIB - 1}", 206),
    ]


def test_a_shared_drive_archive_is_updated_and_downloaded(tmp_path, fake):
    # Files in a shared drive exist for a client only with supportsAllDrives on every call.
    shared = fake.add_shared_drive("Team archive")
    folder = fake.add("LSE", shared, app_created=False)
    store = drive_resource(fake, service_account_file(tmp_path, fake), folder, scope="drive")
    created = store.upsert(PROJECT, _zip(tmp_path, b"A" * 5000))

    updated = store.upsert(PROJECT, _zip(tmp_path, b"B" * 6000))
    target = tmp_path / "back.zip"
    store.download(PROJECT, NAME, target)

    assert (created.action, updated.action) == ("created", "updated")
    assert updated.file.file_id == created.file.file_id
    assert target.read_bytes() == b"B" * 6000


def test_download_failures_name_the_archive(tmp_path, fake, drive):
    store = drive()
    with pytest.raises(FileNotFoundError) as missing:
        store.download(PROJECT, NAME, tmp_path / "x.zip")
    assert f"no archive {NAME!r}" in str(missing.value) and repr(PROJECT) in str(missing.value)

    store.upsert(PROJECT, _zip(tmp_path, b"A" * 5000))
    fake.fail("GET", "/drive/v3/files/", 400, "badRequest", times=10)
    with pytest.raises(PermanentError) as refused:  # no retry: a 400 will not heal
        store.download(PROJECT, NAME, tmp_path / "x.zip")
    assert f"the download of {NAME}" in str(refused.value)
