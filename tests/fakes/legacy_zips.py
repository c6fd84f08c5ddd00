"""Zips as the predecessor wrote them (docs/drive.md, "Restore"), made from sample runs.

Flat `{run_id}.json` files plus `_summary.json`, JSON indented, datetimes as `str(datetime)`
("2025-09-13 23:59:58.123000"), runs filed under their *own* start day, the three shapes,
some runs without `trace_id`/`dotted_order` (derivable), and a run fetched twice.
"""

from __future__ import annotations

import json
import zipfile
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from resources.langsmith.sample import SampleLangSmithResource

_ISO = "%Y-%m-%dT%H:%M:%S.%fZ"
_ENTRY_TIME = (2025, 9, 20, 8, 0, 0)


def legacy_datetime(iso: str) -> str:
    return str(datetime.strptime(iso, _ISO))


def legacy_run(run: dict[str, Any]) -> dict[str, Any]:
    out = {
        key: legacy_datetime(value)
        if key.endswith(("_time", "_at")) and isinstance(value, str)
        else value
        for key, value in run.items()
    }
    out["events"] = [{**e, "time": legacy_datetime(e["time"])} for e in run.get("events", [])]
    out["feedback_records"] = [
        {
            **r,
            "created_at": legacy_datetime(r["created_at"]),
            "modified_at": legacy_datetime(r["modified_at"]),
        }
        for r in run.get("feedback_records", [])
    ]
    return out


def shape_of(index: int, run: dict[str, Any]) -> str:
    if run.get("feedback_records"):
        return "wrapped_enhanced"
    return ("bare", "wrapped", "wrapped_enhanced")[index % 3]


def legacy_document(run: dict[str, Any], shape: str, project: str, index: int) -> dict[str, Any]:
    doc = legacy_run(run)
    if shape == "bare" and index % 2 == 0:
        # Older files lacked these; they are derivable from the start time and the parent.
        doc.pop("dotted_order")
        if not doc["parent_run_ids"]:
            doc.pop("trace_id")
    if shape == "bare":
        return doc
    metadata = {
        "extracted_at": "2025-09-20T08:00:00",
        "project_name": project,
        "run_id": run["id"],
        "extractor_version": "0.1.0",
    }
    if shape == "wrapped_enhanced":
        metadata["enhanced_feedback"] = True
    else:
        doc.pop("feedback_records")  # the old wrapper had no full feedback records
    return {"metadata": metadata, "trace": doc}


def sample_runs(project: str, day: date) -> list[dict[str, Any]]:
    return list(SampleLangSmithResource().fetch_day(project, day).runs)


def predecessor_zips(
    project: str, days: list[date], directory: Path, prefix: str
) -> tuple[dict[date, Path], dict[str, str]]:
    """Legacy zips `{prefix}_{day}.zip` of `days` (runs filed by their own start day, so the
    day before the first contributes), and each run's shape."""
    by_own_day: dict[date, list[dict[str, Any]]] = defaultdict(list)
    for day in [days[0] - timedelta(days=1), *days]:
        for run in sample_runs(project, day):
            by_own_day[date.fromisoformat(run["start_time"][:10])].append(run)
    shapes: dict[str, str] = {}
    zips = {}
    for day in days:
        path = directory / f"{prefix}_{day.isoformat()}.zip"
        names = []
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for index, run in enumerate(by_own_day[day]):
                shape = shape_of(index, run)
                shapes[run["id"]] = shape
                name = f"{run['id']}_{index % 24:02d}0000.json"
                body = json.dumps(legacy_document(run, shape, project, index), indent=2)
                archive.writestr(zipfile.ZipInfo(name, _ENTRY_TIME), body)
                names.append(name)
                if index == 5:  # fetched again the day before: an older, stale copy
                    stale = legacy_document({**run, "name": "stale"}, shape, project, index)
                    older = (2025, 9, 19, 8, 0, 0)
                    archive.writestr(
                        zipfile.ZipInfo(f"{run['id']}_080000.json", older), json.dumps(stale)
                    )
            summary = {
                "operation": {"timestamp": "2025-09-20T08:00:00", "project_name": project},
                "results": {"total_traces": len(names), "successful_saves": len(names)},
                "files": names,
            }
            archive.writestr(zipfile.ZipInfo("_summary.json", _ENTRY_TIME), json.dumps(summary))
        zips[day] = path
    return zips, shapes
