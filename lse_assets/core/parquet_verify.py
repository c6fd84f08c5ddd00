"""A partition's Parquet file against its run files: every column of every row.

Both sides stream in run-id order (the files through bulk_export.rows, the Parquet file
in record batches) and merge, so memory holds one row group. The file must exist, have
the schema of bulk_export.SCHEMA and ascending ids; anything unreadable (damaged pages,
a run file that is not JSON) is a finding, never an exception. "Consistent" needs every
file compared with its row: an empty comparison of a day that has files fails.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from lse_assets.core import runfiles
from lse_assets.core.bulk_export import COLUMNS, SCHEMA, BulkExportError, Export, rows
from lse_assets.core.findings import Discrepancies


@dataclass
class ParquetReport:
    files: int = 0
    rows: int = 0
    compared: int = 0
    missing_in_parquet: Discrepancies = field(default_factory=Discrepancies)
    missing_in_files: Discrepancies = field(default_factory=Discrepancies)
    differing: Discrepancies = field(default_factory=Discrepancies)
    unreadable: Discrepancies = field(default_factory=Discrepancies)
    wrong_schema: Discrepancies = field(default_factory=Discrepancies)
    missing_file: Discrepancies = field(default_factory=Discrepancies)

    @property
    def consistent(self) -> bool:
        """Every file has an equal row and every row a file, each compared: a file that
        was never read (compared < files) cannot pass, nor can an empty comparison stand
        for a day that has files."""
        found = self.kinds().values()
        return not any(kind.count for kind in found) and self.files == self.rows == self.compared

    def kinds(self) -> dict[str, Discrepancies]:
        return {
            "missing_in_parquet": self.missing_in_parquet,
            "missing_in_files": self.missing_in_files,
            "differing": self.differing,
            "unreadable": self.unreadable,
            "wrong_schema": self.wrong_schema,
            "missing_file": self.missing_file,
        }


_END: Any = object()


def _actual_rows(batches: Iterable[pa.RecordBatch], report: ParquetReport) -> Iterator[dict]:
    previous = ""
    for batch in batches:
        if batch.schema.remove_metadata() != SCHEMA:
            report.wrong_schema.add(_schema_difference(batch.schema))
            return
        for row in batch.to_pylist():
            if row["id"] is None or row["id"] <= previous:
                after = previous or "the start"
                report.unreadable.add(f"parquet row after {after}: ids not ascending")
                return
            previous = row["id"]
            yield row


def _schema_difference(schema: pa.Schema) -> str:
    expected = {f.name: str(f.type) for f in SCHEMA}
    actual = {f.name: str(f.type) for f in schema}
    different = sorted(
        name for name in expected.keys() | actual.keys() if expected.get(name) != actual.get(name)
    )
    return "columns " + ", ".join(different) if different else "column order"


def compare(
    paths: runfiles.PartitionPaths,
    export: Export,
    batches: Iterable[pa.RecordBatch] | None,
    location: str = "",
) -> ParquetReport:
    """The Parquet file's rows (`batches` as read; None: there is no file) against the
    rows the run files make, merged in run-id order."""
    report = ParquetReport()
    if batches is None:
        report.missing_file.add(location or export.relative_path)
        batches = ()
    try:
        expected: Iterator[dict] = rows(paths, export)
        actual = _actual_rows(batches, report)
        want, got = next(expected, _END), next(actual, _END)
        while want is not _END or got is not _END:
            want_id = want["id"] if want is not _END else None
            got_id = got["id"] if got is not _END else None
            if got_id is None or (want_id is not None and want_id < got_id):
                report.files += 1
                report.missing_in_parquet.add(want_id)
                want = next(expected, _END)
            elif want_id is None or got_id < want_id:
                report.rows += 1
                report.missing_in_files.add(got_id)
                got = next(actual, _END)
            else:
                report.files += 1
                report.rows += 1
                report.compared += 1
                columns = [name for name in COLUMNS if want[name] != got[name]]
                if columns:
                    report.differing.add(f"{want_id}: {', '.join(columns)}")
                want, got = next(expected, _END), next(actual, _END)
    except BulkExportError as error:
        report.unreadable.add(f"files: {error}")
    except (OSError, pa.ArrowException) as error:
        report.unreadable.add(f"parquet: {error}")
    return report
