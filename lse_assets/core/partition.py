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
MATERIALIZED = "MATERIALIZED"
IN_PROGRESS = "IN_PROGRESS"
FAILED = "FAILED"
# A check's state as the UI resolves it: a check that raised is EXECUTION_FAILED, one that
# never ran in a finished run SKIPPED, WARN a failure at WARN severity (lets the day pass).
SUCCEEDED, WARN = "SUCCEEDED", "WARN"
EXECUTION_FAILED, SKIPPED = "EXECUTION_FAILED", "SKIPPED"
_FAILURES = {FAILED, EXECUTION_FAILED}
_PASSED = {SUCCEEDED, WARN}


@dataclass
class PartitionStatus:
    """Each asset's state and each check's, as the Dagster instance records them, and
    `checked`: the asset each check checks. A partition is archived only when every copy
    is materialized AND its check passed: a copy nobody checked is not yet known good.
    `ongoing`: the day has not ended (today, UTC), so what is archived is the day so far."""

    partition: Partition
    assets: dict[str, str] = field(default_factory=dict)
    checks: dict[str, str] = field(default_factory=dict)
    checked: dict[str, str] = field(default_factory=dict)  # check -> its asset
    ongoing: bool = False

    @property
    def archived(self) -> bool:
        return all(state == MATERIALIZED for state in self.assets.values()) and all(
            state in _PASSED for state in self.checks.values()
        )

    @property
    def failed(self) -> bool:
        return any(state in _FAILURES for state in (*self.assets.values(), *self.checks.values()))

    @property
    def never_archived(self) -> bool:
        """No copy was ever made: nothing to verify."""
        return not any(state in {MATERIALIZED, FAILED} for state in self.assets.values())

    @property
    def summary(self) -> str:
        """One truth: failed (which asset or check) / in progress / partly archived (which
        copies are missing) / unchecked (which checks have no passing result) / archived /
        not archived; on a day not over yet, `today (partial)` and `today (not archived
        yet)` stand for the last two, never claiming a whole day."""
        states = {**self.assets, **self.checks}
        failed = [name for name, state in states.items() if state in _FAILURES]
        if failed:
            return f"failed ({', '.join(failed)})"
        if IN_PROGRESS in states.values():
            return "in progress"
        missing = [name for name, state in self.assets.items() if state != MATERIALIZED]
        if missing and len(missing) == len(self.assets):
            return "today (not archived yet)" if self.ongoing else "not archived"
        if missing:
            return f"partly archived (missing: {', '.join(missing)})"
        unchecked = [name for name, state in self.checks.items() if state not in _PASSED]
        if unchecked:
            return f"unchecked ({', '.join(unchecked)})"
        warned = [name for name, state in self.checks.items() if state == WARN]
        if self.ongoing:
            return f"today (partial, warning: {', '.join(warned)})" if warned else "today (partial)"
        return f"archived (warning: {', '.join(warned)})" if warned else "archived"

    def copy_state(self, asset: str) -> str:
        """One cell of `lse status`: the asset and its checks in a word or two."""
        state = self.assets.get(asset, MISSING)
        if state != MATERIALIZED:
            return {FAILED: "FAILED", IN_PROGRESS: "in progress"}.get(state, state)
        checks = [self.checks.get(c, MISSING) for c, on in self.checked.items() if on == asset]
        if any(c in _FAILURES for c in checks):
            return "check FAILED"
        if IN_PROGRESS in checks:
            return "checking"
        if any(c not in _PASSED for c in checks):
            return "unchecked"
        return "ok (warning)" if WARN in checks else "ok"


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
