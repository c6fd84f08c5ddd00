"""Where a backfill's wall time went, read from a Dagster instance's run records and event
logs (run it with that instance's DAGSTER_HOME; bench_backfill --timeline does).

    python -m bench.backfill_timeline [BACKFILL_LAUNCHED_EPOCH_SECONDS]

Per run: queued (created until the launcher starts it), starting (until the run process
reports started), waiting for its first step (a pool slot), its steps, and ending. The
backfill's own edges: from the launch until its first run was created (the backfill
daemon looks for new backfills every 30 s, a constant of Dagster), and the span from the
first run's creation to the last run's end.
"""

from __future__ import annotations

import statistics
import sys
from collections import defaultdict

import dagster as dg

STARTING, STARTED, SUCCESS = (
    dg.DagsterEventType.RUN_STARTING,
    dg.DagsterEventType.RUN_START,
    dg.DagsterEventType.RUN_SUCCESS,
)


def phases(instance: dg.DagsterInstance) -> tuple[dict[str, list[float]], float, float]:
    """Seconds per phase for every run, the first run's creation and the last run's end."""
    found: dict[str, list[float]] = defaultdict(list)
    created, ended = [], []
    for record in instance.get_run_records():
        created.append(record.create_timestamp.timestamp())
        if record.end_time:
            ended.append(record.end_time)
        marks: dict[dg.DagsterEventType, float] = {}
        step_starts, step_ends = [], []
        for entry in instance.all_logs(record.dagster_run.run_id):
            kind = entry.dagster_event.event_type if entry.dagster_event else None
            if kind in (STARTING, STARTED, SUCCESS):
                marks.setdefault(kind, entry.timestamp)
            elif kind == dg.DagsterEventType.STEP_START:
                step_starts.append(entry.timestamp)
            elif kind == dg.DagsterEventType.STEP_SUCCESS:
                step_ends.append(entry.timestamp)
        if not {STARTING, STARTED, SUCCESS} <= marks.keys() or not step_starts:
            continue  # a run that did not succeed: its phases would mislead
        found["queued"].append(marks[STARTING] - created[-1])
        found["starting"].append(marks[STARTED] - marks[STARTING])
        found["until its first step (pools)"].append(min(step_starts) - marks[STARTED])
        found["steps"].append(max(step_ends) - min(step_starts))
        found["ending"].append(marks[SUCCESS] - max(step_ends))
    return found, min(created, default=0.0), max(ended, default=0.0)


def main() -> None:
    launched = float(sys.argv[1]) if len(sys.argv) > 1 else None
    with dg.DagsterInstance.get() as instance:
        found, first_created, last_ended = phases(instance)
    runs = len(found["steps"])
    print(f"timeline of {runs} runs (seconds a run: mean / median / max)")
    if launched is not None:
        print(f"  launch until the first run was created: {first_created - launched:.1f} s")
    span = last_ended - first_created
    print(f"  first run created until the last ended: {span:.1f} s ({runs / span * 60:.1f}/min)")
    for name, seconds in found.items():
        print(
            f"  {name:30s} {statistics.mean(seconds):6.2f} / {statistics.median(seconds):6.2f}"
            f" / {max(seconds):6.2f}"
        )


if __name__ == "__main__":
    main()
