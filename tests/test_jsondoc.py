"""Canonical JSON and the NUL rule."""

import pytest

from lse_assets import jsondoc


def test_canonical_bytes_are_independent_of_key_order():
    assert jsondoc.canonical_bytes({"b": 1, "a": "é"}) == jsondoc.canonical_bytes(
        {"a": "é", "b": 1}
    )
    assert jsondoc.canonical_bytes({"a": "é"}) == '{"a":"é"}\n'.encode()


def test_nan_is_refused_with_a_clear_error():
    with pytest.raises(ValueError, match="NaN"):
        jsondoc.canonical_bytes({"score": float("nan")})


def test_nul_rule_replaces_in_keys_and_nested_values():
    raw = jsondoc.canonical_bytes({"k\x00": ["a\x00b", {"x": "\x00"}], "clean": "yes"})
    document, changed = jsondoc.database_form(raw)
    assert changed
    assert document == {"k\ufffd": ["a\ufffdb", {"x": "\ufffd"}], "clean": "yes"}


def test_clean_documents_are_untouched():
    raw = jsondoc.canonical_bytes({"text": "a literal \\u0000 is not a NUL"})
    document, changed = jsondoc.database_form(raw)
    assert not changed and document == {"text": "a literal \\u0000 is not a NUL"}
