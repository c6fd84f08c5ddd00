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
