"""A partition (LangSmith project x UTC day) and what is known of it, free of Dagster.

The label `YYYY-MM-DD|<project>` is the partition key of the contract (DESIGN.md); Dagster's
own key object is built from it in lse_assets/defs/partitions.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

# Dimension names of the partition key; they sort (date < project), which fixes the label's order.
DATE = "date"
PROJECT = "project"


@dataclass(frozen=True)
class Partition:
    project: str
    day: date

    @classmethod
    def from_key(cls, key: str) -> Partition:
        """From a label or a Dagster multi-partition key (a `str` of the same form)."""
        date_part, project = str(key).split("|", 1)  # dimension names sort: date, project
        return cls(project=project, day=date.fromisoformat(date_part))

    @property
    def label(self) -> str:
        """The partition key as users, the UI and the contract write it: `YYYY-MM-DD|<project>`."""
        return f"{self.day.isoformat()}|{self.project}"

    @property
    def run_tags(self) -> dict[str, str]:
        """Run tags that target this partition. Needed where Dagster cannot infer the
        partitions from the selection: a run of checks alone (no asset) in Dagster 1.13."""
        return {
            "dagster/partition": self.label,
            f"dagster/partition/{DATE}": self.day.isoformat(),
            f"dagster/partition/{PROJECT}": self.project,
        }


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
