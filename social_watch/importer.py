"""Read normalized mentions from JSON Lines: the `import` command and the replay connector.

One JSON object per line. Required: ``network``, ``id``, ``text``, ``created_at`` (ISO 8601
with a zone) and ``author.handle``. Optional: ``url``, ``lang``, ``author.name``,
``author.followers``, ``conversation_id``, ``in_reply_to``, ``query``, ``repost``.
A bad line is reported with its number and reason and skipped; the rest goes in. Reading
streams line by line, so memory stays flat whatever the file size.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

import orjson

from social_watch.clock import parse_iso
from social_watch.models import Author, Mention

MAX_TEXT = 100_000
# One input line may cost at most this much: a longer line is rejected and skipped without
# being held in memory (a mention's text is at most MAX_TEXT characters, 4 bytes each).
MAX_LINE_BYTES = 1_048_576
MAX_INT = 2**63 - 1  # SQLite's INTEGER
# A due time must still fit in a datetime after the target (and business hours) are added.
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC)
# A JSON escape of a UTF-16 surrogate: a valid pair becomes one character, a lone one is
# not a character at all and SQLite (UTF-8) cannot store it.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_NETWORK = re.compile(r"[a-z0-9][a-z0-9_.-]{0,39}")


@dataclass(frozen=True)
class Rejected:
    line: int
    reason: str


@dataclass(frozen=True)
class TooLong:
    """Stands for a line longer than MAX_LINE_BYTES, which was skipped unread."""


def bounded_lines(fh: IO[bytes], limit: int = MAX_LINE_BYTES) -> Iterator[bytes | TooLong]:
    """Yield each line of ``fh``; a line over ``limit`` bytes is skipped, never held whole."""
    while True:
        line = fh.readline(limit + 1)
        if not line:
            return
        if line.endswith(b"\n") or len(line) <= limit:  # a whole line, newline aside
            yield line
            continue
        while line and not line.endswith(b"\n"):  # drop the rest of the line in chunks
            line = fh.readline(65_536)
        yield TooLong()


def _str(obj: dict[str, Any], key: str, *, required: bool = False, where: str = "") -> str | None:
    value = obj.get(key)
    if type(value) is str and (not required or value.strip()):  # the common case, first
        return value
    name = f"{where}{key}"
    if value is None:
        if required:
            raise ValueError(f"missing required field {name!r}")
        return None
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and key in ("id", "conversation_id", "in_reply_to")
    ):
        return str(value)
    if not isinstance(value, str):
        raise ValueError(f"{name!r} must be a string")
    if required and not value.strip():
        raise ValueError(f"{name!r} must not be empty")
    return value


def mention_from_dict(
    obj: Any, *, created_at: datetime | None = None, raw_json: str | None = None
) -> Mention:
    """Validate one normalized object; ValueError names the field and what is wrong.

    ``raw_json``: the JSON text ``obj`` was decoded from, if the caller has it.
    """
    if not isinstance(obj, dict):
        raise ValueError("expected a JSON object")
    network = _str(obj, "network", required=True)
    native_id = _str(obj, "id", required=True)
    text = obj.get("text")
    if not isinstance(text, str):
        raise ValueError(
            "missing required field 'text'" if text is None else "'text' must be a string"
        )
    if len(text) > MAX_TEXT:
        raise ValueError(f"'text' is longer than {MAX_TEXT} characters")
    if created_at is None:
        raw_created = _str(obj, "created_at", required=True)
        assert raw_created is not None
        try:
            created_at = parse_iso(raw_created)
        except OverflowError:  # a valid time whose UTC falls outside datetime's years
            raise ValueError(
                f"'created_at' is out of range (1970 to 9000), got {raw_created!r}"
            ) from None
        except ValueError:
            raise ValueError(
                f"'created_at' must be ISO 8601 with a time zone, got {raw_created!r}"
            ) from None
        if not EARLIEST <= created_at < LATEST:
            raise ValueError(f"'created_at' is out of range (1970 to 9000), got {raw_created!r}")
    author = obj.get("author")
    if not isinstance(author, dict):
        raise ValueError("missing required field 'author.handle'")
    handle = _str(author, "handle", required=True, where="author.")
    followers = author.get("followers")
    if followers is not None and (
        isinstance(followers, bool)
        or not isinstance(followers, int)
        or not 0 <= followers <= MAX_INT
    ):
        raise ValueError("'author.followers' must be a whole number >= 0")
    repost = obj.get("repost", False)
    if not isinstance(repost, bool):
        raise ValueError("'repost' must be true or false")
    rating = obj.get("rating")
    if rating is not None and (
        isinstance(rating, bool) or not isinstance(rating, int | float) or not 0 <= rating <= 5
    ):
        raise ValueError("'rating' must be a number of stars from 0 to 5")
    assert network is not None and native_id is not None and handle is not None
    network = network.strip().lower()
    if not _NETWORK.fullmatch(network):
        # the global id is network:id, so a ':' in the network could collide with another row
        raise ValueError("'network' must be a short name of letters, digits, '_', '-' or '.'")
    return Mention(
        network=network,
        native_id=native_id.strip(),
        text=text,
        created_at=created_at,
        author=Author(handle.strip(), _str(author, "name", where="author."), followers),
        url=_str(obj, "url"),
        lang=_str(obj, "lang"),
        conversation_id=_str(obj, "conversation_id"),
        in_reply_to=_str(obj, "in_reply_to"),
        query=_str(obj, "query"),
        is_repost=repost,
        rating=float(rating) if rating is not None else None,
        raw=obj,
        raw_json=raw_json,
    )


# An import line is parsed by orjson (~0.5 us against ~4 for json.loads, in the process
# that is the slower side of a large import); a name here so a test can compare with json.
_loads_fast = orjson.loads


def read_jsonl(lines: Iterable[str | bytes | TooLong]) -> Iterator[Mention | Rejected]:
    """Yield a Mention or a Rejected (with its 1-based line number) for each non-blank line."""
    for number, line in enumerate(lines, start=1):
        if isinstance(line, TooLong):
            yield Rejected(number, f"line is longer than {MAX_LINE_BYTES} bytes")
            continue
        if number == 1:  # a UTF-8 byte order mark is an editor's habit, not content
            line = (
                line.removeprefix(b"\xef\xbb\xbf")
                if isinstance(line, bytes)
                else line.removeprefix("\ufeff")
            )
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError:
                yield Rejected(number, "not valid UTF-8")
                continue
        if not line.strip():
            continue
        try:
            try:
                obj = _loads_fast(line)
            except orjson.JSONDecodeError:
                # orjson reads a subset of what json does (no NaN, no integers past 64
                # bits, 1,024 levels of nesting); whatever it refuses, json decides, so a
                # line is accepted or rejected (and why) exactly as with json alone
                obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Rejected(number, f"invalid JSON: {exc.msg} at column {exc.colno}")
            continue
        except RecursionError:
            yield Rejected(number, "invalid JSON: nested too deeply")
            continue
        except ValueError as exc:  # e.g. an integer longer than Python's 4,300-digit limit
            yield Rejected(number, f"invalid JSON: {exc}")
            continue
        if _SURROGATE_ESCAPE.search(line) and _has_lone_surrogate(obj):
            yield Rejected(number, "contains a lone UTF-16 surrogate escape (\\ud800-\\udfff)")
            continue
        try:
            # The line is the payload's JSON already: the store keeps it, not a re-encoding.
            yield mention_from_dict(obj, raw_json=line.strip(" \t\r\n"))
        except ValueError as exc:
            yield Rejected(number, str(exc))


def _has_lone_surrogate(obj: Any) -> bool:
    try:
        json.dumps(obj, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
