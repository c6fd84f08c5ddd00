"""The `lse` command as a user runs it (a subprocess, a fresh LSE_HOME)."""

import os
import subprocess
import sys
from pathlib import Path


def run_lse(*args: str, home: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "LSE_HOME": str(home)}
    for name in ("LSE_PROJECTS", "LSE_SOURCE", "LSE_DATA_DIR", "LSE_START_DATE"):
        env.pop(name, None)
    lse = str(Path(sys.executable).with_name("lse"))
    return subprocess.run([lse, *args], env=env, capture_output=True, text=True, timeout=timeout)


def test_demo_archives_every_partition_and_prints_the_table(tmp_path):
    result = run_lse("demo", "--days", "1", home=tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("demo-") >= 2
    assert "created" in result.stdout and "FAILED" not in result.stdout
    assert len(list((tmp_path / "drive").rglob("*.zip"))) == 2
    assert (tmp_path / "dagster").is_dir()  # a persistent instance for `lse ui`


def test_fetching_without_key_or_sample_source_fails_with_the_fix(tmp_path):
    # Drive the real code location through the Dagster CLI, as `dagster dev` would.
    env = {**os.environ, "LSE_HOME": str(tmp_path), "LSE_SOURCE": "langsmith"}
    env.pop("LANGSMITH_API_KEY", None)
    dagster = str(Path(sys.executable).with_name("dagster"))
    result = subprocess.run(
        [
            dagster,
            "asset",
            "materialize",
            "-m",
            "lse_assets.definitions",
            "--select",
            "raw_runs",
            "--partition",
            "2025-09-13|proj-a",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert "LANGSMITH_API_KEY is not set" in result.stdout + result.stderr
    assert "LSE_SOURCE=sample" in result.stdout + result.stderr
