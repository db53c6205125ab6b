"""Import lines are parsed by orjson, with json as the fallback: every line reads exactly
as json alone would read it (the same mentions, payloads and rejection reasons)."""

from __future__ import annotations

import json

import pytest

from social_watch import importer


def mention(**over):
    base = {
        "network": "x",
        "id": "1",
        "text": "@shop hi",
        "created_at": "2026-11-24T10:00:00Z",
        "author": {"handle": "ann"},
    }
    base.update(over)
    return base


LINES = [
    json.dumps(mention()),
    json.dumps(mention(text="příliš žluťoučký kůň 😀", lang="cs")),
    json.dumps(mention(text="příliš žluťoučký kůň 😀"), ensure_ascii=True),  # \\u escapes
    json.dumps(mention(text="pair \U0001f600"), ensure_ascii=True),  # a surrogate pair escape
    '{"network": "x", "id": "2", "text": "lone \\ud800", "created_at": "2026-11-24T10:00:00Z", "author": {"handle": "a"}}',
    '{"network": "x", "id": 3, "text": "int id", "created_at": "2026-11-24T10:00:00Z", "author": {"handle": "a", "followers": 18446744073709551616}}',
    '{"network": "x", "id": 4, "text": "huge", "created_at": "2026-11-24T10:00:00Z", "author": {"handle": "a", "followers": 1e400}}',
    '{"network": "x", "id": "5", "text": "nan", "created_at": "2026-11-24T10:00:00Z", "rating": NaN, "author": {"handle": "a"}}',
    '{"network": "x", "id": "6", "text": "dup", "text": "dup wins", "created_at": "2026-11-24T10:00:00Z", "author": {"handle": "a"}}',
    '{"network": "x", "id": "7", "text": "ctrl \x01 char", "created_at": "2026-11-24T10:00:00Z", "author": {"handle": "a"}}',
    '{"network": "x", "id": "8", "text": "rating", "created_at": "2026-11-24T10:00:00Z", "rating": 4.5, "author": {"handle": "a"}}',
    '{"network": "x", "id": "9", "text": "-0", "created_at": "2026-11-24T10:00:00Z", "author": {"handle": "a", "followers": -0}}',
    '{"network": "x", "id": "10", "text": "trailing", "created_at": "2026-11-24T10:00:00Z", "author": {"handle": "a"}} x',
    '{"network": "x", "id": "11", "text": "unterminated',
    "[" * 5000 + "]" * 5000,
    '{"network": "x", "id": "12", "text": "deep", "created_at": "2026-11-24T10:00:00Z", "author": {"handle": "a"}, "extra": '
    + "[" * 3000
    + "]" * 3000
    + "}",
    '{"network": "x", "id": "13", "text": "big float", "created_at": "2026-11-24T10:00:00Z", "author": {"handle": "a", "followers": 12.0}}',
    '{"network": "x", "id": "14", "text": "float 0.1", "created_at": "2026-11-24T10:00:00Z", "rating": 0.30000000000000004, "author": {"handle": "a"}}',
    "  ",
    "null",
    '"just a string"',
    '{"network": "x", "id": "15", "text": "tab\\tand\\u0000nul", "created_at": "2026-11-24T10:00:00Z", "author": {"handle": "a"}}',
    "1" * 5000,
]


def read(lines, loads):
    importer._loads_fast = loads
    try:
        out = []
        for item in importer.read_jsonl(lines):
            out.append((item, getattr(item, "raw", None), getattr(item, "raw_json", None)))
        return out
    finally:
        importer._loads_fast = importer.orjson.loads


@pytest.mark.parametrize("as_bytes", [False, True])
def test_every_line_reads_as_json_alone_would_read_it(as_bytes):
    lines = [(line + "\n").encode() if as_bytes else line + "\n" for line in LINES]
    fast = read(lines, importer.orjson.loads)
    plain = read(lines, json.loads)
    assert len(fast) == len(plain) > 10
    for got, want in zip(fast, plain, strict=True):
        assert got == want
        assert repr(got[1]) == repr(want[1])  # 1e400 is inf, NaN is nan, in both


def test_orjson_reads_the_common_line():
    """The fast path is taken (the fallback is not all that runs)."""
    calls = []

    def spy(text):
        calls.append(text)
        return importer.orjson.loads(text)

    (item, _raw, _json) = read([json.dumps(mention()) + "\n"], spy)[0]
    assert calls and isinstance(item, importer.Mention)
