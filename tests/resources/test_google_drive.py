"""GoogleDriveResource: the real google-api-python-client against the local fake Drive."""

import hashlib
import json
import logging
import os
import threading
import time

import dagster as dg
import httplib2
import pydantic
import pytest
from googleapiclient.errors import HttpError

from lse_assets.core.errors import PermanentError
from resources.drive.client import build_service, load_credentials
from resources.drive.errors import Backoff, DriveIntegrityError, DriveUnavailableError
from resources.drive.resource import GoogleDriveResource
from tests.fakes.fake_drive import FakeDrive
from tests.fakes.fake_drive_auth import authorized_user_file, drive_resource, service_account_file

KIB, MIB = 1024, 1024 * 1024
PROJECT = "proj-a"
NASTY = "Team B/ünïcode's \\ 'quoted' and more"


@pytest.fixture
def fake():
    with FakeDrive() as drive:
        yield drive


@pytest.fixture
def root(fake):
    return fake.add("LSE archives", None)  # created by this app: visible under drive.file


@pytest.fixture
def user_token(tmp_path, fake):
    return authorized_user_file(tmp_path, fake)


def zip_file(tmp_path, size, name="proj-a_2025-09-13.zip", seed=0):
    path = tmp_path / name
    path.write_bytes(os.urandom(size) if seed == 0 else bytes([seed]) * size)
    return path


def project_folders(fake, root, name):
    return [f for f in fake.children(root) if f.name == name]


def test_multipart_upload_of_a_multi_megabyte_zip(tmp_path, fake, root, user_token):
    local = zip_file(tmp_path, 3 * MIB)
    result = drive_resource(fake, user_token, root).upsert(PROJECT, local)

    uploads = fake.requests("/upload/")
    assert [(u.method, u.query["uploadType"]) for u in uploads] == [("POST", "multipart")]
    (folder,) = project_folders(fake, root, PROJECT)
    (stored,) = fake.children(folder.id)
    assert stored.content == local.read_bytes()
    assert result.action == "created"
    assert result.file.md5 == hashlib.md5(local.read_bytes()).hexdigest()
    assert result.file.size == 3 * MIB and result.file.file_id == stored.id


def test_chunked_resumable_upload_in_multiples_of_256_kib(tmp_path, fake, root, user_token):
    local = zip_file(tmp_path, 6 * MIB + 1234)
    drive = drive_resource(
        fake, user_token, root, chunk_size_bytes=MIB, resumable_threshold_bytes=MIB
    )
    result = drive.upsert(PROJECT, local)

    puts = fake.requests("/upload/", "PUT")
    assert fake.requests("/upload/", "POST")[0].query["uploadType"] == "resumable"
    assert len(puts) == 7
    assert all(put.length % (256 * KIB) == 0 for put in puts[:-1])
    assert puts[-1].length == 1234 and puts[-1].status == 200
    assert all(put.status == 308 for put in puts[:-1])
    assert result.action == "created" and result.file.size == local.stat().st_size
    (stored,) = fake.children(project_folders(fake, root, PROJECT)[0].id)
    assert stored.content == local.read_bytes()


def test_503_in_the_middle_of_a_chunk_resumes_where_the_server_stopped(
    tmp_path, fake, root, user_token
):
    local = zip_file(tmp_path, 3 * MIB)
    fake.fail("PUT", "/upload/", 503, keep_bytes=300_000)
    drive = drive_resource(
        fake, user_token, root, chunk_size_bytes=MIB, resumable_threshold_bytes=MIB
    )
    result = drive.upsert(PROJECT, local)

    puts = fake.requests("/upload/", "PUT")
    assert puts[0].status == 503
    assert puts[1].content_range == f"bytes */{3 * MIB}"  # "how far did you get?"
    assert puts[2].content_range.startswith("bytes 300000-")  # resumed, not restarted
    assert sum(put.length for put in puts) == 3 * MIB + MIB - 300_000
    assert result.file.md5 == hashlib.md5(local.read_bytes()).hexdigest()
    (stored,) = fake.children(project_folders(fake, root, PROJECT)[0].id)
    assert stored.content == local.read_bytes()


