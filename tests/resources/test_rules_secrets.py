"""Secrets never reach a message (docs/operations.md, "Secrets"; README): on every error path
of the resources that hold one (the LangSmith key, the Postgres password, the webhook's
token), whatever the failure, the error a user or Dagster sees quotes no part of the
secret. Host names and ports are not secrets and are not asserted either way."""

from __future__ import annotations

import socket
from datetime import date

import pytest

from lse_assets.core import redaction
from lse_assets.core.errors import LseError
from lse_assets.settings import SecretConfigError
from resources.langsmith.resource import LangSmithResource
from resources.notifier import NotifierError, WebhookNotifier
from resources.postgres.advisory_locks import AdvisoryLocks
from resources.postgres.resource import DatabaseUnreachableError, PostgresResource
from tests.fakes.fake_langsmith import INFO, RUNS_QUERY, SESSIONS, FakeLangSmith
from tests.fakes.webhook import webhook_receiver

KEY = "lsv2_pt_f00dfeedcafe_t0ps3cr3tk3y"
KEY_PARTS = [KEY, "t0ps3cr3tk3y", "f00dfeedcafe"]
PROJECT = "support-bot"
DAY = date(2025, 9, 13)


def _chain_text(error: BaseException) -> str:
    """The error, what it was raised from (as a traceback shows it: `from None` hides the
    context), and its description if it has one."""
    texts = []
    current: BaseException | None = error
    seen: set[int] = set()
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        texts += [type(current).__name__, str(current), repr(current.args)]
        texts.append(str(getattr(current, "description", "")))
        hidden = current.__suppress_context__ and current.__cause__ is None
        current = current.__cause__ or (None if hidden else current.__context__)
    return "\n".join(texts)


def _assert_no_part(parts: list[str], text: str) -> None:
    for part in parts:
        assert part not in text, f"{part!r} leaked: {text}"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---- LangSmith: the API key travels in a header; a server may echo it ---------------------------


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (SESSIONS, 400),
        (SESSIONS, 401),
        (SESSIONS, 403),
        (SESSIONS, 404),
        (SESSIONS, 422),
        (SESSIONS, 500),
        (SESSIONS, 429),
        (RUNS_QUERY, 400),
        (RUNS_QUERY, 422),
        (RUNS_QUERY, 503),
        (INFO, 418),
    ],
)
def test_a_langsmith_error_that_echoes_the_key_does_not_pass_it_on(path, status):
    fake = FakeLangSmith(api_key=KEY)
    fake.add_project(PROJECT)
    fake.fail(path, status=status, times=20, body={"detail": f"bad header x-api-key: {KEY}"})
    with fake.serve() as server:
        resource = LangSmithResource(
            api_key=KEY, endpoint=server.url, backoff_seconds=0.001, max_backoff_seconds=0.01
        )
        with pytest.raises(LseError) as raised:
            list(resource.fetch_day(PROJECT, DAY).runs)
    _assert_no_part(KEY_PARTS, _chain_text(raised.value))


def test_credentials_in_the_langsmith_endpoint_never_reach_a_message():
    fake = FakeLangSmith(api_key=KEY)  # the project does not exist: a message names the endpoint
    with fake.serve() as server:
        endpoint = server.url.replace("http://", "http://admin:Hunter2Pass@") + "?token=QueryT0ken"
        resource = LangSmithResource(
            api_key=KEY, endpoint=endpoint, backoff_seconds=0.001, max_backoff_seconds=0.01
        )
        with pytest.raises(LseError) as raised:
            list(resource.fetch_day(PROJECT, DAY).runs)
    _assert_no_part(["Hunter2Pass", "QueryT0ken", *KEY_PARTS], _chain_text(raised.value))


