"""The code location: assets, checks, jobs and resources, wired once from the environment."""

from __future__ import annotations

import dagster as dg

from lse_assets import assets
from lse_assets.alerts import build_check_failure_sensor
from lse_assets.checks import ALL_CHECKS
from lse_assets.settings import Settings, load_settings, secret_is_set
from resources.archive_store import ArchiveStoreResource
from resources.langsmith import LangSmithResource, MissingLangSmithKeyResource
from resources.local_drive import LocalFolderDriveResource
from resources.notifier import WebhookNotifier
from resources.postgres import PostgresResource
from resources.run_files import RunFilesResource
from resources.run_source import RunSourceResource
from resources.sample_langsmith import SampleLangSmithResource

ALL_ASSETS = [assets.raw_runs, assets.run_archive, assets.drive_archive, assets.db_runs]

archive_day_job = dg.define_asset_job(
    "archive_day",
    selection=dg.AssetSelection.assets(*ALL_ASSETS),
    description="Fetch, zip, upload and load one (day, project) partition, with its checks.",
)

verify_day_job = dg.define_asset_job(
    "verify_day",
    selection=dg.AssetSelection.all_asset_checks(),
    description="Re-run every check of one (day, project) partition without re-fetching.",
)


def run_source(settings: Settings) -> RunSourceResource:
    if settings.source == "sample":
        return SampleLangSmithResource()
    if not secret_is_set("LANGSMITH_API_KEY"):
        return MissingLangSmithKeyResource()
    return LangSmithResource(
        api_key=dg.EnvVar("LANGSMITH_API_KEY"),
        endpoint=dg.EnvVar("LANGSMITH_ENDPOINT")
        if secret_is_set("LANGSMITH_ENDPOINT")
        else LangSmithResource.model_fields["endpoint"].default,
    )


def archive_store(settings: Settings) -> ArchiveStoreResource:
    return LocalFolderDriveResource(folder=str(settings.local_drive_dir))


def postgres(settings: Settings) -> PostgresResource:
    return PostgresResource(
        database_url=dg.EnvVar("LSE_DATABASE_URL") if secret_is_set("LSE_DATABASE_URL") else None,
        embedded_dir=str(settings.embedded_postgres_dir),
    )


def notifier() -> WebhookNotifier:
    if secret_is_set("LSE_ALERT_WEBHOOK_URL"):
        return WebhookNotifier(webhook_url=dg.EnvVar("LSE_ALERT_WEBHOOK_URL"))
    return WebhookNotifier()


def build_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    return {
        "langsmith": run_source(settings),
        "run_files": RunFilesResource(data_dir=str(settings.run_files_dir)),
        "drive": archive_store(settings),
        "postgres": postgres(settings),
        "notifier": notifier(),
    }


defs = dg.Definitions(
    assets=ALL_ASSETS,
    asset_checks=ALL_CHECKS,
    jobs=[archive_day_job, verify_day_job],
    sensors=[
        build_check_failure_sensor(
            include_warnings=load_settings().alert_warnings,
            dagster_url=load_settings().dagster_url,
        )
    ],
    resources=build_resources(load_settings()),
)
