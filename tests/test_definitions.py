"""The code location loads, and its asset graph is the contract users rely on."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from lse_assets.definitions import defs


def test_definitions_load():
    dg.Definitions.validate_loadable(defs)
    # Every job resolves against the resources, and each resource an asset or check asks
    # for is provided (a missing one fails here, not in the first scheduled run).
    assert {defs.resolve_job_def(job.name).name for job in defs.jobs} == {
        "archive_day",
        "verify_day",
    }
    required = {
        key for spec in [*defs.assets, *defs.asset_checks] for key in spec.required_resource_keys
    }
    assert required - {"io_manager"} == {"langsmith", "run_files", "drive", "postgres"}
    assert required - {"io_manager"} <= set(defs.resources)  # Dagster supplies io_manager


def test_asset_graph_and_check_names_are_the_contract():
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert keys == {"raw_runs", "run_archive", "drive_archive", "db_runs"}
    assert {key.to_user_string() for key in graph.get(dg.AssetKey("db_runs")).parent_keys} == {
        "raw_runs"
    }
    assert {
        key.to_user_string() for key in graph.get(dg.AssetKey("drive_archive")).parent_keys
    } == {"run_archive"}
    checks = {(key.asset_key.to_user_string(), key.name) for key in graph.asset_check_keys}
    assert ("db_runs", "files_match_db") in checks
    assert ("run_archive", "archive_matches_files") in checks


def test_partition_keys_join_date_and_project():
    partitions = defs.resolve_asset_graph().get(dg.AssetKey("raw_runs")).partitions_def
    assert "2025-09-13|proj-a" in partitions.get_partition_keys()


def test_dagster_cli_validates_the_code_location():
    dagster = str(Path(sys.executable).with_name("dagster"))
    result = subprocess.run(
        [dagster, "definitions", "validate", "-m", "lse_assets.definitions"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_api_bound_assets_retry_with_exponential_backoff_by_default():
    # The suite runs with LSE_STEP_RETRIES=0 (conftest): load the code location as users do.
    code = (
        "import dagster as dg; from lse_assets.definitions import defs\n"
        "g = defs.resolve_asset_graph()\n"
        "keys = ('raw_runs', 'drive_archive')\n"
        "ps = [g.get(dg.AssetKey(k)).assets_def.op.retry_policy for k in keys]\n"
        "print([(p.max_retries, p.backoff.value) for p in ps])"
    )
    env = {k: v for k, v in os.environ.items() if k != "LSE_STEP_RETRIES"}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.stdout.strip() == "[(3, 'EXPONENTIAL'), (3, 'EXPONENTIAL')]", result.stderr
