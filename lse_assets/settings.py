"""Every LSE_* setting, read and validated in one place, the same way for every entry point.

Order: environment variables win, then a `.env` file in the working directory (loaded
into the environment with python-dotenv, never overriding), then the defaults here.

Two profiles: `production` (the default) and `demo` (`lse --demo`, `LSE_PROFILE=demo`).
The demo profile is fixed: sample projects and source, its own home under
`$LSE_HOME/demo`, no secret used (no LangSmith key, no outside database, Drive or
webhook), and its schedules and sensors start stopped, so a demo never raises a
production alarm nor writes into production storage.

Secrets (API keys, database URL, webhook URL) are not kept here: they reach resources as
Dagster `EnvVar`s so their values never land in run config, logs or metadata. This module
records whether they are set, to choose between the real system and its local twin, and
checks the shape of the secret URLs when settings load (every command notices a bad one),
with messages that name the variable and the fix, never the value.

A setting that cannot be used raises SettingsError from `load_settings` / `load_env_file`:
one line naming the variable and the fix, which `lse` prints without a traceback.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from dotenv import dotenv_values, load_dotenv
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

# A page of runs read from LangSmith is cut at this many bytes (the resource and the
# paging code default to it; LSE_FETCH_PAGE_BYTES overrides it).
DEFAULT_PAGE_BYTES = 64 * 1024 * 1024
DEFAULT_PROJECT = "default"  # LangSmith's own name for the project of untagged traces
DEFAULT_HISTORY_DAYS = 14  # LangSmith base-tier retention: older days cannot be fetched
ENV_FILE = ".env"  # in the working directory, as Dagster's own commands read it
PROFILE_VARIABLE = "LSE_PROFILE"
DEMO = "demo"
PRODUCTION = "production"
DEMO_PROJECTS = ["demo-chatbot", "demo-rag-agent"]
ASSET_GROUP = "langsmith_archive"


PARQUET_URL_CREDENTIALS = (
    "LSE_PARQUET_URL holds credentials (user:password@): remove them and give them the way "
    "the storage SDK reads them (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile for "
    "s3://, GOOGLE_APPLICATION_CREDENTIALS for gs://)"
)


WEBHOOK_VARIABLE = "LSE_ALERT_WEBHOOK_URL"
DATABASE_VARIABLE = "LSE_DATABASE_URL"
DATABASE_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")
# Plain http:// sends the webhook's token in the clear: allowed only to this machine (a
# local relay, the tests' fake webhook), where it never crosses a network.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
_NOT_SHOWN = "(the value is not shown: it is a secret)"


class SettingsError(ValueError):
    """A setting that cannot be used; the message names the variable and the fix."""


class SecretConfigError(SettingsError):
    """A secret setting is malformed; the message names the variable, never the value."""


def _host(url: str) -> str:
    """The host of a URL, as written (an IPv6 address without its brackets); never raises."""
    authority = url.partition("://")[2].split("/", 1)[0].rpartition("@")[2]
    if authority.startswith("["):
        return authority[1:].partition("]")[0]
    return authority.partition(":")[0].lower()


def check_url(
    value: str | None, variable: str, schemes: tuple[str, ...], *, needs_path: bool = False
) -> None:
    """Refuse a malformed secret URL with a message naming `variable` and the fix only."""
    if not value:
        return
    scheme, sep, rest = value.partition("://")
    if not sep or scheme.lower() not in schemes:
        raise SecretConfigError(
            f"{variable} must start with {' or '.join(s + '://' for s in schemes)} {_NOT_SHOWN}"
        )
    authority = rest.split("/", 1)[0]
    if authority.count("@") > 1:
        raise SecretConfigError(
            f"{variable} has more than one '@' before the host: percent-encode each '@' in "
            f"the user name or password as %40 {_NOT_SHOWN}"
        )
    # A database URL may name no host (a Unix socket); a webhook needs one and a path.
    if needs_path and (not _host(value) or "/" not in rest):
        raise SecretConfigError(
            f"{variable} must be a full URL with a host and a path, like "
            f"https://hooks.slack.com/services/... {_NOT_SHOWN}"
        )


def check_webhook_url(value: str | None) -> None:
    """https:// with a host and a path; plain http:// only to a loopback host."""
    plain = bool(value) and value[:7].lower() == "http://"
    if plain and _host(value) not in LOOPBACK_HOSTS:
        raise SecretConfigError(
            f"{WEBHOOK_VARIABLE} must start with https:// (plain http:// would send its token "
            f"in the clear; it is accepted only to localhost) {_NOT_SHOWN}"
        )
    check_url(value, WEBHOOK_VARIABLE, ("http",) if plain else ("https",), needs_path=True)


def check_database_url(value: str | None) -> None:
    check_url(value, DATABASE_VARIABLE, DATABASE_SCHEMES)


