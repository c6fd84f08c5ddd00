"""Small rules of the resources that mutation testing found unpinned (issue 18): the server's
retry hint obeyed both ways, a refresh error retried only when Google says so, the size
wording at its boundary, the short form of a Drive error, a run's digest independent of
key order, LSE_DATA_DIR's `~` and relative paths made absolute once."""

import json
import logging
from datetime import date
from types import SimpleNamespace

import google.auth.exceptions
import httplib2
import langsmith
import pytest
from googleapiclient.errors import HttpError

from lse_assets.core.errors import PermanentError
from resources.data_dir import RunFilesResource
from resources.drive.client import DriveIdentity
from resources.drive.errors import Backoff, ErrorContext, _short
from resources.drive.errors import is_transient as drive_transient
from resources.drive.local_folder import LocalFolderDriveResource
from resources.drive.resource import GoogleDriveResource
from resources.langsmith.paging import content_digest
from resources.langsmith.resource import _mb
from resources.langsmith.retry import is_transient


def _status_error(status: int, hint: str | None) -> langsmith.APIStatusError:
    headers = {"x-should-retry": hint} if hint is not None else {}
    response = SimpleNamespace(status_code=status, headers=headers, request=None)
    return langsmith.APIStatusError("status", response=response, body=None)


@pytest.mark.parametrize(
    ("status", "hint", "transient"),
    [
        (400, "true", True),  # the server's word wins over the status
        (503, "false", False),
        (503, None, True),
        (404, None, False),
    ],
)
def test_the_servers_retry_hint_is_obeyed_both_ways(status, hint, transient):
    assert is_transient(_status_error(status, hint)) is transient


def test_a_drive_refresh_error_is_retried_only_when_google_says_it_may_be():
    assert drive_transient(google.auth.exceptions.RefreshError("busy", retryable=True))
    assert not drive_transient(google.auth.exceptions.RefreshError("revoked"))


def test_sizes_read_in_megabytes_from_one_megabyte():
    assert _mb(1_000_000) == "1.0 MB"
    assert _mb(999_999) == "1,000 KB"
    assert _mb(12_345_678) == "12.3 MB"


def _http_error(status: int, body: bytes) -> HttpError:
    return HttpError(httplib2.Response({"status": status}), body)


def test_a_drive_error_in_short_names_its_status_and_reasons():
    errors = b'{"error": {"errors": [{"reason": "rateLimitExceeded"}, {"reason": "quota"}]}}'
    assert _short(_http_error(403, errors)) == "HTTP 403 rateLimitExceeded,quota"
    assert _short(_http_error(500, b"{}")) == "HTTP 500"
    assert _short(TimeoutError()) == "TimeoutError"
    assert _short(None) == "unknown error"


def test_a_runs_digest_does_not_depend_on_key_order():
    assert content_digest({"id": "a", "name": "x"}) == content_digest({"name": "x", "id": "a"})
    assert content_digest({"id": "a", "name": "x"}) != content_digest({"id": "a", "name": "y"})
    big = {"id": "a", "n": 2**70}  # beyond orjson: the canonical form, still order-free
    assert content_digest(big) == content_digest({"n": 2**70, "id": "a"})


def test_an_unreachable_database_is_named_with_the_servers_first_line_scrubbed():
    import sqlalchemy as sa

    from resources.postgres.resource import unreachable

    url = "postgresql://lse:s3cret@db.example:5432/lse"
    said = sa.exc.OperationalError("SELECT 1", {}, Exception(f"refused for {url}\ndetail"))
    message = str(unreachable(said, url))
    assert message.startswith("cannot connect to the database of LSE_DATABASE_URL: refused for ")
    assert "s3cret" not in message and "detail" not in message
    assert message.endswith(
        ". Start that server, or fix LSE_DATABASE_URL "
        "(unset, the embedded database under LSE_HOME is used)"
    )
    silent = str(unreachable(sa.exc.OperationalError("SELECT 1", {}, Exception("")), url))
    assert ": no reason given. Start that server" in silent


