"""`lse restore` in process, from a local-folder archive store (docs/operations.md,
"Restore"): a damaged forgotten.json fails the day naming the file; "unchanged" puts the
store's zip back when the local one is gone; a predecessor zip that cannot be converted
fails its own day, named, and writes nothing."""

import zipfile
from datetime import date

from lse_assets.core import archive, runfiles, tombstones
from lse_assets.core.restore import restore
from lse_assets.core.runfiles import PartitionPaths
from resources.drive.local_folder import LocalFolderDriveResource
from resources.langsmith.sample import SampleLangSmithResource
from tests.conftest import PROJECT_A

DAY = date(2025, 9, 13)


def _archived(tmp_path) -> tuple[PartitionPaths, LocalFolderDriveResource]:
    """A partition written and its zip in the store."""
    paths = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)
    runs = SampleLangSmithResource().fetch_day(PROJECT_A, DAY).runs
    runfiles.write_partition(paths, runs, {})
    store = LocalFolderDriveResource(folder=str(tmp_path / "drive"))
    store.upsert(PROJECT_A, archive.build_archive(paths).path)
    return paths, store


def test_a_damaged_forgotten_json_fails_the_day_naming_the_file(tmp_path):
    paths, store = _archived(tmp_path)
    path = tombstones.path_in(paths.project_dir)
    path.write_bytes(b'{"format": "lse-forg')  # truncated
    before = sorted(p.name for p in paths.runs_dir.iterdir())

    report = restore(store, PROJECT_A, [DAY], lambda day: paths, force=True)

    outcome = report.outcomes[0]
    assert outcome.status == "failed" and not report.ok
    assert str(path) in outcome.detail and "Do not delete it" in outcome.detail
    assert sorted(p.name for p in paths.runs_dir.iterdir()) == before
    assert path.read_bytes() == b'{"format": "lse-forg'


def test_unchanged_files_get_the_stores_zip_back_when_the_local_one_is_gone(tmp_path):
    paths, store = _archived(tmp_path)
    stored = (tmp_path / "drive" / paths.slug / paths.zip_name).read_bytes()
    paths.zip_path.unlink()

    report = restore(store, PROJECT_A, [DAY], lambda day: paths)

    assert [o.status for o in report.outcomes] == ["unchanged"]
    assert paths.zip_path.read_bytes() == stored


def test_a_predecessor_zip_that_cannot_be_converted_fails_its_day_by_name(tmp_path):
    store = LocalFolderDriveResource(folder=str(tmp_path / "drive"))
    bad = tmp_path / f"old-tool_{DAY}.zip"
    with zipfile.ZipFile(bad, "w") as out:
        out.writestr("notes.txt", b"not a run")
    store.upsert(PROJECT_A, bad)
    paths = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)

    report = restore(store, PROJECT_A, [DAY], lambda day: paths)

    (outcome,) = report.outcomes
    assert (outcome.status, outcome.archive, outcome.kind) == ("failed", bad.name, "legacy")
    assert f"{bad.name}:notes.txt: not a JSON run file" in outcome.detail
    assert not paths.dir.exists()
