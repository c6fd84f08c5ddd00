"""Secrets never reach a message: scrub a secret URL's secret parts from an error, and
nothing else of it.

A secret URL (the alert webhook, the database URL with its password) is only ever named by
its environment variable. A library's error tends to quote a part of it: the credentials
(user:password, and with an unescaped `@` in the password, its pieces on either side), or
a path or query that bears a secret (a Slack webhook's token is its path; a token or
password in a query string). `parts` of a secret are those: the user-info, the user, the
password and its pieces (also percent-decoded), the whole path, each path segment, the
whole query, each query value, the fragment. Anything of at least MIN_PART characters among
them is replaced by REDACTED: a part of WORD_PART characters or more wherever it occurs, a
shorter one only where it stands alone, not inside a longer word of letters and digits (a
short part inside a word is a route word far more often than a secret: a webhook at
`/hook` must leave the word "webhook" of "the alert webhook failed" alone).
The scheme, the host and the port are not secret and stay visible: "connection to
10.0.0.5:5432 refused" is what an operator needs.
The shape of a secret URL is a setting's rule: lse_assets.settings checks it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from urllib.parse import unquote

REDACTED = "[redacted]"
MIN_PART = 4
WORD_PART = 8
_ALNUM = "0-9A-Za-z"


class RedactedError(RuntimeError):
    """An error whose message quoted a secret; the secret's parts are replaced."""


def parts(secret: str | None) -> list[str]:
    """Every part of `secret` that must not appear in a message, longest first."""
    if not secret:
        return []
    if "://" not in secret:  # a key or token: all of it is the secret
        return [secret] if len(secret) >= MIN_PART else []
    rest = secret.split("://", 1)[1]
    cut = min((i for i in map(rest.find, "/?#") if i >= 0), default=len(rest))
    authority, tail = rest[:cut], rest[cut:]
    found = set()
    hostport = authority.rpartition("@")[2]
    port = hostport.rpartition(":")[2] if ":" in hostport.rpartition("]")[2] else ""
    if port and not port.isdigit():  # not a port: most likely a password typed in its place
        found.add(port)
    if "@" in authority:
        userinfo = authority.rpartition("@")[0]
        user, _, password = userinfo.partition(":")
        found.update({userinfo, user, password, *password.split("@")})
        found.update(unquote(piece) for piece in (user, password))
    tail, _, fragment = tail.partition("#")
    path, _, query = tail.partition("?")
    found.update({path.strip("/"), *path.split("/"), query, fragment})
    found.update(pair.partition("=")[2] for pair in query.split("&"))
    return sorted((p for p in found if len(p) >= MIN_PART), key=len, reverse=True)


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    for secret in secrets:
        for part in parts(secret):
            if len(part) >= WORD_PART:
                text = text.replace(part, REDACTED)
            else:
                text = re.sub(_standing_alone(part), REDACTED, text)
    return text


def _standing_alone(part: str) -> str:
    """`part` where no letter or digit continues it on either side (a `\\b` that also
    holds for a part beginning or ending with a symbol, such as `p@ss`)."""
    before = f"(?<![{_ALNUM}])" if re.match(f"[{_ALNUM}]", part[0]) else ""
    after = f"(?![{_ALNUM}])" if re.match(f"[{_ALNUM}]", part[-1]) else ""
    return before + re.escape(part) + after


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def leaks(error: BaseException, secrets: Iterable[str | None]) -> bool:
    """Whether the error or any error it was raised from quotes a part of a secret."""
    secrets = list(secrets)
    return any(scrub(str(link), secrets) != str(link) for link in _chain(error))


@contextmanager
def scrubbed(what: str, *secrets: str | None) -> Iterator[None]:
    """Let errors through unchanged unless they quote a secret: those become a
    RedactedError saying `what` failed, with the secret's parts replaced and no chain
    (the original, traceback and all, would carry the secret into Dagster's records)."""
    try:
        yield
    except Exception as error:
        if not leaks(error, secrets):
            raise
        message = scrub(f"{type(error).__name__}: {error}", secrets)
        raise RedactedError(f"{what} failed: {message}") from None
