"""The `lse` command as a user runs it (a subprocess, a fresh LSE_HOME)."""

import os
import subprocess
import sys
from datetime import date
from pathlib import Path


def run_lse(
    *args: str, home: Path, timeout: int = 300, **env_vars: str
) -> subprocess.CompletedProcess:
    env = {**os.environ, "LSE_HOME": str(home)}
    for name in ("LSE_PROJECTS", "LSE_SOURCE", "LSE_DATA_DIR", "LSE_START_DATE", "DAGSTER_HOME"):
        env.pop(name, None)
    env.update(env_vars)
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


def test_materialize_then_status_shows_the_partition_archived(tmp_path):
    env = {"LSE_SOURCE": "sample", "LSE_PROJECTS": "proj-a,proj-b", "LSE_START_DATE": "2025-01-01"}

    done = run_lse(
        "materialize", "--date", "2025-09-13", "--project", "proj-a", home=tmp_path, **env
    )
    days_back = str((date.today() - date(2025, 9, 12)).days + 1)
    shown = run_lse("status", "--days", days_back, "--project", "proj-a", home=tmp_path, **env)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "[1/1] 2025-09-13|proj-a: ok" in done.stdout
    row = next(line for line in shown.stdout.splitlines() if "2025-09-13" in line)
    assert "archived" in row and "not archived" not in row
    other = next(line for line in shown.stdout.splitlines() if "2025-09-12" in line)
    assert "not archived" in other


def test_materialize_refuses_a_project_that_is_not_configured(tmp_path):
    result = run_lse(
        "materialize",
        "--date",
        "2025-09-13",
        "--project",
        "nope",
        home=tmp_path,
        LSE_SOURCE="sample",
        LSE_PROJECTS="proj-a",
    )
    assert result.returncode == 2
    assert "not in LSE_PROJECTS" in result.stderr


def test_import_legacy_writes_partitions_that_load_and_verify(tmp_path):
    from tests.legacy_zips import predecessor_zips

    archives = tmp_path / "old-tool" / "archives"
    archives.mkdir(parents=True)
    days = [date(2025, 9, 13), date(2025, 9, 14)]
    predecessor_zips("proj-a", days, archives, prefix="proj-a")
    env = {"LSE_SOURCE": "sample", "LSE_PROJECTS": "proj-a", "LSE_START_DATE": "2025-01-01"}

    result = run_lse(
        "import-legacy",
        str(tmp_path / "old-tool"),
        "--project",
        "proj-a",
        "--load-db",
        home=tmp_path / "home",
        **env,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "2025-09-13:" in result.stdout and "(written)" in result.stdout
    assert result.stdout.count("files_match_db passed") == len(days)
    imported = tmp_path / "home" / "data" / "proj-a" / "2025-09-13" / "runs"
    assert len(list(imported.iterdir())) > 100


def test_verify_reports_consistency_and_exits_1_naming_a_tampered_run(tmp_path):
    import sqlalchemy as sa

    from resources import embedded_postgres

    env = {"LSE_SOURCE": "sample", "LSE_PROJECTS": "proj-a", "LSE_START_DATE": "2025-01-01"}
    assert run_lse("materialize", "--date", "2025-09-13", home=tmp_path, **env).returncode == 0
    clean = run_lse("verify", "--date", "2025-09-13", home=tmp_path, **env)

    engine = sa.create_engine(embedded_postgres.embedded_url(tmp_path / "postgres"))
    with engine.begin() as connection:
        victim = connection.execute(
            sa.text(
                "UPDATE runs SET data = jsonb_set(data, '{name}', '\"x\"') WHERE run_id ="
                " (SELECT run_id FROM runs LIMIT 1) RETURNING run_id::text"
            )
        ).scalar_one()
    engine.dispose()
    embedded_postgres.stop(tmp_path / "postgres")
    tampered = run_lse("verify", "--date", "2025-09-13", home=tmp_path, **env)

    assert clean.returncode == 0 and "2025-09-13|proj-a: consistent" in clean.stdout
    assert tampered.returncode == 1, tampered.stdout + tampered.stderr
    assert "2025-09-13|proj-a: INCONSISTENT" in tampered.stdout
    assert "differing: 1" in tampered.stdout and victim in tampered.stdout
