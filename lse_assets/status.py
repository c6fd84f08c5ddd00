"""What the Dagster instance knows of each partition: stage by stage, check by check.

Read by `lse status` and by the retention alarm: one reading of the instance, two uses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

import dagster as dg
from dagster._core.event_api import PartitionKeyFilter

from lse_assets.partitions import Partition

MISSING = "missing"


@dataclass
class PartitionStatus:
    partition: Partition
    assets: dict[str, str] = field(default_factory=dict)
    checks: dict[str, str] = field(default_factory=dict)

    @property
    def archived(self) -> bool:
        return all(state == "MATERIALIZED" for state in self.assets.values())

    @property
    def failed(self) -> bool:
        return "FAILED" in self.assets.values() or "FAILED" in self.checks.values()

    @property
    def never_archived(self) -> bool:
        """No copy was ever made: nothing to verify."""
        return not any(state in {"MATERIALIZED", "FAILED"} for state in self.assets.values())

    @property
    def summary(self) -> str:
        """One truth: failed (which asset or check) / in progress / archived / partly
        archived (which copies are missing) / not archived."""
        failed = [
            name for name, state in {**self.assets, **self.checks}.items() if state == "FAILED"
        ]
        if failed:
            return f"failed ({', '.join(failed)})"
        if "IN_PROGRESS" in self.assets.values():
            return "in progress"
        if self.archived:
            warned = [name for name, state in self.checks.items() if state == "WARN"]
            return f"archived (warning: {', '.join(warned)})" if warned else "archived"
        missing = [name for name, state in self.assets.items() if state != "MATERIALIZED"]
        if len(missing) == len(self.assets):
            return "not archived"
        return f"partly archived (missing: {', '.join(missing)})"


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def partition_statuses(
    instance: dg.DagsterInstance,
    assets: Iterable[dg.AssetsDefinition],
    checks: Iterable[dg.AssetChecksDefinition],
    partitions: Iterable[Partition],
) -> list[PartitionStatus]:
    assets = sorted(assets, key=lambda asset: asset.key.to_user_string())
    check_keys = sorted((key for check in checks for key in check.check_keys), key=lambda k: k.name)
    partitions = list(partitions)
    keys = [partition.run_tags["dagster/partition"] for partition in partitions]
    statuses = {
        key: PartitionStatus(partition) for key, partition in zip(keys, partitions, strict=True)
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
            statuses[key].checks[check_key.name] = _check_state(latest)
    return list(statuses.values())


def _check_state(record) -> str:
    if record is None:
        return MISSING
    evaluation = record.event.dagster_event.event_specific_data if record.event else None
    if (
        record.status.value == "FAILED"
        and evaluation is not None
        and evaluation.severity == dg.AssetCheckSeverity.WARN
    ):
        return "WARN"
    return record.status.value
