"""A valid zip whose run file nests JSON 100,000 deep (issue 18): `lse restore` and
`lse import-legacy` read every run as the checks do before accepting a day, so the day is
`failed`, the command exits non-zero and nothing is written. And restore clears the work
folders of restores that were killed."""

import hashlib
import json
import os
import re
import shutil
import uuid
from datetime import date

import pytest
from click.testing import CliRunner

from lse_assets.cli.main import main
from lse_assets.core import archive, jsondoc, runfiles
from lse_assets.core.restore import restore
from lse_assets.core.runfiles import PartitionPaths
from lse_assets.settings import load_settings
from resources.drive.local_folder import LocalFolderDriveResource
from resources.langsmith.sample import SampleLangSmithResource
from tests.conftest import PROJECT_A

DAY = date(2025, 9, 13)
DEPTH = 100_000


def _deep(run_id: str) -> bytes:
    return b'{"id":"' + run_id.encode() + b'","deep":' + b"[" * DEPTH + b"]" * DEPTH + b"}\n"


def _snapshot(root) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".locks" not in p.parts
    }


@pytest.fixture
def poison_zip(tmp_path):
    """Our zip of DAY in the local-folder store, consistent in every way the old restore
    checked (entries, manifest, each sha256), one run nested 100,000 deep."""
    source = PartitionPaths(tmp_path / "source", PROJECT_A, DAY)
    runs = list(SampleLangSmithResource().fetch_day(PROJECT_A, DAY).runs)
    runfiles.write_partition(source, iter(runs), {})
    victim = runs[-1]["id"]
    data = _deep(victim)
    source.run_file(victim).write_bytes(data)
    manifest = json.loads(source.manifest.read_bytes())
    manifest["files"][victim] = hashlib.sha256(data).hexdigest()
    source.manifest.write_bytes(jsondoc.canonical_bytes(manifest))
    built = archive.build_archive(source).path
    folder = tmp_path / "drive" / runfiles.project_slug(PROJECT_A)
    folder.mkdir(parents=True)
    shutil.copy(built, folder / built.name)
    return victim


def _restore_cli(tmp_path, monkeypatch, *extra):
    monkeypatch.setenv("LSE_HOME", str(tmp_path))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    load_settings.cache_clear()
    try:
        return CliRunner().invoke(
            main, ["restore", "--project", PROJECT_A, "--date", str(DAY), *extra]
        )
    finally:
        load_settings.cache_clear()


def test_restore_refuses_a_zip_with_a_run_nested_too_deep(tmp_path, poison_zip, monkeypatch):
    result = _restore_cli(tmp_path, monkeypatch)

    assert result.exit_code == 1, result.output
    assert "failed" in result.output and "restored" not in result.output
    squashed = re.sub(r"[│\s]", "", result.output)  # the table folds the detail
    assert f"run{poison_zip}cannotbereadasthechecksreadit" in squashed
    assert "nesteddeeper" in squashed and "nothingwaswritten" in squashed
    assert "Traceback" not in result.output
    assert not PartitionPaths(tmp_path / "data", PROJECT_A, DAY).project_dir.exists()


def test_restore_names_the_run_and_leaves_a_good_partition_alone_even_forced(tmp_path, poison_zip):
    paths = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)
    runfiles.write_partition(
        paths, SampleLangSmithResource(variant=1).fetch_day(PROJECT_A, DAY).runs, {}
    )
    before = _snapshot(tmp_path / "data")
    store = LocalFolderDriveResource(folder=str(tmp_path / "drive"))

    report = restore(store, PROJECT_A, [DAY], lambda day: paths, force=True)

    (outcome,) = report.outcomes
    assert outcome.status == "failed" and not report.ok
    assert f"run {poison_zip} cannot be read as the checks read it" in outcome.detail
    assert "nested deeper" in outcome.detail and "nothing was written" in outcome.detail
    assert _snapshot(tmp_path / "data") == before


def test_import_legacy_refuses_a_run_nested_too_deep_and_writes_nothing(tmp_path, monkeypatch):
    old = tmp_path / "old" / "data" / str(DAY)
    old.mkdir(parents=True)
    run_id = str(uuid.uuid4())
    good = {"id": str(uuid.uuid4()), "start_time": f"{DAY} 10:00:00"}
    (old / f"{good['id']}.json").write_text(json.dumps(good))
    (old / f"{run_id}.json").write_bytes(_deep(run_id))
    monkeypatch.setenv("LSE_HOME", str(tmp_path))
    load_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            main, ["import-legacy", str(tmp_path / "old"), "--project", PROJECT_A]
        )
    finally:
        load_settings.cache_clear()

    assert result.exit_code != 0, result.output
    assert f"{run_id}.json" in result.output and "nested deeper" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "data" / runfiles.project_slug(PROJECT_A)).exists()


def test_restore_clears_the_work_folder_of_a_killed_restore_but_not_a_live_one(tmp_path):
    import fcntl

    data = tmp_path / "data"
    dead = data / ".lse-restore-dead"
    (dead / "sub").mkdir(parents=True)
    (dead / "sub" / "x.zip").write_bytes(bytes(1000))
    live = data / ".lse-restore-live"
    live.mkdir()
    held = os.open(live, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(held, fcntl.LOCK_EX)  # what a running restore holds
    store = LocalFolderDriveResource(folder=str(tmp_path / "drive"))
    try:
        report = restore(store, PROJECT_A, [DAY], lambda day: PartitionPaths(data, PROJECT_A, day))
    finally:
        os.close(held)

    assert not dead.exists() and live.exists()
    assert "cleared 1 work folder(s) of restores that died" in report.notes
    assert sorted(p.name for p in data.iterdir() if p.name.startswith(".lse-restore-")) == [
        ".lse-restore-live"
    ]
