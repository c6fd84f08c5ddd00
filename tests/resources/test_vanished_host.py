"""A lock holder whose host vanishes (no FIN, no RST: its network is gone, its process lives
on) loses its lock within seconds: the lock session's TCP keepalives make the server drop it
(resources/postgres/advisory_locks.py). Real parts: a Postgres listening on TCP, the holder in
its own network namespace reached over a veth pair, its link set down.

Needs root (network namespaces) and a Postgres server's binaries besides the embedded one
(Debian's postgresql package: the embedded server listens on a Unix socket only)."""

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import date
from pathlib import Path

import pytest

from lse_assets.core import locks
from lse_assets.core.runfiles import PartitionPaths
from resources.postgres.advisory_locks import DEAD_HOST_SECONDS, AdvisoryLocks

BINARIES = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("ip") or not BINARIES or not shutil.which("runuser"),
    reason="needs root, iproute2 and Debian's Postgres binaries",
)
DAY = date(2025, 9, 13)
HOLD = """
import sys, time
from datetime import date
from pathlib import Path
from lse_assets.core import locks
from lse_assets.core.runfiles import PartitionPaths
from resources.postgres.advisory_locks import AdvisoryLocks
locks.install(AdvisoryLocks(lambda: sys.argv[1], Path("/nonexistent")))
with locks.partition_lock(PartitionPaths(Path(sys.argv[2]), "p", date(2025, 9, 13))):
    print("held", flush=True)
    time.sleep(120)
"""


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True)


def test_the_server_drops_a_vanished_holders_lock_in_seconds():
    # Not pytest's tmp_path: its parents are closed to the postgres user.
    tmp_path = Path(tempfile.mkdtemp(prefix="lse-vanished-"))
    tmp_path.chmod(0o755)
    bindir = Path(BINARIES[-1]).parent
    namespace, subnet = f"lse{os.getpid()}", f"10.{200 + os.getpid() % 50}.{os.getpid() % 250}"
    server_if, host_if = f"ls{os.getpid() % 100000}", f"lh{os.getpid() % 100000}"
    pgdata, sockets = tmp_path / "pg", tmp_path / "s"
    sockets.mkdir()
    shutil.chown(tmp_path, "postgres")
    shutil.chown(sockets, "postgres")
    as_postgres = ["runuser", "-u", "postgres", "--"]
    _run(*as_postgres, str(bindir / "initdb"), "-D", str(pgdata), "-A", "trust")
    (pgdata / "pg_hba.conf").open("a").write(f"host all all {subnet}.0/24 trust\n")
    holder = None
    try:
        _run("ip", "netns", "add", namespace)
        _run("ip", "link", "add", server_if, "type", "veth", "peer", "name", host_if)
        _run("ip", "link", "set", host_if, "netns", namespace)
        _run("ip", "addr", "add", f"{subnet}.1/24", "dev", server_if)
        _run("ip", "link", "set", server_if, "up")
        in_ns = ["ip", "netns", "exec", namespace]
        _run(*in_ns, "ip", "addr", "add", f"{subnet}.2/24", "dev", host_if)
        _run(*in_ns, "ip", "link", "set", host_if, "up")
        options = (
            f"-c listen_addresses={subnet}.1 -c port=55432 -c unix_socket_directories={sockets}"
        )
        _run(
            *as_postgres,
            str(bindir / "pg_ctl"),
            "-D",
            str(pgdata),
            "-o",
            options,
            "-l",
            str(tmp_path / "pg.log"),
            "start",
            "-w",
        )
        url = f"postgresql://postgres@{subnet}.1:55432/postgres"
        holder = subprocess.Popen(
            [*in_ns, sys.executable, "-c", textwrap.dedent(HOLD), url, str(tmp_path)],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
        assert holder.stdout.readline().strip() == "held"
        locks.install(AdvisoryLocks(lambda: url, tmp_path))
        paths = PartitionPaths(tmp_path, "p", DAY)
        busy = pytest.raises(locks.PartitionBusyError, match=r"2025-09-13\|p.*from " + subnet)
        with busy, locks.partition_lock(paths, timeout=1):
            pass

        _run(*in_ns, "ip", "link", "set", host_if, "down")  # the host vanishes
        gone = time.monotonic()
        with locks.partition_lock(paths, timeout=60):
            released = time.monotonic() - gone
        print(f"lock taken {released:.1f} s after the holder's host vanished")
        assert holder.poll() is None  # its process never ended: the server let go
        assert DEAD_HOST_SECONDS - 1 < released < DEAD_HOST_SECONDS + 7
    finally:
        if holder is not None:
            holder.kill()
            holder.wait(10)
        subprocess.run(
            [*as_postgres, str(bindir / "pg_ctl"), "-D", str(pgdata), "stop", "-m", "immediate"],
            capture_output=True,
        )
        subprocess.run(["ip", "link", "del", server_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True)
        shutil.rmtree(tmp_path, ignore_errors=True)
