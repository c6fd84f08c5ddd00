"""Bad input in the archive store: a zip bomb is refused unread, with bounded memory; an
unreadable archive fails its own day, restore goes on with the others and exits non-zero;
the predecessor's zips follow the same rules (restore and import-legacy)."""

import hashlib
import json
import shutil
import tracemalloc
import uuid
import zipfile
from datetime import date, timedelta

import pytest
from click.testing import CliRunner

from lse_assets.cli.main import main
from lse_assets.core import runfiles, zipsafe
from lse_assets.core.legacy.formats import LegacyFormatError
from lse_assets.core.legacy.importer import import_legacy
from lse_assets.core.restore import restore
from lse_assets.core.runfiles import PartitionPaths
from lse_assets.settings import load_settings
from resources.drive.local_folder import LocalFolderDriveResource
from tests.conftest import PROJECT_A
from tests.fakes.helpers import local_resources, materialize
from tests.fakes.legacy_zips import predecessor_zips

DAY = date(2025, 9, 13)
GIB = 1024 * 1024 * 1024


def _bomb(path, member):
    """A real zip bomb: 1 GiB of zeros, deflated to about 1 MiB."""
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open(member, "w", force_zip64=True) as stream,
    ):
        block = bytes(1024 * 1024)
        for _ in range(GIB // len(block)):
            stream.write(block)
    return path


@pytest.fixture(scope="module")
def bomb(tmp_path_factory):
    run_id = str(uuid.uuid4())
    return _bomb(tmp_path_factory.mktemp("bomb") / "bomb.zip", f"runs/{run_id}.json")


def test_the_bomb_is_what_the_rules_are_about(bomb):
    with zipfile.ZipFile(bomb) as archive:
        (info,) = archive.infolist()
    assert info.file_size == GIB and bomb.stat().st_size < 2 * 1024 * 1024


def test_a_zip_declaring_a_gigabyte_is_refused_unread_with_bounded_memory(tmp_path, bomb):
    store = LocalFolderDriveResource(folder=str(tmp_path / "drive"))
    paths = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)
    folder = tmp_path / "drive" / runfiles.project_slug(PROJECT_A)
    folder.mkdir(parents=True)
    shutil.copy(bomb, folder / paths.zip_name)

    tracemalloc.start()
    try:
        report = restore(store, PROJECT_A, [DAY], lambda day: paths)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    (outcome,) = report.outcomes
    assert outcome.status == "failed" and not report.ok
    assert "declares 1024.0 MiB" in outcome.detail and "refused unread" in outcome.detail
    assert peak < 16 * 1024 * 1024  # the declared GiB was never read into memory
    assert not paths.dir.exists()


def _our_zip(path, manifest: bytes, compress=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compress) as archive:
        archive.writestr(runfiles.MANIFEST, manifest)
    return path


def _zlib_broken_zip(path):
    manifest = json.dumps({"format": runfiles.FORMAT, "files": {}, "pad": "x" * 5000}).encode()
    _our_zip(path, manifest, zipfile.ZIP_DEFLATED)
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(runfiles.MANIFEST)
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start] = 0xFF  # BFINAL=1, BTYPE=11: a block type deflate does not have
    path.write_bytes(bytes(data))
    return path


BROKEN = {
    "bad UTF-8": lambda p: _our_zip(p, b'{"format": "\xff\xfe"}'),
    "invalid JSON": lambda p: _our_zip(p, b'{"format": 1,'),
    "zlib error": _zlib_broken_zip,
    "nested too deep": lambda p: _our_zip(p, b"[" * 5000 + b"]" * 5000),
}
REASONS = {
    "bad UTF-8": "not readable JSON",
    "invalid JSON": "not readable JSON",
    "zlib error": "cannot be read",
    "nested too deep": "nested deeper than the parser allows",
}


@pytest.fixture
def broken_days(tmp_path, postgres):
    """DAY archived for real; the four days after it in the store, each broken its own way."""
    assert materialize(PROJECT_A, DAY, local_resources(tmp_path, postgres)).success
    folder = tmp_path / "drive" / runfiles.project_slug(PROJECT_A)
    days = {}
    for offset, (kind, make) in enumerate(BROKEN.items(), start=1):
        day = DAY + timedelta(days=offset)
        make(folder / PartitionPaths(tmp_path / "data", PROJECT_A, day).zip_name)
        days[day] = kind
    shutil.rmtree(tmp_path / "data")
    return days


def test_one_unreadable_archive_fails_only_its_day(tmp_path, broken_days):
    store = LocalFolderDriveResource(folder=str(tmp_path / "drive"))
    days = [DAY, *broken_days]

    report = restore(
        store, PROJECT_A, days, lambda day: PartitionPaths(tmp_path / "data", PROJECT_A, day)
    )

    outcomes = {outcome.day: outcome for outcome in report.outcomes}
    assert outcomes[DAY].status == "restored" and outcomes[DAY].runs > 0
    for day, kind in broken_days.items():
        assert outcomes[day].status == "failed", kind
        assert REASONS[kind] in outcomes[day].detail, (kind, outcomes[day].detail)
        assert not PartitionPaths(tmp_path / "data", PROJECT_A, day).dir.exists()
    assert not report.ok