def test_who_talks_to_drive_is_named_by_the_kind_of_credentials(tmp_path):
    from resources.drive.client import DriveIdentity, load_credentials
    from tests.fakes.fake_drive_auth import authorized_user_file, service_account_file

    drive = SimpleNamespace(url="http://127.0.0.1:9/")  # only the token address is read
    key = service_account_file(tmp_path, drive)
    _, identity = load_credentials(key, "drive.file", None)
    assert identity == DriveIdentity(
        "service_account", "lse@proj.iam.gserviceaccount.com", "drive.file"
    )
    _, identity = load_credentials(key, "drive", "someone@example.com")
    assert identity == DriveIdentity("impersonated_user", "someone@example.com", "drive")
    token = authorized_user_file(tmp_path, drive)
    _, identity = load_credentials(token, "drive.file", None)
    assert identity == DriveIdentity("oauth_user", str(token), "drive.file")


def test_a_drive_root_url_ends_in_exactly_one_slash():
    from resources.drive.client import discovery_document

    assert discovery_document("http://127.0.0.1:9//")["rootUrl"] == "http://127.0.0.1:9/"
    assert discovery_document("http://127.0.0.1:9")["rootUrl"] == "http://127.0.0.1:9/"
    assert discovery_document(None)["rootUrl"] == "https://www.googleapis.com/"


def test_a_webhook_that_refuses_the_connection_is_named_by_the_cause():
    import socket

    from resources.notifier import WebhookNotifier

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    notifier = WebhookNotifier(webhook_url=f"http://127.0.0.1:{port}/T0/B1/x9", attempts=1)
    # The cause's own class, not urllib's wrapper (URLError) around it.
    with pytest.raises(Exception, match=r"unavailable: ConnectionRefusedError: "):
        notifier.send({"text": "x"})


@pytest.mark.parametrize("configured", ["~/archive", "./archive", "archive/../archive"])
def test_the_data_dir_is_made_absolute_so_a_later_chdir_cannot_move_the_archive(
    configured, tmp_path, monkeypatch
):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    paths = RunFilesResource(data_dir=configured).paths("Team B/x", date(2025, 9, 13))

    monkeypatch.chdir("/")
    assert paths.data_dir == (tmp_path / "archive").resolve() and paths.data_dir.is_absolute()
    assert (paths.project, paths.day) == ("Team B/x", date(2025, 9, 13))
    assert paths.dir == paths.data_dir / paths.slug / "2025-09-13"


def _drive_refusal(status: int, reason: str) -> HttpError:
    body = json.dumps({"error": {"errors": [{"reason": reason}]}}).encode()
    return HttpError(httplib2.Response({"status": status}), body)


@pytest.mark.parametrize(
    ("status", "reason", "identity", "says"),
    [
        (
            403,
            "storageQuotaExceeded",
            DriveIdentity("service_account", "sa@p.iam.gserviceaccount.com", "drive"),
            "(2) set LSE_DRIVE_SUBJECT to a user of your Workspace domain to impersonate "
            "(domain-wide delegation);",
        ),
        (
            401,
            "authError",
            DriveIdentity("impersonated_user", "al@example.com", "drive"),
            "Google Drive rejected the credentials of user al@example.com (impersonated by a "
            "service account) (401) during uploading x: the key or token is invalid, expired "
            "or revoked; create a new one",
        ),
        (
            403,
            "insufficientFilePermissions",
            DriveIdentity("oauth_user", "/k.json", "drive"),
            "Share the folder F1 with the OAuth user of /k.json as Editor (Content manager on "
            "a shared drive).",
        ),
    ],
)
def test_drive_refusals_say_what_to_do_word_for_word(status, reason, identity, says):
    error = ErrorContext(identity, "F1").translate(_drive_refusal(status, reason), "uploading x", 3)
    assert says in str(error), str(error)


def test_an_error_drive_did_not_send_passes_through_unchanged():
    error = ValueError("a bug of ours, not Drive's")
    context = ErrorContext(DriveIdentity("oauth_user", "/k.json", "drive"), "F1")
    assert context.translate(error, "listing", 3) is error


