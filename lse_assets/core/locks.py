"""One writer at a time, across processes and hosts: locks per partition (project, day) and
per project.

Everything that changes a partition's files or its zip (raw_runs' write, the zip build,
the upload, the database load, the Parquet copy, restore, forget, import-legacy) holds
`partition_lock` while it does. Every change of a project's tombstones (`forgotten.json`,
lse forget) holds `project_lock`, so two forgets of one project never read the same old list
and lose each other's entries.

Callers name what they lock, never how: the mechanism is a `LockBackend`, installed once per
process (`install`). Production installs the Postgres advisory locks of the archive database
(resources/postgres/advisory_locks.py, installed by lse_assets.definitions.build_resources,
through which every Dagster process and every writing command gets its resources): all
hosts share that database, and the server frees a lock when its holder's connection dies.
`FlockBackend` (fcntl.flock under `$LSE_DATA_DIR/.locks/`) holds on one host only: it is for
the pure unit tests and single-host tools, which install it themselves. With no backend
installed a lock fails loudly (NoLockBackendError) rather than guess: a host-local lock
in a multi-host deployment would look like exclusion and be none.

A waiter says every few seconds on stderr what it waits for and who holds it (stderr reaches
the terminal, the pod's log and the step's captured log in Dagster), and fails after
`timeout` seconds with a message naming the partition, the holder and the way out; it never
touches the holder's work. Right before a swap or commit (runfiles.swap_in, the zip's
replace, the tombstones' write) the writer calls `confirm_partition`/`confirm_project`: a lock
that was lost meanwhile (the database restarted, the lock session was cut) fails the write
before anything is replaced.

Within one process a lock is re-entrant per thread (forget holds the partition lock around
the file write and the zip build, which take it themselves).
"""

from __future__ import annotations

import fcntl
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from lse_assets.core.runfiles import PartitionPaths

LOCKS_DIR = ".locks"
DEFAULT_TIMEOUT_SECONDS = 900.0  # a day of 100k runs is written in well under this
PROJECT_TIMEOUT_SECONDS = 120.0  # a tombstone update is one small file write
REPORT_SECONDS = 5.0  # a waiter says what it waits for this often

_held = threading.local()
_backend: LockBackend | None = None


class PartitionBusyError(RuntimeError):
    """Another writer held the lock for longer than we were willing to wait."""


class LockLostError(RuntimeError):
    """The lock was lost while held (its database session ended): nothing was swapped in."""


class NoLockBackendError(RuntimeError):
    """A lock was asked for before any backend was installed in this process."""


@dataclass(frozen=True)
class LockName:
    """What is locked. `ident` is the stable, namespaced name a backend keys on
    (`partition/<slug>/<day>` or `project/<slug>`); `label` is what messages say."""

    ident: str
    label: str
    data_dir: Path  # the archive folder (FlockBackend keeps its lock files under it)


def partition_name(paths: PartitionPaths) -> LockName:
    return LockName(
        f"partition/{paths.slug}/{paths.day.isoformat()}",
        f"partition {paths.day.isoformat()}|{paths.project}",
        Path(paths.data_dir),
    )


def project_name(project_dir: Path) -> LockName:
    return LockName(
        f"project/{project_dir.name}",
        f"the forgotten runs of {project_dir}",
        project_dir.parent,
    )


class HeldLock(Protocol):
    def confirm(self) -> None:
        """Raise LockLostError unless the lock is still ours."""

    def release(self) -> None: ...


class LockBackend(Protocol):
    def acquire(
        self, name: LockName, timeout: float, waiting: Callable[[str], None]
    ) -> HeldLock | None:
        """Take the lock within `timeout` seconds (None when it could not), calling
        `waiting(holder)` every REPORT_SECONDS while it waits; `holder` describes who holds
        it (host, pid, since when) as well as the backend can tell."""

    def holder(self, name: LockName) -> str:
        """Who holds the lock now, for messages."""


def install(backend: LockBackend | None) -> None:
    """Make `backend` the mechanism of every lock this process takes from now on."""
    global _backend
    _backend = backend


