"""Per-partition asset checks: each compares two copies of the same data and names what differs."""

import warnings
from datetime import UTC, datetime

import dagster as dg

from lse_assets.core import (
    archive,
    bulk_export,
    completeness,
    parquet_verify,
    remote_copy,
    runfiles,
    verify,
)
from lse_assets.core.findings import Discrepancies, to_metadata
from lse_assets.defs.assets import DB_RUNS, DRIVE_ARCHIVE, PARQUET_RUNS, RAW_RUNS, RUN_ARCHIVE
from lse_assets.defs.boundary import dagster_failures
from lse_assets.defs.partitions import build_partitions, partition_of
from lse_assets.settings import Settings
from resources.data_dir import RunFilesResource
from resources.drive.archive_store import ArchiveStoreResource
from resources.object_store.resource import ParquetStoreResource
from resources.postgres.resource import PostgresResource

FILES_MATCH_DB = "files_match_db"
ARCHIVE_MATCHES_FILES = "archive_matches_files"
DRIVE_MATCHES_ARCHIVE = "drive_matches_archive"
RUNS_COMPLETE = "runs_complete"
PARQUET_MATCHES_FILES = "parquet_matches_files"
# Every check, by the asset it checks: known without building anything.
CHECK_KEYS = [
    dg.AssetCheckKey(dg.AssetKey(DB_RUNS), FILES_MATCH_DB),
    dg.AssetCheckKey(dg.AssetKey(RUN_ARCHIVE), ARCHIVE_MATCHES_FILES),
    dg.AssetCheckKey(dg.AssetKey(DRIVE_ARCHIVE), DRIVE_MATCHES_ARCHIVE),
    dg.AssetCheckKey(dg.AssetKey(RAW_RUNS), RUNS_COMPLETE),
    dg.AssetCheckKey(dg.AssetKey(PARQUET_RUNS), PARQUET_MATCHES_FILES),
]


def _findings(found: dict[str, Discrepancies]) -> dict[str, object]:
    """Findings as check metadata (core/findings.py decides the keys); samples as JSON."""
    return {
        key: dg.MetadataValue.json(value) if isinstance(value, list) else value
        for key, value in to_metadata(found).items()
    }


def files_match_db(
    context: dg.AssetCheckExecutionContext, run_files: RunFilesResource, postgres: PostgresResource
) -> dg.AssetCheckResult:
    partition = partition_of(context)
    paths = run_files.paths(partition.project, partition.day)
    with postgres.slice_reader(partition.project, partition.day) as rows:
        report = verify.compare(runfiles.iter_run_bytes(paths), rows)
    metadata = {"files": report.files, "rows": report.rows, **_findings(report.kinds())}
    return dg.AssetCheckResult(
        passed=report.consistent, severity=dg.AssetCheckSeverity.ERROR, metadata=metadata
    )


def archive_matches_files(
    context: dg.AssetCheckExecutionContext, run_files: RunFilesResource
) -> dg.AssetCheckResult:
    partition = partition_of(context)
    differences = archive.archive_differences(run_files.paths(partition.project, partition.day))
    metadata = _findings({kind: Discrepancies.of(names) for kind, names in differences.items()})
    return dg.AssetCheckResult(
        passed=not any(differences.values()),
        severity=dg.AssetCheckSeverity.ERROR,
        metadata=metadata,
    )


def drive_matches_archive(
    context: dg.AssetCheckExecutionContext,
    run_files: RunFilesResource,
    drive: ArchiveStoreResource,
) -> dg.AssetCheckResult:
    partition = partition_of(context)
    paths = run_files.paths(partition.project, partition.day)
    remote = drive.find(partition.project, paths.zip_name)
    comparison = remote_copy.compare(
        paths.zip_path, remote.md5 if remote else None, remote.size if remote else None
    )
    metadata: dict[str, object] = {
        "local_md5": comparison.local_md5 or "",
        "local_bytes": comparison.local_bytes or 0,
        "remote_md5": comparison.remote_md5 or "",
        "remote_bytes": comparison.remote_bytes or 0,
        "problems": dg.MetadataValue.json(comparison.problems),
    }
    if remote:
        metadata["file_id"] = remote.file_id
        metadata["url"] = dg.MetadataValue.url(remote.url)
    return dg.AssetCheckResult(
        passed=comparison.identical, severity=dg.AssetCheckSeverity.ERROR, metadata=metadata
    )


