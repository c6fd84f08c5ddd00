"""The form of a run document: its canonical bytes on disk and its form in Postgres.

Canonical JSON: UTF-8, keys sorted, no insignificant whitespace, non-ASCII kept as is,
NaN/Infinity refused (neither JSON nor JSONB has them), one trailing newline. The same
document always gives the same bytes, so the same runs always give the same zip.

The NUL rule: Postgres JSONB cannot hold U+0000 in a string. In the database (and only
there) every U+0000 in a key or a string value is replaced by U+FFFD, the Unicode
replacement character. Files keep the original; `files_match_db` applies the same rule
to the file side before comparing and reports such runs as normalized, not as different.

Depth: a document nested deeper than the parsers allow (orjson stops at 1024 levels, the
standard library at Python's recursion limit) is not readable: parse, canonical_bytes and
database_form raise TooDeepError (a ValueError, like every other unreadable input), never
RecursionError, so callers report it as an unreadable file, row or archive.
"""

from __future__ import annotations

import json
from decimal import Decimal
from itertools import pairwise
from typing import Any

import orjson

NUL = "\x00"
NUL_REPLACEMENT = "\ufffd"
# json.dumps always escapes U+0000 as this sequence, so raw bytes without it have no NUL.
_NUL_ESCAPE = b"\\u0000"


# Documents come from JSON, so they hold no cycles: skipping the cycle check makes the
# encoder about a quarter faster.
_CANONICAL = json.JSONEncoder(
    sort_keys=True,
    ensure_ascii=False,
    separators=(",", ":"),
    allow_nan=False,
    check_circular=False,
)


class TooDeepError(ValueError):
    """JSON nested deeper than the parsers allow."""


_TOO_DEEP = "JSON nested deeper than the parser allows (about 1000 levels)"


def canonical_bytes(document: Any) -> bytes:
    try:
        text = _CANONICAL.encode(document)
    except RecursionError:
        raise TooDeepError(_TOO_DEEP) from None
    except ValueError as exc:
        raise ValueError(
            f"run document is not valid JSON ({exc}); NaN and Infinity are refused"
        ) from exc
    return text.encode("utf-8") + b"\n"


def parse(raw: bytes | str) -> Any:
    """Parse JSON text: orjson (several times faster, the verify hot path), falling back to
    the standard parser for what orjson refuses (integers beyond 64 bits, lone surrogates)."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        try:
            return json.loads(raw)
        except RecursionError:
            raise TooDeepError(_TOO_DEEP) from None


def parse_as_checked(raw: bytes) -> Any:
    """parse, held to every limit the checks hold a run file to: runs_complete parses it,
    files_match_db also takes its database form (the NUL rule). A document that passes
    here passes both readers; otherwise ValueError (TooDeepError when nested too deep).
    Restore, import and the merge accept a run only through this."""
    document = parse(raw)
    if may_contain_nul(raw):
        database_form(raw)
    return document


class Unreadable:
    """A database value that could not be parsed (see parse_or_unreadable)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"Unreadable({self.reason!r})"


def parse_or_unreadable(raw: bytes | str) -> Any:
    """parse, or an Unreadable marker: for readers of many documents (a slice of `runs`)
    where one bad document must become a finding, not end the read."""
    try:
        return parse(raw)
    except ValueError as error:
        return Unreadable(str(error))


def may_contain_nul(raw: bytes) -> bool:
    return _NUL_ESCAPE in raw


def replace_nul(value: Any) -> tuple[Any, bool]:
    """Apply the NUL rule to a parsed document; return it and whether anything changed."""
    if isinstance(value, str):
        return (value.replace(NUL, NUL_REPLACEMENT), True) if NUL in value else (value, False)
    if isinstance(value, dict):
        changed = False
        out = {}
        for key, item in value.items():
            new_key, key_changed = replace_nul(key)
            new_item, item_changed = replace_nul(item)
            out[new_key] = new_item
            changed = changed or key_changed or item_changed
        return (out, True) if changed else (value, False)
    if isinstance(value, list):
        results = [replace_nul(item) for item in value]
        if any(changed for _, changed in results):
            return [item for item, _ in results], True
        return value, False
    return value, False


