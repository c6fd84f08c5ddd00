"""An authorised Drive v3 client: credentials from a key or token file, and the API root.

Credentials come from one JSON file (GOOGLE_APPLICATION_CREDENTIALS):
- a service-account key (`"type": "service_account"`), optionally impersonating a user of
  the domain (`subject`, needs domain-wide delegation for the scope), or
- an OAuth authorized-user file (`"type": "authorized_user"`, or a token file as
  google-auth writes it: `refresh_token`, `client_id`, `client_secret`). Its access token is
  refreshed with the refresh token, headless: no browser, nothing written back.

The client is built from the discovery document bundled with google-api-python-client, so
building it makes no request; `root_url` replaces the document's `rootUrl`, which moves every
URL (metadata, uploads, downloads) to a proxy or a local fake server.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import google_auth_httplib2
from google.oauth2 import credentials as oauth_credentials
from google.oauth2 import service_account
from googleapiclient.discovery import build_from_document
from googleapiclient.discovery_cache import get_static_doc
from googleapiclient.http import build_http

SCOPE_URLS = {
    "drive.file": "https://www.googleapis.com/auth/drive.file",
    "drive": "https://www.googleapis.com/auth/drive",
}


class DriveConfigError(Exception):
    """The Drive configuration cannot work as given; the message says what to change."""


@dataclass(frozen=True)
class DriveIdentity:
    """Who talks to Drive, for error messages (never a secret)."""

    kind: str  # service_account | impersonated_user | oauth_user
    account: str
    scope: str

    def describe(self) -> str:
        if self.kind == "service_account":
            return f"service account {self.account}"
        if self.kind == "impersonated_user":
            return f"user {self.account} (impersonated by a service account)"
        return f"the OAuth user of {self.account}"


def _read_info(path: Path) -> dict[str, Any]:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DriveConfigError(
            f"GOOGLE_APPLICATION_CREDENTIALS points at {path}, which does not exist"
        ) from None
    except (OSError, ValueError) as exc:
        raise DriveConfigError(
            f"cannot read the credentials file {path} as JSON ({type(exc).__name__}); "
            "GOOGLE_APPLICATION_CREDENTIALS must name a service-account key or an OAuth "
            "authorized-user file"
        ) from None
    if not isinstance(info, dict):
        raise DriveConfigError(f"the credentials file {path} does not hold a JSON object")
    return info


def load_credentials(path: Path, scope: str, subject: str | None) -> tuple[Any, DriveIdentity]:
    info = _read_info(path)
    scope_url = SCOPE_URLS[scope]
    kind = info.get("type") or ("authorized_user" if "refresh_token" in info else None)
    try:
        if kind == "service_account":
            creds = service_account.Credentials.from_service_account_info(info, scopes=[scope_url])
            if subject:
                return creds.with_subject(subject), DriveIdentity(
                    "impersonated_user", subject, scope
                )
            return creds, DriveIdentity("service_account", creds.service_account_email, scope)
        if kind == "authorized_user":
            if subject:
                raise DriveConfigError(
                    "LSE_DRIVE_SUBJECT (impersonation) needs a service-account key, but "
                    f"{path} holds OAuth user credentials: unset LSE_DRIVE_SUBJECT"
                )
            creds = oauth_credentials.Credentials.from_authorized_user_info(
                info, scopes=[scope_url]
            )
            if info.get("token_uri"):
                # google-auth ignores the file's token_uri for user credentials; honour it
                # like a service-account key does (proxies, tests). The copy loses the
                # expiry, which would send an expired access token once: keep it.
                expiry, creds = creds.expiry, creds.with_token_uri(info["token_uri"])
                creds.expiry = expiry
            return creds, DriveIdentity("oauth_user", str(path), scope)
    except ValueError as exc:
        raise DriveConfigError(
            f"the credentials file {path} is incomplete ({exc}); create a new key or "
            "authorized-user file"
        ) from None
    raise DriveConfigError(
        f"the credentials file {path} has type {info.get('type')!r}; supported are a "
        "service-account key ('service_account') and an OAuth authorized-user file "
        "('authorized_user')"
    )


def discovery_document(root_url: str | None) -> dict[str, Any]:
    document = json.loads(get_static_doc("drive", "v3"))
    if root_url:
        document["rootUrl"] = root_url.rstrip("/") + "/"
    return document


def build_service(credentials: Any, root_url: str | None, timeout_seconds: float) -> Any:
    http = build_http()  # unlike a bare httplib2.Http, it does not follow 308 (resumable uploads)
    http.timeout = timeout_seconds
    authorized = google_auth_httplib2.AuthorizedHttp(credentials, http=http)
    return build_from_document(discovery_document(root_url), http=authorized)
