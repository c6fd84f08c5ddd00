"""A real S3 for the tests: moto's S3 served over HTTP on a free loopback port, in this process.

Production code reaches it the way it reaches AWS: a plain `s3://bucket/prefix` URL through
fsspec/s3fs, with credentials and endpoint from the standard AWS variables, which botocore
(and so aiobotocore, under s3fs) reads itself. A test changes the environment, never the
code path. The fixtures are in tests/conftest.py: `s3_emulator` (the server, one per session)
and `s3_bucket` (a fresh bucket and the variables, per test).

DuckDB reads the same objects with its httpfs extension, loaded from the
`duckdb-extension-httpfs` package: DuckDB's own extension download site is out of reach
here. The binary is the one DuckDB signs, checked by DuckDB when it loads it.
"""

from __future__ import annotations

import importlib.resources
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests
from moto.server import ThreadedMotoServer

if TYPE_CHECKING:
    import duckdb
    import pytest

# Any values do for moto; these are distinct so a test can look for them in logs or metadata.
KEY_ID = "lse-emulator-key-id"
SECRET = "lse-emulator-secret-key"
REGION = "us-east-1"

# Cleared so that a developer's own AWS setup (profile, session token, ~/.aws files) cannot
# steer the tests anywhere else.
_FOREIGN_VARIABLES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
)


@dataclass(frozen=True)
class S3Emulator:
    host: str
    port: int

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def environment(self) -> dict[str, str]:
        """The standard AWS variables that point any SDK at the emulator."""
        return {
            "AWS_ACCESS_KEY_ID": KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL_S3": self.endpoint_url,
            "AWS_ENDPOINT_URL": self.endpoint_url,
        }

    def client(self) -> Any:
        """A boto3 S3 client on the emulator, for a test to look behind the code under test
        (e.g. pending multipart uploads)."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=KEY_ID,
            aws_secret_access_key=SECRET,
            region_name=REGION,
        )

    def reset(self) -> None:
        """Forget every bucket and object (moto's own reset endpoint)."""
        requests.post(f"{self.endpoint_url}/moto-api/reset", timeout=10).raise_for_status()

    @contextmanager
    def bucket_for_test(
        self, monkeypatch: pytest.MonkeyPatch, config_dir: str
    ) -> Iterator[S3Bucket]:
        """A new empty bucket, and the environment pointing at the emulator until the end.

        `config_dir`: an empty folder standing in for ~/.aws (its config and credentials
        files do not exist, so none of the developer's are read)."""
        for name, value in self.environment().items():
            monkeypatch.setenv(name, value)
        for name in _FOREIGN_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("AWS_CONFIG_FILE", f"{config_dir}/config")
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", f"{config_dir}/credentials")
        _forget_s3_filesystems()
        bucket = S3Bucket(self, f"lse-test-{uuid.uuid4().hex[:16]}")
        self.client().create_bucket(Bucket=bucket.name)
        try:
            yield bucket
        finally:
            # fsspec keeps filesystems (and their listings) per process: none may outlive
            # the test that made it.
            _forget_s3_filesystems()
            self.reset()


@dataclass(frozen=True)
class S3Bucket:
    emulator: S3Emulator
    name: str

    @property
    def url(self) -> str:
        """`s3://<bucket>`: what a user would put in the destination setting."""
        return f"s3://{self.name}"


def _forget_s3_filesystems() -> None:
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()


@contextmanager
def running_emulator() -> Iterator[S3Emulator]:
    """moto's threaded server on 127.0.0.1 and a free port, stopped on leaving."""
    # werkzeug logs every request at INFO on stderr: kept quiet while the server runs.
    werkzeug_log = logging.getLogger("werkzeug")
    level = werkzeug_log.level
    werkzeug_log.setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield S3Emulator(host, port)
    finally:
        server.stop()
        werkzeug_log.setLevel(level)


def duckdb_connection(emulator: S3Emulator) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that reads `s3://` from the emulator: httpfs loaded from its PyPI
    package, and a secret naming the emulator (DuckDB does not read the AWS variables)."""
    import duckdb

    extension = (
        importlib.resources.files("duckdb_extension_httpfs")
        / "extensions"
        / f"v{duckdb.__version__}"
        / "httpfs.duckdb_extension"
    )
    if not extension.is_file():
        raise RuntimeError(
            f"no httpfs extension for DuckDB {duckdb.__version__} in duckdb-extension-httpfs: "
            "pin both to the same version in pyproject.toml (dev group)"
        )
    connection = duckdb.connect()
    connection.load_extension(str(extension))
    connection.execute(
        f"""CREATE SECRET lse_emulator (
            TYPE s3, KEY_ID '{KEY_ID}', SECRET '{SECRET}', REGION '{REGION}',
            ENDPOINT '{emulator.host}:{emulator.port}', URL_STYLE 'path', USE_SSL false)"""
    )
    return connection
