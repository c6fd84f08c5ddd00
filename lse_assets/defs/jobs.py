"""The jobs: one partition's whole archive, and one partition's checks alone."""

import dagster as dg

from lse_assets.defs.assets import ASSET_KEYS

archive_day_job = dg.define_asset_job(
    "archive_day",
    selection=dg.AssetSelection.assets(*ASSET_KEYS),
    description="Fetch, zip, upload and load one (day, project) partition, with its checks.",
)

verify_day_job = dg.define_asset_job(
    "verify_day",
    selection=dg.AssetSelection.all_asset_checks(),
    description="Re-run every check of one (day, project) partition without re-fetching.",
)
