"""The syntax the fake Drive understands: `q` queries and `fields` partial responses."""

from __future__ import annotations

import re
from typing import Any


class DriveFault(Exception):
    def __init__(self, status: int, reason: str, message: str = "") -> None:
        super().__init__(message or reason)
        self.status, self.reason, self.message = status, reason, message or reason


_TOKEN = re.compile(r"\s*(?:'((?:[^'\\]|\\.)*)'|(!=|=)|([A-Za-z]+))")


def _tokens(query: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    while pos < len(query.rstrip()):
        match = _TOKEN.match(query, pos)
        if not match:
            raise DriveFault(400, "invalid", f"Invalid query: {query[pos:]!r}")
        string, operator, word = match.groups()
        if string is not None:
            tokens.append(("str", re.sub(r"\\(.)", r"\1", string)))
        elif operator:
            tokens.append(("op", operator))
        else:
            tokens.append(("word", word))
        pos = match.end()
    return tokens


def parse_query(query: str) -> list[tuple[str, str, str]]:
    """Terms (field, operator, value) of `t and t and ...`; only the forms the store sends."""
    tokens, terms, i = _tokens(query), [], 0
    while i < len(tokens):
        window = tokens[i : i + 3]
        kinds = [kind for kind, _ in window]
        if kinds == ["str", "word", "word"] and window[1][1] == "in" and window[2][1] == "parents":
            terms.append(("parents", "in", window[0][1]))
        elif (kinds == ["word", "op", "str"] and window[0][1] in ("name", "mimeType")) or (
            kinds == ["word", "op", "word"] and window[0][1] == "trashed"
        ):
            terms.append((window[0][1], window[1][1], window[2][1]))
        else:
            raise DriveFault(400, "invalid", f"Invalid query term near {window!r}")
        i += 3
        if i < len(tokens):
            if tokens[i] != ("word", "and"):
                raise DriveFault(400, "invalid", f"Invalid query: expected 'and' in {query!r}")
            i += 1
    return terms


def parse_fields(spec: str) -> dict[str, Any]:
    """`a,b(c,d)` → {"a": None, "b": {"c": None, "d": None}}."""
    result: dict[str, Any] = {}
    depth, start, parts = 0, 0, []
    for index, char in enumerate(spec):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(spec[start:index])
            start = index + 1
    parts.append(spec[start:])
    for part in (p.strip() for p in parts):
        if "(" in part:
            name, inner = part.split("(", 1)
            result[name.strip()] = parse_fields(inner[:-1])
        elif part:
            result[part] = None
    return result


_DEFAULT_FILE = {"kind": None, "id": None, "name": None, "mimeType": None}


def project(resource: dict[str, Any], spec: dict[str, Any] | None) -> dict[str, Any]:
    spec = spec or _DEFAULT_FILE
    if "*" in spec:
        return resource
    return {key: resource[key] for key in spec if key in resource}
