"""Runs whose process died, and the pool slots they hold, as commands on one machine see them.

A run `lse` executes runs inside the `lse` process itself, with no daemon watching it. If
that process is killed (kill -9, a power cut, the OOM killer), Dagster never hears that
the run ended: the run stays STARTED and the slot it claimed in a pool (`langsmith`,
`google_drive`) stays claimed, so every later run waits for that pool forever.

So every run `lse` starts carries the host name, process id and start time of its worker
(`worker_tags`), and the commands that use the instance (`materialize`, `status`, ...)
first call `fail_dead_runs`: a run of this host whose worker process no longer exists (or
whose pid now names a process that started at another time) is reported failed through
Dagster's API and its slots are freed; a finished run that still holds slots (Dagster
frees them only from a daemon) has them freed. Runs of other hosts, and runs without our
tags, are left to Dagster's run monitoring (deploy/dagster.local.yaml,
the daemon of `lse ui`).

A command that still has to wait for a pool says so every few seconds (`wait_for_pools`:
the pool, the run holding it and since when) and stops on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import dagster as dg

# The same tags as the runs the daemon forks (defs/run_launcher.py), so both are seen here.
from lse_assets.defs.run_launcher import HOST_TAG, PID_TAG, STARTED_TAG, worker_alive
from lse_assets.defs.run_launcher import worker_tags as _worker_tags

# A run in these states is not over; only its worker can end it.
_UNFINISHED = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def worker_tags() -> dict[str, str]:
    """Tags naming the process that executes a run (this one), with its start time."""
    return _worker_tags(os.getpid())


def fail_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark failed the unfinished runs of this host whose worker is gone, free the slots
    they and finished runs still hold; return the ids of the runs marked failed."""
    host = socket.gethostname()
    failed = []
    records = instance.get_run_records(
        filters=dg.RunsFilter(statuses=_UNFINISHED, tags={HOST_TAG: host})
    )
    for record in records:
        run = record.dagster_run
        try:
            pid = int(run.tags.get(PID_TAG, ""))
        except ValueError:
            continue
        if worker_alive(pid, run.tags.get(STARTED_TAG)):
            continue
        instance.report_run_failed(
            run,
            message=f"the process running it (pid {pid} on {host}) no longer exists; "
            "marked failed by the next `lse` command on this host",
        )
        failed.append(run.run_id)
    _free_slots_of_finished_runs(instance)
    return failed


def _free_slots_of_finished_runs(instance: dg.DagsterInstance) -> None:
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return
    holders = set(storage.get_concurrency_run_ids())  # runs with a pending or assigned step
    for info in storage.get_concurrency_infos(list(storage.get_concurrency_keys())).values():
        holders |= info.active_run_ids  # runs holding a slot
    if not holders:
        return
    records = instance.get_run_records(filters=dg.RunsFilter(run_ids=sorted(holders)))
    running = {r.dagster_run.run_id for r in records if not r.dagster_run.is_finished}
    # A finished run's slots, and those of a run that no longer exists (deleted).
    for run_id in sorted(holders - running):
        storage.free_concurrency_slots_for_run(run_id)


def pools_of(job: dg.JobDefinition) -> list[str]:
    """The pools the job's steps claim a slot in."""
    return sorted({node.definition.pool for node in job.nodes if node.definition.pool})


def _busy(instance: dg.DagsterInstance, pools: Iterable[str]) -> list[str]:
    """One line per full pool: which run holds it, and since when."""
    lines = []
    for pool, info in instance.event_log_storage.get_concurrency_infos(list(pools)).items():
        if info.limit is None or len(info.claimed_slots) < info.limit:
            continue
        for run_id in sorted(info.active_run_ids):
            record = next(iter(instance.get_run_records(dg.RunsFilter(run_ids=[run_id]))), None)
            since = (record.start_time or record.create_timestamp.timestamp()) if record else None
            when = (
                datetime.fromtimestamp(since, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
                if since
                else "an unknown time"
            )
            partition = record.dagster_run.tags.get("dagster/partition", "") if record else ""
            lines.append(
                f"pool {pool!r} (limit {info.limit}) is held by run {run_id}"
                + (f" ({partition})" if partition else "")
                + f" since {when}"
            )
    return lines


class _Stopped(KeyboardInterrupt):
    pass


@contextmanager
def _interruptible() -> Iterator[None]:
    """SIGTERM ends the wait as Ctrl-C does (Dagster maps SIGTERM to its own handler)."""

    def stop(_signo, _frame):
        raise _Stopped()

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def wait_for_pools(
    instance: dg.DagsterInstance,
    pools: Iterable[str],
    echo: Callable[[str], None],
    every: float = 5.0,
    poll: float = 0.5,
) -> None:
    """Return once no pool in `pools` is full, freeing dead runs' slots as it goes; say
    every `every` seconds what it waits for. Raises KeyboardInterrupt on Ctrl-C or SIGTERM."""
    pools = list(pools)
    said = 0.0
    with _interruptible():
        while True:
            fail_dead_runs(instance)
            busy = _busy(instance, pools)
            if not busy:
                return
            if time.monotonic() - said >= every:
                said = time.monotonic()
                for line in busy:
                    echo(f"waiting: {line} (Ctrl-C stops)")
            time.sleep(poll)
