"""Per-partition asset checks: each compares two copies of the same data and names what differs."""

import dagster as dg

from lse_assets import archive, completeness, runfiles, verify
from lse_assets.assets import db_runs, raw_runs, run_archive
from lse_assets.partitions import ARCHIVE_PARTITIONS, partition_of
from resources.postgres import PostgresResource
from resources.run_files import RunFilesResource

FILES_MATCH_DB = "files_match_db"
ARCHIVE_MATCHES_FILES = "archive_matches_files"
RUNS_COMPLETE = "runs_complete"


@dg.asset_check(
    asset=db_runs,
    name=FILES_MATCH_DB,
    partitions_def=ARCHIVE_PARTITIONS,
    blocking=True,
    description="Every run file has an equal row in `runs` and every row a file "
    "(NUL rule applied).",
)
def files_match_db(
    context: dg.AssetCheckExecutionContext, run_files: RunFilesResource, postgres: PostgresResource
) -> dg.AssetCheckResult:
    partition = partition_of(context)
    paths = run_files.paths(partition.project, partition.day)
    with postgres.slice_reader(partition.project, partition.day) as rows:
        report = verify.compare(runfiles.iter_run_bytes(paths), rows)
    metadata: dict[str, object] = {"files": report.files, "rows": report.rows}
    for kind, found in report.kinds().items():
        metadata[kind] = found.count
        if found.sample:
            metadata[f"{kind}_sample"] = dg.MetadataValue.json(found.sample)
    return dg.AssetCheckResult(
        passed=report.consistent, severity=dg.AssetCheckSeverity.ERROR, metadata=metadata
    )


@dg.asset_check(
    asset=run_archive,
    name=ARCHIVE_MATCHES_FILES,
    partitions_def=ARCHIVE_PARTITIONS,
    blocking=True,
    description="The zip holds exactly the partition's files, byte for byte.",
)
def archive_matches_files(
    context: dg.AssetCheckExecutionContext, run_files: RunFilesResource
) -> dg.AssetCheckResult:
    partition = partition_of(context)
    differences = archive.archive_differences(run_files.paths(partition.project, partition.day))
    metadata: dict[str, object] = {kind: len(names) for kind, names in differences.items()}
    for kind, names in differences.items():
        if names:
            metadata[f"{kind}_sample"] = dg.MetadataValue.json(names[:20])
    return dg.AssetCheckResult(
        passed=not any(differences.values()),
        severity=dg.AssetCheckSeverity.ERROR,
        metadata=metadata,
    )


@dg.asset_check(
    asset=raw_runs,
    name=RUNS_COMPLETE,
    partitions_def=ARCHIVE_PARTITIONS,
    blocking=True,
    description="The files match the manifest (names, sha256), no run id twice, every run's "
    "trace root and parent present, all on the root's day (ERROR); runs still pending (WARN).",
)
def runs_complete(
    context: dg.AssetCheckExecutionContext, run_files: RunFilesResource
) -> dg.AssetCheckResult:
    partition = partition_of(context)
    report = completeness.inspect_partition(run_files.paths(partition.project, partition.day))
    metadata: dict[str, object] = {
        "files": report.files,
        "runs": report.runs,
        "traces": report.traces,
    }
    for kind, found in report.found.items():
        metadata[kind] = found.count
        if found.sample:
            metadata[f"{kind}_sample"] = dg.MetadataValue.json(found.sample)
    # One result per check: any error makes it ERROR (blocks downstream); pending runs
    # alone make it a WARN failure that lets the day be archived now and re-exported later.
    return dg.AssetCheckResult(
        passed=report.passed,
        severity=dg.AssetCheckSeverity.ERROR if report.errors else dg.AssetCheckSeverity.WARN,
        description=report.summary(),
        metadata=metadata,
    )


ALL_CHECKS = [files_match_db, archive_matches_files, runs_complete]
