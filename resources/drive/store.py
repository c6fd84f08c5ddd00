"""Zips in Drive at `{root folder}/{project name}/{zip name}`: find, upsert, list, download.

Drive names are not unique, so two rules make the layout behave as if they were:
- The project folder is the oldest (createdTime, then id) non-trashed folder of that name
  in the root. A run that creates one lists again right after: if an older one exists (a
  concurrent run won the race), it trashes its own, still empty, folder and uses the older.
- The archive for a name is the oldest non-trashed file of that name in the project folder
  (the "canonical" file). Upserts compare and update that one; a create is followed by the
  same re-listing, so racing or retried creates converge on one file. Newer files of the
  same name are left alone (they may be someone's) and reported as duplicates.
Listing never creates anything; every call passes `supportsAllDrives`, every listing reads
all pages, and names go into queries escaped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

from googleapiclient.http import MediaIoBaseUpload

from lse_assets.core.archive import file_md5
from lse_assets.core.ports import RemoteFile, UpsertResult
from resources.drive import transfer as drive_transfer
from resources.drive.errors import Backoff, DriveAccessError, DriveIntegrityError, ErrorContext

FOLDER_MIME = "application/vnd.google-apps.folder"
FILE_FIELDS = "id,name,size,md5Checksum,webViewLink,createdTime"
_LIST_FIELDS = f"nextPageToken, files({FILE_FIELDS})"
_PAGE_SIZE = 1000


def quoted(value: str) -> str:
    """A string literal for a Drive query (`\\` and `'` escaped)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _oldest_first(files: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(files, key=lambda f: (f.get("createdTime", ""), f["id"]))


def remote_file(item: dict[str, Any]) -> RemoteFile:
    return RemoteFile(
        file_id=item["id"],
        name=item["name"],
        size=int(item.get("size", -1)),
        md5=item.get("md5Checksum", ""),
        url=item.get("webViewLink") or f"https://drive.google.com/file/d/{item['id']}/view",
    )


class DriveStore:
    def __init__(
        self,
        service: Any,
        errors: ErrorContext,
        backoff: Backoff,
        *,
        chunk_size: int,
        resumable_threshold: int,
        log: logging.Logger,
    ) -> None:
        self._files = service.files()
        self._revisions = service.revisions()
        self._errors = errors
        self._backoff = backoff
        self._chunk_size = chunk_size
        self._resumable_threshold = resumable_threshold
        self._log = log
        self._root: dict[str, Any] | None = None

    @property
    def folder_id(self) -> str:
        return self._errors.folder_id

    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        try:
            return self._backoff.call(what, self._log, fn)
        except Exception as error:
            self._raise_for(error, what)

    def _raise_for(self, error: Exception, what: str) -> NoReturn:
        translated = self._errors.translate(error, what, self._backoff.attempts)
        if translated is error:
            raise error
        raise translated from error

    def root(self) -> dict[str, Any]:
        if self._root is None:
            root = self._call(
                f"reading the root folder {self.folder_id}",
                self._files.get(
                    fileId=self.folder_id,
                    fields="id,name,mimeType,driveId,trashed",
                    supportsAllDrives=True,
                ).execute,
            )
            if root.get("mimeType") != FOLDER_MIME or root.get("trashed"):
                raise DriveAccessError(
                    f"LSE_DRIVE_FOLDER_ID={self.folder_id} is "
                    + ("in the trash" if root.get("trashed") else "not a folder")
                    + ": give the id of a Drive folder (the last part of its URL)"
                )
            self._root = root
        return self._root

    def _list(self, query: str, what: str) -> Iterator[dict[str, Any]]:
        drive_id = self.root().get("driveId")
        scope = {"corpora": "drive", "driveId": drive_id} if drive_id else {}
        token = None
        while True:
            page = self._call(
                what,
                self._files.list(
                    q=query,
                    fields=_LIST_FIELDS,
                    pageSize=_PAGE_SIZE,
                    pageToken=token,
                    supportsAllDrives=True,
                    includeItemsFromAllDrives=True,
                    **scope,
                ).execute,
            )
            yield from page.get("files", [])
            token = page.get("nextPageToken")
            if not token:
                return

    def _folders_named(self, project: str) -> list[dict[str, Any]]:
        query = (
            f"name = {quoted(project)} and {quoted(self.folder_id)} in parents"
            f" and mimeType = '{FOLDER_MIME}' and trashed = false"
        )
        return _oldest_first(list(self._list(query, f"finding the folder of {project!r}")))

    def project_folder(self, project: str, *, create: bool) -> str | None:
        # Looked up on every call (one request): a folder someone trashed or moved since
        # the last run must not receive new archives.
        folders = self._folders_named(project)
        if not folders and not create:
            return None
        if not folders:
            mine = self._call(
                f"creating the folder {project!r}",
                self._files.create(
                    body={"name": project, "parents": [self.folder_id], "mimeType": FOLDER_MIME},
                    fields="id,createdTime",
                    supportsAllDrives=True,
                ).execute,
            )
            folders = self._folders_named(project) or [mine]
            if folders[0]["id"] != mine["id"]:
                self._log.info(f"another run created the folder {project!r} first; using it")
                self._trash(mine["id"], f"the duplicate folder {project!r}")
        return folders[0]["id"]

    def files_named(self, folder_id: str, name: str) -> list[dict[str, Any]]:
        query = (
            f"name = {quoted(name)} and {quoted(folder_id)} in parents"
            f" and mimeType != '{FOLDER_MIME}' and trashed = false"
        )
        return _oldest_first(list(self._list(query, f"finding {name!r}")))

    def find(self, project: str, name: str) -> tuple[RemoteFile | None, list[str]]:
        """The canonical file and the ids of newer duplicates."""
        folder_id = self.project_folder(project, create=False)
        found = self.files_named(folder_id, name) if folder_id else []
        if not found:
            return None, []
        return remote_file(found[0]), [item["id"] for item in found[1:]]

    def list_archives(self, project: str) -> list[RemoteFile]:
        """The canonical file of every name in the project folder, by name."""
        folder_id = self.project_folder(project, create=False)
        if folder_id is None:
            return []
        query = (
            f"{quoted(folder_id)} in parents and mimeType != '{FOLDER_MIME}' and trashed = false"
        )
        canonical: dict[str, dict[str, Any]] = {}
        for item in _oldest_first(list(self._list(query, f"listing the folder of {project!r}"))):
            canonical.setdefault(item["name"], item)
        return [remote_file(canonical[name]) for name in sorted(canonical)]

    def _trash(self, file_id: str, what: str) -> None:
        try:
            self._call(
                f"trashing {what}",
                self._files.update(
                    fileId=file_id, body={"trashed": True}, fields="id", supportsAllDrives=True
                ).execute,
            )
        except DriveAccessError as error:  # a leftover duplicate is untidy, not wrong
            self._log.warning(f"could not trash {what} ({file_id}): {error}")

    def _upload(self, make_request: Callable[[MediaIoBaseUpload], Any], path: Path) -> RemoteFile:
        what = f"the upload of {path.name}"
        try:
            item = drive_transfer.upload(
                make_request,
                path,
                chunk_size=self._chunk_size,
                resumable_threshold=self._resumable_threshold,
                backoff=self._backoff,
                log=self._log,
            )
        except Exception as error:
            self._raise_for(error, what)
        return remote_file(item)

    def _create(self, folder_id: str, path: Path) -> RemoteFile:
        return self._upload(
            lambda media: self._files.create(
                body={"name": path.name, "parents": [folder_id]},
                media_body=media,
                fields=FILE_FIELDS,
                supportsAllDrives=True,
            ),
            path,
        )

    def _update(self, file_id: str, path: Path) -> RemoteFile:
        return self._upload(
            lambda media: self._files.update(
                fileId=file_id, media_body=media, fields=FILE_FIELDS, supportsAllDrives=True
            ),
            path,
        )

    def upsert(self, project: str, local_zip: Path) -> UpsertResult:
        local_md5, local_size = file_md5(local_zip), local_zip.stat().st_size
        folder_id = self.project_folder(project, create=True)
        existing = self.files_named(folder_id, local_zip.name)
        if existing:
            canonical = remote_file(existing[0])
            duplicates = tuple(item["id"] for item in existing[1:])
            if canonical.md5 == local_md5 and canonical.size == local_size:
                return UpsertResult("unchanged", canonical, duplicates)
            uploaded = self._update(canonical.file_id, local_zip)
            return UpsertResult(
                "updated", self._verified(uploaded, local_zip, local_md5, local_size), duplicates
            )
        created = self._create(folder_id, local_zip)
        now = self.files_named(folder_id, local_zip.name) or [{"id": created.file_id}]
        duplicates = tuple(item["id"] for item in now[1:] if item["id"] != created.file_id)
        if now[0]["id"] == created.file_id:
            return UpsertResult(
                "created", self._verified(created, local_zip, local_md5, local_size), duplicates
            )
        # A concurrent (or retried) create made an older file of this name: keep that one.
        self._trash(created.file_id, f"the duplicate {local_zip.name}")
        canonical = remote_file(now[0])
        if canonical.md5 == local_md5 and canonical.size == local_size:
            return UpsertResult("unchanged", canonical, duplicates)
        uploaded = self._update(canonical.file_id, local_zip)
        return UpsertResult(
            "updated", self._verified(uploaded, local_zip, local_md5, local_size), duplicates
        )

    def _verified(
        self, remote: RemoteFile, local_zip: Path, local_md5: str, local_size: int
    ) -> RemoteFile:
        if remote.md5 != local_md5 or remote.size != local_size:
            raise DriveIntegrityError(
                f"Google Drive reports md5 {remote.md5 or 'none'} and {remote.size} bytes for "
                f"{remote.name} (file id {remote.file_id}), but the local zip {local_zip} has "
                f"md5 {local_md5} and {local_size} bytes: the upload was corrupted in transit. "
                "Nothing was lost locally; materialize drive_archive again to re-upload."
            )
        return remote

    def delete_older_revisions(self, project: str, name: str) -> int:
        """Delete every revision of the canonical file but the head (Drive keeps replaced
        content as revisions; after a forget they must go too)."""
        remote, _ = self.find(project, name)
        if remote is None:
            return 0
        revisions, token = [], None
        while True:
            page = self._call(
                f"listing the revisions of {name}",
                self._revisions.list(
                    fileId=remote.file_id,
                    fields="nextPageToken, revisions(id, modifiedTime)",
                    pageToken=token,
                ).execute,
            )
            revisions.extend(page.get("revisions", []))
            token = page.get("nextPageToken")
            if not token:
                break
        older = revisions[:-1]  # Drive lists them oldest first; the last is the content
        for revision in older:
            self._call(
                f"deleting revision {revision['id']} of {name}",
                self._revisions.delete(fileId=remote.file_id, revisionId=revision["id"]).execute,
            )
        return len(older)

    def download(self, project: str, name: str, destination: Path) -> RemoteFile:
        remote, _ = self.find(project, name)
        if remote is None:
            raise FileNotFoundError(
                f"no archive {name!r} in the Drive folder of project {project!r} "
                f"(root folder {self.folder_id})"
            )
        what = f"the download of {name}"
        try:
            with open(destination, "wb") as handle:
                drive_transfer.download(
                    self._files.get_media(fileId=remote.file_id, supportsAllDrives=True),
                    handle,
                    chunk_size=self._chunk_size,
                    backoff=self._backoff,
                    name=name,
                    log=self._log,
                )
        except Exception as error:
            self._raise_for(error, what)
        return remote