def test_cli_restores_the_good_day_and_exits_non_zero(tmp_path, broken_days, monkeypatch):
    monkeypatch.setenv("LSE_HOME", str(tmp_path))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    load_settings.cache_clear()
    last = max(broken_days)
    try:
        result = CliRunner().invoke(
            main, ["restore", "--project", PROJECT_A, "--from", str(DAY), "--to", str(last)]
        )
    finally:
        load_settings.cache_clear()
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.output.count("failed") == len(broken_days)
    assert PartitionPaths(tmp_path / "data", PROJECT_A, DAY).manifest.exists()


def test_a_bomb_among_predecessor_zips_fails_its_day_and_the_other_day_restores(tmp_path, bomb):
    folder = tmp_path / "drive" / runfiles.project_slug(PROJECT_A)
    folder.mkdir(parents=True)
    zips, _ = predecessor_zips(PROJECT_A, [DAY], tmp_path, "proj-a")
    shutil.copy(zips[DAY], folder / f"proj-a_{DAY}.zip")
    later = DAY + timedelta(days=3)
    shutil.copy(bomb, folder / f"proj-a_{later}.zip")
    store = LocalFolderDriveResource(folder=str(tmp_path / "drive"))

    report = restore(
        store,
        PROJECT_A,
        [DAY, later],
        lambda day: PartitionPaths(tmp_path / "data", PROJECT_A, day),
    )

    outcomes = {outcome.day: outcome for outcome in report.outcomes}
    assert outcomes[DAY].status == "restored" and outcomes[DAY].kind == "legacy"
    assert outcomes[later].status == "failed" and "refused unread" in outcomes[later].detail


def test_import_legacy_refuses_a_bomb_by_name_and_writes_nothing(tmp_path, bomb):
    source = tmp_path / "old"
    source.mkdir()
    shutil.copy(bomb, source / f"proj-a_{DAY}.zip")

    with pytest.raises(LegacyFormatError, match="refused unread"):
        import_legacy(source, lambda day: PartitionPaths(tmp_path / "data", PROJECT_A, day))
    assert not (tmp_path / "data").exists()


def test_members_are_copied_and_hashed_in_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(zipsafe, "CHUNK", 7)
    body = b"0123456789" * 10
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("runs/x.json", body)
    reads = []
    with zipsafe.open_checked(path) as archive:
        original = zipfile.ZipExtFile.read

        def spy(self, n=-1):
            reads.append(n)
            return original(self, n)

        monkeypatch.setattr(zipfile.ZipExtFile, "read", spy)
        target = tmp_path / "out"
        with open(target, "wb") as handle:
            digest = zipsafe.copy_member(archive, "runs/x.json", handle, "a.zip")
    assert target.read_bytes() == body
    assert digest == hashlib.sha256(body).hexdigest()
    assert reads and all(n == 7 for n in reads)


@pytest.mark.parametrize(
    ("size", "compressed", "refused"),
    [
        (zipsafe.MAX_MEMBER_BYTES + 1, zipsafe.MAX_MEMBER_BYTES, True),  # too big, even stored
        (50 * 1024 * 1024, 100 * 1024, True),  # 500:1
        (50 * 1024 * 1024, 5 * 1024 * 1024, False),  # 10:1, like JSON
        (512 * 1024, 100, False),  # tiny members may compress a lot
    ],
)
def test_the_rules_decide_from_declared_sizes(size, compressed, refused):
    info = zipfile.ZipInfo("runs/x.json")
    info.file_size, info.compress_size = size, compressed

    class Listing:
        def infolist(self):
            return [info]

    if refused:
        with pytest.raises(zipsafe.UnsafeZipError, match=r"runs/x\.json"):
            zipsafe.check_archive(Listing(), "x.zip")
    else:
        zipsafe.check_archive(Listing(), "x.zip")


def test_an_unreadable_predecessor_zip_fails_its_day_and_adds_none_of_its_runs(tmp_path):
    folder = tmp_path / "drive" / runfiles.project_slug(PROJECT_A)
    folder.mkdir(parents=True)
    zips, _ = predecessor_zips(PROJECT_A, [DAY], tmp_path, "proj-a")
    shutil.copy(zips[DAY], folder / f"proj-a_{DAY}.zip")
    later = DAY + timedelta(days=3)
    with (
        zipfile.ZipFile(zips[DAY]) as good,
        zipfile.ZipFile(folder / f"proj-a_{later}.zip", "w") as broken,
    ):
        first = sorted(n for n in good.namelist() if not n.startswith("_"))[0]
        broken.writestr(first, good.read(first))  # readable, read first
        broken.writestr("zz_deep.json", b"[" * 5000 + b"]" * 5000)
    store = LocalFolderDriveResource(folder=str(tmp_path / "drive"))

    report = restore(
        store,
        PROJECT_A,
        [DAY, later],
        lambda day: PartitionPaths(tmp_path / "data", PROJECT_A, day),
    )

    outcomes = {outcome.day: outcome for outcome in report.outcomes}
    assert outcomes[later].status == "failed"
    assert "zz_deep.json" in outcomes[later].detail and "nested deeper" in outcomes[later].detail
    restored = outcomes[DAY]
    assert restored.status == "restored"
    # The broken zip's readable copy of a run was dropped with it: no duplicate counted.
    source = runfiles.read_manifest(PartitionPaths(tmp_path / "data", PROJECT_A, DAY))["source"]
    assert source["archives"] == [f"proj-a_{DAY}.zip"] and source["duplicates_dropped"] == 1
