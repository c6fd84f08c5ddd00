"""The partitions: UTC day x LangSmith project, keyed `YYYY-MM-DD|<project>`.

The last day is today (UTC), a partial day until it ends (`end_offset=1`): a refresh during
the day archives what LangSmith holds so far, and the merge keeps every run already
archived, so a later refresh only adds and completes. Yesterday is the last complete day.
"""

from __future__ import annotations

import dagster as dg

from lse_assets.core.partition import DATE, PROJECT, Partition
from lse_assets.settings import Settings


def build_partitions(settings: Settings) -> dg.MultiPartitionsDefinition:
    return dg.MultiPartitionsDefinition(
        {
            DATE: dg.DailyPartitionsDefinition(
                start_date=settings.start_date.isoformat(), timezone="UTC", end_offset=1
            ),
            PROJECT: dg.StaticPartitionsDefinition(settings.projects),
        }
    )


def partition_key(partition: Partition) -> dg.MultiPartitionKey:
    """Dagster's key for a partition (what RunRequest and materialize take)."""
    return dg.MultiPartitionKey({DATE: partition.day.isoformat(), PROJECT: partition.project})


def partition_of(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> Partition:
    return Partition.from_key(context.partition_key)
