"""Run a job of the code location for partitions on the persistent instance, as `lse` does.

Runs go through Dagster, one per partition, and are first-class: each carries the code
location's origin (the location `lse ui` serves), so it shows on the UI's Overview
timeline and can be re-executed from the UI. Dagster's logs go to the run (the event log);
the terminal shows them only when asked (`--verbose`), read back from the run's event log.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dagster as dg

# Private, and only here: the public dg.execute_job cannot give a run the code location's
# remote origin, which is what lets the UI show and re-execute a run made by `lse`.
from dagster._core.definitions.reconstruct import ReconstructableJob, ReconstructableRepository
from dagster._core.execution.api import execute_run
from dagster._core.remote_origin import InProcessCodeLocationOrigin, RemoteRepositoryOrigin
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

from lse_assets.cli import dead_runs
from lse_assets.core.partition import Partition

# The code location as `lse ui` (`dagster dev -m MODULE`) and workspace.yaml name it: the
# module, which is also the name Dagster gives a location loaded with `-m` and no name.
MODULE = "lse_assets.definitions"
LOCATION = MODULE
REPOSITORY = "__repository__"  # the repository Dagster makes of a module's `Definitions`


# Nothing Dagster logs reaches the terminal by itself; the run's event log keeps it all.
QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def run_log(instance: dg.DagsterInstance, run_id: str) -> Iterator[str]:
    """The run's log as the UI shows it: time, level, step, message (for `--verbose`)."""
    for entry in instance.all_logs(run_id):
        if not entry.user_message:
            continue
        when = datetime.fromtimestamp(entry.timestamp, UTC).strftime("%H:%M:%S")
        level = logging.getLevelName(entry.level)
        yield f"{when} {level:<7} {entry.step_key or '-'}: {entry.user_message}"


@dataclass
class PartitionRun:
    partition: Partition
    success: bool
    run_id: str
    metadata: dict[str, dict[str, Any]] = field(default_factory=dict)
    checks: dict[str, bool] = field(default_factory=dict)
    check_metadata: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # checks that failed at WARN severity
    failures: list[str] = field(default_factory=list)  # each failed step and why (step_failure)

    @property
    def checks_passed(self) -> bool:
        return all(self.checks.values())

    @property
    def failure(self) -> str | None:
        """Every failed step and why, on one line (None when no step failed)."""
        return "; ".join(self.failures) or None


# Dagster wraps an exception raised in a step in this error, whose message names only the
# op ("Error occurred while executing op ..."): the step's own error is its cause.
_STEP_WRAPPER = "DagsterExecutionStepExecutionError"


def _first_line(error: Any) -> str:  # a SerializableErrorInfo (dagster._utils, private)
    """`Class: message`, first line, without the module path Dagster records."""
    text = error.message.strip()
    qualified, sep, rest = text.partition(": ")
    if sep and qualified.rpartition(".")[2] == error.cls_name:
        text = rest
    line = text.splitlines()[0].strip() if text else ""
    return f"{error.cls_name}: {line}" if line else error.cls_name


def step_failure(step: str, data: Any) -> str:
    """What a failed step says, on one line: its description (a `dg.Failure`'s, else its own
    exception's first line, never Dagster's wrapper) and the first line of that error's cause."""
    error = data.error
    if error is not None and error.cls_name == _STEP_WRAPPER and error.cause is not None:
        error = error.cause
    described = data.user_failure_data and data.user_failure_data.description
    if described:
        line = f"{step}: {described.strip().splitlines()[0]}"
    elif error is not None:
        line = f"{step}: {_first_line(error)}"
    else:
        return f"{step}: failed"
    cause = error.cause if error is not None else None
    if cause is not None and _first_line(cause) not in line:
        line += f" (cause: {_first_line(cause)})"
    return line


def _summarize(partition: Partition, result: dg.ExecutionResult) -> PartitionRun:
    run = PartitionRun(partition=partition, success=result.success, run_id=result.run_id)
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        run.metadata[materialization.asset_key.to_user_string()] = {
            key: value.value for key, value in materialization.metadata.items()
        }
    run.failures = [
        step_failure(event.step_key or "-", event.step_failure_data)
        for event in result.get_step_failure_events()
    ]
    for evaluation in result.get_asset_check_evaluations():
        # A WARN failure (runs still pending) does not block the day: not a failure here.
        warned = not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
        run.checks[evaluation.check_name] = evaluation.passed or warned
        if warned:
            run.warnings.append(evaluation.check_name)
        run.check_metadata[evaluation.check_name] = {
            key: value.value for key, value in evaluation.metadata.items()
        }
    return run


def _origins(job_name: str) -> tuple[ReconstructableJob, Any]:
    """The job as a worker of the code location would load it, and its location origin."""
    cwd = os.getcwd()
    recon_job = ReconstructableRepository.for_module(MODULE, "defs", cwd).get_reconstructable_job(
        job_name
    )
    location = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(
            executable_path=sys.executable, module_name=MODULE, working_directory=cwd
        ),
        location_name=LOCATION,
    )
    remote = RemoteRepositoryOrigin(code_location_origin=location, repository_name=REPOSITORY)
    return recon_job, remote.get_job_origin(job_name)


def run_partitions(
    defs: dg.Definitions,
    job_name: str,
    partitions: Iterable[Partition],
    instance: dg.DagsterInstance,
    echo: Callable[[str], None] | None = None,
    waiting: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
) -> Iterator[PartitionRun]:
    """One run per partition; `echo` receives each run's log lines (`--verbose`), `waiting`
    what a run waits for before it starts (a pool held by another run)."""
    job = defs.resolve_job_def(job_name)
    recon_job, remote_origin = _origins(job_name)
    pools = dead_runs.pools_of(job)
    for partition in partitions:
        # Before the run exists: dead runs' slots are freed, and a wait is said and can be
        # stopped (inside execute_run Dagster waits for a slot silently, deaf to SIGTERM).
        dead_runs.wait_for_pools(instance, pools, waiting)
        run = instance.create_run_for_job(
            job_def=job,
            run_config=QUIET_CONSOLE,
            # The tag the UI gives the runs it launches, for the same filters in the Runs list;
            # the worker's host, pid and start time, so a later command can tell when it died.
            tags={
                **job.run_tags,
                **partition.run_tags,
                "dagster/code_location": LOCATION,
                **dead_runs.worker_tags(),
            },
            remote_job_origin=remote_origin,
            job_code_origin=recon_job.get_python_origin(),
        )
        result = execute_run(recon_job, run, instance, raise_on_error=False)
        for line in run_log(instance, run.run_id) if echo else ():
            echo(line)
        yield _summarize(partition, result)
