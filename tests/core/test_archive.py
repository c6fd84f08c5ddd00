"""Deterministic zips and the archive_matches_files comparison."""

import zipfile
from datetime import date

from lse_assets.core import archive, runfiles
from lse_assets.core.runfiles import PartitionPaths
from resources.langsmith.sample import SampleLangSmithResource

DAY = date(2025, 9, 13)


def _partition(root, variant=0) -> PartitionPaths:
    paths = PartitionPaths(root, "p", DAY)
    runs = SampleLangSmithResource(variant=variant).fetch_day("p", DAY).runs
    runfiles.write_partition(paths, runs, {"kind": "test"})
    return paths


def test_same_files_give_byte_identical_zips(tmp_path):
    first = archive.build_archive(_partition(tmp_path / "one"))
    second = archive.build_archive(_partition(tmp_path / "two"))

    assert first.md5 == second.md5
    assert first.path.read_bytes() == second.path.read_bytes()
    with zipfile.ZipFile(first.path) as zipped:
        names = zipped.namelist()
        assert names == sorted(names) and names[0] == "manifest.json"
        assert {info.date_time for info in zipped.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_other_files_give_another_zip(tmp_path):
    assert (
        archive.build_archive(_partition(tmp_path / "one", 0)).md5
        != archive.build_archive(_partition(tmp_path / "two", 1)).md5
    )


def test_differences_name_missing_extra_and_changed_entries(tmp_path):
    paths = _partition(tmp_path)
    archive.build_archive(paths)
    assert not any(archive.archive_differences(paths).values())

    files = sorted(paths.runs_dir.iterdir())
    files[0].unlink()
    files[1].write_bytes(b"{}\n")
    differences = archive.archive_differences(paths)

    assert differences["extra_in_zip"] == [f"runs/{files[0].name}"]
    assert differences["differing"] == [f"runs/{files[1].name}"]