def runs_complete(
    context: dg.AssetCheckExecutionContext, run_files: RunFilesResource
) -> dg.AssetCheckResult:
    partition = partition_of(context)
    paths = run_files.paths(partition.project, partition.day)
    report = completeness.inspect_partition(paths, now=datetime.now(UTC))
    metadata: dict[str, object] = {
        "files": report.files,
        "runs": report.runs,
        "traces": report.traces,
        **report.counted.metadata(),  # LangSmith's counts, as recorded by the fetch
        "settling": report.settling,
    }
    metadata.update(_findings(report.found))
    # One result per check: any error makes it ERROR (blocks downstream); pending runs
    # alone make it a WARN failure that lets the day be archived now (today: every hour)
    # and completed by a later refresh or re-export.
    return dg.AssetCheckResult(
        passed=report.passed,
        severity=dg.AssetCheckSeverity.ERROR if report.errors else dg.AssetCheckSeverity.WARN,
        description=report.summary(),
        metadata=metadata,
    )


def parquet_matches_files(
    context: dg.AssetCheckExecutionContext,
    run_files: RunFilesResource,
    parquet: ParquetStoreResource,
) -> dg.AssetCheckResult:
    partition = partition_of(context)
    paths = run_files.paths(partition.project, partition.day)
    export = bulk_export.export_of(paths)
    location = parquet.location(export.relative_path)
    with parquet.batches(export.relative_path) as batches:
        report = parquet_verify.compare(paths, export, batches, location)
    metadata = {
        "files": report.files,
        "rows": report.rows,
        "compared": report.compared,
        "location": location,
        **_findings(report.kinds()),
    }
    return dg.AssetCheckResult(
        passed=report.consistent, severity=dg.AssetCheckSeverity.ERROR, metadata=metadata
    )


def build_checks(settings: Settings) -> list[dg.AssetChecksDefinition]:
    """The five checks, on the partitions `settings` say (read once, passed down)."""
    partitions = build_partitions(settings)
    # Per-partition asset checks are a preview feature in Dagster 1.13. We rely on them on
    # purpose (one check status per day, not one per asset): the warning is noise for users.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return _checks(partitions)


def _checks(partitions: dg.PartitionsDefinition) -> list[dg.AssetChecksDefinition]:
    return [
        dg.asset_check(
            asset=DB_RUNS,
            name=FILES_MATCH_DB,
            partitions_def=partitions,
            blocking=True,
            description="Every run file has an equal row in `runs` and every row a file "
            "(NUL rule applied).",
        )(dagster_failures(files_match_db)),
        dg.asset_check(
            asset=RUN_ARCHIVE,
            name=ARCHIVE_MATCHES_FILES,
            partitions_def=partitions,
            blocking=True,
            description="The zip holds exactly the partition's files, byte for byte.",
        )(dagster_failures(archive_matches_files)),
        dg.asset_check(
            asset=DRIVE_ARCHIVE,
            name=DRIVE_MATCHES_ARCHIVE,
            partitions_def=partitions,
            blocking=True,
            description="The zip in the archive store (Google Drive, or the local folder) exists "
            "and has the local zip's md5 and size.",
        )(dagster_failures(drive_matches_archive)),
        dg.asset_check(
            asset=RAW_RUNS,
            name=RUNS_COMPLETE,
            partitions_def=partitions,
            blocking=True,
            description="The files match the manifest (names, sha256), no run id twice, every "
            "run's trace root and parent present, all on the root's day, and LangSmith counts "
            "no more runs or traces for the day than the fetch returned (ERROR); runs still "
            "pending, or counted but not returned on today or yesterday (WARN).",
        )(dagster_failures(runs_complete)),
        dg.asset_check(
            asset=PARQUET_RUNS,
            name=PARQUET_MATCHES_FILES,
            partitions_def=partitions,
            blocking=True,
            description="The Parquet file holds one row per run file, in order, and every "
            "column of every row equals what the run file makes (NUL and Unicode exact).",
        )(dagster_failures(parquet_matches_files)),
    ]
