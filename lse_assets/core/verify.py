"""Files versus database for one partition: a merge of two run-id-ordered streams.

Memory holds one document per side at a time (plus the partition's trace ids); both
sides are read once, the database side by a single streamed query. Documents are
compared as values (lse_assets.core.jsondoc), after the NUL rule. A file or row that cannot be
parsed (not JSON, bad UTF-8, nested deeper than the parser allows) is an `unreadable`
finding (and, where both sides exist, `differing`): never an exception.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lse_assets.core import jsondoc
from lse_assets.core.findings import Discrepancies


@dataclass
class VerifyReport:
    files: int = 0
    rows: int = 0
    missing_in_db: Discrepancies = field(default_factory=Discrepancies)
    missing_in_files: Discrepancies = field(default_factory=Discrepancies)
    differing: Discrepancies = field(default_factory=Discrepancies)
    traces_missing_in_db: Discrepancies = field(default_factory=Discrepancies)
    traces_missing_in_files: Discrepancies = field(default_factory=Discrepancies)
    normalized: Discrepancies = field(default_factory=Discrepancies)
    unreadable: Discrepancies = field(default_factory=Discrepancies)

    @property
    def consistent(self) -> bool:
        return not (
            self.missing_in_db.count
            or self.missing_in_files.count
            or self.differing.count
            or self.traces_missing_in_db.count
            or self.traces_missing_in_files.count
            or self.unreadable.count
        )

    def kinds(self) -> dict[str, Discrepancies]:
        return {
            "missing_in_db": self.missing_in_db,
            "missing_in_files": self.missing_in_files,
            "differing": self.differing,
            "traces_missing_in_db": self.traces_missing_in_db,
            "traces_missing_in_files": self.traces_missing_in_files,
            "normalized": self.normalized,
            "unreadable": self.unreadable,
        }


_END = ("\uffff",)
_NOT_JSON = object()


def _file_document(raw: bytes) -> tuple[Any, bool]:
    """The file's document as the database must hold it (NUL rule), or _NOT_JSON."""
    try:
        return jsondoc.database_form(raw)
    except ValueError:  # JSONDecodeError, UnicodeDecodeError and TooDeepError are ValueErrors
        return _NOT_JSON, False


def _same(file_document: Any, db_document: Any) -> bool | None:
    """Equal, different, or None when either side cannot be read."""
    if file_document is _NOT_JSON or isinstance(db_document, jsondoc.Unreadable):
        return None
    try:
        return jsondoc.same_document(file_document, db_document)
    except jsondoc.TooDeepError:
        return None


def _add_trace(traces: set[str], document: Any) -> None:
    if isinstance(document, dict) and document.get("trace_id") is not None:
        traces.add(str(document["trace_id"]))


def compare(
    files: Iterable[tuple[str, bytes]], rows: Iterable[tuple[str, str, Any]]
) -> VerifyReport:
    """`files`: (run_id, bytes) and `rows`: (run_id, trace_id, data), both in run-id order.

    A file that is exactly its row in canonical form is equal to it, unparsed
    (jsondoc.is_encoding_of: orjson's encoding costs less than parsing the file and
    scanning it for the NUL rule); so is a file that is its row once each escaped U+0000
    is written as U+FFFD (jsondoc.nul_replaced: a normalized run, without walking its
    document). Any other file is parsed, the NUL rule applied, and compared with its row
    as a value. (Re-encoding with CPython's json was measured and dropped: it costs more
    than parsing the file.)
    """
    report = VerifyReport()
    file_traces: set[str] = set()
    db_traces: set[str] = set()
    # Trace ids that a row's column and its file's document agree on (nearly all of them):
    # one set for both sides, joined to each at the end. The loop is the per-run cost of
    # the check, so its common case does as little as it can.
    agreed_traces: set[str] = set()
    file_count = row_count = 0
    is_encoding_of = jsondoc.is_encoding_of
    file_iter, row_iter = iter(files), iter(rows)
    file_item, row_item = next(file_iter, _END), next(row_iter, _END)
    while file_item is not _END or row_item is not _END:
        file_id = file_item[0] if file_item is not _END else None
        row_id = row_item[0] if row_item is not _END else None
        if file_id == row_id:  # both sides hold this run (both None ended the loop)
            file_count += 1
            row_count += 1
            trace_id, document = row_item[1], row_item[2]
            if is_encoding_of(file_item[1], document):
                # The file, unparsed, is its row (the common case, kept short).
                if (
                    isinstance(document, dict)
                    and document.get("trace_id") == trace_id
                    and trace_id is not None
                ):
                    agreed_traces.add(trace_id)
                else:
                    db_traces.add(trace_id)
                    _add_trace(file_traces, document)
            else:
                db_traces.add(trace_id)
                replaced = jsondoc.nul_replaced(file_item[1])
                if replaced is not None and is_encoding_of(replaced, document):
                    # The file, unparsed, is its row once the NUL rule is applied.
                    report.normalized.add(file_id)
                    _add_trace(file_traces, document)
                else:
                    _compare_parsed(report, file_id, file_item[1], document, file_traces)
            file_item, row_item = next(file_iter, _END), next(row_iter, _END)
        elif row_id is None or (file_id is not None and file_id < row_id):
            file_count += 1
            document = _file_document(file_item[1])[0]
            if document is _NOT_JSON:
                report.unreadable.add(f"file {file_id}")
            _add_trace(file_traces, document)
            report.missing_in_db.add(file_id)
            file_item = next(file_iter, _END)
        else:
            row_count += 1
            db_traces.add(row_item[1])
            if isinstance(row_item[2], jsondoc.Unreadable):
                report.unreadable.add(f"row {row_id}")
            report.missing_in_files.add(row_id)
            row_item = next(row_iter, _END)
    report.files, report.rows = file_count, row_count
    file_traces |= agreed_traces
    db_traces |= agreed_traces
    for trace_id in sorted(file_traces - db_traces):
        report.traces_missing_in_db.add(trace_id)
    for trace_id in sorted(db_traces - file_traces):
        report.traces_missing_in_files.add(trace_id)
    return report


def _compare_parsed(
    report: VerifyReport, run_id: str, raw: bytes, db_document: Any, file_traces: set[str]
) -> None:
    """A file its row's encoding did not match: parsed, NUL rule applied, compared."""
    document, normalized = _file_document(raw)
    _add_trace(file_traces, document)
    if normalized:
        report.normalized.add(run_id)
    same = _same(document, db_document)
    if same is None:
        side = "file" if document is _NOT_JSON else "row"
        report.unreadable.add(f"{side} {run_id}")
    if not same:
        report.differing.add(run_id)
