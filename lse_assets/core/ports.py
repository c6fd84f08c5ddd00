"""What the domain needs from the outside world, as types and protocols, free of any SDK.

A run source (LangSmith, or its sample twin) serves a day of runs (DayFetch); an archive
store (Google Drive, or a local folder) keeps one zip per name (RemoteFile, UpsertResult);
a Parquet store (a folder, S3, GCS) keeps one Parquet file per partition (Footer, Written).
The resources implement these (resources/langsmith, resources/drive); core code such as
restore and forget is typed against the protocols, never against a resource.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, Any, Literal, Protocol

UpsertAction = Literal["created", "updated", "unchanged"]


@dataclass
class DayFetch:
    """One (project, UTC day): runs streamed one at a time, and where they came from.

    Each run is a JSON-ready dict in LangSmith's v2 run shape, plus `feedback_records`:
    the run's full feedback records (an empty list when it has none). `source` goes into
    the partition manifest; it must never hold a secret. `duplicate_runs_dropped` counts
    byte-identical repeats of a run the source served more than once (final once `runs`
    is exhausted).
    """

    source: dict[str, Any]
    runs: Iterator[dict[str, Any]]
    duplicate_runs_dropped: int = 0


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
    leftovers_cleared: int = 0  # our temporaries of this name left by killed uploads


class RunSource(Protocol):
    """Every run of every trace whose root started on `day` (UTC), each exactly once."""

    def fetch_day(self, project: str, day: date) -> DayFetch: ...


class ArchiveStore(Protocol):
    """Zips kept at `{root}/{project}/{zip name}`: one file per name, identified by md5."""

    def upsert(self, project: str, local_zip: Path) -> UpsertResult: ...

    def find(self, project: str, name: str) -> RemoteFile | None: ...

    def list_archives(self, project: str) -> list[RemoteFile]: ...

    def download(self, project: str, name: str, destination: Path) -> RemoteFile: ...

    def download_verified(self, project: str, name: str, destination: Path) -> Path | None: ...

    def delete_older_revisions(self, project: str, name: str) -> int: ...


@dataclass(frozen=True)
class Footer:
    """What a Parquet file's footer says: key-value metadata, row count, file size."""

    metadata: dict[bytes, bytes]
    rows: int
    size: int


@dataclass(frozen=True)
class Written:
    rows: int
    size: int
    location: str
    leftovers_cleared: int = 0  # staging files of this one left by killed writes


class ParquetStore(Protocol):
    """Parquet files at relative paths under one root; each appears whole or not at all."""

    def location(self, relative: str) -> str: ...

    def footer(self, relative: str) -> Footer | None: ...

    # Yields the file's record batches (an iterator), or None when there is no file.
    def batches(self, relative: str) -> AbstractContextManager[Iterator[Any] | None]: ...

    def write(self, relative: str, produce: Callable[[IO[bytes]], int]) -> Written: ...

    def others_of_the_same_name(self, relative: str) -> list[str]: ...

    def delete(self, relative: str) -> bool: ...
