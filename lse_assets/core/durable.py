"""Getting bytes onto the disk before they are relied on.

A file is fsynced before it replaces another, and its directory after the rename (so the
rename itself survives a power cut). A partition's many run files are written without a
per-file fsync: each file's write-back is started as it is written (`sync_file_range`, no
waiting), and one `syncfs` of their file system before the swap waits for what is left
(bench/bench_write.py measures the ways); where libc has no `syncfs`, `os.sync()`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path

_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
_syncfs = getattr(_libc, "syncfs", None)
_sync_file_range = getattr(_libc, "sync_file_range", None)
if _sync_file_range is not None:
    _sync_file_range.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
_SYNC_FILE_RANGE_WRITE = 2  # start writing the dirty pages back, do not wait


def write_file(path: Path, data: bytes, *, sync: bool = True) -> None:
    """Write `data`; with `sync`, fsync before returning, else only start the write-back
    (so the disk works while the caller goes on, and the final syncfs has little to wait
    for)."""
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        if sync:
            os.fsync(handle.fileno())
        elif _sync_file_range is not None:
            _sync_file_range(handle.fileno(), 0, 0, _SYNC_FILE_RANGE_WRITE)


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