def installed() -> LockBackend | None:
    return _backend


def holder_tag() -> str:
    """How this process is named to waiters: `lse <host> pid <pid>`."""
    return f"lse {socket.gethostname()} pid {os.getpid()}"


@contextmanager
def partition_lock(
    paths: PartitionPaths, timeout: float = DEFAULT_TIMEOUT_SECONDS
) -> Iterator[None]:
    advice = "let that run finish, then materialize this partition again"
    with _exclusive(partition_name(paths), timeout, "is being written by another run", advice):
        yield


@contextmanager
def project_lock(project_dir: Path, timeout: float = PROJECT_TIMEOUT_SECONDS) -> Iterator[None]:
    """The project's tombstones (lse_assets.core.tombstones): one updater at a time."""
    advice = "let that command finish, then run yours again"
    with _exclusive(
        project_name(project_dir), timeout, "are being updated by another command", advice
    ):
        yield


def confirm_partition(paths: PartitionPaths) -> None:
    """Right before a swap: the partition's lock is still this thread's (LockLostError)."""
    _confirm(partition_name(paths))


def confirm_project(project_dir: Path) -> None:
    _confirm(project_name(project_dir))


def _depths() -> dict[str, list]:
    depth = getattr(_held, "depth", None)
    if depth is None:
        depth = _held.depth = {}
    return depth


def _confirm(name: LockName) -> None:
    entry = _depths().get(name.ident)
    if entry is None:
        raise LockLostError(f"{name.label}: about to be replaced without its lock (a bug)")
    entry[1].confirm()


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@contextmanager
def _exclusive(name: LockName, timeout: float, doing: str, advice: str) -> Iterator[None]:
    depth = _depths()
    if name.ident in depth:
        depth[name.ident][0] += 1
        try:
            yield
        finally:
            depth[name.ident][0] -= 1
        return
    backend = _backend
    if backend is None:
        raise NoLockBackendError(
            f"no lock backend installed to lock {name.label}: production code gets the "
            "database's advisory locks from lse_assets.definitions.build_resources; a tool "
            "or test on one host installs locks.FlockBackend()"
        )
    started = time.monotonic()

    def waiting(holder: str) -> None:
        _say(f"waiting for {name.label} ({time.monotonic() - started:.0f} s): held by {holder}")

    held = backend.acquire(name, timeout, waiting)
    if held is None:
        raise PartitionBusyError(
            f"{name.label} {doing} (held by {backend.holder(name)}; waited {timeout:g} s); {advice}"
        )
    depth[name.ident] = [1, held]
    try:
        yield
    finally:
        depth.pop(name.ident, None)
        held.release()


def now_text() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class _FlockHeld:
    def __init__(self, fd: int) -> None:
        self.fd = fd

    def confirm(self) -> None:
        pass  # the kernel holds it for as long as the descriptor is open

    def release(self) -> None:
        try:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            os.close(self.fd)


class FlockBackend:
    """fcntl.flock on `<data dir>/.locks/<ident>.lock`: one host only (not across NFS
    clients), for unit tests and single-host tools. The holder writes its tag and start
    time into the file so a waiter can name it."""

    POLL_SECONDS = 0.1

    def path(self, name: LockName) -> Path:
        return name.data_dir / LOCKS_DIR / (name.ident.replace("/", "_") + ".lock")

    def acquire(
        self, name: LockName, timeout: float, waiting: Callable[[str], None]
    ) -> _FlockHeld | None:
        path = self.path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + timeout
        next_report = time.monotonic() + REPORT_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                now = time.monotonic()
                if now >= deadline:
                    os.close(fd)
                    return None
                if now >= next_report:
                    waiting(self.holder(name))
                    next_report = now + REPORT_SECONDS
                time.sleep(self.POLL_SECONDS)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{holder_tag()} since {now_text()}".encode(), 0)
        return _FlockHeld(fd)

    def holder(self, name: LockName) -> str:
        try:
            tag = self.path(name).read_text().strip()
        except OSError:
            tag = ""
        return f"'{tag}'" if tag else "another process on this host"