def database_form(raw: bytes) -> tuple[Any, bool]:
    """The document as the database must hold it, from a file's bytes."""
    document = parse(raw)
    if not may_contain_nul(raw):
        return document, False
    try:
        return replace_nul(document)
    except RecursionError:
        raise TooDeepError(_TOO_DEEP) from None


def database_bytes(raw: bytes) -> tuple[bytes, bool]:
    """The JSON text the database must receive for a file's bytes, and whether the NUL
    rule changed it. Without an escaped NUL the file's own bytes go as they are (no
    parse on the client: the server parses them once, into JSONB)."""
    if not may_contain_nul(raw):
        return raw, False
    document, normalized = database_form(raw)
    return (canonical_bytes(document), True) if normalized else (raw, False)


# orjson's encoding with sorted keys is canonical_bytes' output for nearly every document
# (not for floats below 1e-4: 1e-05 becomes 0.00001), at several times the speed.
_FAST_CANONICAL = orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE


def is_encoding_of(raw: bytes, db_document: Any) -> bool:
    """Whether the file bytes `raw` are exactly `db_document`, a document read from the
    database, as orjson writes it canonically: proof, without parsing `raw`, that
    database_form(raw) is (db_document, False). orjson reads its own output back
    unchanged, so the two are equal values; and orjson writes U+0000 as an escape, which
    a database document never holds (JSONB cannot), so the NUL rule changes nothing.
    False proves nothing (compare by value then). The fast path of files_match_db."""
    if isinstance(db_document, Unreadable):
        return False
    try:
        return orjson.dumps(db_document, option=_FAST_CANONICAL) == raw
    except orjson.JSONEncodeError:  # integers beyond 64 bits, nesting past orjson's limit
        return False


_REPLACEMENT_UTF8 = NUL_REPLACEMENT.encode()


def nul_replaced(raw: bytes) -> bytes | None:
    """The file bytes `raw` with every escaped U+0000 written as U+FFFD (the NUL rule on the
    text), or None when `raw` holds none. When the result is_encoding_of a database
    document, database_form(raw) is (that document, True), proved without a parse: the
    two texts differ only inside strings (orjson writes U+FFFD nowhere else), where one
    has U+0000 and the other U+FFFD, and every U+0000 that raw's document holds is one of
    these escapes (JSON spells U+0000 no other way). The NUL runs' fast path."""
    if _NUL_ESCAPE not in raw:
        return None
    parts = raw.split(_NUL_ESCAPE)
    out = [parts[0]]
    # split runs at C speed; a regex with a lookbehind took 30 times longer.
    for before, after in pairwise(parts):
        # After an odd run of backslashes, the one before u0000 is itself escaped: text.
        escaped = (len(before) - len(before.rstrip(b"\\"))) % 2 == 0
        out += (_REPLACEMENT_UTF8 if escaped else _NUL_ESCAPE, after)
    replaced = b"".join(out)
    return replaced if len(replaced) != len(raw) else None


def same_document(file_document: Any, db_document: Any) -> bool:
    """Equal as JSON values. JSONB keeps numbers as decimals and writes them back without
    an exponent, so 1e+300 in a file returns as a 301-digit integer; compare such numbers
    by decimal value. A boolean is never a number: Python's `True == 1` is not JSON's.
    Python's == (fast, in C) decides every other case."""
    try:
        if file_document == db_document:
            return _same_booleans(file_document, db_document)
        return _same_value(file_document, db_document)
    except RecursionError:
        raise TooDeepError(_TOO_DEEP) from None


def _same_booleans(a: Any, b: Any) -> bool:
    """For two values that Python calls equal: whether each boolean stands against the same
    boolean (== also holds for true against 1 and false against 0 or 0.0)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, dict):  # == held: b is a dict with the same keys
        return all(_same_booleans(value, b[key]) for key, value in a.items())
    if isinstance(a, list):  # == held: b is a list of the same length
        return all(map(_same_booleans, a, b))
    return True


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return _decimal(a) == _decimal(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_value(a[key], b[key]) for key in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_same_value, a, b))
    return type(a) is type(b) and a == b


def _decimal(number: int | float) -> Decimal:
    # repr() is the shortest text that reads back as the same float: what the file holds.
    return Decimal(repr(number)) if isinstance(number, float) else Decimal(number)
