"""Small rules of the resources that mutation testing found unpinned (issue 18): the server's
retry hint obeyed both ways, a refresh error retried only when Google says so, the size
wording at its boundary, the short form of a Drive error, a run's digest independent of
key order, LSE_DATA_DIR's `~` and relative paths made absolute once."""

from datetime import date
from types import SimpleNamespace

import google.auth.exceptions
import httplib2
import langsmith
import pytest
from googleapiclient.errors import HttpError

from resources.data_dir import RunFilesResource
from resources.drive.errors import _short
from resources.drive.errors import is_transient as drive_transient
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
