"""What `lse` says at the terminal when something is wrong (issue 18, section 6): each failed
step in its own words, a bad setting as one line naming the variable and the fix (never a
traceback, never a secret), and `lse status` exiting 1 when it shows a failed partition.
Every command runs as a user runs it: a subprocess, real Dagster runs on a real instance."""

import json
import socket
from datetime import date

import pytest

from tests.cli.test_cli import run_lse

DAY = "2025-09-13"
PASSWORD = "s3cr3tW0rd"
SAMPLE = {"LSE_SOURCE": "sample", "LSE_PROJECTS": "proj-a", "LSE_START_DATE": "2025-01-01"}
WRAPPER = "Error occurred while executing"  # Dagster's words, which name no cause


def _closed_port() -> int:
    """A local port nothing listens on: connections to it are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _failure_lines(stdout: str) -> list[str]:
    return [line.strip() for line in stdout.splitlines() if line.startswith("    ")]


def test_a_database_that_refuses_is_named_with_its_address_and_status_exits_1(tmp_path):
    port = _closed_port()
    env = {
        **SAMPLE,
        "LSE_DATABASE_URL": f"postgresql://lse:{PASSWORD}@127.0.0.1:{port}/lse",
        "LSE_STEP_RETRIES": "0",
    }

    done = run_lse("materialize", "--date", DAY, home=tmp_path, **env)
    days_back = str((date.today() - date(2025, 9, 12)).days + 1)
    shown = run_lse("status", "--days", days_back, home=tmp_path, **env)

    assert done.returncode == 1, done.stdout + done.stderr
    assert f"[1/1] {DAY}|proj-a: FAILED" in done.stdout
    failures = dict(line.split(": ", 1) for line in _failure_lines(done.stdout))
    # The first writer needs the database for its partition lock: the step says which
    # database (host and port visible, the password not) and why it was needed.
    assert set(failures) == {"raw_runs"}, done.stdout
    assert "cannot connect to the database of LSE_DATABASE_URL" in failures["raw_runs"]
    assert "which holds the partition locks" in failures["raw_runs"]
    assert f'"127.0.0.1", port {port}' in failures["raw_runs"]
    assert WRAPPER not in done.stdout
    assert PASSWORD not in done.stdout + done.stderr + shown.stdout + shown.stderr
    assert "Traceback" not in done.stdout + done.stderr
    # status shows that day failed, and says so by its exit code too.
    assert shown.returncode == 1, shown.stdout + shown.stderr
    row = next(line for line in shown.stdout.splitlines() if DAY in line)
    assert "failed (" in row and "raw_runs" in row


def test_materialize_prints_every_failed_steps_own_cause(tmp_path):
    parquet_blocker = tmp_path / "not-a-folder"
    parquet_blocker.write_text("a file where the Parquet root should be a folder")
    (tmp_path / "drive").write_text("a file where the local archive store should be a folder")
    env = {**SAMPLE, "LSE_PARQUET_URL": str(parquet_blocker), "LSE_STEP_RETRIES": "0"}

    done = run_lse("materialize", "--date", DAY, home=tmp_path, **env)

    assert done.returncode == 1, done.stdout + done.stderr
    failures = dict(line.split(": ", 1) for line in _failure_lines(done.stdout))
    # Two steps failed independently: each line is that step's own cause, not Dagster's.
    assert set(failures) == {"drive_archive", "parquet_runs"}, done.stdout
    assert "drive" in failures["drive_archive"]
    assert "not-a-folder" in failures["parquet_runs"]
    assert WRAPPER not in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_a_damaged_forgotten_json_is_named_at_the_terminal(tmp_path):
    home = tmp_path
    project_dir = home / "data" / "proj-a"
    project_dir.mkdir(parents=True)
    (project_dir / "forgotten.json").write_text(json.dumps({"format": "something-else"}))

    done = run_lse("materialize", "--date", DAY, home=home, LSE_STEP_RETRIES="0", **SAMPLE)

    assert done.returncode == 1, done.stdout + done.stderr
    (line,) = _failure_lines(done.stdout)
    assert line.startswith("raw_runs: ") and "forgotten.json" in line, done.stdout
    assert WRAPPER not in done.stdout


def test_status_exits_0_when_nothing_shown_failed(tmp_path):
    home = tmp_path
    done = run_lse("materialize", "--date", DAY, home=home, **SAMPLE)
    days_back = str((date.today() - date(2025, 9, 12)).days + 1)
    shown = run_lse("status", "--days", days_back, home=home, **SAMPLE)

    assert done.returncode == 0, done.stdout + done.stderr
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "archived" in next(line for line in shown.stdout.splitlines() if DAY in line)


TOKEN = "XsEcReTtOkEn42"


@pytest.mark.parametrize(
    ("command", "env", "named", "fix"),
    [
        (
            ["status"],
            {"LSE_PARQUET_URL": f"s3://AKIAKEY:{PASSWORD}@bucket/prefix"},
            "LSE_PARQUET_URL",
            "AWS_ACCESS_KEY_ID",
        ),
        (["status"], {"LSE_PARQUET_URL": "nosuch://bucket/x"}, "LSE_PARQUET_URL", "s3://"),
        (
            ["db", "upgrade"],
            {"LSE_DATABASE_URL": f"postgresql://lse:{PASSWORD}@127.0.0.1:{{port}}/lse"},
            "LSE_DATABASE_URL",
            "Start that server",
        ),
        (
            ["status"],
            {"LSE_DATABASE_URL": f"postgresql://lse:{PASSWORD}@x@127.0.0.1:5432/lse"},
            "LSE_DATABASE_URL",
            "%40",
        ),
        (
            ["status"],
            {"LSE_ALERT_WEBHOOK_URL": f"hooks.slack.com/services/T0/B0/{TOKEN}"},
            "LSE_ALERT_WEBHOOK_URL",
            "https://",
        ),
        (
            ["materialize", "--date", DAY],
            {"LSE_ALERT_WEBHOOK_URL": f"http://hooks.slack.com/services/T0/B0/{TOKEN}"},
            "LSE_ALERT_WEBHOOK_URL",
            "https://",
        ),
        (["status"], {"LSE_START_DATE": "yesterday"}, "LSE_START_DATE", ".env"),
        (["status"], {".env": "LSE_PROJECTS=a\0b\n"}, "LSE_PROJECTS", "remove it"),
    ],
    ids=[
        "parquet-credentials",
        "parquet-scheme",
        "db-unreachable",
        "db-unescaped-at",
        "webhook-no-scheme",
        "webhook-plain-http",
        "start-date",
        "nul-in-dotenv",
    ],
)
def test_a_bad_setting_is_one_line_naming_the_variable_and_the_fix(
    tmp_path, command, env, named, fix
):
    env = {**SAMPLE, **env}
    if ".env" in env:
        tmp_path.joinpath(".env").write_text(env.pop(".env"))
    if "LSE_DATABASE_URL" in env:
        env["LSE_DATABASE_URL"] = env["LSE_DATABASE_URL"].replace("{port}", str(_closed_port()))

    result = run_lse(*command, home=tmp_path, timeout=120, **env)

    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert named in lines[0] and fix in lines[0]
    for secret in (PASSWORD, TOKEN, "AKIAKEY"):
        assert secret not in result.stdout + result.stderr
    if command == ["db", "upgrade"]:  # the address is not a secret: the operator needs it
        assert '"127.0.0.1", port' in lines[0]


def test_a_step_failure_line_is_its_own_error_and_its_causes_first_line():
    """Unit test of the seam (the acceptance tests above meet no error with a cause)."""
    from types import SimpleNamespace

    from dagster._utils.error import SerializableErrorInfo

    from lse_assets.cli.runner import step_failure

    cause = SerializableErrorInfo("socket.timeout: timed out\nmore\n", [], "timeout")
    own = SerializableErrorInfo(
        "sqlalchemy.exc.OperationalError: lost\nSQL: ...\n", [], "OperationalError", cause
    )
    wrapper = SerializableErrorInfo(
        f"dagster._core.errors.DagsterExecutionStepExecutionError: {WRAPPER} op db_runs:\n",
        [],
        "DagsterExecutionStepExecutionError",
        own,
    )
    raised = SimpleNamespace(error=wrapper, user_failure_data=None)
    failed = SimpleNamespace(
        error=SerializableErrorInfo("dagster.Failure: x\n", [], "Failure", cause),
        user_failure_data=SimpleNamespace(description="LANGSMITH_API_KEY is not set\nmore"),
    )

    assert step_failure("db_runs", raised) == (
        "db_runs: OperationalError: lost (cause: timeout: timed out)"
    )
    assert step_failure("raw_runs", failed) == (
        "raw_runs: LANGSMITH_API_KEY is not set (cause: timeout: timed out)"
    )
