"""Secrets never reach a message: the one helper the resources use to check the shape of a
secret URL without echoing it, and to scrub a secret's every part from an error.

A secret URL (the alert webhook, the database URL with its password) is only ever named by
its environment variable. When it is malformed, a library's error tends to quote the part
it could not parse: the URL, its host (which, with an unescaped `@` in the password, holds
the end of the password), its path (a webhook's token). So `parts` of a secret are the
whole value, its user-info, password and host, each piece of the password around an `@`,
and every path and query segment: anything of at least MIN_PART characters among them is
replaced by REDACTED wherever it occurs. The scheme and the port are not secret.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

REDACTED = "[redacted]"
MIN_PART = 4
_SPLIT = re.compile(r"[/?#&=@:]+")


class SecretConfigError(ValueError):
    """A secret setting is malformed; the message names the variable, never the value."""


class RedactedError(RuntimeError):
    """An error whose message quoted a secret; the secret's parts are replaced."""


def parts(secret: str | None) -> list[str]:
    """Every part of `secret` that must not appear in a message, longest first."""
    if not secret:
        return []
    found = {secret}
    rest = secret.split("://", 1)[1] if "://" in secret else secret
    authority, _, path = rest.partition("/")
    if "@" in authority:
        userinfo, _, host = authority.rpartition("@")
        found.update({userinfo, host})
        user, _, password = userinfo.partition(":")
        found.update({user, password, *password.split("@")})
        # A parser that splits at the first "@" sees the password's tail in the host.
        found.update(authority.split("@", 1)[1:])
    found.update(_SPLIT.split(path))
    found.update(_SPLIT.split(rest))
    return sorted((p for p in found if len(p) >= MIN_PART), key=len, reverse=True)


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    for secret in secrets:
        for part in parts(secret):
            text = text.replace(part, REDACTED)
    return text


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


def check_url(
    value: str | None, variable: str, schemes: tuple[str, ...], *, needs_path: bool = False
) -> None:
    """Refuse a malformed secret URL with a message naming `variable` and the fix only."""
    if not value:
        return
    scheme, sep, rest = value.partition("://")
    if not sep or scheme.lower() not in schemes:
        raise SecretConfigError(
            f"{variable} must start with {' or '.join(s + '://' for s in schemes)} "
            "(the value is not shown: it is a secret)"
        )
    authority = rest.split("/", 1)[0]
    if authority.count("@") > 1:
        raise SecretConfigError(
            f"{variable} has more than one '@' before the host: percent-encode each '@' in "
            "the user name or password as %40 (the value is not shown: it is a secret)"
        )
    host = authority.rpartition("@")[2].split(":", 1)[0]
    # A database URL may name no host (a Unix socket); a webhook needs one and a path.
    if needs_path and (not host or "/" not in rest):
        raise SecretConfigError(
            f"{variable} must be a full URL with a host and a path, like "
            "https://hooks.slack.com/services/... (the value is not shown: it is a secret)"
        )