def test_an_unreachable_langsmith_names_the_endpoint_without_the_key():
    resource = LangSmithResource(
        api_key=KEY,
        endpoint=f"http://127.0.0.1:{_closed_port()}",
        backoff_seconds=0.001,
        max_backoff_seconds=0.01,
    )
    with pytest.raises(LseError) as raised:
        list(resource.fetch_day(PROJECT, DAY).runs)
    _assert_no_part(KEY_PARTS, _chain_text(raised.value))
    assert raised.value.retryable


# ---- Postgres: the password is in the URL ------------------------------------------------------

PASSWORD = "Pg5ecretW0rd"


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://lse:{PASSWORD}@127.0.0.1:{{port}}/lse",  # nobody listens
        f"postgresql://lse:{PASSWORD}@no-such-host.invalid:5432/lse",  # no such host
        f"postgresql+psycopg://lse:{PASSWORD}@127.0.0.1:{{port}}/lse?sslmode=require",
        f"postgresql://lse@127.0.0.1:{PASSWORD}/lse",  # the password pasted where the port goes
    ],
)
def test_a_database_that_cannot_be_reached_is_reported_without_the_password(url):
    resource = PostgresResource(database_url=url.format(port=_closed_port()), embedded_dir="x")
    # Any error type: what it says matters.
    with pytest.raises(Exception) as raised, resource.engine().connect():
        pass
    _assert_no_part([PASSWORD], _chain_text(raised.value))


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://lse:Pg5ecret@W0rd@127.0.0.1:5432/lse",  # an unescaped '@'
        "lse:Pg5ecretW0rd@127.0.0.1:5432/lse",  # no scheme
        "mysql://lse:Pg5ecretW0rd@127.0.0.1:5432/lse",  # not Postgres
    ],
)
def test_a_malformed_database_url_is_refused_naming_the_variable_only(url):
    resource = PostgresResource(database_url=url, embedded_dir="x")
    with pytest.raises(SecretConfigError) as raised:
        resource.validate()
    assert "LSE_DATABASE_URL" in str(raised.value)
    _assert_no_part(["Pg5ecret", "W0rd", "Pg5ecretW0rd"], _chain_text(raised.value))
    with pytest.raises(SecretConfigError):
        resource.engine()


def test_a_lock_session_refused_by_libpq_says_what_failed_without_the_password(tmp_path):
    # libpq quotes the bad value (here the password pasted where the port goes).
    url = f"postgresql://lse@127.0.0.1:{PASSWORD}/lse"
    with pytest.raises(redaction.RedactedError) as raised:
        AdvisoryLocks(lambda: url, tmp_path).connect("a test")
    assert str(raised.value).startswith(
        "connecting to LSE_DATABASE_URL for a lock failed: OperationalError: "
    )
    _assert_no_part([PASSWORD], _chain_text(raised.value))


def test_an_unreachable_lock_database_is_named_with_what_it_holds_without_the_password(
    tmp_path,
):
    url = f"postgresql://lse:{PASSWORD}@127.0.0.1:{_closed_port()}/lse"
    with pytest.raises(DatabaseUnreachableError) as raised:
        AdvisoryLocks(lambda: url, tmp_path).connect("a test")
    message = str(raised.value)
    assert message.startswith(
        "cannot connect to the database of LSE_DATABASE_URL, which holds the partition locks: "
    )
    assert "127.0.0.1" in message  # the host stays visible: it is what to check
    _assert_no_part([PASSWORD], _chain_text(raised.value))


# ---- the webhook: its path is the token ------------------------------------------------------

TOKEN = "XwEbH00kT0ken9"


@pytest.mark.parametrize("status", [400, 403, 404, 410, 429, 500, 503])
def test_a_webhook_answering_an_error_is_reported_without_its_token(status):
    with webhook_receiver() as receiver:
        receiver.status = status
        url = receiver.url.replace("/secret", f"/{TOKEN}")
        notifier = WebhookNotifier(webhook_url=url, attempts=1, deadline_seconds=5)
        with pytest.raises(NotifierError) as raised:
            notifier.send("hello")
    _assert_no_part([TOKEN, "T000/B000"], _chain_text(raised.value))
    assert str(status) in str(raised.value)


