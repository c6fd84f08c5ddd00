"""The five assets of a (project, UTC day) partition, built from the settings.

Thin: read resources, call domain code, return metadata."""

import time

import dagster as dg

from lse_assets.core import archive, dbrows, locks, parquet_publish, runfiles, verify
from lse_assets.core.progress import reporting
from lse_assets.defs.boundary import dagster_failures
from lse_assets.defs.partitions import build_partitions, partition_of
from lse_assets.settings import Settings
from resources.data_dir import RunFilesResource
from resources.drive.archive_store import ArchiveStoreResource
from resources.langsmith.run_source import RunSourceResource
from resources.object_store.resource import ParquetStoreResource
from resources.postgres.resource import PostgresResource

RAW_RUNS = "raw_runs"
RUN_ARCHIVE = "run_archive"
DRIVE_ARCHIVE = "drive_archive"
DB_RUNS = "db_runs"
PARQUET_RUNS = "parquet_runs"
ASSET_KEYS = [RAW_RUNS, RUN_ARCHIVE, DRIVE_ARCHIVE, DB_RUNS, PARQUET_RUNS]


def retry_policy(settings: Settings) -> dg.RetryPolicy | None:
    """For outages longer than the resources' own HTTP retries ride out (seconds to a
    minute): the step is tried again minutes later (LSE_STEP_RETRIES,
    LSE_STEP_RETRY_DELAY_SECONDS). Errors no retry can fix (bad key, unknown project, no
    quota) raise PermanentError, made Failure(allow_retries=False) by defs/boundary.py, and
    skip this."""
    if not settings.step_retries:
        return None  # a policy of 0 retries would replace the cause by "Exceeded max_retries of 0"
    return dg.RetryPolicy(
        max_retries=settings.step_retries,
        delay=settings.step_retry_delay_seconds,
        backoff=dg.Backoff.EXPONENTIAL,
        jitter=dg.Jitter.PLUS_MINUS,
    )


def build_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    """The five assets, partitioned and retried as `settings` say (read once, passed down)."""
    partitions, retry = build_partitions(settings), retry_policy(settings)
    return [
        dg.asset(
            partitions_def=partitions,
            pool="langsmith",
            retry_policy=retry,
            kinds={"langsmith", "json"},
            description="Every run of every trace whose root started on the day, with full "
            "feedback, one canonical JSON file per run plus a manifest; replaced atomically.",
        )(dagster_failures(raw_runs)),
        dg.asset(
            partitions_def=partitions,
            deps=[RAW_RUNS],
            kinds={"zip"},
            description="A deterministic zip of the partition's files (same files, same bytes, "
            "same md5).",
        )(dagster_failures(run_archive)),
        dg.asset(
            partitions_def=partitions,
            deps=[RUN_ARCHIVE],
            pool="google_drive",
            retry_policy=retry,
            kinds={"googledrive"},
            description="The zip in Google Drive at {root}/{project}/{zip}: created, updated in "
            "place or left alone by md5, and verified after upload.",
        )(dagster_failures(drive_archive)),
        dg.asset(
            partitions_def=partitions,
            deps=[RAW_RUNS],
            kinds={"postgres"},
            description="The partition's runs in Postgres table `runs` (JSONB), replaced in one "
            "transaction.",
        )(dagster_failures(db_runs)),
        dg.asset(
            partitions_def=partitions,
            deps=[RAW_RUNS],
            retry_policy=retry,
            kinds={"parquet"},
            description="The partition's runs as one Parquet file in LangSmith Bulk Export's "
            "Hive layout and columns (plus project, full feedback, child runs), in a folder "
            "or object storage (LSE_PARQUET_URL); replaced whole, left alone when unchanged.",
        )(dagster_failures(parquet_runs)),
    ]


def raw_runs(
    context: dg.AssetExecutionContext,
    langsmith: RunSourceResource,
    run_files: RunFilesResource,
    drive: ArchiveStoreResource,
) -> dg.MaterializeResult:
    partition = partition_of(context)
    paths = run_files.paths(partition.project, partition.day)
    fetch = langsmith.fetch_day(partition.project, partition.day)
    runs = reporting(
        fetch.runs, lambda count, rate: context.log.info(f"{count} runs fetched ({rate:.0f}/s)")
    )
    try:
        stats = runfiles.write_partition(
            paths, runs, fetch.source, previous_zips=runfiles.previous_zips_from(paths, drive)
        )
    except (runfiles.ArchiveLossError, locks.PartitionBusyError) as error:
        raise dg.Failure(description=str(error), allow_retries=False) from error
    context.log.info(
        f"{stats.runs} runs in {stats.traces} traces for {partition.project!r} {partition.day}"
        + (
            f", {stats.vanished_runs} kept that LangSmith no longer returns"
            if stats.vanished_runs
            else ""
        )
        + (" (unchanged: kept the existing files)" if stats.unchanged else "")
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": stats.runs,
            **stats.counts(),
            "vanished_sample": dg.MetadataValue.json(stats.vanished_sample),
            "recovered_from_archive": stats.recovered_from_archive,
            "recovered_from_disk": stats.recovered_from_disk,
            "strays_dropped": stats.strays_dropped,
            "forgotten_skipped": stats.forgotten_skipped,
            "leftovers_cleared": stats.leftovers_cleared,
            "unchanged": stats.unchanged,
            "duplicate_runs_dropped": fetch.duplicate_runs_dropped,
            "path": dg.MetadataValue.path(str(paths.dir)),
        }
    )


