"""The fifth copy in `lse status` and `lse verify`, and the Dagster UI saying the same.

A user's path after an upgrade: one day archived with all five assets, another with only
the four that existed before parquet_runs (materialized through Dagster's own CLI), then
the first day's Parquet file lost. The terminal and the UI's GraphQL API (served by the
webserver's own code, the code location loaded in its own process) must agree, partition
by partition: they read the same Dagster records.
"""

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg
from dagster._core.instance.ref import InstanceRef
from dagster_graphql.test.utils import define_out_of_process_context, execute_dagster_graphql

from lse_assets.core import bulk_export
from lse_assets.core.runfiles import PartitionPaths
from tests.cli.test_cli import run_lse

DAY = date(2025, 9, 13)
ENV = {"LSE_SOURCE": "sample", "LSE_PROJECTS": "proj-a,proj-b", "LSE_START_DATE": "2025-01-01"}
DEFINITIONS = Path(__file__).resolve().parents[2] / "lse_assets" / "definitions.py"

PARTITION_STATUSES = """
query($keys: [AssetKeyInput!]) {
  assetNodes(assetKeys: $keys) {
    assetPartitionStatuses {
      ... on MultiPartitionStatuses {
        ranges {
          primaryDimStartKey
          primaryDimEndKey
          secondaryDim { ... on DefaultPartitionStatuses { materializedPartitions } }
        }
      }
    }
  }
}"""
CHECK_EXECUTIONS = """
query($key: AssetKeyInput!, $check: String!, $partition: String) {
  assetCheckExecutions(assetKey: $key, checkName: $check, partition: $partition, limit: 1) {
    status
  }
}"""


def _ui(home: Path, monkeypatch) -> dict[str, tuple[bool, str | None]]:
    """Per project on DAY, as the UI's GraphQL API says: is parquet_runs materialized, and
    the status of the latest parquet_matches_files execution (None: never ran)."""
    for name, value in {**ENV, "LSE_HOME": str(home)}.items():
        monkeypatch.setenv(name, value)  # the code server process reads the same settings
    ref = InstanceRef.from_dir(str(home / "dagster"))
    found = {}
    with (
        dg.DagsterInstance.from_ref(ref) as instance,
        define_out_of_process_context(str(DEFINITIONS), "defs", instance) as context,
    ):
        nodes = execute_dagster_graphql(
            context, PARTITION_STATUSES, {"keys": [{"path": ["parquet_runs"]}]}
        ).data["assetNodes"]
        materialized = {
            project
            for r in nodes[0]["assetPartitionStatuses"]["ranges"]
            if r["primaryDimStartKey"] <= DAY.isoformat() <= r["primaryDimEndKey"]
            for project in r["secondaryDim"]["materializedPartitions"]
        }
        for project in ("proj-a", "proj-b"):
            executions = execute_dagster_graphql(
                context,
                CHECK_EXECUTIONS,
                {
                    "key": {"path": ["parquet_runs"]},
                    "check": "parquet_matches_files",
                    "partition": f"{DAY.isoformat()}|{project}",
                },
            ).data["assetCheckExecutions"]
            status = executions[0]["status"] if executions else None
            found[project] = (project in materialized, status)
    return found


def _status_rows(home: Path) -> dict[str, list[str]]:
    days_back = str((date.today() - DAY).days + 1)
    shown = run_lse("status", "--days", days_back, home=home, **ENV)
    failed = any("│ failed (" in line for line in shown.stdout.splitlines())
    assert shown.returncode == (1 if failed else 0), shown.stdout + shown.stderr  # issue 18
    header = next(line for line in shown.stdout.splitlines() if line.startswith("┃"))
    columns = [cell.strip() for cell in header.split("┃")[1:-1]]
    rows = {}
    for line in shown.stdout.splitlines():
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if cells and cells[0] == DAY.isoformat():
            rows[cells[1]] = dict(zip(columns, cells, strict=True))
    return rows


def test_status_verify_and_the_ui_agree_on_the_parquet_copy(tmp_path, monkeypatch):
    home = tmp_path / "home"
    done = run_lse("materialize", "--date", str(DAY), "--project", "proj-a", home=home, **ENV)
    assert done.returncode == 0, done.stdout + done.stderr
    # proj-b as a deployment from before parquet_runs archived it: the four older assets
    # (and their checks), through Dagster's own CLI on the same instance.
    env = {**os.environ, **ENV, "LSE_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
    older = subprocess.run(
        [
            str(Path(sys.executable).with_name("dagster")),
            "asset",
            "materialize",
            "-m",
            "lse_assets.definitions",
            "--select",
            "raw_runs,run_archive,drive_archive,db_runs",
            "--partition",
            f"{DAY}|proj-b",
        ],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert older.returncode == 0, older.stdout + older.stderr

    rows = _status_rows(home)
    assert rows["proj-a"]["parquet_runs"] == "ok" and rows["proj-a"]["state"] == "archived"
    assert rows["proj-b"]["parquet_runs"] == "missing"
    assert rows["proj-b"]["state"] == "partly archived (missing: parquet_runs)"
    assert _ui(home, monkeypatch) == {"proj-a": (True, "SUCCEEDED"), "proj-b": (False, None)}

    # The Parquet file of proj-a is lost: verify says what and where, status and UI agree.
    paths = PartitionPaths(home / "data", "proj-a", DAY)
    lost = home / "parquet" / bulk_export.export_of(paths).relative_path
    lost.unlink()
    checked = run_lse("verify", "--date", str(DAY), "--project", "proj-a", home=home, **ENV)

    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert f"{DAY}|proj-a: INCONSISTENT  parquet_matches_files: " in checked.stdout
    assert f"missing_file 1 (e.g. {lost})" in checked.stdout
    assert "missing_in_parquet" in checked.stdout
    rows = _status_rows(home)
    assert rows["proj-a"]["parquet_runs"] == "check FAILED"
    assert rows["proj-a"]["state"] == "failed (parquet_matches_files)"
    assert all(rows["proj-a"][a] == "ok" for a in ("raw_runs", "run_archive", "db_runs"))
    assert _ui(home, monkeypatch) == {"proj-a": (True, "FAILED"), "proj-b": (False, None)}
