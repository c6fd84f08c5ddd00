"""The rules for reading a zip we did not write ourselves (restore, import-legacy): decide
from the central directory, before reading a byte of content, whether it is safe to open.

A member is refused when it declares more than MAX_MEMBER_BYTES, or, above
RATIO_FLOOR_BYTES, expands more than MAX_RATIO times its compressed size; the archive is
refused when all its members together declare more than MAX_RATIO times the zip's own size
(above TOTAL_FLOOR_BYTES). Python's zipfile stops at the declared size and checks the CRC,
so a member that lies about its size fails instead of expanding further: the declared
sizes bound what is read. Members are read whole only up to that cap, and copied and hashed
in CHUNK-sized pieces otherwise.

Any failure to read a member (a damaged deflate stream, a CRC error) is an UnsafeZipError
naming the archive and the member, so callers handle one error type.
"""

from __future__ import annotations

import hashlib
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

MAX_MEMBER_BYTES = 256 * 1024 * 1024
MAX_RATIO = 100
RATIO_FLOOR_BYTES = 1024 * 1024
TOTAL_FLOOR_BYTES = 64 * 1024 * 1024
CHUNK = 1024 * 1024


class UnsafeZipError(ValueError):
    """The zip is refused or cannot be read; the message names it, the member and why."""


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


def check_archive(archive: zipfile.ZipFile, label: str, zip_bytes: int | None = None) -> None:
    """Refuse `archive` (named `label` in messages) if any member, or the whole, declares
    more than the limits allow. Only the central directory is read."""
    total = 0
    for info in archive.infolist():
        total += info.file_size
        if info.file_size > MAX_MEMBER_BYTES:
            raise UnsafeZipError(
                f"{label}: member {info.filename} declares {_mib(info.file_size)}, more than the "
                f"{_mib(MAX_MEMBER_BYTES)} a run file may hold; the archive is refused unread "
                "(it is damaged or not an archive of runs)"
            )
        if info.file_size > RATIO_FLOOR_BYTES and info.file_size > MAX_RATIO * max(
            info.compress_size, 1
        ):
            raise UnsafeZipError(
                f"{label}: member {info.filename} declares {_mib(info.file_size)} from "
                f"{info.compress_size} compressed bytes (more than {MAX_RATIO}:1); the archive "
                "is refused unread as a possible zip bomb"
            )
    if zip_bytes is not None and total > TOTAL_FLOOR_BYTES and total > MAX_RATIO * zip_bytes:
        raise UnsafeZipError(
            f"{label}: its members declare {_mib(total)} in all from a {zip_bytes}-byte zip "
            f"(more than {MAX_RATIO}:1); the archive is refused unread as a possible zip bomb"
        )


def open_checked(path: Path, label: str | None = None) -> zipfile.ZipFile:
    """The zip at `path`, opened and checked (check_archive); BadZipFile becomes
    UnsafeZipError."""
    name = label or path.name
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zlib.error, EOFError) as error:
        raise UnsafeZipError(f"{name}: not a readable zip ({error})") from None
    try:
        check_archive(archive, name, path.stat().st_size)
    except BaseException:
        archive.close()
        raise
    return archive


def _chunks(archive: zipfile.ZipFile, member: str | zipfile.ZipInfo, label: str) -> Iterator[bytes]:
    name = member.filename if isinstance(member, zipfile.ZipInfo) else member
    try:
        with archive.open(member) as stream:
            while chunk := stream.read(CHUNK):
                yield chunk
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
        raise UnsafeZipError(f"{label}: member {name} cannot be read ({error})") from None


def read_member(archive: zipfile.ZipFile, member: str | zipfile.ZipInfo, label: str) -> bytes:
    """The whole member (at most MAX_MEMBER_BYTES, as check_archive guaranteed)."""
    return b"".join(_chunks(archive, member, label))


def copy_member(
    archive: zipfile.ZipFile, member: str | zipfile.ZipInfo, target: BinaryIO, label: str
) -> str:
    """Copy the member into `target` chunk by chunk; return its sha256 (hex)."""
    digest = hashlib.sha256()
    for chunk in _chunks(archive, member, label):
        digest.update(chunk)
        target.write(chunk)
    return digest.hexdigest()