def test_connection_dropped_before_the_answer_resends_the_whole_chunk(
    tmp_path, fake, root, user_token
):
    # One attempt only: success proves the transport's re-send carried the chunk's bytes
    # (a consumed stream would send none and the server would time out).
    local = zip_file(tmp_path, 2 * MIB)
    fake.fail("PUT", "/upload/", 0, drop=True)
    drive = drive_resource(
        fake,
        user_token,
        root,
        chunk_size_bytes=MIB,
        resumable_threshold_bytes=MIB,
        max_attempts=1,
        timeout_seconds=3,
    )
    result = drive.upsert(PROJECT, local)

    puts = fake.requests("/upload/", "PUT")
    assert puts[0].status == -1 and puts[1].length == MIB
    assert result.file.size == 2 * MIB


def test_an_upload_session_drive_forgot_starts_over(tmp_path, fake, root, user_token):
    local = zip_file(tmp_path, 2 * MIB)
    fake.fail("PUT", "/upload/", 404, "notFound")
    drive = drive_resource(
        fake, user_token, root, chunk_size_bytes=MIB, resumable_threshold_bytes=MIB
    )
    result = drive.upsert(PROJECT, local)

    starts = [r for r in fake.requests("/upload/", "POST") if r.query["uploadType"] == "resumable"]
    assert len(starts) == 2
    assert result.file.md5 == hashlib.md5(local.read_bytes()).hexdigest()


def test_401_that_a_token_refresh_does_not_cure_fails_without_backoff(
    tmp_path, fake, root, user_token
):
    fake.fail("GET", "/drive/v3/files", 401, "authError", times=10)
    with pytest.raises(PermanentError) as failure:
        drive_resource(fake, user_token, root).upsert(PROJECT, zip_file(tmp_path, 100))
    assert "rejected the credentials" in failure.value.description
    # google_auth_httplib2 refreshes the token and repeats a 401 twice; our backoff
    # (8 attempts here) adds nothing to that
    assert len(fake.requests("/drive/v3/files")) == 3
    assert len(fake.token_requests) == 3


def test_429_and_rate_limit_403_are_retried(tmp_path, fake, root, user_token):
    fake.fail("GET", "/drive/v3/files", 429, "rateLimitExceeded", times=2)
    fake.fail("POST", "/upload/", 403, "userRateLimitExceeded")
    result = drive_resource(fake, user_token, root).upsert(PROJECT, zip_file(tmp_path, 1000))

    statuses = [entry.status for entry in fake.log if entry.path != "/token"]
    assert statuses.count(429) == 2 and statuses.count(403) == 1
    assert result.action == "created"


def test_backoff_waits_at_least_what_retry_after_asks():
    sleeps = []
    answers = iter([429, 200])

    def call():
        status = next(answers)
        if status != 200:
            response = httplib2.Response({"status": status, "retry-after": "7"})
            raise HttpError(response, b'{"error": {"message": "slow down"}}')
        return "done"

    backoff = Backoff(attempts=3, initial_seconds=0.01, max_seconds=0.05, sleep=sleeps.append)
    assert backoff.call("a test", logging.getLogger("test"), call) == "done"
    assert len(sleeps) == 1 and sleeps[0] >= 7


def test_5xx_that_never_ends_gives_up_after_the_configured_attempts(
    tmp_path, fake, root, user_token
):
    fake.fail("GET", "/drive/v3/files", 503, times=100)
    drive = drive_resource(fake, user_token, root, max_attempts=3)
    with pytest.raises(DriveUnavailableError, match="still failed after 3 attempts"):
        drive.upsert(PROJECT, zip_file(tmp_path, 1000))
    assert len(fake.requests("/drive/v3/files")) == 3


