"""Google Drive as the archive store: `{LSE_DRIVE_FOLDER_ID}/{project name}/{zip name}`.

Configuration only; the Drive logic lives in resources.drive.store (layout, upsert),
resources.drive.transfer (uploads, downloads), resources.drive.errors (retries, messages)
and resources.drive.client (credentials, API root).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Literal, TypeVar

import dagster as dg
from pydantic import Field, PrivateAttr, field_validator

from lse_assets.core.errors import PermanentError
from lse_assets.core.ports import RemoteFile, UpsertResult
from resources.drive.archive_store import ArchiveStoreResource
from resources.drive.client import DriveConfigError, build_service, load_credentials
from resources.drive.errors import Backoff, DriveAccessError, ErrorContext
from resources.drive.store import DriveStore
from resources.drive.transfer import CHUNK_GRANULE

_T = TypeVar("_T")
_MIB = 1024 * 1024
_FOLDER_URL = re.compile(r"(?:/folders/|[?&]id=)([A-Za-z0-9_-]+)")


class GoogleDriveResource(ArchiveStoreResource):
    """Uploads once per distinct content, verifies md5 and size, reads every listing page."""

    folder_id: str = Field(
        description="Root folder (LSE_DRIVE_FOLDER_ID): its id, or its URL from the Drive UI."
    )
    credentials_file: str | None = Field(
        default=None,
        description="Service-account key or OAuth authorized-user file "
        "(EnvVar GOOGLE_APPLICATION_CREDENTIALS).",
    )
    subject: str | None = Field(
        default=None,
        description="User to impersonate with a service-account key (LSE_DRIVE_SUBJECT); "
        "needs domain-wide delegation.",
    )
    scope: Literal["drive.file", "drive"] = Field(
        default="drive.file",
        description="OAuth scope (LSE_DRIVE_SCOPE). drive.file (least privilege) sees only "
        "what this app created; a root folder made in the Drive UI needs 'drive'.",
    )
    root_url: str | None = Field(
        default=None, description="API root override (LSE_DRIVE_ROOT_URL), for proxies and tests."
    )
    chunk_size_bytes: int = Field(
        default=8 * _MIB, description="Resumable upload chunk; a multiple of 256 KiB."
    )
    resumable_threshold_bytes: int = Field(
        default=5 * _MIB, description="Files up to this size go in one multipart request."
    )
    max_attempts: int = Field(default=8, ge=1, description="Attempts per request (transient).")
    backoff_initial_seconds: float = Field(default=1.0, gt=0)
    backoff_max_seconds: float = Field(default=60.0, gt=0)
    timeout_seconds: float = Field(default=120.0, gt=0, description="Socket timeout.")

    _store: DriveStore | None = PrivateAttr(default=None)

    @field_validator("folder_id")
    @classmethod
    def _id_from_url(cls, value: str) -> str:
        value = value.strip()
        match = _FOLDER_URL.search(value)
        return match.group(1) if match and "/" in value else value

    @field_validator("chunk_size_bytes")
    @classmethod
    def _whole_granules(cls, value: int) -> int:
        if value <= 0 or value % CHUNK_GRANULE:
            raise ValueError(
                f"chunk_size_bytes={value} must be a positive multiple of {CHUNK_GRANULE} "
                "(256 KiB), as Drive requires for resumable uploads"
            )
        return value

    def _drive(self) -> DriveStore:
        if self._store is None:
            if not self.credentials_file:
                raise DriveConfigError(
                    f"LSE_DRIVE_FOLDER_ID={self.folder_id} is set but "
                    "GOOGLE_APPLICATION_CREDENTIALS is not: point it at a service-account key "
                    "or an OAuth authorized-user file (or unset LSE_DRIVE_FOLDER_ID to keep "
                    "archives in the local folder)"
                )
            credentials, identity = load_credentials(
                Path(self.credentials_file).expanduser(), self.scope, self.subject
            )
            self._store = DriveStore(
                build_service(credentials, self.root_url, self.timeout_seconds),
                ErrorContext(identity, self.folder_id),
                Backoff(self.max_attempts, self.backoff_initial_seconds, self.backoff_max_seconds),
                chunk_size=self.chunk_size_bytes,
                resumable_threshold=self.resumable_threshold_bytes,
                log=dg.get_dagster_logger("lse.drive"),
            )
        return self._store

    def _run(self, action: Callable[[DriveStore], _T]) -> _T:
        try:
            return action(self._drive())
        except (DriveAccessError, DriveConfigError) as error:
            # A retry of the step cannot fix these: say so (defs/boundary.py tells Dagster).
            raise PermanentError(str(error)) from error

    def upsert(self, project: str, local_zip: Path) -> UpsertResult:
        return self._run(lambda drive: drive.upsert(project, local_zip))

    def find(self, project: str, name: str) -> RemoteFile | None:
        return self._run(lambda drive: drive.find(project, name)[0])

    def list_archives(self, project: str) -> list[RemoteFile]:
        return self._run(lambda drive: drive.list_archives(project))

    def delete_older_revisions(self, project: str, name: str) -> int:
        return self._run(lambda drive: drive.delete_older_revisions(project, name))

    def download(self, project: str, name: str, destination: Path) -> RemoteFile:
        return self._run(lambda drive: drive.download(project, name, destination))
