"""What `drive_archive` needs from Google Drive, whichever Drive it is (real or a local folder)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from lse_assets.core import remote_copy
from lse_assets.core.ports import RemoteFile, UpsertResult


class ArchiveStoreResource(dg.ConfigurableResource):
    """The archive store (core.ports.ArchiveStore) as a Dagster resource: zips kept at
    `{root}/{project}/{zip name}`, one file per name, identified by md5."""

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

    def download_verified(self, project: str, name: str, destination: Path) -> Path | None:
        """The stored archive downloaded to `destination` and checked against the store's
        md5 and size; None when the store has none (or its copy does not verify)."""
        remote = self.find(project, name)
        if remote is None:
            return None
        self.download(project, name, destination)
        if not remote_copy.compare(destination, remote.md5, remote.size).identical:
            destination.unlink(missing_ok=True)
            return None
        return destination

    def delete_older_revisions(self, project: str, name: str) -> int:
        """Delete every stored revision of the archive but the current one (after a forget,
        so the forgotten runs are not kept in the file's history); how many were deleted."""
        raise NotImplementedError