def test_service_account_without_shared_drive_gets_quota_explanation_without_retries(
    tmp_path, fake
):
    shared_with_sa = fake.add("made in the web UI", None, app_created=False)
    key = service_account_file(tmp_path, fake)
    drive = drive_resource(fake, key, shared_with_sa, scope="drive")

    with pytest.raises(PermanentError) as failure:
        drive.upsert(PROJECT, zip_file(tmp_path, 1000))

    message = failure.value.description
    assert "storageQuotaExceeded" in message
    assert "shared drive" in message and "LSE_DRIVE_SUBJECT" in message and "OAuth" in message
    assert "lse@proj.iam.gserviceaccount.com" in message
    assert len(fake.requests("/upload/")) == 1
    assert failure.value.retryable is False


def test_impersonating_a_user_stores_in_my_drive(tmp_path, fake):
    folder = fake.add("made in the web UI", None, app_created=False)
    key = service_account_file(tmp_path, fake)
    drive = drive_resource(fake, key, folder, scope="drive", subject="alice@example.com")

    assert drive.upsert(PROJECT, zip_file(tmp_path, 1000)).action == "created"
    (grant,) = fake.token_requests
    assert grant["claims"]["sub"] == "alice@example.com"
    assert grant["claims"]["scope"] == "https://www.googleapis.com/auth/drive"


def test_service_account_writes_into_a_shared_drive_folder(tmp_path, fake):
    shared = fake.add_shared_drive("Team archive")
    folder = fake.add("LSE", shared, app_created=False)
    key = service_account_file(tmp_path, fake)
    drive = drive_resource(fake, key, folder, scope="drive")
    local = zip_file(tmp_path, 1000)

    assert drive.upsert(PROJECT, local).action == "created"
    assert drive.upsert(PROJECT, local).action == "unchanged"
    lists = fake.requests("/drive/v3/files", "GET")
    assert all(entry.query.get("supportsAllDrives") == "true" for entry in fake.log[1:])
    assert {e.query.get("corpora") for e in lists if "q" in e.query} == {"drive"}

    # The same folder is invisible to a client that does not pass supportsAllDrives.
    credentials, _ = load_credentials(key, "drive", None)
    naive = build_service(credentials, fake.url, 10).files()
    with pytest.raises(HttpError) as missing:
        naive.get(fileId=folder, fields="id").execute()
    assert missing.value.status_code == 404
    listed = naive.list(q=f"'{folder}' in parents", fields="files(id)").execute()
    assert listed["files"] == []


def test_root_folder_made_in_the_web_ui_is_404_under_drive_file_with_guidance(
    tmp_path, fake, user_token
):
    folder = fake.add("made in the web UI", None, app_created=False)

    with pytest.raises(PermanentError) as failure:
        drive_resource(fake, user_token, folder).upsert(PROJECT, zip_file(tmp_path, 100))
    assert f"LSE_DRIVE_FOLDER_ID={folder}" in failure.value.description
    # The whole hint, word for word: it is what tells the user which scope to set.
    assert failure.value.description.endswith(
        " With LSE_DRIVE_SCOPE=drive.file (the default) only files and folders this app "
        "created are visible; a folder made in the Drive web UI needs LSE_DRIVE_SCOPE=drive."
    )

    result = drive_resource(fake, user_token, folder, scope="drive").upsert(
        PROJECT, zip_file(tmp_path, 100)
    )
    assert result.action == "created"


def test_permission_denied_fails_at_once(tmp_path, fake, root, user_token):
    fake.fail("GET", "/drive/v3/files", 403, "insufficientFilePermissions")
    with pytest.raises(PermanentError) as failure:
        drive_resource(fake, user_token, root).upsert(PROJECT, zip_file(tmp_path, 100))
    assert "403 insufficientFilePermissions" in failure.value.description
    assert "Editor" in failure.value.description
    assert len(fake.requests("/drive/v3/files")) == 1


