"""The options every `lse` command shares (`cli/selection.py`), in process (fast tier): the
names `--date`, `--from`, `--to`, `--project`, what each holds, the help each shows, and
each way of naming days wrongly refused with its own message.

The CLI tests start `lse` as a subprocess, which mutation testing cannot see into; these
build a command from the same decorators (issue 18)."""

from datetime import date

import click
import pytest
from click.testing import CliRunner

from lse_assets.cli.selection import day_options, project_option, selected_days
from tests.conftest import PROJECT_A

OTHER = "Team B/ünïcode's"  # the second project of the test settings


def _command(*, multiple: bool, required: bool = False, help: str | None = None):
    @click.command()
    @day_options
    @project_option(multiple=multiple, required=required, help=help)
    def command(day, first, last, **projects):
        days = selected_days(day, first, last)
        click.echo(f"{[str(d) for d in days]} {projects}")

    return command


def _invoke(command, *args):
    return CliRunner().invoke(command, list(args), catch_exceptions=False)


def test_date_names_one_day_and_one_project():
    done = _invoke(_command(multiple=False), "--date", "2025-09-13", "--project", PROJECT_A)
    assert done.exit_code == 0, done.output
    assert done.output == f"['2025-09-13'] {{'project': '{PROJECT_A}'}}\n"


def test_from_and_to_name_every_day_between_and_projects_repeat():
    done = _invoke(
        _command(multiple=True),
        *("--from", "2025-09-12", "--to", "2025-09-14", "--project", PROJECT_A, "--project", OTHER),
    )
    assert done.exit_code == 0, done.output
    assert done.output == (
        f"['2025-09-12', '2025-09-13', '2025-09-14'] {{'projects': {(PROJECT_A, OTHER)!r}}}\n"
    )


def test_no_project_is_none_or_empty_and_a_required_one_is_asked_for():
    assert _invoke(_command(multiple=False), "--date", "2025-09-13").output.endswith(
        "{'project': None}\n"
    )
    assert _invoke(_command(multiple=True), "--date", "2025-09-13").output.endswith(
        "{'projects': ()}\n"
    )
    missing = _invoke(_command(multiple=False, required=True), "--date", "2025-09-13")
    assert missing.exit_code == 2 and "Missing option '--project'" in missing.output


@pytest.mark.parametrize("multiple", [False, True])
def test_an_unknown_project_is_refused_naming_the_option(multiple):
    done = _invoke(_command(multiple=multiple), "--date", "2025-09-13", "--project", "nope")
    assert done.exit_code == 2
    assert "Invalid value for '--project': 'nope' is not in LSE_PROJECTS." in done.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--date", "2025-09-13", "--from", "2025-09-12"),
            "give either --date, or --from and --to, not both",
        ),
        (
            ("--date", "2025-09-13", "--to", "2025-09-14"),
            "give either --date, or --from and --to, not both",
        ),
        (
            (
                "--from",
                "2025-09-12",
            ),
            "give --date D, or a range with --from D1 --to D2",
        ),
        (
            (
                "--to",
                "2025-09-12",
            ),
            "give --date D, or a range with --from D1 --to D2",
        ),
        ((), "give --date D, or a range with --from D1 --to D2"),
        (
            ("--from", "2025-09-14", "--to", "2025-09-12"),
            "--to 2025-09-12 is before --from 2025-09-14",
        ),
    ],
)
def test_each_wrong_way_of_naming_days_is_refused_with_its_message(args, message):
    done = _invoke(_command(multiple=False), *args)
    assert done.exit_code == 2
    assert f"Error: {message}\n" in done.output


def test_a_day_outside_the_partitions_is_refused_naming_the_option():
    done = _invoke(_command(multiple=False), "--date", "2024-12-31")
    assert done.exit_code == 2
    assert "Invalid value for '--date': 2024-12-31 is before LSE_START_DATE." in done.output
    ranged = _invoke(_command(multiple=False), "--from", "2024-12-31", "--to", "2025-01-02")
    assert "Invalid value for '--from' / '--to': 2024-12-31 is before" in ranged.output


def test_a_date_is_year_month_day_only():
    done = _invoke(_command(multiple=False), "--date", "13.09.2025")
    assert (
        done.exit_code == 2 and "'13.09.2025' does not match the format '%Y-%m-%d'" in done.output
    )


def test_the_help_names_each_option_and_what_it_takes():
    text = " ".join(_invoke(_command(multiple=False), "--help").output.split())
    assert "--date [%Y-%m-%d] One UTC day, YYYY-MM-DD." in text
    assert "--from [%Y-%m-%d] First day of a range." in text
    assert "--to [%Y-%m-%d] Last day of a range (inclusive)." in text
    assert "--project TEXT A project of LSE_PROJECTS." in text
    several = " ".join(_invoke(_command(multiple=True), "--help").output.split())
    assert "--project TEXT Repeat for several; default all." in several
    own = " ".join(_invoke(_command(multiple=False, help="Mine."), "--help").output.split())
    assert "--project TEXT Mine." in own


def test_a_one_day_range_is_that_day():
    day = click.DateTime().convert("2025-09-13", None, None)
    assert selected_days(None, day, day) == [date(2025, 9, 13)]


def test_several_unknown_projects_are_refused_together_in_one_sentence():
    done = _invoke(
        _command(multiple=True), "--date", "2025-09-13", "--project", "nope", "--project", "nada"
    )
    assert done.exit_code == 2
    assert "'nada', 'nope' are not in LSE_PROJECTS. Valid choices: " in done.output