def run_archive(
    context: dg.AssetExecutionContext, run_files: RunFilesResource
) -> dg.MaterializeResult:
    partition = partition_of(context)
    info = archive.build_archive(run_files.paths(partition.project, partition.day))
    return dg.MaterializeResult(
        metadata={
            "files": info.files,
            "bytes": info.bytes,
            "md5": info.md5,
            "leftovers_cleared": info.leftovers_cleared,
            "path": dg.MetadataValue.path(str(info.path)),
        }
    )


def drive_archive(
    context: dg.AssetExecutionContext, run_files: RunFilesResource, drive: ArchiveStoreResource
) -> dg.MaterializeResult:
    partition = partition_of(context)
    paths = run_files.paths(partition.project, partition.day)
    # Under the partition's lock, like every writer of the partition's copies: the zip is
    # not rebuilt mid-upload, and the store's temporaries of this zip are a dead run's.
    with locks.partition_lock(paths):
        result = drive.upsert(partition.project, paths.zip_path)
    context.log.info(f"{result.file.name}: {result.action}")
    return dg.MaterializeResult(
        metadata={
            "action": result.action,
            "file_id": result.file.file_id,
            "url": dg.MetadataValue.url(result.file.url),
            "bytes": result.file.size,
            "md5": result.file.md5,
            "duplicates": len(result.duplicates),
            "leftovers_cleared": result.leftovers_cleared,
        }
    )


def db_runs(
    context: dg.AssetExecutionContext, run_files: RunFilesResource, postgres: PostgresResource
) -> dg.MaterializeResult:
    partition = partition_of(context)
    paths = run_files.paths(partition.project, partition.day)
    runfiles.read_manifest(paths)  # a clear error when raw_runs never ran
    # Under the partition's lock: no other run swaps the files while they are loaded.
    with locks.partition_lock(paths):
        return _load_slice(context, paths, postgres)


def _load_slice(
    context: dg.AssetExecutionContext, paths: runfiles.PartitionPaths, postgres: PostgresResource
) -> dg.MaterializeResult:
    partition = partition_of(context)
    run_ids = runfiles.run_ids_on_disk(paths)
    if _slice_already_matches(postgres, paths, run_ids):
        # A re-export of an unchanged day leaves the slice (and its loaded_at) as it was.
        context.log.info(f"{len(run_ids)} rows already match the files: nothing to load")
        return dg.MaterializeResult(
            metadata={"dagster/row_count": len(run_ids), "rows": len(run_ids), "unchanged": True}
        )
    tally = dbrows.LoadTally()
    started = time.perf_counter()
    written = postgres.replace_slice(
        partition.project,
        partition.day,
        run_ids,
        dbrows.documents_for_load(paths, run_ids, tally),
    )
    seconds = time.perf_counter() - started
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": written,
            "rows": written,
            "bytes": tally.bytes,
            "seconds": round(seconds, 3),
            "rows_per_second": round(written / seconds, 1) if seconds else 0.0,
            "nul_normalized_runs": tally.normalized.count,
            "nul_normalized_sample": dg.MetadataValue.json(tally.normalized.sample),
            "unchanged": False,
        }
    )


def _slice_already_matches(postgres: PostgresResource, paths, run_ids: list[str]) -> bool:
    """Whether the slice equals the files (verified, not assumed): one count, and a full
    comparison only when the count already agrees."""
    if not run_ids or postgres.slice_row_count(paths.project, paths.day) != len(run_ids):
        return False
    with postgres.slice_reader(paths.project, paths.day) as rows:
        return verify.compare(runfiles.iter_run_bytes(paths, run_ids), rows).consistent


def parquet_runs(
    context: dg.AssetExecutionContext, run_files: RunFilesResource, parquet: ParquetStoreResource
) -> dg.MaterializeResult:
    partition = partition_of(context)
    published = parquet_publish.publish(run_files.paths(partition.project, partition.day), parquet)
    context.log.info(
        f"{published.rows} rows at {published.location}"
        + (" (unchanged: the file already holds exactly these runs)" if published.unchanged else "")
    )
    location = (
        dg.MetadataValue.path(published.location)
        if parquet.is_local
        else dg.MetadataValue.url(published.location)
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": published.rows,
            "rows": published.rows,
            "bytes": published.size,
            "location": location,
            "tenant_id": published.export.tenant_id,
            "session_id": published.export.session_id,
            "unchanged": published.unchanged,
            "stale_copies_removed": dg.MetadataValue.json(list(published.stale_removed)),
            "leftovers_cleared": published.leftovers_cleared,
            "seconds": round(published.seconds, 3),
        }
    )
