"""A run launcher for one machine that starts each run as a fork of a warm process.

Dagster's default launcher asks the code server to start each run, and the code server
starts it with multiprocessing's `spawn`: every run is a fresh interpreter that imports
Dagster, opens the instance's modules and loads the code location before it does any work,
about 1.5 of a backfill run's 3.5 CPU s here (docs/operations.md, "Backfill speed").

`ForkRunLauncher` keeps one multiprocessing forkserver per launching process (the daemon),
which imports Dagster, its run-execution code and the libraries the steps use once (not
the project's own code: DEFAULT_PRELOAD); each run is a
child forked from it, executing the run as `dagster api execute_run` does. Each run is still
its own process and its own Dagster run: its materializations, metadata, checks, pools,
retries and the one-run-per-partition limit are Dagster's, as before.

The child's host, pid and start time go on the run as the tags `lse` commands read
(`lse/host`, `lse/pid`, `lse/pid_started`), so run monitoring (`check_run_worker_health`)
and `lse` commands (cli/dead_runs.py) both see a child that died, and a pid reused by
another process is not taken for the child; terminate sends the child SIGTERM, which
Dagster turns into a cancel between steps.

Only for an instance whose runs execute on the machine of its daemon (deploy/dagster.local.yaml);
deployments keep their own launcher (Kubernetes: a pod per run).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import socket
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
import psutil

# Private Dagster API, pinned with dagster 1.13: the launcher interface and what
# `dagster api execute_run` runs in its process.
from dagster._core.launcher.base import (
    CheckRunHealthResult,
    LaunchRunContext,
    RunLauncher,
    WorkerStatus,
)
from dagster._serdes import ConfigurableClass, ConfigurableClassData

HOST_TAG = "lse/host"
PID_TAG = "lse/pid"
# When that process started (epoch seconds): after a crash or a reboot the pid can belong
# to another process, which must be neither taken for the run's nor sent its SIGTERM.
STARTED_TAG = "lse/pid_started"

# What every run imports before its work, loaded once in the forkserver: Dagster, its
# storages and the libraries the steps use, none of the project's own code (only this
# module, whose `_execute` each child runs). The code location and the settings (`.env`)
# are imported fresh by every run, so an edit reaches the next run as with Dagster's own
# launcher, with no restart of the daemon.
DEFAULT_PRELOAD = (
    "dagster",
    "dagster._cli.api",
    "dagster._core.storage.runs.sqlite",
    "dagster._core.storage.event_log.sqlite",
    "dagster._core.storage.schedules.sqlite",
    "alembic",
    "sqlalchemy",
    "psycopg",
    "pyarrow",
    "pyarrow.parquet",
    "fsspec",
    "orjson",
    __name__,
)

_context_lock = threading.Lock()
_context: multiprocessing.context.BaseContext | None = None


def _forkserver(preload: Sequence[str]) -> multiprocessing.context.BaseContext:
    """The process's forkserver context, its preload set before the server first starts."""
    global _context
    with _context_lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(list(preload))
            _context = context
        return _context


def _execute(run_id: str, instance_ref: Any) -> None:
    """The child: execute the run as `dagster api execute_run` does (SIGTERM = cancel)."""
    # Private: no public API executes a stored run in this process, as that command does.
    from dagster._cli.api import _execute_run_command_body
    from dagster._utils.interrupts import capture_interrupts

    with capture_interrupts(), dg.DagsterInstance.from_ref(instance_ref) as instance:
        _execute_run_command_body(
            run_id, instance, lambda _event: None, set_exit_code_on_failure=False
        )


def worker_tags(pid: int) -> dict[str, str]:
    """The tags naming process `pid` of this host as a run's worker (no start time if it
    has already gone: the pid alone then names it, as before the start time was kept)."""
    tags = {HOST_TAG: socket.gethostname(), PID_TAG: str(pid)}
    with contextlib.suppress(psutil.NoSuchProcess):
        tags[STARTED_TAG] = f"{psutil.Process(pid).create_time():.2f}"
    return tags


def worker_alive(pid: int, started: str | None) -> bool:
    """Whether the process `pid`, started at `started` (a STARTED_TAG value, or None when
    the run has none), is still running: a zombie has ended, a process with this pid that
    started at another time is not the run's (the pid was reused)."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        if started is None:
            return True
        return abs(process.create_time() - float(started)) < 1.0
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:  # exists, and hidden from us (another user's, hidepid)
        return True
    except ValueError:  # a start time that is not a number: the pid alone decides
        return True


class ForkRunLauncher(RunLauncher, ConfigurableClass):
    """Start each run as a child of a pre-warmed forkserver on this machine."""

    def __init__(
        self, inst_data: ConfigurableClassData | None = None, preload: Sequence[str] | None = None
    ):
        self._inst_data = inst_data
        self._preload = tuple(preload) if preload else DEFAULT_PRELOAD
        self._children: dict[str, multiprocessing.process.BaseProcess] = {}
        super().__init__()

    @property
    def inst_data(self) -> ConfigurableClassData | None:
        return self._inst_data

    @classmethod
    def config_type(cls) -> dict:
        return {"preload": dg.Field([str], is_required=False)}

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]
    ) -> ForkRunLauncher:
        return cls(inst_data=inst_data, preload=config_value.get("preload"))

    def launch_run(self, context: LaunchRunContext) -> None:
        run = context.dagster_run
        # A finished child's exit status was read by the forkserver: drop its handle.
        for run_id in [r for r, child in self._children.items() if not child.is_alive()]:
            self._children.pop(run_id).close()
        # Daemonic: when the daemon exits (`lse ui` stopping), its runs get SIGTERM (Dagster's
        # interrupt) instead of the exit waiting for them to end.
        child = _forkserver(self._preload).Process(
            target=_execute,
            args=(run.run_id, self._instance.get_ref()),
            name=f"run-{run.run_id}",
            daemon=True,
        )
        child.start()
        self._children[run.run_id] = child
        self._instance.add_run_tags(run.run_id, worker_tags(child.pid))

    def _worker(self, run: dg.DagsterRun) -> int | None:
        """The pid of the run's child if it ran on this host, else None."""
        if run.tags.get(HOST_TAG) != socket.gethostname():
            return None
        try:
            return int(run.tags.get(PID_TAG, ""))
        except ValueError:
            return None

    def _alive(self, run: dg.DagsterRun, pid: int) -> bool:
        return worker_alive(pid, run.tags.get(STARTED_TAG))

    def terminate(self, run_id: str) -> bool:
        run = self._instance.get_run_by_id(run_id)
        if not run or run.is_finished:
            return False
        pid = self._worker(run)
        self._instance.report_run_canceling(run)
        if pid is None or not self._alive(run, pid):
            self._instance.report_run_canceled(
                run, message=f"the process of run {run_id} no longer exists; marked canceled"
            )
            return True
        os.kill(pid, signal.SIGTERM)
        return True

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: dg.DagsterRun) -> CheckRunHealthResult:
        pid = self._worker(run)
        if pid is None:
            # Not started here (another host, or no tags yet): nothing to say against it.
            return CheckRunHealthResult(WorkerStatus.RUNNING, "not a run of this host")
        if self._alive(run, pid):
            return CheckRunHealthResult(WorkerStatus.RUNNING, run_worker_id=str(pid))
        if run.is_finished:
            return CheckRunHealthResult(WorkerStatus.SUCCESS, run_worker_id=str(pid))
        return CheckRunHealthResult(
            WorkerStatus.FAILED,
            f"the process running it (pid {pid} on {socket.gethostname()}) no longer exists",
            run_worker_id=str(pid),
        )
