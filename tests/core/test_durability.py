"""Files reach the disk before they are relied on, and errors leave no temporary files."""

import json
from datetime import date

import pytest

from lse_assets.core import archive, durable, runfiles
from lse_assets.core.runfiles import PartitionPaths
from resources.drive.local_folder import LocalFolderDriveResource
from resources.langsmith.sample import SampleLangSmithResource

DAY = date(2025, 9, 13)


def _runs(variant: int = 0) -> list[dict]:
    return list(SampleLangSmithResource(variant=variant).fetch_day("p", DAY).runs)


def test_run_files_and_manifest_are_synced_before_the_swap_and_the_rename_after(
    tmp_path, monkeypatch
):
    paths = PartitionPaths(tmp_path, "p", DAY)
    events = []
    real_sync, real_dir = durable.sync_filesystem, durable.fsync_dir

    def sync(path):
        # Everything the new partition holds is written by now, and nothing is swapped yet.
        events.append(("syncfs", (path / "manifest.json").exists(), paths.dir.exists()))
        real_sync(path)

    def fsync_dir(path):
        events.append(("fsync_dir", path == paths.project_dir, paths.dir.exists()))
        real_dir(path)

    monkeypatch.setattr(durable, "sync_filesystem", sync)
    monkeypatch.setattr(durable, "fsync_dir", fsync_dir)

    runfiles.write_partition(paths, iter(_runs()), {})

    assert events == [("syncfs", True, False), ("fsync_dir", True, True)]


def test_a_failed_copy_to_the_local_store_leaves_the_stored_zip_and_no_partial(
    tmp_path, monkeypatch
):
    paths = PartitionPaths(tmp_path / "data", "p", DAY)
    store = LocalFolderDriveResource(folder=str(tmp_path / "drive"))
    runfiles.write_partition(paths, iter(_runs(0)), {})
    store.upsert("p", archive.build_archive(paths).path)
    stored = tmp_path / "drive" / "p" / paths.zip_name
    before = stored.read_bytes()
    runfiles.write_partition(paths, iter(_runs(1)), {})
    archive.build_archive(paths)

    def broken(path):
        raise OSError("disk full")

    monkeypatch.setattr(durable, "fsync_file", broken)
    with pytest.raises(OSError, match="disk full"):
        store.upsert("p", paths.zip_path)

    assert stored.read_bytes() == before
    assert sorted(p.name for p in stored.parent.iterdir()) == [paths.zip_name]


def test_a_failed_write_leaves_no_temporary_directory(tmp_path):
    paths = PartitionPaths(tmp_path, "p", DAY)
    runfiles.write_partition(paths, iter(_runs(0)), {})
    before = json.loads(paths.manifest.read_text())

    def broken():
        yield from _runs(1)[:10]
        raise ConnectionError("gone")

    with pytest.raises(ConnectionError):
        runfiles.write_partition(paths, broken(), {})

    assert sorted(p.name for p in paths.project_dir.iterdir()) == [DAY.isoformat()]
    assert json.loads(paths.manifest.read_text()) == before
