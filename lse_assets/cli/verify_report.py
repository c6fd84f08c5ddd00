"""One line per verified partition: what `lse verify` says, from the checks' own metadata.

`consistent` only when every check of the partition ran and passed; otherwise each failed
check with the kinds of difference it counted and a few sample ids.
"""

from __future__ import annotations

from typing import Any

from lse_assets.cli.runner import PartitionRun
from lse_assets.core.completeness import COUNT_METADATA
from lse_assets.core.findings import is_sample_key, sample_key

SAMPLE = 3
COUNTS = {
    *COUNT_METADATA,
    "files",
    "rows",
    "compared",
    "runs",
    "traces",
    "normalized",
    "local_bytes",
    "remote_bytes",
}


def _differences(metadata: dict[str, Any]) -> list[str]:
    found = []
    for kind, value in metadata.items():
        if is_sample_key(kind) or kind in COUNTS:
            continue
        if kind == "problems" and value:
            found.append("; ".join(map(str, value)))
        elif isinstance(value, int) and not isinstance(value, bool) and value:
            sample = metadata.get(sample_key(kind)) or []
            example = f" (e.g. {', '.join(map(str, sample[:SAMPLE]))})" if sample else ""
            found.append(f"{kind} {value}{example}")
    return found


def verdict(run: PartitionRun) -> tuple[bool, str]:
    """(consistent, the line to print)."""
    key = run.partition.label
    if not run.checks:
        why = run.failure or f"run {run.run_id} failed; see it in the UI"
        return False, f"{key}: CHECKS DID NOT RUN ({why})"
    failed = [name for name, ok in run.checks.items() if not ok]
    if failed or not run.success:
        parts = [
            f"{name}: {', '.join(_differences(run.check_metadata.get(name, {}))) or 'failed'}"
            for name in failed
        ] or [f"run {run.run_id} failed; see it in the UI"]
        return False, f"{key}: INCONSISTENT  " + " | ".join(parts)
    db = run.check_metadata.get("files_match_db", {})
    complete = run.check_metadata.get("runs_complete", {})
    parquet = run.check_metadata.get("parquet_matches_files", {})
    line = (
        f"{key}: consistent ({db.get('files', 0)} files = {db.get('rows', 0)} rows = "
        f"{parquet.get('rows', 0)} Parquet rows, {complete.get('traces', 0)} traces; "
        "zip and archive store identical"
    )
    if db.get("normalized"):
        line += f"; {db['normalized']} NUL-normalized"
    if run.warnings:
        line += f"; warning: {', '.join(run.warnings)}"
    return True, line + ")"
