"""Is a partition's set of run files whole? The logic of the `runs_complete` check.

Errors (the partition is wrong, re-materialize raw_runs):
- the manifest and the files disagree: a file not listed, a listed file missing, a sha256
  that differs, a file that is not JSON or not named after the run it holds;
- a run id held twice;
- a run whose trace root or parent is not in the partition (a cut trace);
- a run whose trace root did not start on the partition's day (`dotted_order` prefix);
- a run the manifest records as vanished (LangSmith stopped returning it) that is not kept;
- LangSmith counting more runs or traces for the day than the fetch returned
  (`runs_not_fetched`): a page dropped without an error, a filter mismatch, runs ingested
  late. The fix is the same: re-materialize raw_runs.
Vanished runs themselves are expected after retention, not a finding: the files hold the
union of what LangSmith returned and what it no longer returns, and that union must be
whole (docs/archive.md).

Warnings (nothing wrong yet, the day is not final):
- runs still pending (no `end_time`): on a day still `settling` (today, a partial day, and
  yesterday) they are still running, and the next refresh or re-export replaces them with
  their finished versions; on an older day LangSmith may never end them (the app died), and
  they stay archived as they are. Never an ERROR: an ERROR blocks the day's other copies
  for a fault no re-run can fix;
- LangSmith counting more than the fetch returned on a day still `settling`, as runs keep
  arriving (`runs_not_fetched_yet`);
- roots that ended after the fetch's run window: children they started later are missing
  (widen `late_child_days`).

LangSmith's own counts (`SourceCounts`, recorded by the run source in the manifest's
`source.counts` right after the fetch's last page) are a second opinion on what the fetch
returned. LangSmith counting fewer (retention, deletions) is expected: those runs are kept
and reported as vanished. A partition fetched before the counts were recorded has none: the
check says the counts are unknown and finds nothing.

Memory: one file at a time, plus each run's id, trace id and parent id.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from lse_assets.core import jsondoc, runfiles
from lse_assets.core.findings import Discrepancies
from lse_assets.core.runfiles import PartitionPaths

ERROR_KINDS = (
    "manifest_missing",
    "unlisted_files",
    "missing_files",
    "checksum_mismatches",
    "unreadable_files",
    "misnamed_files",
    "duplicate_run_ids",
    "missing_roots",
    "missing_parents",
    "wrong_day_runs",
    "vanished_not_kept",
    "runs_not_fetched",
)
WARN_KINDS = ("pending_runs", "roots_ending_after_window", "runs_not_fetched_yet")
# Figures of the check's metadata beside the findings: what was counted, not what differs
# (`runs_not_fetched` is the finding); `lse verify` lists only findings.
COUNT_METADATA = (
    "source_runs",
    "source_traces",
    "returned_runs",
    "returned_traces",
    "archived_runs",
    "archived_traces",
    "runs_difference",
    "traces_difference",
    "vanished_runs",
)
SETTLING_DAYS = 1  # yesterday still settles: late runs, pending runs, ingestion lag


@dataclass(frozen=True)
class SourceCounts:
    """LangSmith's counts for the partition's day, and what the fetch itself returned.

    `source_traces`: root runs that started on the day; `source_runs`: runs of the traces
    whose root started on the day, in the fetch's run window. `returned_*`: the same, as the
    fetch's stream delivered them (duplicates dropped), before any merge or forget."""

    source_runs: int
    source_traces: int
    returned_runs: int
    returned_traces: int
    counted_at: str

    KEY = "counts"  # under the manifest's `source`

    def record(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def of_source(cls, source: dict[str, Any] | None) -> SourceCounts | None:
        """The counts a manifest's `source` holds, or None (fetched before they existed)."""
        record = (source or {}).get(cls.KEY)
        if not isinstance(record, dict):
            return None
        try:
            counts = cls(**record)
        except TypeError:
            return None
        numbers = (counts.source_runs, counts.source_traces)
        numbers += (counts.returned_runs, counts.returned_traces)
        valid = all(type(n) is int and n >= 0 for n in numbers)
        return counts if valid else None


@dataclass
class CountCheck:
    """The partition against LangSmith's counts: what the check's metadata shows."""

    counts: SourceCounts | None
    archived_runs: int = 0  # runs on file that this fetch returned (kept vanished ones aside)
    archived_traces: int = 0
    vanished_runs: int = 0  # kept from earlier fetches: LangSmith no longer returns them

    @property
    def runs_short(self) -> int:
        """Runs LangSmith counts that the fetch did not return (a missing trace is >= 1)."""
        if self.counts is None:
            return 0
        counts = self.counts
        return max(
            counts.source_runs - counts.returned_runs,
            counts.source_traces - counts.returned_traces,
            0,
        )

    def metadata(self) -> dict[str, Any]:
        if self.counts is None:
            return {
                "source_counts": "unknown: fetched before LSE recorded LangSmith's counts; "
                "the next re-materialization records them"
            }
        counts = self.counts
        return {
            "source_runs": counts.source_runs,
            "source_traces": counts.source_traces,
            "returned_runs": counts.returned_runs,
            "returned_traces": counts.returned_traces,
            "archived_runs": self.archived_runs,
            "archived_traces": self.archived_traces,
            "runs_difference": counts.source_runs - counts.returned_runs,
            "traces_difference": counts.source_traces - counts.returned_traces,
            "vanished_runs": self.vanished_runs,
            "counted_at": counts.counted_at,
        }

    def sentence(self, settling: bool) -> str | None:
        """The finding in words, or None when there is nothing to say."""
        counts = self.counts
        if counts is None:
            return None
        if self.runs_short:
            return (
                f"LangSmith counts {counts.source_runs:,} runs in {counts.source_traces:,} "
                f"traces, the fetch returned {counts.returned_runs:,} runs in "
                f"{counts.returned_traces:,} traces"
                + (
                    ": runs still arriving on a day that has not settled; the rolling "
                    "re-export completes it"
                    if settling
                    else ": re-materialize raw_runs for this partition"
                )
            )
        fewer = counts.returned_runs - counts.source_runs
        if fewer or self.vanished_runs:
            return (
                f"LangSmith counts {counts.source_runs:,} runs, {self.vanished_runs + fewer:,} "
                "fewer than archived: vanished from LangSmith (retention or deletion), kept here"
            )
        return None


def settling(day: date, now: datetime) -> bool:
    """Whether `day`'s runs may still be running or arriving at `now`: today (UTC) and the
    SETTLING_DAYS before it. What a check finds there that time alone fixes is a WARN."""
    return day >= now.astimezone(UTC).date() - timedelta(days=SETTLING_DAYS)


@dataclass
class CompletenessReport:
    files: int = 0
    runs: int = 0
    traces: int = 0
    settling: bool = False  # the day's runs may still change (see `settling`)
    found: dict[str, Discrepancies] = field(
        default_factory=lambda: {kind: Discrepancies() for kind in ERROR_KINDS + WARN_KINDS}
    )
    counted: CountCheck = field(default_factory=lambda: CountCheck(None))

    @property
    def errors(self) -> int:
        return sum(self.found[kind].count for kind in ERROR_KINDS)

    @property
    def warnings(self) -> int:
        return sum(self.found[kind].count for kind in WARN_KINDS)

    @property
    def passed(self) -> bool:
        return not self.errors and not self.warnings

    def summary(self) -> str:
        counted = self.counted.sentence(self.settling)
        if self.passed:
            whole = f"{self.runs} runs in {self.traces} complete traces, matching the manifest"
            return f"{whole}; {counted}" if counted else whole
        problems = [
            f"{self.found[kind].count} {kind.replace('_', ' ')}"
            for kind in ERROR_KINDS + WARN_KINDS
            if self.found[kind].count
        ]
        if self.errors:
            verdict = "re-materialize raw_runs for this partition"
        elif self.settling:
            verdict = "not final yet: a later refresh or re-export will complete it"
        else:
            verdict = (
                "not ended in LangSmith days later: archived as they are "
                "(a re-export replaces them if they end)"
            )
        return f"{', '.join(problems)}: {verdict}" + (f" ({counted})" if counted else "")


def _parent(run: dict[str, Any]) -> str | None:
    parents = run.get("parent_run_ids")
    if parents:
        return parents[-1]  # v2 lists the ancestors root first, so the last is the parent
    return run.get("parent_run_id")  # v1 shape (old archives)


def _moment(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)  # Python 3.11 reads "Z" and a space separator
    except ValueError:
        return None
    # LangSmith's v1 answers naive UTC times; an offset is converted, never dropped.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def inspect_partition(paths: PartitionPaths, now: datetime | None = None) -> CompletenessReport:
    """The findings of a partition's files; `now` (default: the clock) decides `settling`."""
    report = CompletenessReport(settling=settling(paths.day, now or datetime.now(UTC)))
    found = report.found
    try:
        manifest = runfiles.read_manifest(paths)
    except FileNotFoundError:
        found["manifest_missing"].add(str(paths.manifest))
        return report
    vanished = set(manifest.get("vanished") or {})
    report.counted = CountCheck(SourceCounts.of_source(manifest.get("source")))
    listed: dict[str, str] = dict(manifest.get("files") or {})
    for run_id in sorted(set(manifest.get("vanished") or {}) - set(listed)):
        found["vanished_not_kept"].add(run_id)
    window_end = _moment(((manifest.get("source") or {}).get("query") or {}).get("max_start_time"))
    day_prefix = paths.day.strftime("%Y%m%d")
    links: dict[str, tuple[str | None, str | None]] = {}  # run id -> (trace id, parent id)

    names = sorted(os.listdir(paths.runs_dir)) if paths.runs_dir.exists() else []
    for name in names:
        report.files += 1
        stem = name[: -len(".json")] if name.endswith(".json") else None
        expected = listed.pop(stem, None) if stem else None
        if expected is None:
            found["unlisted_files"].add(name)
        raw = (paths.runs_dir / name).read_bytes()
        if expected is not None and hashlib.sha256(raw).hexdigest() != expected:
            found["checksum_mismatches"].add(name)
        try:
            run = jsondoc.parse(raw)
            run_id = run["id"]
        except (ValueError, TypeError, KeyError):
            found["unreadable_files"].add(name)
            continue
        if run_id != stem:
            found["misnamed_files"].add(name)
        if run_id in links:
            found["duplicate_run_ids"].add(run_id)
            continue
        report.runs += 1
        links[run_id] = (run.get("trace_id"), _parent(run))
        if not str(run.get("dotted_order", "")).startswith(day_prefix):
            found["wrong_day_runs"].add(run_id)
        if run.get("end_time") is None:
            found["pending_runs"].add(run_id)
        elif window_end and run.get("trace_id") == run_id:
            ended = _moment(run["end_time"])
            if ended and ended.replace(tzinfo=window_end.tzinfo) > window_end:
                found["roots_ending_after_window"].add(run_id)
    for stem in sorted(listed):
        found["missing_files"].add(f"{stem}.json")

    traces: set[str | None] = set()
    for run_id, (trace_id, parent_id) in links.items():
        traces.add(trace_id)
        if trace_id not in links:
            found["missing_roots"].add(run_id)
        if parent_id is not None and parent_id not in links:
            found["missing_parents"].add(run_id)
    report.traces = len(traces)
    _reconcile(report, links, vanished)
    return report


def _reconcile(
    report: CompletenessReport,
    links: dict[str, tuple[str | None, str | None]],
    vanished: set[str],
) -> None:
    """The files against LangSmith's counts: a shortfall is a finding, fewer is vanished."""
    counted = report.counted
    counted.vanished_runs = len(vanished & links.keys())
    counted.archived_runs = len(links) - counted.vanished_runs
    counted.archived_traces = sum(
        1
        for run_id, (trace_id, _) in links.items()
        if run_id == trace_id and run_id not in vanished
    )
    if counted.runs_short:
        kind = "runs_not_fetched_yet" if report.settling else "runs_not_fetched"
        report.found[kind].count = counted.runs_short  # no ids: LangSmith only counts them
