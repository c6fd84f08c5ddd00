"""The predecessor's run files (docs/drive.md, "Restore"): read them, convert them, file them.

Its zips are flat: one JSON file per run named `{run_id}.json` or, after a re-fetch,
`{run_id}_{HHMMSS}.json`, plus `_summary.json`. Each file holds one of three shapes:
`{"metadata": {...}, "trace": run}` with `"enhanced_feedback": true` (and the run's
`feedback_records`), the same wrapper without the flag, or a bare run. Runs were written
from the v1 SDK model (`str()` of datetimes: "2025-09-06 23:59:58.123000", naive UTC) and
filed under their *own* start day, so a trace crossing midnight is split over two zips.

Conversion (the only changes made to a run document):
- the run is taken out of its wrapper (the wrapper's extraction metadata is not kept; the
  original zip stays untouched in Drive);
- datetimes of the run (`*_time`, `*_at`, `events[].time`) and of its feedback records
  (`created_at`, `modified_at`) become ISO 8601 UTC (`2025-09-06T23:59:58.123000Z`), naive
  values being UTC as LangSmith returns them; other fields and v1 names stay as they are;
- `trace_id` and `dotted_order`, which the database constraints require, are kept when
  present and derived only when that is provably LangSmith's value: `trace_id` from the
  first segment of `dotted_order`, or the run's own id for a root; `dotted_order` of a root
  from its start time and id, of a child from its parent's dotted order, recursively, when
  the parent chain is among the files read.
Runs are filed under their trace root's UTC day (the first 8 characters of `dotted_order`):
so a day needs its own zip and the next day's (children that started after midnight).
When a run without `dotted_order` has an ancestor in none of the files read, that ancestor
started before every day read (a parent never starts after its child, and each zip holds
the runs that started on its day), so the run belongs to an earlier day's trace: it is
"unplaced", written nowhere and reported by file name. If its trace root *was* read, it
belongs to a day being converted and cannot be written: that is an error naming the file.
A run that has neither `dotted_order` nor `start_time`, or whose `trace_id` contradicts
its `dotted_order`, is an error naming the file as well.
The same run in several files (re-fetches) keeps the newest file (zip entry time, then
name); the others are counted as dropped duplicates.
Zips are read under lse_assets.core.zipsafe's limits; a zip with one unreadable file adds none
of its runs.
"""

from __future__ import annotations

import re
import uuid
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from lse_assets.core import jsondoc, zipsafe
from lse_assets.core.findings import SAMPLE_SIZE

SHAPES = ("wrapped_enhanced", "wrapped", "bare")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})?")
_DOTTED_HEAD = re.compile(r"(\d{8})T\d{12}Z([0-9a-f-]{36})")


class LegacyFormatError(ValueError):
    """A legacy file that cannot be converted without guessing; the message names it."""


def iso_utc(text: str) -> str:
    """A predecessor datetime string as ISO 8601 UTC with microseconds and `Z`."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _normalized(value: Any) -> Any:
    return iso_utc(value) if isinstance(value, str) and _DATETIME.fullmatch(value) else value


def normalize_datetimes(run: dict[str, Any]) -> dict[str, Any]:
    out = {
        key: _normalized(value) if key.endswith(("_time", "_at")) else value
        for key, value in run.items()
    }
    if isinstance(out.get("events"), list):
        out["events"] = [
            {**event, "time": _normalized(event.get("time"))}
            if isinstance(event, dict) and "time" in event
            else event
            for event in out["events"]
        ]
    if isinstance(out.get("feedback_records"), list):
        out["feedback_records"] = [
            {k: _normalized(v) if k in ("created_at", "modified_at") else v for k, v in r.items()}
            if isinstance(r, dict)
            else r
            for r in out["feedback_records"]
        ]
    return out


def unwrap(document: Any, origin: str) -> tuple[dict[str, Any], str]:
    """The run inside a legacy file, and the file's shape (one of SHAPES)."""
    if isinstance(document, dict) and isinstance(document.get("trace"), dict):
        metadata = document.get("metadata")
        flagged = (isinstance(metadata, dict) and metadata.get("enhanced_feedback") is True) or (
            document.get("enhanced_feedback") is True
        )
        return document["trace"], "wrapped_enhanced" if flagged else "wrapped"
    if isinstance(document, dict) and "id" in document:
        return document, "bare"
    raise LegacyFormatError(
        f"{origin}: not a run file: expected {{'metadata': ..., 'trace': <run>}} or a run "
        "object with an 'id'"
    )


