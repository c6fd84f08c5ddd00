"""Getting bytes onto the disk before they are relied on.

A file is fsynced before it replaces another, and its directory after the rename (so the
rename itself survives a power cut). A partition's many run files are written without a
per-file fsync and made durable by one `syncfs` of their file system before the swap
(bench/bench_write.py measures both ways); where libc has no `syncfs`, `os.sync()`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path

_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
_syncfs = getattr(_libc, "syncfs", None)


def write_file(path: Path, data: bytes, *, sync: bool = True) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        if sync:
            handle.flush()
            os.fsync(handle.fileno())


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_filesystem(path: Path) -> None:
    """Flush every dirty page of the file system holding `path` (one call for many files)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        if _syncfs is not None and _syncfs(fd) == 0:
            return
        os.sync()
    finally:
        os.close(fd)
