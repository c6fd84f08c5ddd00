"""A local folder laid out like the Drive archive: `<folder>/<project slug>/<zip>`.

The default when LSE_DRIVE_FOLDER_ID is unset. It behaves as the Drive resource does: no
copy when the md5 is unchanged, an atomic replace otherwise, the same result metadata.
Project folders use the path-safe slug, since a file system cannot hold every project name.
A copy is written as `<zip>.<uuid>.partial` and renamed; callers hold the partition's lock
(drive_archive, forget), so the `.partial` files of that zip an upsert finds belong to a
killed upload: it removes them and counts them (`leftovers_cleared`).
"""

from __future__ import annotations

import glob
import os
import shutil
import uuid
from pathlib import Path

from pydantic import Field

from lse_assets.core import durable
from lse_assets.core.archive import file_md5
from lse_assets.core.ports import RemoteFile, UpsertResult
from lse_assets.core.runfiles import project_slug
from resources.drive.archive_store import ArchiveStoreResource


class LocalFolderDriveResource(ArchiveStoreResource):
    folder: str = Field(description="Root folder standing in for the Drive root folder.")

    def _folder(self, project: str) -> Path:
        return Path(self.folder).expanduser().resolve() / project_slug(project)

    def _path(self, project: str, name: str) -> Path:
        return self._folder(project) / name

    def _remote(self, path: Path) -> RemoteFile:
        return RemoteFile(
            file_id=str(path),
            name=path.name,
            size=path.stat().st_size,
            md5=file_md5(path),
            url=path.as_uri(),
        )

    def find(self, project: str, name: str) -> RemoteFile | None:
        path = self._path(project, name)
        return self._remote(path) if path.exists() else None

    def list_archives(self, project: str) -> list[RemoteFile]:
        folder = self._folder(project)
        if not folder.is_dir():
            return []
        return [self._remote(path) for path in sorted(folder.glob("*.zip")) if path.is_file()]

    def upsert(self, project: str, local_zip: Path) -> UpsertResult:
        target = self._path(project, local_zip.name)
        cleared = self._clear_partials(target)
        local_md5 = file_md5(local_zip)
        existing = self.find(project, local_zip.name)
        if existing and existing.md5 == local_md5 and existing.size == local_zip.stat().st_size:
            return UpsertResult("unchanged", existing, leftovers_cleared=cleared)
        target.parent.mkdir(parents=True, exist_ok=True)
        # One temporary name per writer; fsynced before it replaces the stored copy.
        tmp = target.with_name(f"{target.name}.{uuid.uuid4().hex}.partial")
        try:
            shutil.copyfile(local_zip, tmp)
            durable.fsync_file(tmp)
            os.replace(tmp, target)
            durable.fsync_dir(target.parent)
        finally:
            tmp.unlink(missing_ok=True)
        remote = self._remote(target)
        if remote.md5 != local_md5 or remote.size != local_zip.stat().st_size:
            raise OSError(f"copy of {local_zip} to {target} does not match the local zip")
        return UpsertResult("updated" if existing else "created", remote, leftovers_cleared=cleared)

    @staticmethod
    def _clear_partials(target: Path) -> int:
        if not target.parent.is_dir():
            return 0
        leftovers = list(target.parent.glob(f"{glob.escape(target.name)}.*.partial"))
        for leftover in leftovers:
            leftover.unlink(missing_ok=True)
        return len(leftovers)

    def delete_older_revisions(self, project: str, name: str) -> int:
        return 0  # a replaced file keeps no history here

    def download(self, project: str, name: str, destination: Path) -> RemoteFile:
        remote = self.find(project, name)
        if remote is None:
            raise FileNotFoundError(f"no archive {name!r} for project {project!r} in {self.folder}")
        shutil.copyfile(self._path(project, name), destination)
        return remote
