"""Canonical JSON, the NUL rule and document equality, decided once in lse_assets.core.jsondoc."""

import json

import pytest

from lse_assets.core import jsondoc


def test_canonical_bytes_are_independent_of_key_order():
    assert jsondoc.canonical_bytes({"b": 1, "a": "é"}) == jsondoc.canonical_bytes(
        {"a": "é", "b": 1}
    )
    assert jsondoc.canonical_bytes({"a": "é"}) == '{"a":"é"}\n'.encode()


def test_nan_is_refused_with_a_clear_error():
    with pytest.raises(ValueError, match="NaN"):
        jsondoc.canonical_bytes({"score": float("nan")})


def test_the_nul_rule_replaces_nul_in_keys_and_values_and_says_so():
    raw = jsondoc.canonical_bytes({"out": ["a\x00b", {"k\x00": "\x00"}], "n": 1})
    data, normalized = jsondoc.database_bytes(raw)
    assert normalized
    assert json.loads(data) == {"out": ["a\ufffdb", {"k\ufffd": "\ufffd"}], "n": 1}


def test_files_without_nul_go_to_the_database_as_they_are():
    raw = jsondoc.canonical_bytes({"text": "a literal \\u0000 is six characters", "n": 1})
    assert b"\\\\u0000" in raw  # the bytes look like an escape, the document has no NUL
    assert jsondoc.database_bytes(raw) == (raw, False)


def test_numbers_that_jsonb_writes_back_differently_are_still_the_same_document():
    in_file = json.loads(b'{"big": 1.5e+300, "small": 1e-07, "cost": 0.30000000000000004}')
    from_jsonb = json.loads(
        b'{"big": 15' + b"0" * 299 + b', "small": 0.0000001, "cost": 0.30000000000000004}'
    )
    assert in_file != from_jsonb  # Python alone would call these different
    assert jsondoc.same_document(in_file, from_jsonb)


def test_different_documents_are_different():
    assert not jsondoc.same_document({"a": [1, 2]}, {"a": [2, 1]})
    assert not jsondoc.same_document({"a": 1.5}, {"a": 1.6})
    assert not jsondoc.same_document({"a": "x"}, {"a": "x", "b": None})
    assert not jsondoc.same_document({"a": True, "b": 1.5e300}, {"a": 1, "b": 15 * 10**299})
