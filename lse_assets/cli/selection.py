"""Which partitions a command may name: the one rule every `lse` command applies.

A project must be in LSE_PROJECTS and a day inside the partitions (LSE_START_DATE up to
today, UTC); anything else is refused with the valid choices, before any work starts.
Today is a partial day: `materialize` and `verify` take it (a refresh archives the day so
far; its copies must agree all the same), while a command that needs a complete day asks
for `complete=True` and stops at yesterday: `restore` (today's zip is an hour-old snapshot
the next refresh replaces, and LangSmith still holds the whole day) and `demo`. Commands
that name no day (`import-legacy`, `forget`) are unaffected. `materialize`, `verify`,
`status`, `restore`, `import-legacy` and `lse forget` use these options or helpers, so they
all refuse the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import click

from lse_assets.core.invocation import LSE
from lse_assets.settings import DEMO_PROJECTS, Settings, load_settings

DATE = click.DateTime(formats=["%Y-%m-%d"])


def last_day(today: date | None = None) -> date:
    """The last partition: today (UTC), a partial day until it ends."""
    return today or datetime.now(UTC).date()


def last_complete_day(today: date | None = None) -> date:
    """Yesterday: the last day that has ended (UTC)."""
    return last_day(today) - timedelta(days=1)


RECENT_DAYS = 7  # what `lse verify` checks when no day is named


def recent_days(today: date | None = None) -> tuple[datetime, datetime]:
    """The last RECENT_DAYS complete days (from LSE_START_DATE at the earliest), as the
    --from and --to a user would give."""
    last = last_complete_day(today)
    first = max(load_settings().start_date, last - timedelta(days=RECENT_DAYS - 1))
    return datetime.combine(first, datetime.min.time()), datetime.combine(last, datetime.min.time())


def unknown_projects(settings: Settings, names: Iterable[str]) -> list[str]:
    return sorted(set(names) - set(settings.projects))


def project_refusal(settings: Settings, unknown: list[str]) -> str:
    what = ", ".join(repr(name) for name in unknown)
    refusal = (
        f"{what} {'is' if len(unknown) == 1 else 'are'} not in LSE_PROJECTS. Valid choices: "
        f"{', '.join(settings.projects)} (add a project to LSE_PROJECTS to archive it)."
    )
    if not settings.is_demo and set(unknown) <= set(DEMO_PROJECTS):
        refusal += f" The demo's projects live in the demo profile: {LSE} --demo COMMAND."
    return refusal


def day_refusal(
    settings: Settings, day: date, today: date | None = None, *, complete: bool = False
) -> str | None:
    """Why `day` is not a partition (with `complete`: not a complete one), naming the valid
    range; None when it is one."""
    current = last_day(today)
    first = settings.start_date
    last = current - timedelta(days=1) if complete else current
    if first <= day <= last:
        return None
    if day < first:
        why = "is before LSE_START_DATE"
    elif day > current:
        why = "has not started yet (UTC)"
    else:
        why = "has not ended yet (UTC), and this command needs a complete day"
    end = "(yesterday, the last complete UTC day)" if complete else "(today, a partial day)"
    return f"{day} {why}. Valid days: {first} (LSE_START_DATE) to {last} {end}."


def check_projects(names: Iterable[str], param_hint: str = "'--project'") -> list[str]:
    settings = load_settings()
    names = list(names)
    unknown = unknown_projects(settings, names)
    if unknown:
        raise click.BadParameter(project_refusal(settings, unknown), param_hint=param_hint)
    return names


def check_days(
    days: list[date], param_hint: str = "'--date' / '--from' / '--to'", *, complete: bool = False
) -> list[date]:
    settings = load_settings()
    for day in (days[0], days[-1]):  # the days are in order: the ends decide
        refusal = day_refusal(settings, day, complete=complete)
        if refusal:
            raise click.BadParameter(refusal, param_hint=param_hint)
    return days


def selected_days(
    day: datetime | None, first: datetime | None, last: datetime | None, *, complete: bool = False
) -> list[date]:
    """The UTC days named by --date, or by --from and --to (inclusive), all partitions (with
    `complete`: all days that have ended)."""
    if day and (first or last):
        raise click.UsageError("give either --date, or --from and --to, not both")
    if day:
        return check_days([day.date()], "'--date'", complete=complete)
    if not (first and last):
        raise click.UsageError("give --date D, or a range with --from D1 --to D2")
    if last < first:
        raise click.UsageError(f"--to {last.date()} is before --from {first.date()}")
    days = [first.date() + timedelta(days=n) for n in range((last - first).days + 1)]
    return check_days(days, "'--from' / '--to'", complete=complete)


def _known_projects(_ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value is None:
        return value
    names = value if isinstance(value, tuple) else (value,)
    check_projects(names, f"'--{param.name}'" if param.name != "projects" else "'--project'")
    return value


def project_option(*, multiple: bool, required: bool = False, help: str | None = None) -> Callable:
    """`--project`, refused unless in LSE_PROJECTS (one name, or several with `multiple`)."""
    return click.option(
        "--project",
        "projects" if multiple else "project",
        multiple=multiple,
        required=required,
        callback=_known_projects,
        help=help
        or ("Repeat for several; default all." if multiple else "A project of LSE_PROJECTS."),
    )


def day_options(command: Callable) -> Callable:
    """--date, or --from and --to; turn them into days with `selected_days`."""
    command = click.option("--to", "last", type=DATE, help="Last day of a range (inclusive).")(
        command
    )
    command = click.option("--from", "first", type=DATE, help="First day of a range.")(command)
    return click.option("--date", "day", type=DATE, help="One UTC day, YYYY-MM-DD.")(command)
