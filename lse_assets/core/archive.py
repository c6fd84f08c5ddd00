"""A deterministic zip of a partition: the same files always give the same bytes (and md5).

Entries are the partition's own relative paths (`manifest.json`, `runs/<id>.json`), sorted,
with a fixed timestamp, fixed permissions and a fixed compression level.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

from lse_assets.core import durable, locks, runfiles
from lse_assets.core.runfiles import PartitionPaths

_EPOCH = (1980, 1, 1, 0, 0, 0)
_UNIX = 3
_MODE = 0o100644 << 16


@dataclass(frozen=True)
class ArchiveInfo:
    path: Path
    files: int
    bytes: int
    md5: str
    leftovers_cleared: int = 0  # temporaries of writers that died (runfiles.recover)


def file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = _UNIX
    info.external_attr = _MODE
    return info


def _entry_names(paths: PartitionPaths) -> list[str]:
    names = [f"{runfiles.RUNS_DIR}/{run_id}.json" for run_id in runfiles.run_ids_on_disk(paths)]
    return sorted([runfiles.MANIFEST, *names])


def build_archive(paths: PartitionPaths) -> ArchiveInfo:
    """Zip the partition under its lock (no writer swaps the files mid-zip); the zip is
    fsynced before it replaces the old one, and a failed build leaves no temporary file.
    What killed writers left (a `.zip.tmp` among them) is cleared first."""
    with locks.partition_lock(paths):
        cleared = runfiles.recover(paths)
        runfiles.read_manifest(paths)  # fails clearly when raw_runs never ran
        names = _entry_names(paths)
        tmp = paths.new_zip_tmp()
        try:
            with zipfile.ZipFile(tmp, "w", compresslevel=6) as archive:
                for name in names:
                    archive.writestr(_entry(name), (paths.dir / name).read_bytes())
            durable.fsync_file(tmp)
            locks.confirm_partition(paths)  # a lost lock must not replace the zip
            os.replace(tmp, paths.zip_path)
            durable.fsync_dir(paths.project_dir)
        finally:
            tmp.unlink(missing_ok=True)
        return ArchiveInfo(
            path=paths.zip_path,
            files=len(names),
            bytes=paths.zip_path.stat().st_size,
            md5=file_md5(paths.zip_path),
            leftovers_cleared=cleared,
        )


def archive_differences(paths: PartitionPaths) -> dict[str, list[str]]:
    """Entries missing from the zip, extra in it, or with other bytes than the files."""
    if not paths.zip_path.exists():
        return {"missing_zip": [str(paths.zip_path)]}
    on_disk = set(_entry_names(paths))
    with zipfile.ZipFile(paths.zip_path) as archive:
        in_zip = set(archive.namelist())
        differing = [
            name
            for name in sorted(on_disk & in_zip)
            if archive.read(name) != (paths.dir / name).read_bytes()
        ]
    return {
        "missing_in_zip": sorted(on_disk - in_zip),
        "extra_in_zip": sorted(in_zip - on_disk),
        "differing": differing,
    }
