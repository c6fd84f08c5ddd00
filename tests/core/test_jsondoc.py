"""Canonical JSON, the NUL rule and document equality, decided once in lse_assets.core.jsondoc."""

import json

import orjson
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
    assert not jsondoc.same_document({"a": True}, {"a": 1})  # Python's True == 1
    assert not jsondoc.same_document([False], [0.0])
    assert jsondoc.same_document({"a": 1, "b": [2.0]}, {"a": 1.0, "b": [2]})  # one number


def test_a_file_that_is_its_rows_canonical_encoding_is_proved_equal_without_a_parse():
    row = {"b": [1, 2.5, None, True], "a": {"é": "x\ny", "d": 1e300}, "id": "r1"}
    raw = jsondoc.canonical_bytes(row)
    assert jsondoc.is_encoding_of(raw, row)
    # Any other byte, another value or key order inside a list, is not proved equal.
    assert not jsondoc.is_encoding_of(raw.replace(b"2.5", b"2.6"), row)
    assert not jsondoc.is_encoding_of(raw[:-1], row)  # the canonical newline is part of it
    assert not jsondoc.is_encoding_of(raw, {**row, "b": [2, 1, 2.5, None, True]})


@pytest.mark.parametrize(
    "file_document, row",
    [
        ({"cost": 9.48e-05}, {"cost": 9.48e-05}),  # orjson writes 0.0000948, the file 9.48e-05
        ({"n": 2**70}, {"n": 2**70}),  # beyond orjson's integers
        ({"out": "a\x00b"}, {"out": "a\ufffdb"}),  # the NUL rule: normalized, not identical
    ],
)
def test_what_the_fast_path_cannot_prove_is_left_to_the_value_comparison(file_document, row):
    raw = jsondoc.canonical_bytes(file_document)
    assert not jsondoc.is_encoding_of(raw, row)
    document, _ = jsondoc.database_form(raw)
    assert jsondoc.same_document(document, row)


def test_an_unreadable_row_is_never_proved_equal():
    assert not jsondoc.is_encoding_of(b"{}\n", jsondoc.Unreadable("bad"))


@pytest.mark.parametrize(
    "raw, expected",
    [
        (rb'{"a":"x\u0000y"}', '{"a":"x\ufffdy"}'),  # an escape: replaced
        (rb'{"a":"x\\u0000y"}', None),  # a backslash, then the text u0000: kept
        (rb'{"a":"x\\\u0000y"}', '{"a":"x\\\\\ufffdy"}'),  # a backslash, then an escape
        (rb'{"\u0000":"\u0000\u0000\\\\u0000"}', '{"\ufffd":"\ufffd\ufffd\\\\\\\\u0000"}'),
        (rb'{"a":"no nul"}', None),
    ],
)
def test_nul_replaced_rewrites_escaped_nuls_only(raw, expected):
    replaced = jsondoc.nul_replaced(raw)
    assert replaced == (None if expected is None else expected.encode())
    if replaced is not None:  # what the text rewrite gives is what the value rule gives
        assert orjson.loads(replaced) == jsondoc.database_form(raw)[0]


@pytest.mark.parametrize(
    "file_document",
    [
        {"out": "a\x00b", "k\x00": ["\x00", {"\x00\x00": "\\u0000 is text here"}]},
        {"out": "\\\x00 \\\\\x00 é \U0001f600", "n": -(2**63), "f": 1.5},
    ],
)
def test_a_nul_file_proved_equal_by_its_rewritten_text_is_its_database_form(file_document):
    raw = jsondoc.canonical_bytes(file_document)
    row, normalized = jsondoc.database_form(raw)
    assert normalized and not jsondoc.is_encoding_of(raw, row)
    assert jsondoc.is_encoding_of(jsondoc.nul_replaced(raw), row)
    # A row that kept the text instead of the rule, or lost a character, is not proved.
    assert not jsondoc.is_encoding_of(jsondoc.nul_replaced(raw), jsondoc.parse(raw))
    assert not jsondoc.is_encoding_of(jsondoc.nul_replaced(raw), {**row, "out": "ab"})
