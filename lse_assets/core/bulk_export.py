"""A partition as Parquet in LangSmith Bulk Data Export's shape: where the file goes, its
columns, how a run file becomes a row, and how the rows are written and compared.

The rules, decided here once:
- Path: `tenant_id=<uuid>/session_id=<project uuid>/resource=runs/year=YYYY/month=MM/
  day=DD/<project-slug>_<date>.parquet` under the destination root, as Bulk Export lays
  it out. Our day is the trace root's UTC day (the partition's), so a trace is never
  split across days; Bulk Export files each run under its own start day.
- Columns: Bulk Export's defaults with its names and order, then ours: `project` (the
  name), `feedback` (the full records), `child_run_ids`, `root_day`.
- Every object or array value (inputs, outputs, extra, events, tags, feedback_stats,
  parent_run_ids, feedback, child_run_ids) is JSON text: UTF-8, compact, keys in the
  file's (sorted) order, U+0000 escaped. NUL and any other character survive byte for
  byte. `extra` holds the run's `metadata` under `extra.metadata`, where Bulk Export has
  it (the v2 API returns it beside `extra`).
- Timestamps are `timestamp[us, tz=UTC]` (Bulk Export's nanosecond INT64 is what Spark
  and Glue refuse). `run_type` and `status` are lower case, as Bulk Export writes them
  (the v2 API answers in upper case; the run file keeps what LangSmith sent).
- A warehouse view, not a backup: fields outside these columns (thread_id, token and
  cost details, attachments, ...) stay in the run files only.
- Rows in run-id order, in row groups of at most ROW_GROUP_BYTES of run files, so memory
  is two row groups (plus a parent link per run) whatever the day's size.
- The footer carries FORMAT and the digest of the partition's manifest (every run id
  and file sha256): equal footer and a full comparison is what "unchanged" means.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import IO, Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from lse_assets.core import jsondoc, runfiles

FORMAT = "lse-parquet/1"  # bump when a row's mapping changes: every file is rewritten
FORMAT_KEY = b"lse.format"
DIGEST_KEY = b"lse.content_sha256"
UNKNOWN_ID = "00000000-0000-0000-0000-000000000000"  # tenant/project not recorded (sample, legacy)
ROW_GROUP_BYTES = 32 * 1024 * 1024
ROW_GROUP_ROWS = 50_000
COMPRESSION = "zstd"

_TS = pa.timestamp("us", tz="UTC")
SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("tenant_id", pa.string()),
        ("session_id", pa.string()),
        ("trace_id", pa.string()),
        ("parent_run_id", pa.string()),
        ("parent_run_ids", pa.string()),
        ("reference_example_id", pa.string()),
        ("name", pa.string()),
        ("run_type", pa.string()),
        ("start_time", _TS),
        ("end_time", _TS),
        ("status", pa.string()),
        ("is_root", pa.bool_()),
        ("dotted_order", pa.string()),
        ("trace_tier", pa.string()),
        ("inputs", pa.string()),
        ("outputs", pa.string()),
        ("error", pa.string()),
        ("extra", pa.string()),
        ("events", pa.string()),
        ("tags", pa.string()),
        ("feedback_stats", pa.string()),
        ("total_tokens", pa.int64()),
        ("prompt_tokens", pa.int64()),
        ("completion_tokens", pa.int64()),
        ("total_cost", pa.float64()),
        ("prompt_cost", pa.float64()),
        ("completion_cost", pa.float64()),
        ("first_token_time", _TS),
        # Beyond Bulk Export:
        ("project", pa.string()),
        ("feedback", pa.string()),
        ("child_run_ids", pa.string()),
        ("root_day", pa.date32()),
    ]
)
COLUMNS = SCHEMA.names


class BulkExportError(ValueError):
    """A run file that cannot become a row (not JSON, a value of the wrong type)."""


@dataclass(frozen=True)
class Export:
    """One partition's Parquet file: where it goes and what it must hold."""

    project: str
    day: date
    tenant_id: str
    session_id: str
    file_name: str
    digest: str

    @property
    def relative_path(self) -> str:
        return (
            f"tenant_id={self.tenant_id}/session_id={self.session_id}/resource=runs/"
            f"year={self.day.year:04d}/month={self.day.month:02d}/day={self.day.day:02d}/"
            f"{self.file_name}"
        )

    @property
    def footer(self) -> dict[bytes, bytes]:
        return {FORMAT_KEY: FORMAT.encode(), DIGEST_KEY: self.digest.encode()}

    def footer_matches(self, footer: Mapping[bytes, bytes] | None) -> bool:
        """Whether a file's footer says it was written from exactly this content."""
        return bool(footer) and all(footer.get(k) == v for k, v in self.footer.items())


