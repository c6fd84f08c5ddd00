"""The code location: assets, checks, jobs and resources, wired once from the settings.

Cross-cutting policy lives here, once: the assets' group, owners and tags, the executor.
"""

from __future__ import annotations

import dagster as dg

from lse_assets.core import locks
from lse_assets.defs.assets import build_assets
from lse_assets.defs.checks import build_checks
from lse_assets.defs.jobs import archive_day_job, verify_day_job
from lse_assets.defs.schedules import build_schedules
from lse_assets.defs.sensors.check_failures import build_check_failure_sensor
from lse_assets.defs.sensors.retention_alarm import build_retention_alarm
from lse_assets.settings import ASSET_GROUP, Settings, load_settings
from resources.data_dir import RunFilesResource
from resources.drive.archive_store import ArchiveStoreResource
from resources.drive.local_folder import LocalFolderDriveResource
from resources.langsmith.run_source import RunSourceResource
from resources.langsmith.sample import SampleLangSmithResource
from resources.notifier import WebhookNotifier
from resources.object_store.resource import ParquetStoreResource
from resources.postgres.advisory_locks import AdvisoryLocks
from resources.postgres.resource import DATABASE_VARIABLE, PostgresResource


def _secret(settings: Settings, name: str, unset: object = None) -> object:
    """The variable as an EnvVar (resolved at run time, never stored) when set and used by
    the profile; else `unset`."""
    return dg.EnvVar(name) if settings.secret_is_set(name) else unset


def run_source(settings: Settings) -> RunSourceResource:
    if settings.source == "sample":
        return SampleLangSmithResource()
    # Imported here, not above: every run's process loads this module, and the LangSmith
    # SDK costs ~0.3 CPU s of its start, which a sample profile never uses.
    from resources.langsmith.resource import LangSmithResource, MissingLangSmithKeyResource

    if not settings.secret_is_set("LANGSMITH_API_KEY"):
        return MissingLangSmithKeyResource()
    return LangSmithResource(
        api_key=dg.EnvVar("LANGSMITH_API_KEY"),
        endpoint=_secret(
            settings, "LANGSMITH_ENDPOINT", LangSmithResource.model_fields["endpoint"].default
        ),
        workspace_id=_secret(settings, "LANGSMITH_WORKSPACE_ID"),
        page_bytes=settings.fetch_page_bytes,
    )


def archive_store(settings: Settings) -> ArchiveStoreResource:
    if not settings.drive_folder_id:
        return LocalFolderDriveResource(folder=str(settings.local_drive_dir))
    # Imported here for the same reason: the Google client (~0.1 CPU s) only when Drive is set.
    from resources.drive.resource import GoogleDriveResource

    return GoogleDriveResource(
        folder_id=settings.drive_folder_id,
        credentials_file=_secret(settings, "GOOGLE_APPLICATION_CREDENTIALS"),
        subject=settings.drive_subject,
        scope=settings.drive_scope,
        root_url=settings.drive_root_url,
    )


def postgres(settings: Settings) -> PostgresResource:
    return PostgresResource(
        database_url=_secret(settings, "LSE_DATABASE_URL"),
        embedded_dir=str(settings.embedded_postgres_dir),
    )


def notifier(settings: Settings) -> WebhookNotifier:
    return WebhookNotifier(webhook_url=_secret(settings, "LSE_ALERT_WEBHOOK_URL"))


def lock_backend(settings: Settings) -> AdvisoryLocks:
    """The partition and project locks (lse_assets.core.locks): advisory locks on the archive
    database, which every host of a deployment shares; it connects on the first lock."""
    variable = _secret(settings, DATABASE_VARIABLE)
    return AdvisoryLocks(
        lambda: variable.get_value() if isinstance(variable, dg.EnvVar) else None,
        settings.embedded_postgres_dir,
    )


def build_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    """The resources, and the lock backend installed for this process: every writer gets
    its resources here (Dagster's processes through build_defs, a run pod included; forget,
    restore and import-legacy directly), so none writes on another lock."""
    locks.install(lock_backend(settings))
    return {
        "langsmith": run_source(settings),
        "run_files": RunFilesResource(data_dir=str(settings.run_files_dir)),
        "drive": archive_store(settings),
        "postgres": postgres(settings),
        "parquet": ParquetStoreResource(url=settings.parquet_destination),
        "notifier": notifier(settings),
    }


def in_group(settings: Settings, assets: list[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """The assets in the group `langsmith_archive`, with owners and tags from the settings."""
    return dg.map_asset_specs(
        lambda spec: spec.replace_attributes(
            group_name=ASSET_GROUP,
            owners=settings.asset_owners or spec.owners,
            tags={**spec.tags, **settings.asset_tags},
        ),
        assets,
    )


def build_defs(settings: Settings) -> dg.Definitions:
    """Everything of the code location, from one Settings object read by the caller."""
    assets, checks = build_assets(settings), build_checks(settings)
    return dg.Definitions(
        assets=in_group(settings, assets),
        asset_checks=checks,
        jobs=[archive_day_job, verify_day_job],
        schedules=build_schedules(settings),
        sensors=[
            build_check_failure_sensor(
                include_warnings=settings.alert_warnings, dagster_url=settings.dagster_url
            ),
            build_retention_alarm(settings, dagster_url=settings.dagster_url),
        ],
        resources=build_resources(settings),
        # A partition's steps are I/O-bound and stream; one process per run (not per step)
        # saves seconds of start-up per step and a Python interpreter's memory per step.
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    """The code location as Dagster loads it (`-m lse_assets.definitions`): the settings are
    read when Dagster loads it, not when this module is imported."""
    return build_defs(load_settings())