def test_retries_log_what_failed_and_never_wait_beyond_the_cap():
    waits, lines = [], []
    log = logging.getLogger("test.backoff")
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: lines.append(record.getMessage())
    log.addHandler(handler)
    calls = iter([_drive_refusal(503, "backendError")] * 5 + [None])

    def flaky():
        error = next(calls)
        if error:
            raise error
        return "done"

    backoff = Backoff(attempts=6, initial_seconds=0.01, max_seconds=0.05, sleep=waits.append)
    try:
        assert backoff.call("listing the folder", log, flaky) == "done"
    finally:
        log.removeHandler(handler)
    # No Retry-After: the exponential wait alone, capped (jitter adds up to initial_seconds).
    assert len(waits) == 5 and all(0 < wait <= 0.06 for wait in waits), waits
    assert lines[0].startswith(
        "Google Drive: listing the folder failed (HTTP 503 backendError); attempt 1 of 6, "
        "retrying in "
    )
    assert len(lines) == 5


def test_the_local_folder_lists_its_archives_by_name(tmp_path):
    store = LocalFolderDriveResource(folder=str(tmp_path / "archive"))
    assert store.list_archives("proj-a") == []  # no folder yet
    for name in ("proj-a_2025-09-14.zip", "proj-a_2025-09-13.zip"):
        (tmp_path / name).write_bytes(name.encode())
        store.upsert("proj-a", tmp_path / name)
    listed = store.list_archives("proj-a")
    assert [remote.name for remote in listed] == ["proj-a_2025-09-13.zip", "proj-a_2025-09-14.zip"]


def test_the_missing_credentials_message_says_both_ways_out():
    with pytest.raises(PermanentError) as raised:
        GoogleDriveResource(folder_id="F1").find("proj-a", "x.zip")
    assert str(raised.value.description) == (
        "LSE_DRIVE_FOLDER_ID=F1 is set but GOOGLE_APPLICATION_CREDENTIALS is not: point it at "
        "a service-account key or an OAuth authorized-user file (or unset LSE_DRIVE_FOLDER_ID "
        "to keep archives in the local folder)"
    )


def test_a_credentials_file_of_no_known_kind_names_the_two_supported(tmp_path):
    from resources.drive.client import DriveConfigError, load_credentials

    path = tmp_path / "creds.json"
    path.write_text(json.dumps({"client_id": "x"}))  # neither a type nor a refresh token
    with pytest.raises(DriveConfigError) as raised:
        load_credentials(path, "drive.file", None)
    assert str(raised.value) == (
        f"the credentials file {path} has type None; supported are a service-account key "
        "('service_account') and an OAuth authorized-user file ('authorized_user')"
    )


def test_impersonation_with_a_user_file_says_it_needs_a_service_account_key(tmp_path):
    from resources.drive.client import DriveConfigError, load_credentials

    path = tmp_path / "token.json"
    path.write_text(json.dumps({"refresh_token": "r", "client_id": "c", "client_secret": "s"}))
    with pytest.raises(DriveConfigError) as raised:
        load_credentials(path, "drive", "al@example.com")
    assert str(raised.value) == (
        "LSE_DRIVE_SUBJECT (impersonation) needs a service-account key, but "
        f"{path} holds OAuth user credentials: unset LSE_DRIVE_SUBJECT"
    )


def test_the_local_folder_clears_and_counts_partial_copies(tmp_path):
    store = LocalFolderDriveResource(folder=str(tmp_path / "archive"))
    local = tmp_path / "proj-a_2025-09-13.zip"
    local.write_bytes(b"zip")
    store.upsert("proj-a", local)
    folder = tmp_path / "archive" / "proj-a"
    for suffix in ("1.partial", "2.partial"):  # copies a killed run left behind
        (folder / f"{local.name}.{suffix}").write_bytes(b"z")
    local.write_bytes(b"zip, changed")

    result = store.upsert("proj-a", local)

    assert (result.action, result.leftovers_cleared) == ("updated", 2)
    assert sorted(p.name for p in folder.iterdir()) == [local.name]


def test_a_storage_error_reading_a_footer_names_the_file_first(tmp_path):
    from lse_assets.core.errors import TransientError
    from resources.object_store.resource import ParquetStoreResource

    (tmp_path / "a" / "b.parquet").mkdir(parents=True)  # not a file: the read fails
    store = ParquetStoreResource(url=str(tmp_path))
    with pytest.raises(TransientError) as raised:
        store.footer("a/b.parquet")
    assert str(raised.value).startswith(f"{tmp_path}/a/b.parquet: storage error (")
