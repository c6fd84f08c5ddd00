"""The files, the manifest and the zip agree byte for byte, and a zip that lost an entry says
which: the manifest's sha256 is the file's, a recovered swap is the partition that was
written, and archive_matches_files fails naming the entry the zip is missing."""

import hashlib
import json
import zipfile
from datetime import date

import dagster as dg

from lse_assets.core import archive, runfiles
from lse_assets.core.runfiles import PartitionPaths
from resources.langsmith.sample import SampleLangSmithResource
from tests.conftest import PROJECT_A
from tests.fakes.helpers import check_results, local_resources, materialize

DAY = date(2025, 9, 13)


def _written(root, variant: int = 0) -> PartitionPaths:
    paths = PartitionPaths(root, "p", DAY)
    runs = SampleLangSmithResource(variant=variant).fetch_day("p", DAY).runs
    runfiles.write_partition(paths, runs, {"kind": "test"})
    return paths


def _snapshot(paths: PartitionPaths) -> dict[str, bytes]:
    return {
        str(p.relative_to(paths.dir)): p.read_bytes() for p in paths.dir.rglob("*") if p.is_file()
    }


def _without_entry(zip_path, dropped: str) -> None:
    """Rewrite the zip with every entry but `dropped` (a zip that lost a file)."""
    kept = zip_path.with_name("kept.zip")
    with zipfile.ZipFile(zip_path) as source, zipfile.ZipFile(kept, "w") as target:
        for info in source.infolist():
            if info.filename != dropped:
                target.writestr(info, source.read(info))
    kept.replace(zip_path)


def test_the_manifest_lists_each_files_own_sha256(tmp_path):
    paths = _written(tmp_path)
    listed = json.loads(paths.manifest.read_text())["files"]

    on_disk = {
        path.stem: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in paths.runs_dir.iterdir()
    }
    assert listed == on_disk
    assert len(listed) > 30


def test_a_recovered_swap_is_exactly_the_partition_that_was_written(tmp_path):
    paths = _written(tmp_path)
    written = _snapshot(paths)
    paths.dir.rename(paths.project_dir / f".{DAY}.old-deadbeef")  # crash between renames

    runfiles.recover(paths)

    assert _snapshot(paths) == written
    assert [p.name for p in paths.project_dir.iterdir() if p.name.startswith(".")] == []


def test_a_zip_missing_one_file_names_that_file(tmp_path):
    paths = _written(tmp_path)
    archive.build_archive(paths)
    lost = f"{runfiles.RUNS_DIR}/{sorted(p.name for p in paths.runs_dir.iterdir())[3]}"
    _without_entry(paths.zip_path, lost)

    differences = archive.archive_differences(paths)

    assert differences == {"missing_in_zip": [lost], "extra_in_zip": [], "differing": []}


def test_a_zip_missing_one_file_fails_archive_matches_files_naming_it(tmp_path, postgres):
    resources = local_resources(tmp_path, postgres)
    assert materialize(PROJECT_A, DAY, resources).success
    paths = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)
    lost = f"{runfiles.RUNS_DIR}/{sorted(p.name for p in paths.runs_dir.iterdir())[0]}"
    _without_entry(paths.zip_path, lost)

    check = check_results(materialize(PROJECT_A, DAY, resources, only_checks=True))[
        "archive_matches_files"
    ]

    assert not check.passed
    assert check.severity == dg.AssetCheckSeverity.ERROR
    assert check.metadata["missing_in_zip"].value == 1
    assert check.metadata["missing_in_zip_sample"].value == [lost]
    assert check.metadata["differing"].value == 0
