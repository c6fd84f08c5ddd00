"""What both benchmarks share: a throw-away embedded Postgres, cached run files, timing."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from lse_assets.core import locks
from resources.postgres import embedded as embedded_postgres

# The benchmarks run on one host and measure the file and database work: the host-local
# lock (production's advisory locks come from lse_assets.definitions.build_resources).
locks.install(locks.FlockBackend())

CACHE = Path(tempfile.gettempdir()) / "lse-db-bench"  # generated runs, reused across runs


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new embedded server (short path: Unix sockets allow ~107 bytes), removed after."""
    data_dir = Path(tempfile.mkdtemp(prefix="lse-db-bench-pg-"))
    url = embedded_postgres.embedded_url(data_dir)
    try:
        yield url
    finally:
        embedded_postgres.stop(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)


def settle(url: str) -> None:
    """Flush dirty pages so that one measurement does not pay for the previous one."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text("VACUUM ANALYZE"))
        connection.execute(sa.text("CHECKPOINT"))
    engine.dispose()


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def child_peak_rss(module: str, *args: str) -> dict[str, Any]:
    """Run `python -m module args` and return the JSON it prints last (with its peak RSS)."""
    done = subprocess.run(
        [sys.executable, "-m", module, *args], capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise RuntimeError(f"{module} {args[0]} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def peak_rss_mib() -> float:
    """This process's peak resident memory. On Linux, VmHWM of /proc/self/status: unlike
    getrusage's ru_maxrss, it does not inherit the parent's peak across fork and exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
