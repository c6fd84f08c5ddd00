"""The local-folder archive store (the Drive stand-in of the demo and the tests), in process:
a zip is created, left alone when the stored copy is the same bytes, updated when not; a
download is returned only when it matches the store's md5 and size (issue 18)."""

from pathlib import Path

from resources.drive.local_folder import LocalFolderDriveResource
from tests.conftest import PROJECT_A


def _zip(tmp_path, body: bytes):
    path = tmp_path / "local" / "2025-09-13.zip"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(body)
    return path


def test_a_zip_is_created_then_left_alone_then_updated(tmp_path):
    store = LocalFolderDriveResource(folder=str(tmp_path / "store"))
    local = _zip(tmp_path, b"first")
    created = store.upsert(PROJECT_A, local)
    assert created.action == "created" and created.file.size == 5
    stored = Path(created.file.file_id)  # the stored file's path is its id
    before = stored.stat().st_mtime_ns

    same = store.upsert(PROJECT_A, local)
    assert same.action == "unchanged" and same.file.md5 == created.file.md5
    assert stored.stat().st_mtime_ns == before  # not copied again

    other = store.upsert(PROJECT_A, _zip(tmp_path, b"other"))  # same size, other bytes
    assert other.action == "updated" and other.file.md5 != created.file.md5
    assert stored.read_bytes() == b"other"


def test_a_download_is_kept_only_when_it_matches_the_store(tmp_path):
    store = LocalFolderDriveResource(folder=str(tmp_path / "store"))
    stored = store.upsert(PROJECT_A, _zip(tmp_path, b"archive bytes"))
    got = store.download_verified(PROJECT_A, "2025-09-13.zip", tmp_path / "got.zip")
    assert got == tmp_path / "got.zip" and got.read_bytes() == b"archive bytes"
    assert store.download_verified(PROJECT_A, "other.zip", tmp_path / "none.zip") is None
    assert stored.file.name == "2025-09-13.zip"
