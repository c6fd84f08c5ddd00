"""`lse ui`: stopping it stops every process it started, within seconds.

`dagster dev` (webserver, daemon, code server) runs in its own session, so it is one process
group. SIGINT or SIGTERM to `lse ui` asks `dagster dev` to shut down the way Ctrl-C does;
whatever of that group is still alive GRACE_S later is killed. Left to itself, `dagster dev`
took more than 15 s on SIGTERM and left children behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from contextlib import suppress

import psutil

GRACE_S = 6.0  # then SIGKILL: the whole stop stays within 10 s
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _Stop(Exception):
    def __init__(self, signo: int) -> None:
        self.signo = signo


def _raise_stop(signo: int, _frame) -> None:
    raise _Stop(signo)


def run_supervised(argv: list[str]) -> int:
    """Run `argv` in its own session until it exits or this process is asked to stop;
    the exit code is the child's, or 128 + the signal's number when stopped."""
    process = subprocess.Popen(argv, start_new_session=True)
    for signo in STOP_SIGNALS:
        signal.signal(signo, _raise_stop)
    try:
        return process.wait()
    except _Stop as stop:
        for signo in STOP_SIGNALS:
            signal.signal(signo, signal.SIG_IGN)  # a second Ctrl-C must not skip the cleanup
        stop_group(process)
        return 128 + stop.signo


def stop_group(process: subprocess.Popen) -> None:
    """SIGINT to the leader, then SIGKILL to its group and every descendant still alive."""
    try:
        members = [psutil.Process(process.pid)]
        members += members[0].children(recursive=True)  # before any is re-parented
    except psutil.NoSuchProcess:
        members = []
    try:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=GRACE_S)
    except subprocess.TimeoutExpired:
        pass
    alive = running_after(members, 0.5)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # also what was started after `members` was read
    for member in alive:
        with suppress(psutil.NoSuchProcess):
            member.kill()
    running_after(alive, 2)
    process.wait()


def running_after(processes: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Those of `processes` still running `timeout` seconds from now. A zombie has stopped:
    reaping it is its parent's (or init's) part, which no waiting here can hasten."""
    deadline = time.monotonic() + timeout
    while True:
        running = [member for member in processes if _running(member)]
        if not running or time.monotonic() >= deadline:
            return running
        time.sleep(0.1)


def _running(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
