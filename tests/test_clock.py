"""``clock.iso``: the one text form of a time in the database."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

from social_watch.clock import iso


def test_iso_is_strftime_of_the_utc_time_to_the_second() -> None:
    rng = random.Random(16)
    start = datetime(1, 1, 1, tzinfo=UTC)
    for _ in range(20_000):
        value = start + timedelta(
            seconds=rng.randrange(9000 * 365 * 86400),
            microseconds=rng.choice([0, 999_999, rng.randrange(1_000_000)]),
        )
        assert iso(value) == value.strftime("%Y-%m-%dT%H:%M:%SZ")
        other = value.astimezone(timezone(timedelta(hours=2))) if value.year > 1 else value
        assert iso(other) == iso(value)
    assert iso(datetime(2026, 11, 24, 10, 0, 0, 500_000, tzinfo=UTC)) == "2026-11-24T10:00:00Z"
    assert iso(None) is None