def url_holds_credentials(url: str) -> bool:
    """Whether a storage URL carries a user or password (never allowed: it would be shown
    in Dagster's resource config and in messages)."""
    parts = urlsplit(url)
    return bool(parts.scheme and parts.netloc and (parts.username or parts.password))


def _default_start_date() -> date:
    return datetime.now(UTC).date() - timedelta(days=DEFAULT_HISTORY_DAYS)


def split_owners(value: object) -> object:
    """LSE_ASSET_OWNERS: comma-separated e-mail addresses or `team:NAME`."""
    if isinstance(value, str):
        value = [owner.strip() for owner in value.split(",") if owner.strip()]
    for owner in value:
        if "@" not in owner and not owner.startswith("team:"):
            raise ValueError(
                f"LSE_ASSET_OWNERS: {owner!r} is neither an e-mail address nor 'team:NAME'"
            )
    return value


def split_tags(value: object) -> object:
    """LSE_ASSET_TAGS: comma-separated KEY=VALUE pairs."""
    if not isinstance(value, str):
        return value
    tags = {}
    for pair in (part.strip() for part in value.split(",") if part.strip()):
        key, sep, tag_value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"LSE_ASSET_TAGS: {pair!r} is not KEY=VALUE (e.g. team=data)")
        tags[key.strip()] = tag_value.strip()
    return tags


def usable_parquet_url(value: str | None) -> str | None:
    """LSE_PARQUET_URL: a folder or a URL of a storage fsspec knows, never credentials."""
    if value and url_holds_credentials(value):
        raise ValueError(PARQUET_URL_CREDENTIALS)
    scheme, sep, _ = (value or "").partition("://")
    if sep:
        from fsspec.registry import known_implementations, registry  # only for a URL

        if scheme.lower() not in {*known_implementations, *registry}:
            raise ValueError(
                f"LSE_PARQUET_URL: {scheme}:// is no storage fsspec knows; give a local "
                "folder, s3://bucket/prefix or gs://bucket/prefix (docs/parquet.md)"
            )
    return value


def split_projects(value: object) -> object:
    """LSE_PROJECTS: comma-separated, stripped, blank entries skipped; no name at all refused."""
    if isinstance(value, str):
        names = [name.strip() for name in value.split(",") if name.strip()]
        if not names:
            raise ValueError("LSE_PROJECTS is empty: give comma-separated LangSmith project names")
        return names
    return value


def check_project_names(names: list[str]) -> list[str]:
    """Each project once, and none holding the separator Dagster joins partition keys with."""
    for name in names:
        if "|" in name:
            raise ValueError(
                f"project {name!r} contains '|', which Dagster reserves to join partition "
                "keys; rename the LangSmith project"
            )
    if len(set(names)) != len(names):
        raise ValueError(f"LSE_PROJECTS lists a project twice: {names}")
    return names


