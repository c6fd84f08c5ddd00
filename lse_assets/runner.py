"""Run the archive job for partitions on the persistent instance, as `lse` commands do.

Runs go through Dagster (recorded on the instance, visible in the UI), one per partition.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from lse_assets.partitions import Partition


def console_logs(level: str) -> dict[str, Any]:
    return {"loggers": {"console": {"config": {"log_level": level}}}}


@dataclass
class PartitionRun:
    partition: Partition
    success: bool
    run_id: str
    metadata: dict[str, dict[str, Any]] = field(default_factory=dict)
    checks: dict[str, bool] = field(default_factory=dict)
    check_metadata: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def checks_passed(self) -> bool:
        return all(self.checks.values())


def _summarize(partition: Partition, result: dg.ExecuteInProcessResult) -> PartitionRun:
    run = PartitionRun(partition=partition, success=result.success, run_id=result.run_id)
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        run.metadata[materialization.asset_key.to_user_string()] = {
            key: value.value for key, value in materialization.metadata.items()
        }
    for evaluation in result.get_asset_check_evaluations():
        run.checks[evaluation.check_name] = evaluation.passed
        run.check_metadata[evaluation.check_name] = {
            key: value.value for key, value in evaluation.metadata.items()
        }
    return run


def run_partitions(
    defs: dg.Definitions,
    job_name: str,
    partitions: Iterable[Partition],
    instance: dg.DagsterInstance,
    log_level: str = "WARNING",
) -> Iterator[PartitionRun]:
    job = defs.resolve_job_def(job_name)
    for partition in partitions:
        result = job.execute_in_process(
            tags=partition.run_tags,
            instance=instance,
            raise_on_error=False,
            run_config=console_logs(log_level),
        )
        yield _summarize(partition, result)