def test_oauth_token_file_is_refreshed_headless_and_left_untouched(tmp_path, fake, root):
    token = authorized_user_file(tmp_path, fake)
    before = token.read_bytes()

    drive_resource(fake, token, root).upsert(PROJECT, zip_file(tmp_path, 100))

    assert [r["grant_type"] for r in fake.token_requests] == ["refresh_token"]
    assert all(entry.status != 401 for entry in fake.log)  # the expired token is never sent
    assert fake.token_requests[0]["scope"] == "https://www.googleapis.com/auth/drive.file"
    assert token.read_bytes() == before


def test_revoked_refresh_token_says_how_to_fix(tmp_path, fake, root):
    token = authorized_user_file(tmp_path, fake, refresh_token="revoked")
    with pytest.raises(PermanentError) as failure:
        drive_resource(fake, token, root).upsert(PROJECT, zip_file(tmp_path, 100))
    assert "could not obtain an access token" in failure.value.description
    assert "create a new authorized-user file" in failure.value.description
    assert "revoked" not in json.dumps(fake.log[0].query)
    assert len(fake.token_requests) == 1


def test_missing_credentials_setting_is_a_clear_failure(tmp_path, fake, root):
    drive = GoogleDriveResource(folder_id=root, root_url=fake.url)
    with pytest.raises(PermanentError, match="GOOGLE_APPLICATION_CREDENTIALS is not"):
        drive.upsert(PROJECT, zip_file(tmp_path, 100))


def test_unchanged_upsert_makes_no_write_request(tmp_path, fake, root, user_token):
    local = zip_file(tmp_path, 2 * MIB)
    drive = drive_resource(fake, user_token, root)
    drive.upsert(PROJECT, local)
    writes_before = len(fake.writes())

    again = drive_resource(fake, user_token, root).upsert(PROJECT, local)

    assert again.action == "unchanged"
    assert len(fake.writes()) == writes_before


def test_changed_zip_updates_the_same_file_in_place(tmp_path, fake, root, user_token):
    drive = drive_resource(fake, user_token, root)
    first = drive.upsert(PROJECT, zip_file(tmp_path, 5000, seed=1))
    second = drive.upsert(PROJECT, zip_file(tmp_path, 6000, seed=2))

    assert (first.action, second.action) == ("created", "updated")
    assert second.file.file_id == first.file.file_id
    assert second.file.size == 6000
    assert len(fake.children(project_folders(fake, root, PROJECT)[0].id)) == 1


def test_two_files_with_the_same_name_the_oldest_is_the_archive(tmp_path, fake, root, user_token):
    folder = fake.add(PROJECT, root)
    name = "proj-a_2025-09-13.zip"
    oldest = fake.add(name, folder, b"A" * 100)
    newer = fake.add(name, folder, b"B" * 100)
    drive = drive_resource(fake, user_token, root)

    same = drive.upsert(PROJECT, zip_file(tmp_path, 100, name, seed=ord("A")))
    changed = drive.upsert(PROJECT, zip_file(tmp_path, 200, name, seed=ord("C")))

    assert (same.action, same.file.file_id, same.duplicates) == ("unchanged", oldest, (newer,))
    assert (changed.action, changed.file.file_id) == ("updated", oldest)
    assert fake.files[newer].content == b"B" * 100  # someone else's copy is left alone
    assert drive.find(PROJECT, name).file_id == oldest


def test_listing_reads_every_page(tmp_path, fake, root, user_token):
    folder = fake.add(PROJECT, root)
    for n in range(150):
        fake.add(f"other_{n:03d}.zip", folder, b"x")
    drive = drive_resource(fake, user_token, root)

    names = [archive.name for archive in drive.list_archives(PROJECT)]

    assert names == sorted(f"other_{n:03d}.zip" for n in range(150))
    pages = [
        e for e in fake.requests("/drive/v3/files", "GET") if "in parents" in e.query.get("q", "")
    ]
    assert [page.query.get("pageToken") for page in pages[-2:]] == [None, "100"]


