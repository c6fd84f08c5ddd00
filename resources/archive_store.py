"""What `drive_archive` needs from Google Drive, whichever Drive it is (real or a local folder)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import dagster as dg

UpsertAction = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True)
class RemoteFile:
    file_id: str
    name: str
    size: int
    md5: str
    url: str


@dataclass(frozen=True)
class UpsertResult:
    action: UpsertAction
    file: RemoteFile
    duplicates: tuple[str, ...] = ()  # ids of other files of the same name (left alone)


class ArchiveStoreResource(dg.ConfigurableResource):
    """Zips kept at `{root}/{project}/{zip name}`: one file per name, identified by md5."""

    def upsert(self, project: str, local_zip: Path) -> UpsertResult:
        """Create, update in place, or leave alone (same md5); verify the remote copy."""
        raise NotImplementedError

    def find(self, project: str, name: str) -> RemoteFile | None:
        raise NotImplementedError

    def list_archives(self, project: str) -> list[RemoteFile]:
        """Every archive of the project (one per name), sorted by name."""
        raise NotImplementedError

    def download(self, project: str, name: str, destination: Path) -> RemoteFile:
        raise NotImplementedError
