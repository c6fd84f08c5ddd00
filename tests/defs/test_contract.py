"""The code location's contract, pinned whole: asset keys and their parents, each asset's
group, kinds, pool and retries, every check (its asset, blocking, the severity of a
failure), the partitions, every job, schedule and sensor. Users' runs, backfills, alerts
and history hang on these names: changing one is a deliberate edit of the table below,
never a side effect.

The table is the defaults of the test environment (conftest: LSE_PROJECTS, LSE_START_DATE;
settings defaults for the crons).
"""

from datetime import date

import dagster as dg

from lse_assets.core.runfiles import RUNS_DIR, PartitionPaths
from lse_assets.definitions import defs as code_location
from lse_assets.defs.assets import build_assets
from lse_assets.settings import load_settings
from tests.conftest import PROJECT_A, PROJECT_B
from tests.defs.test_archive_integrity import _without_entry
from tests.fakes.helpers import check_results, local_resources, materialize

defs = code_location()  # as Dagster loads it: the settings are read now

RUNNING, STOPPED = "RUNNING", "STOPPED"

# ---- the contract --------------------------------------------------------------------
ASSETS = {  # asset key -> parent asset keys
    "raw_runs": set(),
    "run_archive": {"raw_runs"},
    "drive_archive": {"run_archive"},
    "db_runs": {"raw_runs"},
    "parquet_runs": {"raw_runs"},
}
# asset key -> (group, kinds, pool, retried by a RetryPolicy when LSE_STEP_RETRIES > 0)
ASSET_PROPERTIES = {
    "raw_runs": ("langsmith_archive", {"langsmith", "json"}, "langsmith", True),
    "run_archive": ("langsmith_archive", {"zip"}, None, False),
    "drive_archive": ("langsmith_archive", {"googledrive"}, "google_drive", True),
    "db_runs": ("langsmith_archive", {"postgres"}, None, False),
    "parquet_runs": ("langsmith_archive", {"parquet"}, None, True),
}
CHECKS = {  # (asset, check) -> (blocking, severity of a failure on a damaged partition)
    ("raw_runs", "runs_complete"): (True, "ERROR"),
    ("run_archive", "archive_matches_files"): (True, "ERROR"),
    ("drive_archive", "drive_matches_archive"): (True, "ERROR"),
    ("db_runs", "files_match_db"): (True, "ERROR"),
    ("parquet_runs", "parquet_matches_files"): (True, "ERROR"),
}
PARTITIONS = {  # dimension -> definition (every asset and check shares it)
    "date": ("daily", "UTC", "2025-01-01", "end_offset=1"),  # the last is today, partial
    "project": ("static", PROJECT_A, PROJECT_B),
}
PARTITION_KEY_EXAMPLE = f"2025-09-13|{PROJECT_B}"
JOBS = {  # job -> (assets it materializes, checks it evaluates)
    "archive_day": (set(ASSETS), set(CHECKS)),
    "verify_day": (set(), set(CHECKS)),
}
SCHEDULES = {  # name -> (job, cron, timezone, default status)
    "daily_archive": ("archive_day", "0 2 * * *", "UTC", RUNNING),
    "recent_days_reexport": ("archive_day", "0 3 * * *", "UTC", RUNNING),
    "today_refresh": ("archive_day", "17 * * * *", "UTC", STOPPED),  # opt-in: operations.md
}
SENSORS = {  # name -> (minimum interval in seconds, default status)
    "check_failure_alerts": (60, RUNNING),
    "retention_alarm": (3600, RUNNING),
}
# ---------------------------------------------------------------------------------------

GRAPH = defs.resolve_asset_graph()


def test_asset_keys_and_parents():
    found = {
        key.to_user_string(): {parent.to_user_string() for parent in GRAPH.get(key).parent_keys}
        for key in GRAPH.get_all_asset_keys()
    }
    assert found == ASSETS


def test_asset_properties():
    retried = build_assets(load_settings().model_copy(update={"step_retries": 3}))
    retried = {a.key.to_user_string() for a in retried if a.op.retry_policy is not None}
    found = {}
    for key in GRAPH.get_all_asset_keys():
        asset = GRAPH.get(key).assets_def
        spec = asset.specs_by_key[key]
        name = key.to_user_string()
        found[name] = (spec.group_name, set(spec.kinds), asset.op.pool, name in retried)
    assert found == ASSET_PROPERTIES


def test_checks_their_assets_and_blocking():
    found = {
        (key.asset_key.to_user_string(), key.name): GRAPH.get(key).blocking
        for key in GRAPH.asset_check_keys
    }
    assert found == {key: blocking for key, (blocking, _) in CHECKS.items()}


def test_the_severity_of_each_checks_failure(tmp_path, postgres):
    resources = local_resources(tmp_path, postgres)
    day = date(2025, 9, 13)
    assert materialize(PROJECT_A, day, resources).success
    # Damage every copy once: a lost run file (the database and the Parquet file now hold a
    # run the files lack), a zip missing another entry (so it differs from Drive's too).
    paths = PartitionPaths(tmp_path / "data", PROJECT_A, day)
    files = sorted(paths.runs_dir.iterdir())
    files[0].unlink()
    _without_entry(paths.zip_path, f"{RUNS_DIR}/{files[1].name}")

    evaluations = check_results(materialize(PROJECT_A, day, resources, only_checks=True))

    found = {
        (e.asset_key.to_user_string(), name): (e.passed, e.severity.value)
        for name, e in evaluations.items()
    }
    assert found == {key: (False, severity) for key, (_, severity) in CHECKS.items()}


def _dimension(partitions: dg.PartitionsDefinition) -> tuple:
    if isinstance(partitions, dg.DailyPartitionsDefinition):
        return (
            "daily",
            partitions.timezone,
            partitions.start.date().isoformat(),
            f"end_offset={partitions.end_offset}",
        )
    assert isinstance(partitions, dg.StaticPartitionsDefinition), partitions
    return ("static", *partitions.get_partition_keys())


def test_every_asset_and_check_shares_the_partitions():
    definitions = [GRAPH.get(key).partitions_def for key in GRAPH.get_all_asset_keys()]
    definitions += [GRAPH.get(key).partitions_def for key in GRAPH.asset_check_keys]
    assert all(d == definitions[0] for d in definitions)
    partitions = definitions[0]
    assert isinstance(partitions, dg.MultiPartitionsDefinition)
    found = {dim.name: _dimension(dim.partitions_def) for dim in partitions.partitions_defs}
    assert found == PARTITIONS
    assert PARTITION_KEY_EXAMPLE in partitions.get_partition_keys()


def test_jobs_and_what_they_select():
    found = {}
    for job in defs.jobs:
        assets = {key.to_user_string() for key in job.selection.resolve(GRAPH)}
        checks = {
            (key.asset_key.to_user_string(), key.name)
            for key in job.selection.resolve_checks(GRAPH)
        }
        found[job.name] = (assets, checks)
    assert found == JOBS


def test_schedules():
    found = {
        schedule.name: (
            schedule.job_name,
            schedule.cron_schedule,
            schedule.execution_timezone,
            schedule.default_status.value,
        )
        for schedule in defs.schedules
    }
    assert found == SCHEDULES


def test_sensors():
    found = {
        sensor.name: (sensor.minimum_interval_seconds, sensor.default_status.value)
        for sensor in defs.sensors
    }
    assert found == SENSORS