def export_of(paths: runfiles.PartitionPaths, manifest: Mapping[str, Any] | None = None) -> Export:
    """The partition's Export, from its manifest (raises if raw_runs never ran).

    Tenant and project ids come from the manifest's source (LangSmith's own ids), else
    from a run file (partitions archived before they were recorded, legacy imports), else
    UNKNOWN_ID. Every row takes them from here, so the Hive path and the columns agree
    (readers such as DuckDB let the path's value win over the column's).
    """
    if manifest is None:
        manifest = runfiles.read_manifest(paths)
    source = manifest.get("source") or {}
    files = sorted((manifest.get("files") or {}).items())
    digest = hashlib.sha256(
        "".join(f"{run_id} {sha}\n" for run_id, sha in files).encode()
    ).hexdigest()
    first_run = _first_run(paths)
    return Export(
        project=paths.project,
        day=paths.day,
        tenant_id=_uuid_or_unknown(source.get("tenant_id") or first_run.get("tenant_id")),
        session_id=_uuid_or_unknown(
            source.get("project_id") or first_run.get("session_id") or first_run.get("project_id")
        ),
        file_name=f"{paths.slug}_{paths.day.isoformat()}.parquet",
        digest=digest,
    )


def _first_run(paths: runfiles.PartitionPaths) -> dict[str, Any]:
    for _, raw in runfiles.iter_run_bytes(paths, runfiles.run_ids_on_disk(paths)[:1]):
        try:
            run = jsondoc.parse(raw)
        except ValueError:
            return {}
        return run if isinstance(run, dict) else {}
    return {}


def _uuid_or_unknown(value: Any) -> str:
    # Only a UUID goes into a path: nothing read from a file can climb out of the root.
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return UNKNOWN_ID


# --- run file -> row -------------------------------------------------------------------


