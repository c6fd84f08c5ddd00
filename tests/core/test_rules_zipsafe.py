"""Every path that opens a zip written elsewhere applies lse_assets.core.zipsafe's caps
(docs/operations.md, "Bad input in archives"): a member declaring more than 256 MiB, a
member above 1 MiB expanding more than 100 times, members declaring in all more than 100
times the zip (above 64 MiB) are refused unread, and no member name reaches the file system
(zip-slip). The paths: restore of our zip and of a predecessor zip (downloaded from the
archive store), the predecessor's following-day zip read alongside, import-legacy (a zip,
or zips in a folder), and the merge that recovers runs from an earlier zip.

The hostile zips are small (at most 65 MiB of zeros to deflate): what they declare, not
their size, is what is refused."""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import struct
import zipfile
from datetime import date, timedelta
from pathlib import Path

import pytest

from lse_assets.core import archive, jsondoc, runfiles, zipsafe
from lse_assets.core.legacy.formats import LegacyFormatError
from lse_assets.core.legacy.importer import import_legacy
from lse_assets.core.restore import restore
from lse_assets.core.runfiles import PartitionPaths
from resources.drive.local_folder import LocalFolderDriveResource
from resources.langsmith.sample import SampleLangSmithResource
from tests.conftest import PROJECT_A
from tests.fakes.legacy_zips import predecessor_zips

DAY = date(2025, 9, 13)
MIB = 1024 * 1024
HOSTILE = ["member_too_large", "ratio", "total", "zip_slip"]


# ---- hostile zips -----------------------------------------------------------------------------


def _declare_size(path: Path, member: str, size: int) -> None:
    """Make the central directory declare `size` uncompressed bytes for `member`."""
    data = bytearray(path.read_bytes())
    offset = 0
    while True:
        offset = data.index(b"PK\x01\x02", offset)
        name_length = struct.unpack_from("<H", data, offset + 28)[0]
        if data[offset + 46 : offset + 46 + name_length].decode() == member:
            struct.pack_into("<I", data, offset + 24, size)
            break
        offset += 4
    path.write_bytes(bytes(data))


