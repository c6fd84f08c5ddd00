"""Credential files that point the real google-auth at the fake Drive's token endpoint,
and the real GoogleDriveResource configured for the fake."""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.fake_drive import FakeDrive

_KEY_PEM: list[str] = []


def _private_key_pem() -> str:
    if not _KEY_PEM:  # one RSA key per test session: generating one takes a while
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        _KEY_PEM.append(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode()
        )
    return _KEY_PEM[0]


def service_account_file(
    directory: Any, drive: FakeDrive, email: str = "lse@proj.iam.gserviceaccount.com"
):
    path = directory / "service-account.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "proj",
                "private_key_id": "k1",
                "private_key": _private_key_pem(),
                "client_email": email,
                "client_id": "1234",
                "token_uri": f"{drive.url}token",
            }
        )
    )
    return path


def authorized_user_file(directory: Any, drive: FakeDrive, refresh_token: str = "refresh-ok"):
    """A token file as google-auth writes it (no "type"), with an expired access token."""
    path = directory / "token.json"
    path.write_text(
        json.dumps(
            {
                "token": "expired-access-token",
                "refresh_token": refresh_token,
                "client_id": "client.apps.googleusercontent.com",
                "client_secret": "client-secret",
                "token_uri": f"{drive.url}token",
                "expiry": "2020-01-01T00:00:00Z",
            }
        )
    )
    return path


def drive_resource(drive: FakeDrive, credentials: Any, folder_id: str, **overrides: Any):
    """The real GoogleDriveResource pointed at `drive`, with test-sized backoff."""
    from resources.drive.resource import GoogleDriveResource

    config: dict[str, Any] = {
        "folder_id": folder_id,
        "credentials_file": str(credentials),
        "root_url": drive.url,
        "backoff_initial_seconds": 0.01,
        "backoff_max_seconds": 0.05,
        "timeout_seconds": 10,
        **overrides,
    }
    return GoogleDriveResource(**config)