def _json_text(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        # Integers beyond 64 bits, which orjson refuses. (Lone surrogates never get here:
        # run files are UTF-8, which cannot hold them.)
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _lower(value: Any) -> str | None:
    text = _text(value)
    return text.lower() if text is not None else None


def _timestamp(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as error:
        raise BulkExportError(f"not an ISO 8601 time: {value!r}") from error
    # LangSmith's v1 answers naive UTC times; anything else is converted to UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _integer(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    return int(value)


def _cost(value: Any) -> float | None:
    # LangSmith sends costs as numbers or decimal strings ("0.000123").
    return None if value is None or isinstance(value, bool) else float(value)


def _parents(run: dict[str, Any]) -> list[str]:
    parents = run.get("parent_run_ids")
    if isinstance(parents, list) and parents:
        return [str(parent) for parent in parents]
    return [str(run["parent_run_id"])] if run.get("parent_run_id") else []


def _extra(run: dict[str, Any]) -> Any:
    """`extra` as Bulk Export has it, with the run's metadata under `extra.metadata`: the v2
    API returns `metadata` beside `extra`, Bulk Export (and v1) inside it."""
    extra, metadata = run.get("extra"), run.get("metadata")
    if metadata is None or not isinstance(extra, dict | None) or "metadata" in (extra or {}):
        return extra
    return dict(sorted({**(extra or {}), "metadata": metadata}.items()))


def _is_root(run: dict[str, Any], parents: list[str]) -> bool:
    # LangSmith's own flag when it sent one; else a run without a parent is a root.
    flag = run.get("is_root")
    return bool(flag) if flag is not None else not parents


def row_of(run: dict[str, Any], export: Export, children: list[str]) -> dict[str, Any]:
    """The Parquet row of one run document (as read from its file)."""
    return dict(zip(COLUMNS, _values(run, export, children), strict=True))


def _values(run: dict[str, Any], export: Export, children: list[str]) -> tuple[Any, ...]:
    """The row's values in COLUMNS order: a tuple, not a dict, so that the writer turns a
    row group into columns with one zip (a dict per row, then a lookup per column and row,
    cost as much as making the values)."""
    if not isinstance(run, dict) or not run.get("id"):
        raise BulkExportError("a run document without an id")
    get = run.get
    try:
        parents = _parents(run)
        return (
            str(run["id"]),
            export.tenant_id,
            export.session_id,
            _text(get("trace_id")),
            runfiles.direct_parent(run),
            _json_text(parents),
            _text(get("reference_example_id")),
            _text(get("name")),
            _lower(get("run_type")),
            _timestamp(get("start_time")),
            _timestamp(get("end_time")),
            _lower(get("status")),
            _is_root(run, parents),
            _text(get("dotted_order")),
            _text(get("trace_tier")),
            _json_text(get("inputs")),
            _json_text(get("outputs")),
            _text(get("error")),
            _json_text(_extra(run)),
            _json_text(get("events")),
            _json_text(get("tags")),
            _json_text(get("feedback_stats")),
            _integer(get("total_tokens")),
            _integer(get("prompt_tokens")),
            _integer(get("completion_tokens")),
            _cost(get("total_cost")),
            _cost(get("prompt_cost")),
            _cost(get("completion_cost")),
            _timestamp(get("first_token_time")),
            export.project,
            _json_text(get("feedback_records") or []),
            _json_text(children),
            export.day,
        )
    except (TypeError, ValueError) as error:
        raise BulkExportError(f"run {run.get('id')}: {error}") from error


def _parse(run_id: str, raw: bytes) -> Any:
    try:
        return jsondoc.parse(raw)
    except ValueError as error:
        raise BulkExportError(f"run file {run_id}.json is not readable JSON: {error}") from None


def child_index(paths: runfiles.PartitionPaths, run_ids: list[str]) -> dict[str, list[str]]:
    """parent id -> its direct children's ids (in run-id order): one pass over the files,
    keeping only the links. (The run files do not carry child ids; Bulk Export lacks them.)"""
    children: dict[str, list[str]] = defaultdict(list)
    for run_id, raw in runfiles.iter_run_bytes(paths, run_ids):
        run = _parse(run_id, raw)
        parent = runfiles.direct_parent(run) if isinstance(run, dict) else None
        if parent:
            children[parent].append(run_id)
    return children


def child_index_from_manifest(
    manifest: Mapping[str, Any], run_ids: list[str]
) -> dict[str, list[str]] | None:
    """The same index from the manifest's `parents` map, recorded by raw_runs as it wrote
    the files; None when the manifest has none that fits these files (written before the
    map existed). Only for a writer that has verified the files against the manifest."""
    parents = manifest.get("parents")
    if not isinstance(parents, dict) or not parents.keys() <= set(run_ids):
        return None
    children: dict[str, list[str]] = defaultdict(list)
    for run_id in run_ids:
        if run_id in parents:
            children[str(parents[run_id])].append(run_id)
    return children


def _sized_rows(
    paths: runfiles.PartitionPaths,
    export: Export,
    *,
    verified_manifest: Mapping[str, Any] | None = None,
) -> Iterator[tuple[tuple[Any, ...], int]]:
    """(row values, the run file's size) in run-id order, one run file in memory at a time.
    `verified_manifest`: the manifest the files were just verified against, whose parent
    links may then be used instead of a pass over the files."""
    run_ids = runfiles.run_ids_on_disk(paths)
    children = (
        verified_manifest is not None and child_index_from_manifest(verified_manifest, run_ids)
    ) or child_index(paths, run_ids)
    for run_id, raw in runfiles.iter_run_bytes(paths, run_ids):
        run = _parse(run_id, raw)
        if not isinstance(run, dict):  # JSON, but no run: named here, not an AttributeError
            raise BulkExportError(f"run file {run_id}.json is not a JSON object")
        yield _values(run, export, children.get(str(run.get("id")), [])), len(raw)


def rows(paths: runfiles.PartitionPaths, export: Export) -> Iterator[dict[str, Any]]:
    """The partition's rows in run-id order, one run file in memory at a time."""
    for values, _ in _sized_rows(paths, export):
        yield dict(zip(COLUMNS, values, strict=True))


def batches(
    paths: runfiles.PartitionPaths,
    export: Export,
    max_bytes: int = ROW_GROUP_BYTES,
    max_rows: int = ROW_GROUP_ROWS,
    *,
    verified_manifest: Mapping[str, Any] | None = None,
) -> Iterator[pa.RecordBatch]:
    """The partition's rows in record batches of at most `max_bytes` of run files (the
    JSON text a row holds is about its file's size): one row group each, so memory holds
    one group whatever the day's size."""
    batch: list[tuple[Any, ...]] = []
    size = 0
    for values, row_size in _sized_rows(paths, export, verified_manifest=verified_manifest):
        batch.append(values)
        size += row_size
        if size >= max_bytes or len(batch) >= max_rows:
            yield _record_batch(batch)
            batch, size = [], 0
    if batch:
        yield _record_batch(batch)


def _record_batch(batch: list[tuple[Any, ...]]) -> pa.RecordBatch:
    columns = zip(*batch, strict=True)
    arrays = [
        pa.array(column, type=field.type) for column, field in zip(columns, SCHEMA, strict=True)
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=SCHEMA)


def write(sink: IO[bytes], batches: Iterable[pa.RecordBatch], export: Export) -> int:
    """Write the batches as one Parquet file (zstd, page checksums); return the row count.
    An empty day is a valid file of zero rows, so every partition has its file.

    Each row group is encoded and compressed on a second thread (pyarrow releases the GIL
    there) while the next batch is read and built: at most two groups in memory."""
    schema = SCHEMA.with_metadata(export.footer)
    written = 0
    with (
        pq.ParquetWriter(sink, schema, compression=COMPRESSION, write_page_checksum=True) as writer,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="parquet-write") as encoder,
    ):
        pending: Future[None] | None = None
        for batch in batches:
            if pending is not None:
                pending.result()  # the previous group is written (or its error raised)
            if batch.num_rows:
                pending = encoder.submit(writer.write_batch, batch)
                written += batch.num_rows
            del batch  # the encoder holds it only until it is written
        if pending is not None:
            pending.result()
    return written
