"""A run's worker is a pid and the time that process started: after a crash or a reboot the
pid may name another process, which is then neither taken for the run's worker (the run is
dead) nor sent the run's SIGTERM."""

import os
import socket
import subprocess
import sys
import uuid

import dagster as dg
import psutil
import pytest
from dagster._core.launcher.base import WorkerStatus

from lse_assets.cli.dead_runs import fail_dead_runs, worker_tags
from lse_assets.defs.run_launcher import (
    HOST_TAG,
    PID_TAG,
    STARTED_TAG,
    ForkRunLauncher,
    worker_alive,
)


@pytest.fixture
def instance(tmp_path):
    with dg.DagsterInstance.local_temp(str(tmp_path)) as instance:
        yield instance


@pytest.fixture
def other_process():
    """A process of this host that is not any run's worker (the pid a crashed run left)."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process
    process.kill()
    process.wait()


def _started_run(instance: dg.DagsterInstance, tags: dict[str, str]) -> dg.DagsterRun:
    run = dg.DagsterRun(
        job_name="archive_day",
        run_id=str(uuid.uuid4()),
        status=dg.DagsterRunStatus.STARTED,
        tags=tags,
    )
    return instance.add_run(run)


def _tags_of(process: subprocess.Popen, started_offset: float) -> dict[str, str]:
    started = psutil.Process(process.pid).create_time() + started_offset
    return {HOST_TAG: socket.gethostname(), PID_TAG: str(process.pid), STARTED_TAG: f"{started}"}


def test_a_worker_is_its_pid_and_its_start_time(other_process):
    exact = _tags_of(other_process, 0)[STARTED_TAG]
    assert worker_alive(other_process.pid, exact)
    assert worker_alive(other_process.pid, None)  # runs tagged before start times were kept
    assert not worker_alive(other_process.pid, f"{float(exact) - 100}")  # the pid was reused
    assert worker_tags()[STARTED_TAG] == f"{psutil.Process(os.getpid()).create_time():.2f}"
    assert worker_alive(os.getpid(), worker_tags()[STARTED_TAG])


def test_a_run_whose_pid_now_names_another_process_is_failed(instance, other_process):
    reused = _started_run(instance, _tags_of(other_process, -100))
    own = _started_run(instance, _tags_of(other_process, 0))

    assert fail_dead_runs(instance) == [reused.run_id]

    assert instance.get_run_by_id(reused.run_id).status == dg.DagsterRunStatus.FAILURE
    assert instance.get_run_by_id(own.run_id).status == dg.DagsterRunStatus.STARTED


def test_the_launcher_neither_trusts_nor_signals_a_reused_pid(instance, other_process):
    launcher = ForkRunLauncher()
    launcher.register_instance(instance)
    reused = _started_run(instance, _tags_of(other_process, -100))

    health = launcher.check_run_worker_health(instance.get_run_by_id(reused.run_id))
    assert health.status == WorkerStatus.FAILED

    assert launcher.terminate(reused.run_id)
    assert other_process.poll() is None  # not sent the run's SIGTERM
    assert instance.get_run_by_id(reused.run_id).status == dg.DagsterRunStatus.CANCELED
