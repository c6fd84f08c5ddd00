"""Which Drive errors are worth another attempt, how long to wait, and what to tell the user.

Transient: 5xx, 429, 403/400 `rateLimitExceeded`/`userRateLimitExceeded`, 408, dropped
connections and timeouts. They are retried with exponential backoff and jitter (tenacity),
at least as long as a `Retry-After` header asks. Everything else fails at once, with a
message that names the cause and the fix: retrying a 401, a 403 on permissions, a 404 or
a full quota only wastes time.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import google.auth.exceptions
import tenacity
from googleapiclient.errors import HttpError

from resources.drive.client import DriveIdentity

_RATE_LIMIT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}


class DriveAccessError(Exception):
    """Drive refused for a reason a retry cannot fix; the message says what to change."""


class DriveUnavailableError(Exception):
    """Drive kept failing with transient errors until the attempts ran out."""


class DriveIntegrityError(Exception):
    """The copy in Drive is not byte-for-byte the local file (md5 or size differ)."""


def error_reasons(error: HttpError) -> list[str]:
    try:
        body = json.loads(error.content.decode("utf-8"))
        return [item.get("reason", "") for item in body["error"].get("errors", [])]
    except (ValueError, KeyError, TypeError, AttributeError):
        return []


def is_transient(error: BaseException) -> bool:
    if isinstance(error, HttpError):
        status = error.status_code
        if status >= 500 or status in (408, 429):
            return True
        return status in (400, 403) and bool(_RATE_LIMIT_REASONS & set(error_reasons(error)))
    if isinstance(error, google.auth.exceptions.RefreshError):
        return bool(getattr(error, "retryable", False))
    return isinstance(error, OSError | google.auth.exceptions.TransportError)


def _retry_after_seconds(error: BaseException | None) -> float:
    if not isinstance(error, HttpError):
        return 0.0
    try:
        return max(0.0, float(error.resp.get("retry-after", 0)))
    except (TypeError, ValueError):
        return 0.0  # an HTTP date: the exponential wait applies


@dataclass(frozen=True)
class Backoff:
    attempts: int
    initial_seconds: float
    max_seconds: float
    sleep: Callable[[float], None] = time.sleep

    def retrying(self, what: str, log: logging.Logger) -> tenacity.Retrying:
        exponential = tenacity.wait_exponential_jitter(
            multiplier=self.initial_seconds, max=self.max_seconds, jitter=self.initial_seconds
        )

        def wait(state: tenacity.RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            return max(exponential(state), _retry_after_seconds(error))

        def before_sleep(state: tenacity.RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            log.warning(
                f"Google Drive: {what} failed ({_short(error)}); attempt "
                f"{state.attempt_number} of {self.attempts}, retrying in "
                f"{state.upcoming_sleep:.1f}s"
            )

        return tenacity.Retrying(
            retry=tenacity.retry_if_exception(is_transient),
            wait=wait,
            stop=tenacity.stop_after_attempt(self.attempts),
            before_sleep=before_sleep,
            sleep=self.sleep,
            reraise=True,
        )

    def call(self, what: str, log: logging.Logger, fn: Callable[[], Any]) -> Any:
        return self.retrying(what, log)(fn)


def _short(error: BaseException | None) -> str:
    if isinstance(error, HttpError):
        reasons = ",".join(r for r in error_reasons(error) if r)
        return f"HTTP {error.status_code}" + (f" {reasons}" if reasons else "")
    return type(error).__name__ if error else "unknown error"


@dataclass(frozen=True)
class ErrorContext:
    identity: DriveIdentity
    folder_id: str

    def translate(self, error: BaseException, what: str, attempts: int) -> Exception:
        """The exception a user should see for `error` raised while doing `what`."""
        if isinstance(error, google.auth.exceptions.RefreshError):
            return DriveAccessError(
                f"Google Drive: could not obtain an access token for {what} as "
                f"{self.identity.describe()} ({error}). For a service-account key: check the "
                "key is not deleted or disabled (and, with LSE_DRIVE_SUBJECT, that domain-wide "
                f"delegation grants the scope {self.identity.scope}). For an OAuth file: the "
                "refresh token was revoked or expired; create a new authorized-user file."
            )
        if is_transient(error):
            return DriveUnavailableError(
                f"Google Drive: {what} still failed after {attempts} attempts "
                f"({_short(error)}); Drive or the network is unavailable, try again later"
            )
        if not isinstance(error, HttpError):
            return error if isinstance(error, Exception) else RuntimeError(str(error))
        return DriveAccessError(self._http_message(error, what))

    def _http_message(self, error: HttpError, what: str) -> str:
        status, reasons = error.status_code, error_reasons(error)
        who = self.identity.describe()
        if "storageQuotaExceeded" in reasons:
            return (
                f"Google Drive refused {what}: storageQuotaExceeded. Service accounts have no "
                "storage quota of their own, so they cannot own files in a My Drive folder, "
                "even one shared with them. Do one of: (1) use a folder in a shared drive for "
                f"LSE_DRIVE_FOLDER_ID and add {who} to the shared drive as Content manager; "
                "(2) set LSE_DRIVE_SUBJECT to a user of your Workspace domain to impersonate "
                "(domain-wide delegation); (3) point GOOGLE_APPLICATION_CREDENTIALS at an "
                "OAuth authorized-user file. (If a user account is in use, its Drive is full.)"
            )
        if status == 401:
            return (
                f"Google Drive rejected the credentials of {who} (401) during {what}: the "
                "key or token is invalid, expired or revoked; create a new one"
            )
        scope_hint = (
            " With LSE_DRIVE_SCOPE=drive.file (the default) only files and folders this app "
            "created are visible; a folder made in the Drive web UI needs LSE_DRIVE_SCOPE=drive."
            if self.identity.scope == "drive.file"
            else ""
        )
        if status == 403:
            return (
                f"Google Drive denied {what} to {who} (403 {','.join(reasons) or 'forbidden'}). "
                f"Share the folder {self.folder_id} with {who} as Editor (Content manager on a "
                "shared drive)." + scope_hint
            )
        if status == 404:
            return (
                f"Google Drive: not found during {what} ({error.reason}). Check that "
                f"LSE_DRIVE_FOLDER_ID={self.folder_id} is right and shared with {who}." + scope_hint
            )
        return f"Google Drive answered HTTP {status} to {what}: {error.reason}"
