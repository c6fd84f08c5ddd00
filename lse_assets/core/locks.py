"""One writer at a time: cross-process locks per partition (project, day) and per project.

Everything that changes a partition's files or its zip (raw_runs' write, the zip build,
restore, forget) holds `partition_lock` while it does. Every change of a project's
tombstones (`forgotten.json`, lse forget) holds `project_lock`, so two forgets of one
project never read the same old list and lose each other's entries.

Both are one mechanism, `_exclusive`: an `fcntl.flock` on a file under
`$LSE_DATA_DIR/.locks/` (beside, not inside, the project folders): the kernel drops it when
the holder dies, so a crashed run never leaves anything locked. A second writer waits up to
`timeout` seconds and then fails with a message naming what is locked; it never touches the
first writer's work. Swapping the mechanism (e.g. Postgres advisory locks across hosts)
means changing `_exclusive` only: callers name what they lock, never how.

Within one process a lock is re-entrant per thread (forget holds the partition lock around
the file write and the zip build, which take it themselves).
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
PROJECT_TIMEOUT_SECONDS = 120.0  # a tombstone update is one small file write
_POLL_SECONDS = 0.1

_held = threading.local()


class PartitionBusyError(RuntimeError):
    """Another writer held the lock for longer than we were willing to wait."""


def lock_path(paths: PartitionPaths) -> Path:
    return paths.data_dir / LOCKS_DIR / f"{paths.slug}_{paths.day.isoformat()}.lock"


def project_lock_path(project_dir: Path) -> Path:
    # `<slug>.project.lock` never meets a partition's `<slug>_<date>.lock`.
    return project_dir.parent / LOCKS_DIR / f"{project_dir.name}.project.lock"


@contextmanager
def partition_lock(
    paths: PartitionPaths, timeout: float = DEFAULT_TIMEOUT_SECONDS
) -> Iterator[None]:
    what = f"partition {paths.day.isoformat()}|{paths.project} is being written by another run"
    advice = "let that run finish, then materialize this partition again"
    with _exclusive(lock_path(paths), timeout, what, advice):
        yield


@contextmanager
def project_lock(project_dir: Path, timeout: float = PROJECT_TIMEOUT_SECONDS) -> Iterator[None]:
    """The project's tombstones (lse_assets.core.tombstones): one updater at a time."""
    what = f"the forgotten runs of {project_dir} are being updated by another command"
    advice = "let that command finish, then run yours again"
    with _exclusive(project_lock_path(project_dir), timeout, what, advice):
        yield


@contextmanager
def _exclusive(path: Path, timeout: float, what: str, advice: str) -> Iterator[None]:
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
                        f"{what} (lock {path} held for more than {timeout:.0f} s); {advice}"
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
