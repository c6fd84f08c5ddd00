"""The root folder LSE_DRIVE_FOLDER_ID names, against the fake Drive (in process): a file
or a trashed folder is refused, each with its own reason and the fix (issue 18: only the
not-found path was pinned)."""

import pytest

from lse_assets.core.errors import PermanentError
from tests.fakes.fake_drive import FakeDrive
from tests.fakes.fake_drive_auth import authorized_user_file, drive_resource

PROJECT = "proj-a"


@pytest.fixture
def fake():
    with FakeDrive() as drive:
        yield drive


def _refusal(tmp_path, fake, folder) -> str:
    local = tmp_path / "proj-a_2025-09-13.zip"
    local.write_bytes(b"zip")
    token = authorized_user_file(tmp_path, fake)
    with pytest.raises(PermanentError) as failure:
        drive_resource(fake, token, folder).upsert(PROJECT, local)
    return failure.value.description


def test_a_root_that_is_a_file_is_refused_as_not_a_folder(tmp_path, fake):
    file_id = fake.add("a.zip", None, b"zip")
    assert (
        f"LSE_DRIVE_FOLDER_ID={file_id} is not a folder: give the id of a Drive folder "
        "(the last part of its URL)"
    ) in _refusal(tmp_path, fake, file_id)


def test_a_root_in_the_trash_is_refused_as_in_the_trash(tmp_path, fake):
    folder = fake.add("LSE archives", None)
    fake.files[folder].trashed = True
    assert f"LSE_DRIVE_FOLDER_ID={folder} is in the trash: give the id" in _refusal(
        tmp_path, fake, folder
    )
