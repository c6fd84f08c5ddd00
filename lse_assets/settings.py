"""Every LSE_* environment variable, read and validated in one place.

Secrets (API keys, database URL, webhook URL) are not read here: they reach resources as
Dagster `EnvVar`s so their values never land in run config, logs or metadata. This module
only records whether they are set, to choose between the real system and its local twin.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from resources.langsmith_day import DEFAULT_PAGE_BYTES

DEFAULT_PROJECT = "default"  # LangSmith's own name for the project of untagged traces
DEFAULT_HISTORY_DAYS = 14  # LangSmith base-tier retention: older days cannot be fetched


def _default_start_date() -> date:
    return datetime.now(UTC).date() - timedelta(days=DEFAULT_HISTORY_DAYS)


class Settings(BaseSettings):
    # Empty values count as unset: docker-compose passes `VAR: ${VAR:-}` through as "".
    model_config = SettingsConfigDict(env_prefix="LSE_", extra="ignore", env_ignore_empty=True)

    projects: Annotated[list[str], NoDecode] = Field(default_factory=lambda: [DEFAULT_PROJECT])
    start_date: date = Field(default_factory=_default_start_date)
    home: Path = Path(".lse")
    data_dir: Path | None = None
    source: Literal["langsmith", "sample"] = "langsmith"
    drive_folder_id: str | None = None
    drive_root_url: str | None = None
    daily_cron: str = "0 2 * * *"
    reexport_cron: str = "0 3 * * *"
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

    @field_validator("projects", mode="before")
    @classmethod
    def _split_projects(cls, value: object) -> object:
        if isinstance(value, str):
            names = [name.strip() for name in value.split(",") if name.strip()]
            if not names:
                raise ValueError(
                    "LSE_PROJECTS is empty: give comma-separated LangSmith project names"
                )
            return names
        return value

    @field_validator("projects")
    @classmethod
    def _dagster_safe_names(cls, names: list[str]) -> list[str]:
        for name in names:
            if "|" in name:
                raise ValueError(
                    f"project {name!r} contains '|', which Dagster reserves to join partition "
                    "keys; rename the LangSmith project"
                )
        if len(set(names)) != len(names):
            raise ValueError(f"LSE_PROJECTS lists a project twice: {names}")
        return names

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
    def embedded_postgres_dir(self) -> Path:
        return self.home_dir / "postgres"

    @property
    def dagster_home(self) -> Path:
        return self.home_dir / "dagster"


def secret_is_set(name: str) -> bool:
    return bool(os.environ.get(name))


@cache
def load_settings() -> Settings:
    return Settings()
