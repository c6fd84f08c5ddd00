"""`import_legacy` in process (fast tier): where it looks, what it reports, and the rule that
a partition already holding other runs is kept unless forced while one holding the same
runs is simply rewritten (issue 18: the CLI tests held these, out of mutation testing's
sight)."""

import json
import zipfile
from datetime import date

import pytest

from lse_assets.core import runfiles
from lse_assets.core.legacy.importer import import_legacy, legacy_sources
from lse_assets.core.runfiles import PartitionPaths
from tests.conftest import PROJECT_A
from tests.fakes.legacy_zips import predecessor_zips

DAYS = [date(2025, 9, 13), date(2025, 9, 14)]


def _source(tmp_path):
    source = tmp_path / "old"
    source.mkdir()
    zips, _shapes = predecessor_zips(PROJECT_A, DAYS, source, "proja")
    return source, zips


def _paths_for(tmp_path):
    return lambda day: PartitionPaths(tmp_path / "data", PROJECT_A, day)


def test_sources_are_the_zips_and_the_folders_of_run_files(tmp_path):
    source, zips = _source(tmp_path)
    folder = source / "data" / "proj"
    folder.mkdir(parents=True)
    (folder / "r1.json").write_text("{}")
    (source / "only-a-summary").mkdir()
    (source / "only-a-summary" / "_summary.json").write_text("{}")
    assert legacy_sources(source) == (sorted(zips.values()), [folder])
    assert legacy_sources(zips[DAYS[0]]) == ([zips[DAYS[0]]], [])


def test_a_path_that_is_not_there_or_holds_nothing_is_refused_by_name(tmp_path):
    with pytest.raises(FileNotFoundError, match=rf"^{tmp_path / 'gone'} does not exist$"):
        legacy_sources(tmp_path / "gone")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no zips and no JSON run files under"):
        legacy_sources(tmp_path / "empty")
    (tmp_path / "notes.txt").write_text("")
    with pytest.raises(ValueError, match="neither a zip nor a folder"):
        legacy_sources(tmp_path / "notes.txt")


def test_the_report_names_its_sources_and_writes_only_complete_traces(tmp_path):
    source, zips = _source(tmp_path)
    report = import_legacy(source, _paths_for(tmp_path))
    assert report.sources == sorted(zips.values())
    assert report.unplaced  # late children of the 12th, their parents not read
    assert report.rootless_runs  # the 12th: children whose root is in no file read
    assert set(report.days) == set(DAYS)
    assert not report.kept
    for day in DAYS:
        paths = _paths_for(tmp_path)(day)
        runs = [json.loads(p.read_bytes()) for p in paths.runs_dir.glob("*.json")]
        roots = {run["id"] for run in runs if run["id"] == run["trace_id"]}
        assert runs and all(run["trace_id"] in roots for run in runs)


def test_the_same_runs_again_are_rewritten_and_other_runs_are_kept_unless_forced(tmp_path):
    source, _zips = _source(tmp_path)
    paths_for = _paths_for(tmp_path)
    import_legacy(source, paths_for)

    again = import_legacy(source, paths_for)
    assert set(again.days) == set(DAYS) and not again.kept

    changed = paths_for(DAYS[0])
    manifest = runfiles.read_manifest(changed)
    run_id = sorted(manifest["files"])[0]
    manifest["files"][run_id] = "0" * 64  # the partition holds another version of a run
    changed.manifest.write_text(json.dumps(manifest))
    kept = import_legacy(source, paths_for)
    assert kept.kept == [DAYS[0]] and set(kept.days) == {DAYS[1]}
    assert runfiles.read_manifest(changed)["files"][run_id] == "0" * 64  # left alone

    forced = import_legacy(source, paths_for, force=True)
    assert set(forced.days) == set(DAYS) and not forced.kept
    assert runfiles.read_manifest(changed)["files"][run_id] != "0" * 64


def test_a_zip_damaged_after_it_was_read_is_named_by_its_label(tmp_path):
    import zipfile

    from lse_assets.core import zipsafe
    from lse_assets.core.legacy.formats import LegacyRuns

    _source_dir, zips = _source(tmp_path)
    path = zips[DAYS[0]]
    runs = LegacyRuns()
    runs.add_zip(path, label="old/proja_2025-09-13.zip")
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
    raw = bytearray(path.read_bytes())
    for member in members:  # every member's deflated data, damaged since
        start = member.header_offset + 30 + len(member.filename) + len(member.extra)
        raw[start : start + 8] = b"\xff" * 8
    path.write_bytes(bytes(raw))
    with pytest.raises(zipsafe.UnsafeZipError, match=r"^old/proja_2025-09-13\.zip: member "):
        for day in runs.days():
            list(runs.runs_for(day))


def test_a_bad_zip_in_a_folder_is_named_by_its_path_under_the_folder(tmp_path):
    """Two folders of the old tool can hold zips of the same name: the path tells which."""
    source = tmp_path / "old"
    (source / "archives").mkdir(parents=True)
    with zipfile.ZipFile(source / "archives" / "proja_2025-09-13.zip", "w") as archive:
        archive.writestr("notes.txt", b"not a run")

    with pytest.raises(ValueError, match=r"^archives/proja_2025-09-13\.zip:notes\.txt: not a JSON"):
        import_legacy(source, _paths_for(tmp_path))
    assert not (tmp_path / "data").exists()