@pytest.mark.parametrize(
    "url",
    [
        f"http://127.0.0.1:{{port}}/services/T1/B1/{TOKEN}",  # nobody listens
        f"https://no-such-host.invalid/services/T1/B1/{TOKEN}",  # no such host
        f"https://user:{TOKEN}@127.0.0.1:{{port}}/services/T1/B1/x",  # credentials in the URL
        f"http://127.0.0.1:{{port}}/services/T1/B1/{TOKEN} x",  # urllib quotes such a path
        f"http://127.0.0.1:{{port}}/services/T1/B1/{TOKEN}\n",  # a pasted newline
    ],
)
def test_an_unreachable_webhook_is_reported_without_its_token(url):
    notifier = WebhookNotifier(
        webhook_url=url.format(port=_closed_port()), attempts=1, deadline_seconds=5
    )
    with pytest.raises(Exception) as raised:  # any error type: what it says matters
        notifier.send({"text": "hello"})
    assert isinstance(raised.value, NotifierError | redaction.RedactedError)
    _assert_no_part([TOKEN], _chain_text(raised.value))


@pytest.mark.parametrize(
    "url",
    [
        f"hooks.example.com/services/T1/B1/{TOKEN}",  # no scheme
        f"ftp://hooks.example.com/services/T1/B1/{TOKEN}",  # not a web URL
        "https://hooks.example.com",  # no path: no token at all
        f"https:///services/T1/B1/{TOKEN}",  # no host
    ],
)
def test_a_malformed_webhook_url_is_refused_naming_the_variable_only(url):
    notifier = WebhookNotifier(webhook_url=url)
    with pytest.raises(SecretConfigError) as raised:
        notifier.send("hello")
    assert "LSE_ALERT_WEBHOOK_URL" in str(raised.value)
    _assert_no_part([TOKEN], _chain_text(raised.value))


# ---- the helper every resource uses ----------------------------------------------------------


def test_scrubbed_lets_an_error_without_a_secret_through_unchanged():
    error = ValueError("nothing secret here")
    with pytest.raises(ValueError) as raised, redaction.scrubbed("x", f"https://h/{TOKEN}"):
        raise error
    assert raised.value is error


def test_scrubbed_replaces_a_secret_quoted_anywhere_in_the_chain_and_drops_the_chain():
    secret = f"postgresql://lse:{PASSWORD}@db:5432/lse"
    with pytest.raises(redaction.RedactedError) as raised, redaction.scrubbed("connecting", secret):
        try:
            raise OSError(f"password {PASSWORD} refused")
        except OSError as inner:
            raise RuntimeError("connection failed") from inner
    text = _chain_text(raised.value)
    assert str(raised.value).startswith("connecting failed: RuntimeError")
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    _assert_no_part([PASSWORD], text)
    inner_only = _chain_text(raised.value)
    assert redaction.REDACTED in inner_only or "connection failed" in inner_only


def test_every_piece_of_a_password_around_an_at_is_a_part():
    secret = "postgresql://lse:ab12@cd34ef@127.0.0.1:5432/lse"
    found = redaction.parts(secret)
    assert {"ab12", "cd34ef", "ab12@cd34ef"} <= set(found)
    assert found == sorted(found, key=len, reverse=True)  # longest first: no half-replacements
    text = redaction.scrub('host "cd34ef@127.0.0.1" refused password ab12@cd34ef', [secret])
    _assert_no_part(["ab12", "cd34ef"], text)


def test_short_pieces_are_not_parts_so_ordinary_words_survive():
    assert redaction.MIN_PART == 4
    found = redaction.parts("https://h.io/abc/abcd")
    assert "abcd" in found and "abc" not in found
    assert redaction.parts(None) == [] and redaction.parts("") == []
