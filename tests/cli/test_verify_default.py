"""`lse verify` without days: the archived days of the last week, as a user runs it."""

from datetime import UTC, datetime, timedelta

from tests.cli.test_cli import run_lse

PROJECTS = ("demo-chatbot", "demo-rag-agent")


def test_verify_without_days_checks_the_archived_days_of_the_last_7_only(tmp_path):
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    week = f"{yesterday - timedelta(days=6)} .. {yesterday}"

    nothing = run_lse("--demo", "verify", home=tmp_path)
    assert run_lse("demo", "--days", "2", home=tmp_path).returncode == 0
    checked = run_lse("--demo", "verify", home=tmp_path)

    assert nothing.returncode == 1 and nothing.stdout == ""
    assert nothing.stderr == (
        f"no partition of the last 7 days ({week}) was archived: name days with --date D or "
        "--from D1 --to D2\n"
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith(f"verifying the 4 archived partition(s) of {week}\n")
    for day in (yesterday, yesterday - timedelta(days=1)):
        for project in PROJECTS:
            assert f"{day}|{project}: consistent (" in checked.stdout
    assert checked.stdout.count(": consistent (") == 4
    assert "not archived" not in checked.stdout  # the 5 other days were never archived
