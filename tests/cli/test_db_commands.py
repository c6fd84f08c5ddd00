"""`lse db upgrade` and `lse db prune` against the test database."""

from datetime import date

from click.testing import CliRunner

from lse_assets.cli.main import main
from tests.fakes.dbfixtures import insert_synthetic_runs


def _lse(postgres_url, *args, stdin=None):
    return CliRunner().invoke(
        main, ["db", *args], env={"LSE_DATABASE_URL": postgres_url}, input=stdin
    )


def test_upgrade_reports_the_revision_without_the_url(postgres, postgres_url):
    result = _lse(postgres_url, "upgrade")
    assert result.exit_code == 0, result.output
    assert "revision 0002" in result.output and "LSE_DATABASE_URL" in result.output
    assert postgres_url not in result.output


def test_prune_refuses_a_day_inside_a_month(postgres, postgres_url):
    result = _lse(postgres_url, "prune", "--before", "2025-08-15")
    assert result.exit_code == 2
    assert "--before 2025-08-01" in result.output and "--before 2025-09-01" in result.output


def test_prune_lists_asks_and_drops_whole_months(postgres, postgres_url):
    days = [date(2025, 7, 4), date(2025, 8, 31), date(2025, 9, 1)]
    insert_synthetic_runs(postgres, ["proj-a"], days, per_slice=4)

    dry = _lse(postgres_url, "prune", "--before", "2025-09-01", "--dry-run")
    declined = _lse(postgres_url, "prune", "--before", "2025-09-01", stdin="n\n")
    assert postgres.execute("SELECT count(*) FROM runs") == [(12,)]
    done = _lse(postgres_url, "prune", "--before", "2025-09-01", "--yes")
    again = _lse(postgres_url, "prune", "--before", "2025-09-01", "--yes")

    assert dry.exit_code == 0 and "2025-07" in dry.output and "2025-08" in dry.output
    assert "         4 runs" in dry.output and "Dry run" in dry.output
    assert declined.exit_code == 1 and "Aborted" in declined.output
    assert done.exit_code == 0 and "runs_2025_07" in done.output and "runs_2025_08" in done.output
    assert postgres.execute("SELECT run_date, count(*) FROM runs GROUP BY 1") == [
        (date(2025, 9, 1), 4)
    ]
    assert "nothing to drop" in again.output
