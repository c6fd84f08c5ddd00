"""The locks of lse_assets.core.locks across hosts: Postgres session-level advisory locks on
the archive database (LSE_DATABASE_URL, or the embedded server), which every pod, container
and command of a deployment shares.

Keys. A lock's namespaced name (`partition/<slug>/<YYYY-MM-DD>` or `project/<slug>`, the
slug being the project's folder name) is prefixed with `lse-lock/v1/`, hashed with sha256,
and the first 8 bytes, read big-endian as a signed integer, are the bigint of
`pg_advisory_lock(bigint)`. pg_locks shows it as classid (high 32 bits), objid (low 32 bits),
objsubid 1; the (int, int) locks of the slice load (PostgresResource.replace_slice) are
objsubid 2 and never meet these. The key does not include the folder's path: one database
serves one archive, whatever path each host mounts it at.

One lock, one connection. Each lock is taken on a dedicated autocommit session opened for
it and closed when it is released, so the server frees it when the holder's connection
dies: at once when the process dies (the kernel closes its socket, over TCP or the embedded
server's Unix socket); for a host that vanishes, the session's TCP keepalives (server side:
tcp_keepalives_idle 2 s, interval 2 s, count 3; tcp_user_timeout 10 s; the same on the
client through libpq) make the server drop it about 8 s after its last packet.

The session's application_name is `lse <host> pid <pid> <lock name>` (Postgres keeps 63
bytes): a waiter looks the holder up in pg_locks + pg_stat_activity and names it, with the
moment it took the lock (its session's state_change: the holder runs nothing on it after
pg_advisory_lock; `confirm` asks from a second, short connection). A waiter waits in
pg_advisory_lock with a lock_timeout of REPORT_SECONDS, so it takes the lock as soon as it
is free, and says who holds it between waits.

A pooler in transaction mode (PgBouncer's default) would hand the session to others: point
LSE_DATABASE_URL at Postgres or at a session-mode pool.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable
from datetime import UTC
from pathlib import Path

import psycopg
from psycopg import errors

from lse_assets.core import locks, redaction
from resources.postgres import embedded as embedded_postgres

KEY_NAMESPACE = "lse-lock/v1/"
# Server side: how fast the server notices a vanished peer (seconds; ms for the last).
SERVER_KEEPALIVES = {
    "tcp_keepalives_idle": "2",
    "tcp_keepalives_interval": "2",
    "tcp_keepalives_count": "3",
    "tcp_user_timeout": "10000",
    # PG 14+: a session blocked in a lock wait checks its client this often.
    "client_connection_check_interval": "2000",
}
# Client side (libpq): how fast a holder notices that the server is gone.
CLIENT_KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 2,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 10000,
    "connect_timeout": 10,
}
DEAD_HOST_SECONDS = 2 + 2 * 3  # idle + interval x count

_HOLDERS = """
SELECT a.application_name, a.state, a.state_change, host(a.client_addr)
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
  AND l.classid::bigint = %(high)s AND l.objid::bigint = %(low)s
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""
_STILL_HELD = """
SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
  AND l.classid::bigint = %(high)s AND l.objid::bigint = %(low)s
  AND l.pid = %(pid)s AND a.backend_start = %(started)s
"""


