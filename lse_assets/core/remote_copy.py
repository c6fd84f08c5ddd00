"""Whether a copy of a zip elsewhere (Drive, a download) is byte-for-byte the local file.

Drive computes an md5 of the bytes it stores; equal md5 and equal size are the proof used
after an upload, by the `drive_matches_archive` check, and after a restore's download.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lse_assets.core.archive import file_md5


@dataclass(frozen=True)
class CopyComparison:
    local_md5: str | None
    local_bytes: int | None
    remote_md5: str | None
    remote_bytes: int | None

    @property
    def problems(self) -> list[str]:
        if self.local_md5 is None:
            return ["the local zip is missing (materialize run_archive)"]
        if self.remote_md5 is None:
            return ["the remote copy is missing (materialize drive_archive)"]
        found = []
        if self.remote_md5 != self.local_md5:
            found.append(f"md5 differs: remote {self.remote_md5 or 'none'}, local {self.local_md5}")
        if self.remote_bytes != self.local_bytes:
            found.append(f"size differs: remote {self.remote_bytes}, local {self.local_bytes}")
        return found

    @property
    def identical(self) -> bool:
        return not self.problems


def compare(local: Path, remote_md5: str | None, remote_bytes: int | None) -> CopyComparison:
    exists = local.is_file()
    return CopyComparison(
        local_md5=file_md5(local) if exists else None,
        local_bytes=local.stat().st_size if exists else None,
        remote_md5=remote_md5,
        remote_bytes=remote_bytes,
    )
