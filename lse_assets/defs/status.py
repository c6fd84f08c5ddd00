"""What the Dagster instance knows of each partition: stage by stage, check by check.

Read by `lse status`, `lse verify` and the retention alarm: one reading of the instance,
the records the UI shows. A check's latest execution is resolved as the UI resolves it: a
planned check whose run is over did not pass (the run failed: EXECUTION_FAILED; the run
succeeded without it: SKIPPED), one whose run still goes is IN_PROGRESS. A partition of
`today` (UTC unless given) or later is `ongoing`: its day is not over.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

import dagster as dg

# Not exported by `dagster` in 1.13: the public event log storage method that asks for the
# latest check execution of one partition takes it as its filter.
from dagster._core.event_api import PartitionKeyFilter

from lse_assets.core.partition import (
    EXECUTION_FAILED,
    IN_PROGRESS,
    MISSING,
    SKIPPED,
    WARN,
    Partition,
    PartitionStatus,
)


def partition_statuses(
    instance: dg.DagsterInstance,
    assets: Iterable[dg.AssetsDefinition],
    checks: Iterable[dg.AssetChecksDefinition],
    partitions: Iterable[Partition],
    today: date | None = None,
) -> list[PartitionStatus]:
    today = today or datetime.now(UTC).date()
    assets = sorted(assets, key=lambda asset: asset.key.to_user_string())
    check_keys = sorted((key for check in checks for key in check.check_keys), key=lambda k: k.name)
    partitions = list(partitions)
    keys = [partition.label for partition in partitions]
    statuses = {
        key: PartitionStatus(partition, ongoing=partition.day >= today)
        for key, partition in zip(keys, partitions, strict=True)
    }
    for asset in assets:
        by_partition = instance.get_status_by_partition(asset.key, keys, asset.partitions_def) or {}
        for key in keys:
            state = by_partition.get(key)
            statuses[key].assets[asset.key.to_user_string()] = state.value if state else MISSING
    for check_key in check_keys:
        for key in keys:
            latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(
                [check_key], partition_filter=PartitionKeyFilter(key=key)
            ).get(check_key)
            statuses[key].checks[check_key.name] = _check_state(instance, latest)
            statuses[key].checked[check_key.name] = check_key.asset_key.to_user_string()
    return list(statuses.values())


def _check_state(instance: dg.DagsterInstance, record) -> str:
    if record is None:
        return MISSING
    if record.status.value == "PLANNED":
        run = instance.get_run_by_id(record.run_id)
        if run is None:  # the run was deleted
            return SKIPPED
        if not run.is_finished:
            return IN_PROGRESS
        return EXECUTION_FAILED if run.status == dg.DagsterRunStatus.FAILURE else SKIPPED
    evaluation = record.event.dagster_event.event_specific_data if record.event else None
    if (
        record.status.value == "FAILED"
        and evaluation is not None
        and evaluation.severity == dg.AssetCheckSeverity.WARN
    ):
        return WARN
    return record.status.value
