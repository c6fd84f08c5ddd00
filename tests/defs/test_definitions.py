"""The code location loads, and its asset graph is the contract users rely on."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from lse_assets.definitions import defs as code_location

defs = code_location()  # as Dagster loads it: the settings are read now


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
    assert required - {"io_manager"} == {"langsmith", "run_files", "drive", "postgres", "parquet"}
    assert required - {"io_manager"} <= set(defs.resources)  # Dagster supplies io_manager


def test_asset_graph_and_check_names_are_the_contract():
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert keys == {"raw_runs", "run_archive", "drive_archive", "db_runs", "parquet_runs"}
    assert {key.to_user_string() for key in graph.get(dg.AssetKey("db_runs")).parent_keys} == {
        "raw_runs"
    }
    assert {
        key.to_user_string() for key in graph.get(dg.AssetKey("drive_archive")).parent_keys
    } == {"run_archive"}
    assert {key.to_user_string() for key in graph.get(dg.AssetKey("parquet_runs")).parent_keys} == {
        "raw_runs"
    }
    checks = {(key.asset_key.to_user_string(), key.name) for key in graph.asset_check_keys}
    assert ("db_runs", "files_match_db") in checks
    assert ("run_archive", "archive_matches_files") in checks
    assert ("parquet_runs", "parquet_matches_files") in checks


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
        "g = defs().resolve_asset_graph()\n"
        "keys = ('raw_runs', 'drive_archive')\n"
        "ps = [g.get(dg.AssetKey(k)).assets_def.op.retry_policy for k in keys]\n"
        "print([(p.max_retries, p.backoff.value) for p in ps])"
    )
    env = {k: v for k, v in os.environ.items() if k != "LSE_STEP_RETRIES"}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.stdout.strip() == "[(3, 'EXPONENTIAL'), (3, 'EXPONENTIAL')]", result.stderr


def test_assets_sit_in_their_group_with_owners_and_tags_from_the_settings():
    from lse_assets.definitions import in_group
    from lse_assets.defs.assets import build_assets
    from lse_assets.settings import Settings

    graph = defs.resolve_asset_graph()
    assert {graph.get(key).group_name for key in graph.get_all_asset_keys()} == {
        "langsmith_archive"
    }
    configured = Settings(asset_owners="data@example.com,team:platform", asset_tags="tier=gold")
    for asset in in_group(configured, build_assets(configured)):
        (spec,) = asset.specs
        assert spec.group_name == "langsmith_archive"
        assert spec.owners == ["data@example.com", "team:platform"]
        assert spec.tags["tier"] == "gold"
    for spec in (s for a in in_group(Settings(), build_assets(Settings())) for s in a.specs):
        assert spec.owners == [] and "tier" not in spec.tags


def test_the_demo_profile_uses_no_secret_and_its_own_home(tmp_path, monkeypatch):
    from lse_assets.definitions import build_resources
    from lse_assets.settings import Settings, demo_settings

    monkeypatch.setenv("LSE_DATABASE_URL", "postgresql://u:secret@db.invalid/prod")
    monkeypatch.setenv("LSE_ALERT_WEBHOOK_URL", "https://hooks.invalid/services/secret")
    monkeypatch.setenv("LANGSMITH_API_KEY", "lsv2_secret")
    monkeypatch.setenv("LSE_DRIVE_FOLDER_ID", "production-folder")
    production = Settings(home=tmp_path)
    demo = demo_settings(tmp_path)

    assert production.secret_is_set("LSE_DATABASE_URL") and not demo.secret_is_set(
        "LSE_DATABASE_URL"
    )
    assert demo.home_dir == tmp_path / "demo" and demo.source == "sample"
    assert demo.projects == ["demo-chatbot", "demo-rag-agent"] and demo.drive_folder_id is None
    resources = build_resources(demo)
    assert resources["postgres"].database_url is None
    assert resources["notifier"].webhook_url is None
    assert resources["drive"].folder == str(tmp_path / "demo" / "drive")
    assert production.automation_starts_running and not demo.automation_starts_running


def test_env_example_and_readme_name_every_setting():
    from lse_assets.settings import Settings

    root = Path(__file__).resolve().parents[2]
    example, readme = (root / ".env.example").read_text(), (root / "README.md").read_text()
    for name in Settings.model_fields:
        variable = f"LSE_{name.upper()}"
        assert f"# {variable}=" in example, variable
        assert f"`{variable}`" in readme, variable


def test_a_run_of_the_sample_profile_does_not_import_the_sdks_it_does_not_use(tmp_path):
    # Every run's process loads the code location before its first step; the LangSmith SDK
    # and the Google client are ~0.4 CPU s of that start, per partition of a backfill.
    code = (
        "import sys\n"
        "from lse_assets.definitions import defs\n"
        "defs()\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'langsmith', 'googleapiclient'}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LSE_")}
    env.update(
        {
            "LSE_SOURCE": "sample",
            "LSE_HOME": str(tmp_path),
            "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        }
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip().splitlines()[-1] == "[]"
