"""The `lse` command as a user runs it (a subprocess, a fresh LSE_HOME, its own working
directory so that no developer's ./.env leaks in)."""

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
from dagster._core.instance.ref import InstanceRef


def run_lse(
    *args: str, home: Path, timeout: int = 300, cwd: Path | None = None, **env_vars: str
) -> subprocess.CompletedProcess:
    env = {**os.environ, "LSE_HOME": str(home)}
    for name in ("LSE_PROJECTS", "LSE_SOURCE", "LSE_DATA_DIR", "LSE_START_DATE", "DAGSTER_HOME"):
        env.pop(name, None)
    env.update(env_vars)
    lse = str(Path(sys.executable).with_name("lse"))
    home.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [lse, *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=cwd or home
    )


def _yesterday() -> date:
    return datetime.now(UTC).date() - timedelta(days=1)


def test_demo_archives_every_partition_and_prints_the_table(tmp_path):
    result = run_lse("demo", "--days", "1", home=tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("demo-") >= 2
    assert "created" in result.stdout and "FAILED" not in result.stdout
    demo_home = tmp_path / "demo"  # the demo profile's own home, beside production's
    assert len(list((demo_home / "drive").rglob("*.zip"))) == 2
    # The Parquet copy: where it is (the printed `lse sql` command: tests/cli/test_sql.py).
    assert (
        f"Parquet copy (LangSmith Bulk Export layout, docs/parquet.md): {demo_home / 'parquet'}"
        in (result.stdout)
    )
    counted = dict(
        duckdb.sql(
            f"SELECT project, count(*) FROM read_parquet('{demo_home}/parquet/**/*.parquet') "
            "GROUP BY project"
        ).fetchall()
    )
    on_disk = {
        project: len(list((demo_home / "data" / project).glob("*/runs/*.json")))
        for project in ("demo-chatbot", "demo-rag-agent")
    }
    assert counted == on_disk and all(on_disk.values())
    assert all(f"{n} rows" in result.stdout for n in on_disk.values())  # the parquet column
    assert (demo_home / "dagster").is_dir()  # a persistent instance for `lse --demo ui`
    assert not (tmp_path / "dagster").exists() and not (tmp_path / "data").exists()
    assert "XDG_RUNTIME_DIR" not in result.stderr and "Warning" not in result.stderr


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
    assert "'nope' is not in LSE_PROJECTS. Valid choices: proj-a" in result.stderr


def test_import_legacy_writes_partitions_that_load_and_verify(tmp_path):
    from tests.fakes.legacy_zips import predecessor_zips

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

    from resources.postgres import embedded as embedded_postgres

    env = {"LSE_SOURCE": "sample", "LSE_PROJECTS": "proj-a", "LSE_START_DATE": "2025-01-01"}
    assert run_lse("materialize", "--date", "2025-09-13", home=tmp_path, **env).returncode == 0
    clean = run_lse("verify", "--date", "2025-09-13", home=tmp_path, **env)
    verbose = run_lse("verify", "--date", "2025-09-13", "--verbose", home=tmp_path, **env)

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

    assert clean.returncode == 0 and "2025-09-13|proj-a: consistent (" in clean.stdout
    assert len(clean.stdout.splitlines()) == 1  # one line; Dagster's logs stay in the run
    assert clean.stderr == ""
    # --verbose: the run's own log (as the UI shows it) on stderr, the verdict unchanged.
    assert "Asset check 'files_match_db' on 'db_runs' passed" in verbose.stderr
    assert verbose.stdout == clean.stdout
    assert tampered.returncode == 1, tampered.stdout + tampered.stderr
    assert "2025-09-13|proj-a: INCONSISTENT" in tampered.stdout
    assert "differing 1" in tampered.stdout and victim in tampered.stdout


def _check_evaluations(dagster_home: Path) -> list:
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(dagster_home))) as instance:
        return [
            record.event_log_entry.dagster_event.event_specific_data
            for record in instance.get_event_records(
                dg.EventRecordsFilter(event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION),
                limit=1000,
            )
        ]


def test_after_the_demo_status_and_verify_tell_the_same_truth(tmp_path):
    yesterday, before = _yesterday(), _yesterday() - timedelta(days=1)
    assert run_lse("demo", "--days", "1", home=tmp_path).returncode == 0
    evaluations_after_demo = len(_check_evaluations(tmp_path / "demo" / "dagster"))

    shown = run_lse("--demo", "status", "--days", "2", home=tmp_path)
    checked = run_lse("--demo", "verify", "--date", str(yesterday), home=tmp_path)
    never = run_lse("--demo", "verify", "--date", str(before), home=tmp_path)
    production = run_lse("status", "--days", "2", home=tmp_path)

    rows = {
        line.split("│")[1].strip() + line.split("│")[2].strip(): line
        for line in shown.stdout.splitlines()
        if line.startswith("│")
    }
    for project in ("demo-chatbot", "demo-rag-agent"):
        cells = [cell.strip() for cell in rows[f"{yesterday}{project}"].split("│")[3:-1]]
        assert cells == ["ok"] * 5 + ["archived"]  # five copies, each materialized and checked
        assert rows[f"{before}{project}"].rstrip("│ ").endswith("not archived")
        assert f"{yesterday}|{project}: consistent (" in checked.stdout
        assert f"{before}|{project}: not archived" in never.stdout
    assert "Parquet rows" in checked.stdout
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert never.returncode == 1 and never.stderr == ""
    assert "Traceback" not in never.stdout + never.stderr
    # verify of yesterday recorded its 5 checks x 2 projects; the never-archived day nothing.
    evaluations = _check_evaluations(tmp_path / "demo" / "dagster")
    assert len(evaluations) == evaluations_after_demo + 10
    assert all(e.partition is None or str(before) not in e.partition for e in evaluations)
    # The demo stays a demo: production's status knows nothing of it.
    assert "demo-chatbot" not in production.stdout and "default" in production.stdout


