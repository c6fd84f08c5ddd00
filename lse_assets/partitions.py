"""The partitions: UTC day x LangSmith project, keyed `YYYY-MM-DD|<project>`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import dagster as dg

from lse_assets.settings import Settings, load_settings

DATE = "date"
PROJECT = "project"


def build_partitions(settings: Settings) -> dg.MultiPartitionsDefinition:
    return dg.MultiPartitionsDefinition(
        {
            DATE: dg.DailyPartitionsDefinition(
                start_date=settings.start_date.isoformat(), timezone="UTC", end_offset=0
            ),
            PROJECT: dg.StaticPartitionsDefinition(settings.projects),
        }
    )


ARCHIVE_PARTITIONS = build_partitions(load_settings())


@dataclass(frozen=True)
class Partition:
    project: str
    day: date

    @property
    def key(self) -> dg.MultiPartitionKey:
        return dg.MultiPartitionKey({DATE: self.day.isoformat(), PROJECT: self.project})

    @property
    def run_tags(self) -> dict[str, str]:
        """Run tags that target this partition. Needed where Dagster cannot infer the
        partitions from the selection: a run of checks alone (no asset) in Dagster 1.13."""
        return {
            "dagster/partition": f"{self.day.isoformat()}|{self.project}",
            f"dagster/partition/{DATE}": self.day.isoformat(),
            f"dagster/partition/{PROJECT}": self.project,
        }

    @classmethod
    def from_key(cls, key: str | dg.MultiPartitionKey) -> Partition:
        if not isinstance(key, dg.MultiPartitionKey):
            date_part, project = key.split("|", 1)  # dimension names sort: date, project
            key = dg.MultiPartitionKey({DATE: date_part, PROJECT: project})
        dims = key.keys_by_dimension
        return cls(project=dims[PROJECT], day=date.fromisoformat(dims[DATE]))


def partition_of(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> Partition:
    return Partition.from_key(context.partition_key)
