"""One writer per partition: a cross-process lock per (project, day).

Everything that changes a partition's files or its zip (raw_runs' write, the zip build,
restore, forget) holds `partition_lock` while it does. The lock is an `fcntl.flock` on
`$LSE_DATA_DIR/.locks/<project slug>_<date>.lock` (beside, not inside, the project
folders): the kernel drops it when the holder dies, so a crashed run never leaves the day
locked. A second writer waits up to `timeout` seconds and then fails with a message naming
the partition; it never touches the first writer's work.

Within one process the lock is re-entrant per thread (forget holds it around the file
write and the zip build, which take it themselves).
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lse_assets.core.runfiles import PartitionPaths

LOCKS_DIR = ".locks"
DEFAULT_TIMEOUT_SECONDS = 900.0  # a day of 100k runs is written in well under this
_POLL_SECONDS = 0.1

_held = threading.local()


class PartitionBusyError(RuntimeError):
    """Another writer held the partition for longer than we were willing to wait."""


def lock_path(paths: PartitionPaths) -> Path:
    return paths.data_dir / LOCKS_DIR / f"{paths.slug}_{paths.day.isoformat()}.lock"


@contextmanager
def partition_lock(
    paths: PartitionPaths, timeout: float = DEFAULT_TIMEOUT_SECONDS
) -> Iterator[None]:
    path = lock_path(paths)
    depth: dict[Path, int] = getattr(_held, "depth", None) or {}
    _held.depth = depth
    if depth.get(path):
        depth[path] += 1
        try:
            yield
        finally:
            depth[path] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise PartitionBusyError(
                        f"partition {paths.day.isoformat()}|{paths.project} is being written by "
                        f"another run (lock {path} held for more than {timeout:.0f} s); "
                        "let that run finish, then materialize this partition again"
                    ) from None
                time.sleep(_POLL_SECONDS)
        depth[path] = 1
        try:
            yield
        finally:
            depth.pop(path, None)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
