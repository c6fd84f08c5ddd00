"""Redaction hides a secret URL's secrets and nothing else: the credentials and the
secret-bearing path and query never appear in a scrubbed message, the host and port do
(an operator needs the address that refused a connection)."""

import pytest

from lse_assets.core import redaction

# (secret URL, what must vanish, what must stay)
CASES = [
    (
        "postgresql://lse:s3cr3tW0rd@db.internal.example:6543/lse",
        ["s3cr3tW0rd", "lse:s3cr3tW0rd"],
        ["db.internal.example", "6543"],
    ),
    (  # an unescaped '@' in the password: both pieces are secret, the host is not
        "postgresql://lse:s3cr3tW0rd@pa55phrase@10.1.2.3:5432/lse",
        ["s3cr3tW0rd", "pa55phrase"],
        ["10.1.2.3", "5432"],
    ),
    (  # a percent-encoded password, quoted decoded by a driver
        "postgresql://lse:p%40ssw0rdXY@10.1.2.3:5432/lse",
        ["p@ssw0rdXY", "p%40ssw0rdXY"],
        ["10.1.2.3", "5432"],
    ),
    (  # a Slack webhook: the path is the token
        "https://hooks.slack.com/services/T0001/B0001/XsEcReTtOkEn42",
        ["XsEcReTtOkEn42", "services/T0001/B0001/XsEcReTtOkEn42"],
        ["hooks.slack.com"],
    ),
    (  # a token in the query string
        "https://alerts.example.com:8443/hook?token=QuErYsEcReT99&channel=ops",
        ["QuErYsEcReT99"],
        ["alerts.example.com", "8443"],
    ),
]


def _message(url: str, secret_parts: list[str]) -> str:
    """What libraries say: the whole URL, and each secret part alone."""
    return f"failed for {url}; " + "; ".join(secret_parts)


@pytest.mark.parametrize(("url", "hidden", "shown"), CASES)
def test_secrets_vanish_and_the_address_stays(url, hidden, shown):
    text = _message(url, hidden) + " at " + " ".join(shown)

    scrubbed = redaction.scrub(text, [url])

    for secret in hidden:
        assert secret not in scrubbed, scrubbed
    for address in shown:
        assert address in scrubbed, scrubbed


def test_a_quoted_url_keeps_its_scheme_host_and_port():
    url = "postgresql://lse:s3cr3tW0rd@db.internal.example:6543/lse"

    assert redaction.scrub(f"cannot reach {url}", [url]) == (
        "cannot reach postgresql://[redacted]@db.internal.example:6543/lse"
    )


def test_a_driver_message_keeps_host_and_port():
    url = "postgresql://lse:s3cr3tW0rd@127.0.0.1:5432/lse"
    said = 'connection to server at "127.0.0.1", port 5432 failed: Connection refused'

    assert redaction.scrub(said, [url]) == said
    assert not redaction.leaks(RuntimeError(said), [url])


def test_a_short_path_segment_is_hidden_where_it_stands_alone_not_inside_a_word():
    url = "http://127.0.0.1:1/hook"
    said = f"the alert webhook failed: cannot reach {url}; hook refused; hooks and hooked stay"

    assert redaction.scrub(said, [url]) == (
        "the alert webhook failed: cannot reach http://127.0.0.1:1/[redacted]; "
        "[redacted] refused; hooks and hooked stay"
    )


def test_a_short_part_is_hidden_beside_letters_on_a_side_where_it_has_a_symbol():
    # The query value "-k3y" begins with a symbol: a letter before it does not make it
    # part of a longer word; a digit after its last character does.
    url = "https://alerts.example.com/hook?sig=-k3y"

    scrubbed = redaction.scrub("sig x-k3y, sig -k3y5", [url])

    assert scrubbed == "sig x[redacted], sig -k3y5"


def test_a_long_part_is_hidden_even_inside_a_longer_word():
    url = "https://hooks.slack.com/services/T0001/B0001/XsEcReTtOkEn42"
    quoted = "GET https%3A%2F%2Fhooks.slack.com%2Fservices%2FT0001%2FB0001%2FXsEcReTtOkEn42x"

    scrubbed = redaction.scrub(quoted, [url])

    assert "XsEcReTtOkEn42" not in scrubbed
    assert scrubbed.endswith("%2F[redacted]x")


def test_a_url_in_the_query_does_not_hide_the_webhooks_own_path():
    url = "https://hooks.example.com/services/T1/B1/XsEcReTtOkEn42?next=https://example.org/a"

    scrubbed = redaction.scrub("POST to .../XsEcReTtOkEn42 failed", [url])

    assert scrubbed == "POST to .../[redacted] failed"


def test_a_password_with_an_at_and_a_colon_keeps_a_host_without_port_visible():
    url = "postgresql://lse:ab12@cd:34ef@db.internal.example/lse"

    scrubbed = redaction.scrub(f"cannot reach {url}", [url])

    assert scrubbed == "cannot reach postgresql://[redacted]@db.internal.example/lse"


def test_a_secret_in_the_fragment_is_hidden_on_its_own():
    url = "https://alerts.example.com/hook#FrAgMeNtSeCrEt"

    assert redaction.scrub("token FrAgMeNtSeCrEt refused", [url]) == "token [redacted] refused"


def test_a_quoted_path_is_hidden_whole_whatever_its_last_character():
    url = "https://hooks.slack.com/services/T0001/B0001/tOkEnEnDsInX"

    scrubbed = redaction.scrub("POST /services/T0001/B0001/tOkEnEnDsInX failed", [url])

    assert scrubbed == "POST /[redacted] failed"


def test_a_secret_in_the_context_of_an_error_is_caught_too():
    # `raise` inside `except` without `from`: the secret sits in __context__, which a
    # traceback prints ("During handling of the above exception...").
    url = "postgresql://lse:s3cr3tW0rd@10.1.2.3:5432/lse"

    with pytest.raises(redaction.RedactedError) as raised, redaction.scrubbed("connecting", url):
        try:
            raise OSError("password s3cr3tW0rd refused")
        except OSError:
            raise RuntimeError("connection failed")  # noqa: B904 - the case under test

    assert str(raised.value) == "connecting failed: RuntimeError: connection failed"
    assert raised.value.__suppress_context__ and raised.value.__cause__ is None


def test_an_error_chain_that_loops_is_read_once():
    first, second = ValueError("a"), ValueError("b s3cr3tW0rd")
    first.__context__, second.__context__ = second, first

    assert redaction.leaks(first, ["postgresql://lse:s3cr3tW0rd@h/lse"])
    assert not redaction.leaks(first, ["postgresql://lse:0therPa55@h/lse"])
