"""Shared fixtures: a real embedded Postgres per test session, temporary LSE homes, runners.

The environment is fixed before any test reads the settings: nothing reads them at import
(lse_assets/settings.py is read when a command, a test or Dagster's loader asks).
"""

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from lse_assets.core import locks
from resources.postgres import embedded as embedded_postgres
from resources.postgres.resource import PostgresResource

if TYPE_CHECKING:
    from tests.fakes.s3_server import S3Bucket, S3Emulator

_SESSION_HOME = Path(tempfile.mkdtemp(prefix="lse-tests-"))
os.environ.update(
    {
        "LSE_HOME": str(_SESSION_HOME),
        "LSE_SOURCE": "sample",
        "LSE_PROJECTS": "proj-a,Team B/ünïcode's",
        "LSE_START_DATE": "2025-01-01",
        # Failures must fail now, not after Dagster's minutes-long step retries
        # (test_definitions checks the policy itself).
        "LSE_STEP_RETRIES": "0",
    }
)
# Set empty rather than removed: empty counts as unset, and a developer's ./.env (read with
# the environment winning) cannot fill them in and point the tests at real systems.
for _name in (
    "LSE_DATABASE_URL",
    "LSE_DATA_DIR",
    "LSE_DRIVE_FOLDER_ID",
    "LANGSMITH_API_KEY",
    "LSE_ALERT_WEBHOOK_URL",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "LSE_PROFILE",
):
    os.environ[_name] = ""

PROJECT_A = "proj-a"
PROJECT_B = "Team B/ünïcode's"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real Postgres (the embedded server), started once and stopped after the session."""
    data_dir = _SESSION_HOME / "postgres"
    url = embedded_postgres.embedded_url(data_dir)
    yield url
    embedded_postgres.stop(data_dir)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Tests on the real Postgres (the e2e deployment included) are the slow tier;
    # `-m "not db"` runs the fast one.
    for item in items:
        if {"postgres", "postgres_url"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # Here rather than in a fixture: the home is made at import, used or not.
    shutil.rmtree(_SESSION_HOME, ignore_errors=True)


@pytest.fixture
def postgres(postgres_url: str) -> PostgresResource:
    """The application database, empty at the start of each test."""
    resource = PostgresResource(database_url=postgres_url, embedded_dir="unused")
    with resource.engine().begin() as connection:
        connection.execute(sa.text("TRUNCATE runs"))
    return resource


@pytest.fixture(scope="session")
def s3_emulator() -> Iterator["S3Emulator"]:
    """A real S3 (moto's server, tests/fakes/s3_server.py) on a loopback port, started on first
    use and stopped after the session."""
    from tests.fakes.s3_server import running_emulator  # moto is imported only when needed

    with running_emulator() as emulator:
        yield emulator


@pytest.fixture
def s3_bucket(
    s3_emulator: "S3Emulator", monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator["S3Bucket"]:
    """A fresh bucket, and the AWS variables pointing at the emulator for this test: a plain
    `s3://` URL reaches it through fsspec/s3fs as in production. Emptied afterwards."""
    aws_home = tmp_path / "aws-home"
    aws_home.mkdir()
    with s3_emulator.bucket_for_test(monkeypatch, str(aws_home)) as bucket:
        yield bucket


@pytest.fixture(autouse=True)
def _host_local_locks() -> Iterator[None]:
    """The pure tests lock on one host (locks.FlockBackend); a test that builds the code
    location's resources (build_defs, build_resources) gets production's advisory locks for
    its own duration, as every `lse` subprocess does. Put back afterwards."""
    before = locks.installed()
    locks.install(locks.FlockBackend())
    yield
    locks.install(before)


@pytest.fixture(autouse=True)
def _dagster_loggers_as_they_were() -> Iterator[None]:
    """Dagster's own commands, run in-process by some tests, point the `dagster` loggers at
    the sys.stdout of that moment: pytest's capture, closed after the test. Put them back so
    a later test's log line is not a '--- Logging error ---' about a closed file."""
    loggers = [logging.getLogger(name) for name in ("dagster", "dagit", "dagster-webserver")]
    saved = [(log, log.handlers[:], log.level, log.propagate) for log in loggers]
    yield
    for log, handlers, level, propagate in saved:
        log.handlers[:] = handlers
        log.setLevel(level)
        log.propagate = propagate