def test_project_name_with_quotes_backslash_and_slash(tmp_path, fake, root, user_token):
    local = zip_file(tmp_path, 100, "team_2025-09-13.zip")
    first = drive_resource(fake, user_token, root).upsert(NASTY, local)
    second = drive_resource(fake, user_token, root).upsert(NASTY, local)

    (folder,) = project_folders(fake, root, NASTY)
    assert folder.name == NASTY
    assert (first.action, second.action) == ("created", "unchanged")
    assert drive_resource(fake, user_token, root).find(NASTY, local.name).file_id == (
        first.file.file_id
    )


def test_find_and_list_never_create_a_folder(tmp_path, fake, root, user_token):
    drive = drive_resource(fake, user_token, root)
    assert drive.find("nobody", "x.zip") is None
    assert drive.list_archives("nobody") == []
    assert fake.writes() == []


def test_two_racing_runs_end_with_one_folder_and_one_file(tmp_path, fake, root, user_token):
    local = zip_file(tmp_path, 1000)
    fake.hold("folders")
    fake.hold("files")
    results, errors = [], []

    def run():
        try:
            results.append(drive_resource(fake, user_token, root).upsert(PROJECT, local))
        except Exception as error:  # surfaced by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    (folder,) = project_folders(fake, root, PROJECT)
    # When both runs created the folder, the duplicate went to the trash; when the threads
    # happened not to overlap (a slow start, seen in about one full run of four), there is
    # no duplicate. Either way exactly one folder is left, and at most one in the trash.
    assert len([f for f in fake.children(root, trashed=True) if f.name == PROJECT]) <= 1
    (kept,) = fake.children(folder.id)
    assert {result.file.file_id for result in results} == {kept.id}
    assert kept.content == local.read_bytes()


def test_corrupted_upload_is_detected(tmp_path, fake, root, user_token):
    fake.corrupt_md5 = True
    with pytest.raises(DriveIntegrityError, match="corrupted in transit"):
        drive_resource(fake, user_token, root).upsert(PROJECT, zip_file(tmp_path, 1000))


def test_download_resumes_after_a_failed_range(tmp_path, fake, root, user_token):
    local = zip_file(tmp_path, 3 * MIB)
    drive = drive_resource(fake, user_token, root, chunk_size_bytes=MIB)
    drive.upsert(PROJECT, local)
    fake.fail("GET", "/drive/v3/files/", 503)

    target = tmp_path / "downloaded.zip"
    remote = drive.download(PROJECT, local.name, target)

    assert target.read_bytes() == local.read_bytes()
    assert remote.md5 == hashlib.md5(local.read_bytes()).hexdigest()


def test_folder_url_is_accepted_and_chunk_size_is_validated():
    url = "https://drive.google.com/drive/folders/1AbC_d-E?usp=sharing"
    assert GoogleDriveResource(folder_id=url).folder_id == "1AbC_d-E"
    with pytest.raises(pydantic.ValidationError, match="multiple of 262144"):
        GoogleDriveResource(folder_id="x", chunk_size_bytes=1000 * KIB)


def _racing_file(fake, content):
    """The fake's `before_create` hook: a racing run's file of the same name lands just
    before ours (older, so it is the archive), once."""
    made = []

    def hook(name, parent):
        if not made:
            made.append(fake.add(name, parent, content))

    fake.before_create = hook
    return made


@pytest.mark.parametrize(
    ("theirs", "action"),
    [(b"A" * 100, "unchanged"), (b"B" * 300, "updated")],
    ids=["the same bytes", "other bytes"],
)
def test_a_file_a_racing_run_created_first_is_kept_and_ours_is_trashed(
    tmp_path, fake, root, user_token, theirs, action
):
    local = zip_file(tmp_path, 100, seed=ord("A"))
    made = _racing_file(fake, theirs)

    result = drive_resource(fake, user_token, root).upsert(PROJECT, local)

    (racing,) = made
    (folder,) = project_folders(fake, root, PROJECT)
    (kept,) = fake.children(folder.id)
    (ours,) = [f for f in fake.children(folder.id, trashed=True) if f.trashed]
    assert (result.action, result.file.file_id, kept.id) == (action, racing, racing)
    assert result.file.md5 == hashlib.md5(local.read_bytes()).hexdigest()
    assert result.file.size == 100 and kept.content == local.read_bytes()
    assert ours.id != racing and ours.name == local.name