def advisory_key(ident: str) -> int:
    """The signed 64-bit key of a lock name (see the module's docstring)."""
    digest = hashlib.sha256((KEY_NAMESPACE + ident).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _halves(key: int) -> dict[str, int]:
    unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
    return {"high": unsigned >> 32, "low": unsigned & 0xFFFF_FFFF}


def conninfo(database_url: str | None, embedded_dir: Path) -> str:
    """A libpq URL of the archive database: LSE_DATABASE_URL, else the embedded server
    (started if needed)."""
    url = database_url or embedded_postgres.embedded_url(embedded_dir)
    # The schemes PostgresResource accepts; libpq wants no SQLAlchemy driver name.
    redaction.check_url(url, "LSE_DATABASE_URL", ("postgresql", "postgres", "postgresql+psycopg"))
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


class _Held:
    def __init__(self, backend: AdvisoryLocks, name: locks.LockName, connection) -> None:
        self.backend, self.name, self.connection = backend, name, connection
        self.pid = connection.info.backend_pid
        self.started = connection.execute(
            "SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()"
        ).fetchone()[0]

    def confirm(self) -> None:
        lost = f"{self.name.label}: lost its lock (the database session that held it ended"
        advice = "nothing was replaced; materialize (or run the command) again"
        if self.connection.closed or self.connection.broken:
            raise locks.LockLostError(f"{lost}); {advice}")
        params = {**_halves(advisory_key(self.name.ident)), "pid": self.pid}
        try:
            with self.backend.connect("confirm " + self.name.ident) as check:
                held = check.execute(_STILL_HELD, {**params, "started": self.started})
                still = held.fetchone()[0]
        except psycopg.OperationalError as error:
            raise locks.LockLostError(
                f"{lost}?: the database cannot be reached: {type(error).__name__}); {advice}"
            ) from None
        if not still:
            raise locks.LockLostError(f"{lost}: the server no longer has it); {advice}")

    def release(self) -> None:
        # Closing the session releases every lock it holds; no unlock call can fail first.
        self.connection.close()


class AdvisoryLocks:
    """core.locks.LockBackend on Postgres advisory locks. Connects on the first lock, so a
    process that only loads the definitions (the webserver) starts no database."""

    def __init__(self, database_url: Callable[[], str | None], embedded_dir: Path) -> None:
        self._database_url = database_url
        self._embedded_dir = Path(embedded_dir)
        self._url: str | None = None
        self._secret: str | None = None

    def _conninfo(self) -> str:
        if self._url is None:
            self._secret = self._database_url()
            self._url = conninfo(self._secret, self._embedded_dir)
        return self._url

    def connect(self, purpose: str) -> psycopg.Connection:
        url = self._conninfo()
        name = f"{locks.holder_tag()} {purpose}".encode()[:63].decode(errors="ignore")
        with redaction.scrubbed("connecting to LSE_DATABASE_URL for a lock", self._secret):
            connection = psycopg.connect(
                url, autocommit=True, application_name=name, **CLIENT_KEEPALIVES
            )
        for setting, value in SERVER_KEEPALIVES.items():
            # An older server without this setting: the others still apply.
            with contextlib.suppress(errors.UndefinedObject):
                connection.execute("SELECT set_config(%s, %s, false)", (setting, value))
        return connection

    def acquire(
        self, name: locks.LockName, timeout: float, waiting: Callable[[str], None]
    ) -> _Held | None:
        key = advisory_key(name.ident)
        connection = self.connect(name.ident)
        deadline = time.monotonic() + timeout
        try:
            while True:
                wait = min(locks.REPORT_SECONDS, deadline - time.monotonic())
                if wait <= 0:
                    connection.close()
                    return None
                connection.execute(
                    "SELECT set_config('lock_timeout', %s, false)",
                    (f"{max(1, int(wait * 1000))}ms",),
                )
                try:
                    connection.execute("SELECT pg_advisory_lock(%s)", (key,))
                    return _Held(self, name, connection)
                except errors.LockNotAvailable:
                    if deadline - time.monotonic() > 0:
                        waiting(self._holder(connection, key))
        except BaseException:
            connection.close()
            raise

    def holder(self, name: locks.LockName) -> str:
        try:
            with self.connect("look up " + name.ident) as connection:
                return self._holder(connection, advisory_key(name.ident))
        except psycopg.Error:
            return "another session (the database could not be asked which)"

    @staticmethod
    def _holder(connection: psycopg.Connection, key: int) -> str:
        rows = connection.execute(_HOLDERS, _halves(key)).fetchall()
        if not rows:
            return "a session that has just released it"
        application, state, since, address = rows[0]
        who = f"'{application}'" if application else "a session without application_name"
        where = f" from {address}" if address else ""
        when = ""
        if since is not None and state == "idle":
            when = f" since {since.astimezone(UTC).replace(microsecond=0).isoformat()}"
        return f"{who}{where}{when}".replace("+00:00", "Z")