class Settings(BaseSettings):
    # Empty values count as unset: docker-compose passes `VAR: ${VAR:-}` through as "".
    # Errors never echo a value (a URL may carry a key); our messages name what matters.
    model_config = SettingsConfigDict(
        env_prefix="LSE_", extra="ignore", env_ignore_empty=True, hide_input_in_errors=True
    )

    profile: Literal["production", "demo"] = PRODUCTION
    projects: Annotated[list[str], NoDecode] = Field(default_factory=lambda: [DEFAULT_PROJECT])
    start_date: date = Field(default_factory=_default_start_date)
    home: Path = Path(".lse")
    data_dir: Path | None = None
    source: Literal["langsmith", "sample"] = "langsmith"
    drive_folder_id: str | None = None
    # LSE_PARQUET_URL: root of the Parquet copy, a folder or an fsspec URL (s3://, gs://)
    parquet_url: str | None = None
    drive_root_url: str | None = None
    daily_cron: str = "0 2 * * *"
    reexport_cron: str = "0 3 * * *"
    # LSE_TODAY_CRON: when today_refresh re-archives the current UTC day (hourly, off the hour)
    today_cron: str = "17 * * * *"
    reexport_days: int = Field(default=3, ge=0, le=60)
    retention_days: int = Field(default=DEFAULT_HISTORY_DAYS, ge=1)
    retention_warn_days: int = Field(default=10, ge=1)
    step_retries: int = Field(default=3, ge=0, le=10)
    step_retry_delay_seconds: int = Field(default=60, ge=0)
    # LSE_FETCH_PAGE_BYTES: byte budget of one page of LangSmith runs (sizes the requests)
    fetch_page_bytes: int = Field(default=DEFAULT_PAGE_BYTES, ge=1024)
    drive_subject: str | None = None
    drive_scope: Literal["drive.file", "drive"] = "drive.file"
    alert_warnings: bool = False  # LSE_ALERT_WARNINGS: announce WARN check failures too
    dagster_url: str | None = None  # LSE_DAGSTER_URL: base URL of the UI, for run links
    asset_owners: Annotated[list[str], NoDecode] = Field(default_factory=list)
    asset_tags: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)

    # The rules live in the module functions above (one each, testable and mutable on their
    # own); these hooks only tell pydantic where they apply.
    @field_validator("asset_owners", mode="before")
    @classmethod
    def _split_owners(cls, value: object) -> object:
        return split_owners(value)

    @field_validator("asset_tags", mode="before")
    @classmethod
    def _split_tags(cls, value: object) -> object:
        return split_tags(value)

    @field_validator("parquet_url")
    @classmethod
    def _usable_parquet_url(cls, value: str | None) -> str | None:
        return usable_parquet_url(value)

    @field_validator("projects", mode="before")
    @classmethod
    def _split_projects(cls, value: object) -> object:
        return split_projects(value)

    @field_validator("projects")
    @classmethod
    def _dagster_safe_names(cls, names: list[str]) -> list[str]:
        return check_project_names(names)

    @model_validator(mode="after")
    def _secret_urls_in_shape(self) -> Settings:
        check_secret_urls(self)
        return self

    @property
    def home_dir(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def run_files_dir(self) -> Path:
        return (self.data_dir or self.home_dir / "data").expanduser().resolve()

    @property
    def local_drive_dir(self) -> Path:
        return self.home_dir / "drive"

    @property
    def parquet_destination(self) -> str:
        """Where parquet_runs writes: LSE_PARQUET_URL, else the folder `$LSE_HOME/parquet`."""
        return self.parquet_url or str(self.home_dir / "parquet")

    @property
    def embedded_postgres_dir(self) -> Path:
        return self.home_dir / "postgres"

    @property
    def dagster_home(self) -> Path:
        """The Dagster instance folder: DAGSTER_HOME if set (production), else under home."""
        if self.profile == PRODUCTION and os.environ.get("DAGSTER_HOME"):
            return Path(os.environ["DAGSTER_HOME"]).expanduser().resolve()
        return self.home_dir / "dagster"

    @property
    def is_demo(self) -> bool:
        return self.profile == DEMO

    @property
    def automation_starts_running(self) -> bool:
        """Schedules and the retention alarm run as soon as a daemon does, except in the demo
        (the check-failure sensor always runs; in the demo it only logs)."""
        return not self.is_demo

    def secret_is_set(self, name: str) -> bool:
        """Whether a secret variable is set and used; the demo uses none."""
        return not self.is_demo and bool(os.environ.get(name))


class _DemoSettings(Settings):
    """The demo profile: only what it is built with, nothing from the environment."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        **_: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def check_secret_urls(settings: Settings) -> None:
    """The secret URLs in use are checked by shape when settings load, so every command
    notices a bad one (the resources check again where they start)."""
    if settings.secret_is_set(WEBHOOK_VARIABLE):
        check_webhook_url(os.environ[WEBHOOK_VARIABLE])
    if settings.secret_is_set(DATABASE_VARIABLE):
        check_database_url(os.environ[DATABASE_VARIABLE])


def demo_settings(home: Path) -> Settings:
    return _DemoSettings(
        profile=DEMO, projects=DEMO_PROJECTS, source="sample", home=home.expanduser() / DEMO
    )


def load_env_file() -> None:
    """Variables of ./.env that the environment does not set yet (it wins). A file no
    environment can take (not UTF-8, a NUL byte) is refused whole, naming the line's variable."""
    path = Path.cwd() / ENV_FILE
    try:
        values = dotenv_values(path)
    except UnicodeDecodeError:
        raise SettingsError(f"{path} is not UTF-8 text: save it as UTF-8") from None
    for name, value in values.items():
        if "\0" in name or "\0" in (value or ""):
            shown = name.replace("\0", "\\0")
            raise SettingsError(
                f"{path}: {shown} holds a NUL byte, which no environment variable can hold; "
                "remove it from the file"
            )
    load_dotenv(path, override=False)


def _one_line(error: ValidationError) -> str:
    """Pydantic's report as one line, each problem led by its variable's name."""
    problems = []
    for problem in error.errors(include_url=False, include_input=False):
        message = problem["msg"].removeprefix("Value error, ")
        if problem["loc"]:
            variable = f"LSE_{str(problem['loc'][0]).upper()}"
            if variable not in message:
                message = f"{variable}: {message}"
        if problem["type"] != "value_error":  # pydantic's words say what, not where to fix it
            message += " (set it in the environment or ./.env; .env.example lists each)"
        problems.append(message)
    return "; ".join(problems)


def use_profile(profile: str) -> None:
    """Select a profile for this process and the processes it starts (dagster dev, runs)."""
    os.environ[PROFILE_VARIABLE] = profile
    load_settings.cache_clear()


@cache
def load_settings() -> Settings:
    load_env_file()
    try:
        settings = Settings()
    except ValidationError as error:
        raise SettingsError(_one_line(error)) from None
    return demo_settings(settings.home) if settings.is_demo else settings