def test_a_duplicate_that_cannot_be_trashed_is_logged_by_name_and_the_archive_kept(
    tmp_path, fake, root, user_token
):
    local = zip_file(tmp_path, 100, seed=ord("A"))
    _racing_file(fake, b"A" * 100)
    fake.fail("PATCH", "/drive/v3/files/", 403, "insufficientFilePermissions")
    logger = dg.get_dagster_logger("lse.drive")
    lines = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: lines.append(record.getMessage())
    logger.addHandler(handler)
    try:
        result = drive_resource(fake, user_token, root).upsert(PROJECT, local)
    finally:
        logger.removeHandler(handler)

    assert result.action == "unchanged"
    assert any(f"could not trash the duplicate {local.name} (" in line for line in lines), lines


def test_a_drive_slower_than_the_timeout_is_given_up_on_not_waited_for(
    tmp_path, fake, root, user_token
):
    # The listing answers after 4 s; the client's socket timeout is 0.3 s. Without the
    # timeout the call would wait and then succeed.
    fake.fail("GET", "/drive/v3/files", 0, times=2, stall_seconds=4)
    drive = drive_resource(fake, user_token, root, timeout_seconds=0.3, max_attempts=2)
    started = time.monotonic()
    with pytest.raises(DriveUnavailableError, match="still failed after 2 attempts"):
        drive.upsert(PROJECT, zip_file(tmp_path, 1000))
    assert time.monotonic() - started < 3
    assert len(fake.requests("/drive/v3/files")) == 2


def test_a_session_drive_keeps_forgetting_is_restarted_three_times_then_given_up(
    tmp_path, fake, root, user_token
):
    local = zip_file(tmp_path, 2 * MIB)
    fake.fail("PUT", "/upload/", 404, "notFound", times=4)
    drive = drive_resource(
        fake, user_token, root, chunk_size_bytes=MIB, resumable_threshold_bytes=MIB
    )
    with pytest.raises(PermanentError, match="not found during the upload of"):
        drive.upsert(PROJECT, local)
    starts = [r for r in fake.requests("/upload/", "POST") if r.query["uploadType"] == "resumable"]
    assert len(starts) == 4  # the first session and three restarts


@pytest.mark.parametrize(
    ("method", "path", "skip", "what"),
    [
        ("GET", "/drive/v3/files", 2, "finding 'proj-a_2025-09-13.zip'"),
        ("POST", "/upload/", 0, "the upload of proj-a_2025-09-13.zip"),
    ],
)
def test_a_step_that_keeps_failing_is_named_in_the_error(
    tmp_path, fake, root, user_token, method, path, skip, what
):
    fake.add(PROJECT, root)  # the project folder exists: root, folder, then the file
    fake.fail(method, path, 503, times=100, skip=skip)
    drive = drive_resource(fake, user_token, root, max_attempts=2)
    with pytest.raises(DriveUnavailableError, match=f"Google Drive: {what} still failed after 2"):
        drive.upsert(PROJECT, zip_file(tmp_path, 1000))


def test_a_created_file_the_listing_does_not_show_yet_is_still_the_archive(
    tmp_path, fake, root, user_token
):
    fake.list_new_files = False  # Drive's listing lags behind the create
    local = zip_file(tmp_path, 1000)
    result = drive_resource(fake, user_token, root).upsert(PROJECT, local)

    (folder,) = project_folders(fake, root, PROJECT)
    (stored,) = [f for f in fake.files.values() if f.parents == [folder.id]]
    assert (result.action, result.file.file_id, result.duplicates) == ("created", stored.id, ())
    assert stored.content == local.read_bytes() and not stored.trashed