def _uuid(value: Any, what: str, origin: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise LegacyFormatError(f"{origin}: {what} {value!r} is not a UUID") from None


def _parent_id(run: dict[str, Any], origin: str) -> str | None:
    if run.get("parent_run_id"):
        return _uuid(run["parent_run_id"], "parent_run_id", origin)
    parents = run.get("parent_run_ids") or []
    return _uuid(parents[-1], "parent_run_ids[-1]", origin) if parents else None


def dotted_segment(start: str, run_id: str) -> str:
    """One segment of LangSmith's dotted order: the run's UTC start and its id."""
    moment = datetime.fromisoformat(iso_utc(start).replace("Z", "+00:00"))
    return moment.strftime("%Y%m%dT%H%M%S%fZ") + run_id


@dataclass
class _Entry:
    run_id: str
    trace_id: str | None
    dotted_order: str | None
    parent_id: str | None
    start: str | None
    container: int
    member: str
    origin: str  # "<archive>:<member>", for messages
    stamp: tuple[Any, ...]
    shape: str
    has_feedback_records: bool
    derived: set[str] = field(default_factory=set)
    unplaced: str | None = None  # why its trace's day cannot be proven

    @property
    def day(self) -> date:
        assert self.dotted_order is not None
        head = self.dotted_order[:8]
        return date(int(head[:4]), int(head[4:6]), int(head[6:8]))


@dataclass
class DayReport:
    """What a converted day is made of, for its manifest's `source`."""

    archives: list[str]
    shapes: dict[str, int]
    derived: dict[str, int]
    runs_without_feedback_records: int
    duplicates_dropped: int
    duplicates_sample: list[str]
    summaries: list[dict[str, Any]]

    def as_source(self) -> dict[str, Any]:
        return {"kind": "legacy", **self.__dict__}


class LegacyRuns:
    """Legacy run files from zips and folders: indexed in a first pass (ids, trace ids,
    dotted orders; not the documents), converted one at a time when a day is written."""

    def __init__(self) -> None:
        self._containers: list[Path] = []
        self._labels: list[str] = []
        self._entries: dict[str, _Entry] = {}
        self._dropped: list[tuple[str, str]] = []  # (run id, file) of older copies
        self._summaries: dict[int, dict[str, Any]] = {}
        self._resolved = False

    # --- first pass ---------------------------------------------------------------------

    def add_zip(self, path: Path, label: str | None = None) -> None:
        """Index every run file of the zip, or, when one cannot be read or converted, none
        of them (LegacyFormatError naming the file): what was read before stays usable."""
        name = label or path.name
        saved = (dict(self._entries), list(self._dropped), dict(self._summaries))
        container = self._container(path, label)
        try:
            with zipsafe.open_checked(path, name) as archive:
                for info in sorted(archive.infolist(), key=lambda i: i.filename):
                    if not info.is_dir():
                        raw = zipsafe.read_member(archive, info, name)
                        self._add(container, info.filename, info.date_time, raw)
        except (LegacyFormatError, zipsafe.UnsafeZipError) as error:
            self._entries, self._dropped, self._summaries = saved
            self._containers.pop()
            self._labels.pop()
            self._resolved = False
            raise LegacyFormatError(str(error)) from None

    def add_directory(self, path: Path, label: str | None = None) -> None:
        container = self._container(path, label)
        for file in sorted(p for p in path.iterdir() if p.is_file()):
            stamp = datetime.fromtimestamp(file.stat().st_mtime, UTC).timetuple()[:6]
            self._add(container, file.name, stamp, file.read_bytes())

    def _container(self, path: Path, label: str | None) -> int:
        self._containers.append(path)
        self._labels.append(label or path.name)
        self._resolved = False
        return len(self._containers) - 1

    def _add(self, container: int, member: str, stamp: Any, raw: bytes) -> None:
        origin = f"{self._labels[container]}:{member}"
        base = member.rsplit("/", 1)[-1]
        if base.startswith("_"):
            if base == "_summary.json":
                self._summaries[container] = _summary(raw)
            return
        if not base.endswith(".json"):
            raise LegacyFormatError(f"{origin}: not a JSON run file (legacy zips hold *.json)")
        try:
            run, shape = unwrap(jsondoc.parse_as_checked(raw), origin)
        except ValueError as exc:  # bad UTF-8, not JSON, nested too deep
            if isinstance(exc, LegacyFormatError):
                raise
            raise LegacyFormatError(f"{origin}: not valid JSON ({exc})") from None
        entry = _Entry(
            run_id=_uuid(run.get("id"), "run id", origin),
            trace_id=_uuid(run["trace_id"], "trace_id", origin) if run.get("trace_id") else None,
            dotted_order=run.get("dotted_order") or None,
            parent_id=_parent_id(run, origin),
            start=run.get("start_time") if isinstance(run.get("start_time"), str) else None,
            container=container,
            member=member,
            origin=origin,
            stamp=(tuple(stamp), member),
            shape=shape,
            has_feedback_records=isinstance(run.get("feedback_records"), list),
        )
        previous = self._entries.get(entry.run_id)
        if previous is not None:
            keep, drop = (entry, previous) if entry.stamp > previous.stamp else (previous, entry)
            self._entries[entry.run_id] = keep
            self._dropped.append((drop.run_id, drop.origin))
        else:
            self._entries[entry.run_id] = entry
        self._resolved = False

    # --- trace ids and dotted orders ----------------------------------------------------

    def resolve(self) -> None:
        """Fill in derivable trace ids and dotted orders; refuse what cannot be proven."""
        if self._resolved:
            return
        for entry in self._entries.values():
            if entry.dotted_order is None and entry.unplaced is None:
                self._derive_dotted_order(entry)
        for entry in self._entries.values():
            if entry.unplaced is None:
                self._check_placed(entry)
            else:
                self._refuse_if_its_day_is_known(entry)
        self._resolved = True

    def _check_placed(self, entry: _Entry) -> None:
        head = _DOTTED_HEAD.match(entry.dotted_order or "")
        if not head:
            raise LegacyFormatError(
                f"{entry.origin}: dotted_order {entry.dotted_order!r} of run "
                f"{entry.run_id} is not LangSmith's 'YYYYMMDDTHHMMSSffffffZ<root id>...'"
            )
        root_id = head.group(2)
        if entry.trace_id is None:
            entry.trace_id = root_id
            entry.derived.add("trace_id")
        elif entry.trace_id != root_id:
            raise LegacyFormatError(
                f"{entry.origin}: run {entry.run_id} has trace_id {entry.trace_id} but its "
                f"dotted_order starts with the root {root_id}; the file contradicts itself"
            )
        try:
            entry.day  # noqa: B018 (validates the date digits)
        except ValueError:
            raise LegacyFormatError(
                f"{entry.origin}: dotted_order {entry.dotted_order!r} has no valid date"
            ) from None

    def _derive_dotted_order(self, entry: _Entry) -> None:
        chain: list[_Entry] = []
        current, base = entry, None
        while current.dotted_order is None and current.unplaced is None:
            chain.append(current)
            if current.parent_id is None:
                break
            parent = self._entries.get(current.parent_id)
            if parent is None or len(chain) > len(self._entries):
                for node in chain:
                    node.unplaced = f"its ancestor {current.parent_id} is in none of the files read"
                return
            current = parent
        else:
            if current.unplaced is not None:
                for node in chain:
                    node.unplaced = current.unplaced
                return
            base = current.dotted_order
        for node in reversed(chain):
            if node.start is None:
                raise LegacyFormatError(
                    f"{node.origin}: run {node.run_id} has neither dotted_order nor start_time"
                )
            if node.parent_id is None and node.trace_id not in (None, node.run_id):
                raise LegacyFormatError(
                    f"{node.origin}: run {node.run_id} has no parent but trace_id "
                    f"{node.trace_id}; its dotted order cannot be derived"
                )
            segment = dotted_segment(node.start, node.run_id)
            node.dotted_order = f"{base}.{segment}" if base else segment
            node.derived.add("dotted_order")
            base = node.dotted_order

    def _refuse_if_its_day_is_known(self, entry: _Entry) -> None:
        """An unplaced run whose trace root *was* read belongs to that root's day, which
        cannot then be written without it."""
        root = self._entries.get(entry.trace_id or "")
        if root is not None and root.unplaced is None:
            raise LegacyFormatError(
                f"{entry.origin}: run {entry.run_id} belongs to the trace of {root.origin} "
                f"(rooted on {root.day}) but has no dotted_order and {entry.unplaced}, so its "
                "dotted order cannot be derived; add the archive that holds that ancestor"
            )

    def unplaced(self) -> list[str]:
        """Files of runs whose trace root is in none of the files read (nor derivable): their
        traces started before the days read. They are written nowhere."""
        self.resolve()
        return sorted(e.origin for e in self._entries.values() if e.unplaced is not None)

    # --- second pass ------------------------------------------------------------------------

    def days(self) -> Counter[date]:
        """Runs per trace-root day, over everything read."""
        self.resolve()
        return Counter(e.day for e in self._entries.values() if e.unplaced is None)

    def runs_for(self, day: date) -> Iterator[dict[str, Any]]:
        """The converted runs whose trace root started on `day`, one document at a time."""
        self.resolve()
        chosen = sorted(
            (e for e in self._entries.values() if e.unplaced is None and e.day == day),
            key=lambda e: (e.container, e.member),
        )
        open_zips: dict[int, zipfile.ZipFile] = {}
        try:
            for entry in chosen:
                yield self._convert(entry, open_zips)
        finally:
            for archive in open_zips.values():
                archive.close()

    def _convert(self, entry: _Entry, open_zips: dict[int, zipfile.ZipFile]) -> dict[str, Any]:
        path = self._containers[entry.container]
        if path.is_dir():
            raw = (path / entry.member).read_bytes()
        else:
            label = self._labels[entry.container]
            if entry.container not in open_zips:
                open_zips[entry.container] = zipsafe.open_checked(path, label)
            raw = zipsafe.read_member(open_zips[entry.container], entry.member, label)
        run, _ = unwrap(jsondoc.parse(raw), entry.origin)
        run = normalize_datetimes(run)
        run["trace_id"] = entry.trace_id
        run["dotted_order"] = entry.dotted_order
        return run

    def report(self, day: date) -> DayReport:
        self.resolve()
        entries = [e for e in self._entries.values() if e.unplaced is None and e.day == day]
        containers = sorted({e.container for e in entries})
        ids = {e.run_id for e in entries}
        dropped = [origin for run_id, origin in self._dropped if run_id in ids]
        return DayReport(
            archives=[self._labels[c] for c in containers],
            shapes=dict(sorted(Counter(e.shape for e in entries).items())),
            derived={
                name: sum(1 for e in entries if name in e.derived)
                for name in ("trace_id", "dotted_order")
            },
            runs_without_feedback_records=sum(1 for e in entries if not e.has_feedback_records),
            duplicates_dropped=len(dropped),
            duplicates_sample=dropped[:SAMPLE_SIZE],
            summaries=[self._summaries[c] for c in containers if c in self._summaries],
        )


def _summary(raw: bytes) -> dict[str, Any]:
    """The useful part of a `_summary.json` (what the old tool thought it saved)."""
    try:
        summary = jsondoc.parse(raw)
    except ValueError:
        return {"unreadable": True}
    results = summary.get("results") if isinstance(summary, dict) else None
    return {"results": results} if isinstance(results, dict) else {"results": None}