def hostile_zip(kind: str, path: Path, base: dict[str, bytes]) -> Path:
    """`base` (name -> bytes, a readable archive) plus what makes it hostile."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in base.items():
            out.writestr(name, data)
        if kind == "member_too_large":
            out.writestr(zipfile.ZipInfo("runs/padding.json"), b"{}")
        elif kind == "ratio":
            out.writestr("runs/padding.json", b"{}" + b" " * (2 * MIB))  # about 500:1
        elif kind == "total":
            for n in range(65):  # each exactly 1 MiB (under the ratio floor), 65 MiB in all
                out.writestr(f"runs/padding-{n}.json", bytes(MIB))
        elif kind == "zip_slip":
            out.writestr("../../escaped.json", b"{}")
            out.writestr("/tmp/escaped-absolute.json", b"{}")
    if kind == "member_too_large":
        _declare_size(path, "runs/padding.json", zipsafe.MAX_MEMBER_BYTES + 1)
    return path


@pytest.mark.parametrize("kind", HOSTILE[:3])
def test_each_hostile_zip_breaks_exactly_the_rule_it_is_named_for(tmp_path, kind):
    path = hostile_zip(kind, tmp_path / "x.zip", {"manifest.json": b"{}"})
    with pytest.raises(zipsafe.UnsafeZipError, match="refused unread") as raised:
        zipsafe.open_checked(path)
    expected, why = {
        "member_too_large": (
            "more than the 256.0 MiB a run file may hold",
            "; the archive is refused unread (it is damaged or not an archive of runs)",
        ),
        "ratio": ("more than 100:1", "; the archive is refused unread as a possible zip bomb"),
        "total": ("in all", "; the archive is refused unread as a possible zip bomb"),
    }[kind]
    assert str(raised.value).startswith("x.zip: ") and expected in str(raised.value)
    assert str(raised.value).endswith(why)  # the one line says what it suspects
    assert path.stat().st_size < 2 * MIB


def test_the_caps_sit_exactly_at_their_documented_values():
    assert zipsafe.MAX_MEMBER_BYTES == 256 * MIB
    assert zipsafe.MAX_RATIO == 100
    assert zipsafe.RATIO_FLOOR_BYTES == MIB
    assert zipsafe.TOTAL_FLOOR_BYTES == 64 * MIB
    assert zipsafe.CHUNK == MIB


class _Listing:
    def __init__(self, *sizes: tuple[int, int]) -> None:
        self.infos = []
        for number, (size, compressed) in enumerate(sizes):
            info = zipfile.ZipInfo(f"runs/{number}.json")
            info.file_size, info.compress_size = size, compressed
            self.infos.append(info)

    def infolist(self):
        return self.infos


@pytest.mark.parametrize(
    ("sizes", "zip_bytes", "refused"),
    [
        ([(256 * MIB, 256 * MIB)], None, False),  # the largest member allowed, stored
        ([(256 * MIB + 1, 256 * MIB + 1)], None, True),
        ([(MIB, 1)], None, False),  # at the ratio floor: any ratio
        ([(MIB + 1, 1)], None, True),
        ([(100 * MIB, MIB)], None, False),  # exactly 100:1
        ([(100 * MIB + 1, MIB)], None, True),
        ([(100 * MIB, 0)], None, True),  # a compressed size of 0 counts as 1
        ([(MIB, MIB)] * 64, 1, False),  # 64 MiB in all: at the total floor
        ([(MIB, MIB)] * 64 + [(1, 1)], 1, True),
        ([(MIB, MIB)] * 65, 65 * MIB // 100 + 1, False),  # under 100 times the zip
        ([(MIB, MIB)] * 65, 65 * MIB // 100 - 1, True),
        ([(MIB, MIB)] * 65, None, False),  # the total rule needs the zip's size
    ],
)
def test_each_cap_on_both_sides(sizes, zip_bytes, refused):
    listing = _Listing(*sizes)
    if refused:
        with pytest.raises(zipsafe.UnsafeZipError, match="refused unread"):
            zipsafe.check_archive(listing, "x.zip", zip_bytes)
    else:
        zipsafe.check_archive(listing, "x.zip", zip_bytes)


def test_a_zip_that_is_not_a_zip_is_an_unsafe_zip_error(tmp_path):
    path = tmp_path / "x.zip"
    path.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(zipsafe.UnsafeZipError, match=r"x\.zip: not a readable zip"):
        zipsafe.open_checked(path)


# ---- our zips, through restore -----------------------------------------------------------------


def _runs() -> list[dict]:
    return list(SampleLangSmithResource().fetch_day(PROJECT_A, DAY).runs)


def _our_zip_members(tmp_path: Path) -> dict[str, bytes]:
    paths = PartitionPaths(tmp_path / "source", PROJECT_A, DAY)
    runfiles.write_partition(paths, iter(_runs()), {})
    with zipfile.ZipFile(archive.build_archive(paths).path) as built:
        return {name: built.read(name) for name in built.namelist()}


def _escaped(tmp_path: Path) -> list[Path]:
    return [
        p
        for p in [*tmp_path.parent.glob("escaped*"), Path("/tmp/escaped-absolute.json")]
        if p.exists()
    ]


def hostile_zip_of_ours(kind: str, path: Path, members: dict[str, bytes]) -> Path:
    """Our zip, every member listed by its manifest with its true sha256, yet hostile: the
    entry check alone would accept it, only the caps refuse it."""
    members = dict(members)
    manifest = json.loads(members[runfiles.MANIFEST])
    run_names = sorted(name for name in members if name.startswith("runs/"))
    padded = {
        "member_too_large": run_names[:1],
        "ratio": run_names[:1],
        "total": run_names[:65],
        "zip_slip": [],
    }[kind]
    assert len(padded) == len(set(padded)) and (kind != "total" or len(padded) == 65)
    for name in padded:
        size = MIB if kind == "total" else 2 * MIB  # "total": each at the ratio floor
        members[name] = members[name] + b" " * (size - len(members[name]))
        manifest["files"][name[5:-5]] = hashlib.sha256(members[name]).hexdigest()
    members[runfiles.MANIFEST] = jsondoc.canonical_bytes(manifest)
    if kind == "zip_slip":
        members["../../escaped.json"] = b"{}"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in members.items():
            out.writestr(name, data)
    if kind == "member_too_large":
        _declare_size(path, padded[0], zipsafe.MAX_MEMBER_BYTES + 1)
    return path


@pytest.mark.parametrize("kind", HOSTILE)
def test_restore_refuses_a_hostile_zip_of_ours_and_writes_nothing(tmp_path, kind):
    store = LocalFolderDriveResource(folder=str(tmp_path / "drive"))
    paths = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)
    folder = tmp_path / "drive" / runfiles.project_slug(PROJECT_A)
    folder.mkdir(parents=True)
    hostile_zip_of_ours(kind, folder / paths.zip_name, _our_zip_members(tmp_path))

    report = restore(store, PROJECT_A, [DAY], lambda day: paths, force=True)

    (outcome,) = report.outcomes
    assert outcome.status == "failed" and not report.ok
    assert paths.zip_name in outcome.detail
    if kind != "zip_slip":
        assert "refused unread" in outcome.detail, outcome.detail
    assert not paths.dir.exists() and not paths.zip_path.exists()
    assert _escaped(tmp_path) == []


# ---- the predecessor's zips: restore (the day and the day after) and import-legacy -------------


def _predecessor_members(tmp_path: Path, days: list[date]) -> dict[date, dict[str, bytes]]:
    folder = tmp_path / "made"
    folder.mkdir(exist_ok=True)
    zips, _ = predecessor_zips(PROJECT_A, days, folder, "proj-a")
    members = {}
    for day, path in zips.items():
        with zipfile.ZipFile(path) as made:
            members[day] = {name: made.read(name) for name in made.namelist()}
    return members


@pytest.mark.parametrize("kind", HOSTILE[:3])
def test_restore_refuses_a_hostile_predecessor_zip_and_writes_nothing(tmp_path, kind):
    folder = tmp_path / "drive" / runfiles.project_slug(PROJECT_A)
    folder.mkdir(parents=True)
    members = _predecessor_members(tmp_path, [DAY])[DAY]
    hostile_zip(kind, folder / f"proj-a_{DAY}.zip", members)
    store = LocalFolderDriveResource(folder=str(tmp_path / "drive"))

    report = restore(
        store, PROJECT_A, [DAY], lambda day: PartitionPaths(tmp_path / "data", PROJECT_A, day)
    )

    (outcome,) = report.outcomes
    assert outcome.status == "failed" and "refused unread" in outcome.detail
    assert not (tmp_path / "data" / runfiles.project_slug(PROJECT_A) / DAY.isoformat()).exists()


@pytest.mark.parametrize("kind", HOSTILE[:3])
def test_a_hostile_following_day_zip_is_not_read_and_is_named_in_the_notes(tmp_path, kind):
    folder = tmp_path / "drive" / runfiles.project_slug(PROJECT_A)
    folder.mkdir(parents=True)
    following = DAY + timedelta(days=1)
    members = _predecessor_members(tmp_path, [DAY, following])
    (folder / f"proj-a_{DAY}.zip").write_bytes(b"")
    with zipfile.ZipFile(folder / f"proj-a_{DAY}.zip", "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in members[DAY].items():
            out.writestr(name, data)
    hostile_zip(kind, folder / f"proj-a_{following}.zip", members[following])
    store = LocalFolderDriveResource(folder=str(tmp_path / "drive"))

    report = restore(
        store, PROJECT_A, [DAY], lambda day: PartitionPaths(tmp_path / "data", PROJECT_A, day)
    )

    (outcome,) = report.outcomes
    assert outcome.status == "restored"
    assert any(
        f"could not read the archive of {following}" in note and "refused unread" in note
        for note in report.notes
    ), report.notes


@pytest.mark.parametrize("inside_a_folder", [False, True])
@pytest.mark.parametrize("kind", HOSTILE[:3])
def test_import_legacy_refuses_a_hostile_zip_and_writes_nothing(tmp_path, kind, inside_a_folder):
    source = tmp_path / "old" / "archives"
    source.mkdir(parents=True)
    members = _predecessor_members(tmp_path, [DAY])[DAY]
    path = hostile_zip(kind, source / f"proj-a_{DAY}.zip", members)

    with pytest.raises(LegacyFormatError, match="refused unread"):
        import_legacy(
            tmp_path / "old" if inside_a_folder else path,
            lambda day: PartitionPaths(tmp_path / "data", PROJECT_A, day),
        )
    assert not (tmp_path / "data").exists()


def test_import_legacy_never_uses_a_member_name_as_a_path(tmp_path):
    source = tmp_path / "old"
    source.mkdir()
    members = _predecessor_members(tmp_path, [DAY])[DAY]
    renamed = {f"../../escaped-{n}.json": data for n, data in enumerate(members.values())}
    with zipfile.ZipFile(source / f"proj-a_{DAY}.zip", "w") as out:
        for name, data in renamed.items():
            out.writestr(name, data)

    # Refusing is fine; writing outside the data folder is not.
    with contextlib.suppress(LegacyFormatError, ValueError):
        import_legacy(source, lambda day: PartitionPaths(tmp_path / "data", PROJECT_A, day))
    assert _escaped(tmp_path) == [] and not list(tmp_path.glob("escaped*"))
    for written in (tmp_path / "data").rglob("*.json") if (tmp_path / "data").exists() else []:
        assert written.resolve().is_relative_to((tmp_path / "data").resolve())


# ---- the merge: runs recovered from an earlier zip ---------------------------------------------


@pytest.mark.parametrize("where", ["local zip", "archive store"])
def test_the_merge_does_not_recover_runs_from_a_zip_that_breaks_the_caps(tmp_path, where):
    paths = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)
    runs = _runs()
    runfiles.write_partition(paths, iter(runs), {})
    archive.build_archive(paths)
    victim = sorted(paths.runs_dir.iterdir())[0]
    run_id = victim.stem
    padded = victim.read_bytes() + b" " * (2 * MIB)  # parses, and expands about 500:1
    manifest = runfiles.read_manifest(paths)
    manifest["files"][run_id] = hashlib.sha256(padded).hexdigest()
    hostile = tmp_path / "hostile.zip"
    with zipfile.ZipFile(hostile, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr(runfiles.MANIFEST, jsondoc.canonical_bytes(manifest))
        out.writestr(f"runs/{run_id}.json", padded)
    victim.unlink()  # the local partition is damaged: the merge looks into earlier zips
    store = LocalFolderDriveResource(folder=str(tmp_path / "drive"))
    if where == "local zip":
        shutil.copy(hostile, paths.zip_path)
    else:
        paths.zip_path.unlink()
        folder = tmp_path / "drive" / runfiles.project_slug(PROJECT_A)
        folder.mkdir(parents=True)
        shutil.copy(hostile, folder / paths.zip_name)

    # Refusing the zip is the rule; how the loss is then reported is section 1's business.
    with contextlib.suppress(runfiles.ArchiveLossError, zipsafe.UnsafeZipError, ValueError):
        runfiles.write_partition(
            paths,
            iter(r for r in runs if r["id"] != run_id),  # LangSmith no longer returns it
            {},
            previous_zips=runfiles.previous_zips_from(paths, store),
        )
    written = paths.run_file(run_id)
    assert not (written.exists() and written.read_bytes() == padded)


def test_a_run_listed_by_a_manifest_is_only_ever_read_by_its_canonical_name(tmp_path):
    paths = PartitionPaths(tmp_path / "data", PROJECT_A, DAY)
    folder = tmp_path / "drive" / runfiles.project_slug(PROJECT_A)
    folder.mkdir(parents=True)
    members = _our_zip_members(tmp_path)
    manifest = json.loads(members[runfiles.MANIFEST])
    manifest["files"]["../../escaped"] = "0" * 64
    members[runfiles.MANIFEST] = jsondoc.canonical_bytes(manifest)
    members["runs/../../escaped.json"] = b"{}"
    with zipfile.ZipFile(folder / paths.zip_name, "w") as out:
        for name, data in members.items():
            out.writestr(name, data)
    store = LocalFolderDriveResource(folder=str(tmp_path / "drive"))

    (outcome,) = restore(store, PROJECT_A, [DAY], lambda day: paths, force=True).outcomes

    assert outcome.status == "failed" and "not a UUID" in outcome.detail
    assert not paths.dir.exists() and _escaped(tmp_path) == []
    assert not list(tmp_path.rglob("escaped*"))
