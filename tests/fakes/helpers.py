"""Running the real Dagster assets for one partition in tests."""

from datetime import date
from pathlib import Path

import dagster as dg

from lse_assets.core.partition import Partition
from lse_assets.defs.assets import build_assets
from lse_assets.defs.checks import build_checks
from lse_assets.defs.jobs import verify_day_job
from lse_assets.defs.partitions import partition_key
from lse_assets.settings import load_settings
from resources.data_dir import RunFilesResource
from resources.drive.local_folder import LocalFolderDriveResource
from resources.langsmith.sample import SampleLangSmithResource
from resources.object_store.resource import ParquetStoreResource
from resources.postgres.resource import PostgresResource


def local_resources(
    home: Path, postgres: PostgresResource, langsmith: dg.ConfigurableResource | None = None
) -> dict:
    return {
        "langsmith": langsmith or SampleLangSmithResource(),
        "run_files": RunFilesResource(data_dir=str(home / "data")),
        "drive": LocalFolderDriveResource(folder=str(home / "drive")),
        "postgres": postgres,
        "parquet": ParquetStoreResource(url=str(home / "parquet")),
    }


def materialize(
    project: str,
    day: date,
    resources: dict,
    only_checks: bool = False,
    instance: dg.DagsterInstance | None = None,
) -> dg.ExecuteInProcessResult:
    """All five assets and their checks for one partition, or (`only_checks`) just the checks."""
    partition = Partition(project=project, day=day)
    instance = instance or dg.DagsterInstance.ephemeral()
    settings = load_settings()
    assets, checks = build_assets(settings), build_checks(settings)
    if only_checks:
        defs = dg.Definitions(
            assets=assets, asset_checks=checks, resources=resources, jobs=[verify_day_job]
        )
        return defs.resolve_job_def(verify_day_job.name).execute_in_process(
            tags=partition.run_tags, instance=instance, raise_on_error=False
        )
    return dg.materialize(
        [*assets, *checks],
        partition_key=partition_key(partition),
        resources=resources,
        instance=instance,
        raise_on_error=False,
    )


def check_results(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {
        evaluation.check_name: evaluation for evaluation in result.get_asset_check_evaluations()
    }


def asset_metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    """The metadata values of `asset`'s materialization in `result`."""
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        if materialization.asset_key.to_user_string() == asset:
            return {key: value.value for key, value in materialization.metadata.items()}
    raise AssertionError(f"{asset} was not materialized")