def test_unknown_projects_and_days_outside_the_partitions_are_refused_naming_the_valid_ones(
    tmp_path,
):
    env = {"LSE_SOURCE": "sample", "LSE_PROJECTS": "proj-a,proj-b", "LSE_START_DATE": "2025-01-01"}
    tomorrow = str(_yesterday() + timedelta(days=2))
    today = str(_yesterday() + timedelta(days=1))
    cases = [
        ("status", "--project", "nope"),
        ("verify", "--date", "2025-09-13", "--project", "nope"),
        ("restore", "--project", "nope", "--date", "2025-09-13"),
        ("materialize", "--date", tomorrow),
        ("verify", "--from", "2025-09-13", "--to", tomorrow),
        ("restore", "--project", "proj-a", "--date", "2024-12-31"),
        ("restore", "--project", "proj-a", "--date", today),  # needs a complete day
    ]
    for args in cases:
        result = run_lse(*args, home=tmp_path, **env)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        if "nope" in args:
            assert "Valid choices: proj-a, proj-b" in result.stderr, result.stderr
        elif args[0] == "restore":
            assert f"Valid days: 2025-01-01 (LSE_START_DATE) to {_yesterday()} (yesterday" in (
                result.stderr
            )
        else:
            assert f"Valid days: 2025-01-01 (LSE_START_DATE) to {today} (today" in result.stderr
    assert not (tmp_path / "dagster").exists()  # refused before any work


def test_a_dotenv_in_the_working_directory_is_read_and_the_environment_wins(tmp_path):
    (tmp_path / ".env").write_text(
        "LSE_PROJECTS=from-dotenv\nLSE_START_DATE=2025-01-01\nLSE_SOURCE=sample\n"
    )
    from_file = run_lse("status", "--days", "1", home=tmp_path)
    overridden = run_lse("status", "--days", "1", home=tmp_path, LSE_PROJECTS="from-env")
    # The code location, imported as Dagster's processes and the tests import it.
    location = subprocess.run(
        [
            sys.executable,
            "-c",
            "import dagster as dg; from lse_assets.definitions import defs;"
            "p = defs().resolve_asset_graph().get(dg.AssetKey('raw_runs')).partitions_def;"
            "print(p.get_partitions_def_for_dimension('project').get_partition_keys())",
        ],
        env={k: v for k, v in os.environ.items() if not k.startswith("LSE_")},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert "from-dotenv" in from_file.stdout and "default" not in from_file.stdout
    assert "from-env" in overridden.stdout and "from-dotenv" not in overridden.stdout
    assert location.stdout.strip() == "['from-dotenv']", location.stderr


def test_a_failed_materialization_says_which_step_failed_and_why(tmp_path):
    env = {"LSE_SOURCE": "langsmith", "LSE_PROJECTS": "proj-a", "LSE_START_DATE": "2025-01-01"}
    result = run_lse(
        "materialize", "--date", "2025-09-13", home=tmp_path, LANGSMITH_API_KEY="", **env
    )

    assert result.returncode == 1
    assert "[1/1] 2025-09-13|proj-a: FAILED" in result.stdout
    assert "    raw_runs: LANGSMITH_API_KEY is not set" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_materialize_takes_today_as_a_partial_day_and_status_names_it(tmp_path):
    env = {"LSE_SOURCE": "sample", "LSE_PROJECTS": "proj-a,proj-b", "LSE_START_DATE": "2025-01-01"}
    for _ in range(2):  # once more if midnight (UTC) passed meanwhile: today changed meaning
        today = datetime.now(UTC).date()
        args = ("--date", str(today), "--project", "proj-a")
        made = run_lse("materialize", *args, home=tmp_path / str(today), **env)
        shown = run_lse("status", "--days", "1", home=tmp_path / str(today), **env)
        if datetime.now(UTC).date() == today:
            break

    assert made.returncode == 0, made.stdout + made.stderr
    assert f"{today} is today (UTC), a partial day" in made.stdout
    assert shown.returncode == 0, shown.stdout + shown.stderr
    rows = [line for line in shown.stdout.splitlines() if line.startswith("│")]
    (archived,) = [row for row in rows if str(today) in row and "proj-a" in row]
    (waiting,) = [row for row in rows if str(today) in row and "proj-b" in row]
    assert "today (partial" in archived and "today (not archived yet)" in waiting
