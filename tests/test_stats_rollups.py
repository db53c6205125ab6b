"""Per-day rollups (migration 0008) never change a figure: cached == computed live.

A random week of mentions (threads, follow-ups, native brand replies, open, claimed,
answered, dismissed, done items) is reported with the cache (cold, then warm) and without
it; then every kind of change an item can go through is made, and the cached report must
follow it exactly: the triggers mark the changed days dirty and only those are recomputed.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

import pytest
from helpers import NOW, make_config, mention, open_db, pipeline

from social_watch import digest, queue, stats
from social_watch.clock import iso
from social_watch.models import Author, Mention
from social_watch.pipeline import business_hours
from social_watch.store import add_action

pytestmark = pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL

HOURS = {"queue": {"business_hours": {"timezone": "Europe/Prague", "days": "mon-fri"}}}
AGENTS = ("jana", "tom", "eva")
WORDS = ("parcel", "refund", "late", "love", "broken", "othershop", "size", "thanks")


def reply(db: Any, item_id: int, agent: str, when: datetime) -> None:
    """What a sent reply does to the store (the outbox's contract)."""
    with db.write():
        db.conn.execute(
            "UPDATE mentions SET first_response_at = ?, first_response_by = ? "
            "WHERE item_id = ? AND first_response_at IS NULL",
            (iso(when), agent, item_id),
        )
        db.conn.execute(
            "UPDATE mentions SET status = 'answered', closed_at = ? WHERE item_id = ? "
            "AND status IN ('open', 'claimed')",
            (iso(when), item_id),
        )
        add_action(db, item_id, "replied", agent, when, {"kind": "reply"})


def open_items(db: Any) -> list[tuple[int, str]]:
    return db.conn.execute(
        "SELECT id, created_at FROM mentions WHERE item_id = id AND status IN ('open', 'claimed') "
        "AND kind = 'mention' ORDER BY id"
    ).fetchall()


def build(tmp_path: Any, seed: int) -> tuple[Any, Any, random.Random]:
    rng = random.Random(seed)
    db = open_db(tmp_path)
    config = make_config({**HOURS, "tags": {"rules": {"late": ["parcel"], "money": ["refund"]}}})
    messages: list[Mention] = []
    roots: list[tuple[str, str, str, datetime]] = []  # (native id, handle, conv, at)
    for i in range(160):
        minutes = rng.uniform(1, 6.5 * 24 * 60)
        when = NOW - timedelta(minutes=minutes)
        text = " ".join(rng.choice(WORDS) for _ in range(4))
        handle = f"user{rng.randrange(25)}"
        network = rng.choice(("x", "x", "reddit", "mastodon"))
        if roots and rng.random() < 0.25:  # the same author again, in a thread
            native, handle, conv, at = rng.choice(roots)
            when = at + timedelta(minutes=rng.uniform(1, 600))
            if when >= NOW:
                continue
            messages.append(
                mention(
                    f"m{i}",
                    text,
                    handle=handle,
                    minutes_ago=(NOW - when).total_seconds() / 60,
                    conversation_id=conv,
                    in_reply_to=native,
                )
            )
            continue
        messages.append(
            mention(
                f"m{i}",
                text,
                network=network,
                handle=handle,
                minutes_ago=minutes,
                conversation_id=f"c{i}" if network == "x" else None,
                followers=rng.choice((10, 500, 20_000)),
            )
        )
        if network == "x":
            roots.append((f"m{i}", handle, f"c{i}", when))
    messages.sort(key=lambda m: m.created_at)
    pipeline(config).ingest(db, messages)
    # Native brand replies to a few roots.
    natives = []
    for native, _handle, conv, at in rng.sample(roots, 6):
        natives.append(
            Mention(
                network="x",
                native_id=f"b{native}",
                text="sorry, DM us",
                created_at=at + timedelta(minutes=rng.uniform(5, 90)),
                author=Author("shopexample"),
                conversation_id=conv,
                in_reply_to=native,
            )
        )
    pipeline(config).ingest(db, [n for n in natives if n.created_at < NOW])
    # Work the queue.
    for item_id, created in open_items(db):
        roll = rng.random()
        at = datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=NOW.tzinfo)
        at += timedelta(minutes=rng.lognormvariate(3, 1.2))
        if at >= NOW or roll < 0.1:
            continue
        if roll < 0.6:
            reply(db, item_id, rng.choice(AGENTS), at)
            if rng.random() < 0.1:
                with db.write():
                    add_action(db, item_id, "replied", "tom", at + timedelta(minutes=3), {})
        elif roll < 0.75:
            queue.close(db, item_id, rng.choice(AGENTS), now=at, status="dismissed", reason="spam")
        elif roll < 0.85:
            queue.close(db, item_id, rng.choice(AGENTS), now=at, status="done")
        else:
            queue.claim(db, item_id, rng.choice(AGENTS), now=at, ttl=timedelta(minutes=30))
    return db, config, rng


def reports(db: Any, config: Any, now: datetime = NOW) -> list[tuple[Any, ...]]:
    hours = business_hours(config)
    periods = [
        stats.period(now=now, since="5d"),
        stats.period(now=now, since="3d"),
        stats.Period(NOW - timedelta(days=4, hours=3), NOW - timedelta(days=1)),
        stats.period(now=now, start="2026-11-19", end="2026-11-23", tz=hours.tz),
    ]
    return [
        (p, select)
        for p in periods
        for select in ("all", "business", "off")
        if select == "all" or hours is not None
    ]


def check(db: Any, config: Any, now: datetime = NOW) -> None:
    hours = business_hours(config)
    for p, select in reports(db, config, now):
        live = stats.compute(db, period=p, now=now, hours=hours, select=select, cache=False)
        for _ in range(2):  # cold (fills the cache), then warm (reads it)
            cached = stats.compute(db, period=p, now=now, hours=hours, select=select)
            assert cached == live, (p, select)
    d_live = digest.build(
        db, config, period=stats.period(now=now, since="5d"), now=now, cache=False
    )
    for _ in range(2):
        d = digest.build(db, config, period=stats.period(now=now, since="5d"), now=now)
        assert d == d_live
    assert not db.conn.in_transaction


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cached_equals_live_through_every_change(tmp_path, seed):
    db, config, _ = build(tmp_path, seed)
    check(db, config)
    assert db.conn.execute("SELECT COUNT(*) FROM stats_rollups").fetchone()[0] > 0
    # Days left alone stay cached: nothing is dirty after a report recomputed them.
    days = {r[0] for r in db.conn.execute("SELECT day FROM stats_dirty")}
    assert all(day >= "2026-11-24" or day < "2026-11-18" for day in days)

    waiting = [i for i, created in open_items(db) if created < "2026-11-23"]
    assert waiting, "the timeline needs old open items"
    # claim, reply, dismiss an old item
    queue.claim(db, waiting[0], "eva", now=NOW - timedelta(hours=1), ttl=timedelta(hours=1))
    check(db, config)
    reply(db, waiting[0], "eva", NOW - timedelta(minutes=30))
    check(db, config)
    if len(waiting) > 1:
        queue.close(db, waiting[1], "tom", now=NOW, status="dismissed", reason="duplicate")
        check(db, config)
    # a label correction and a retag
    some = db.conn.execute(
        "SELECT id FROM mentions WHERE kind = 'mention' AND created_at < '2026-11-21' LIMIT 1"
    ).fetchone()[0]
    queue.label(db, some, "positive", "jana", now=NOW)
    queue.retag(db, some, "jana", add=["vip"], remove=[], now=NOW)
    check(db, config)
    # a late-arriving mention: an older message of an open thread takes the item's head
    head = db.conn.execute(
        "SELECT native_id, author_handle, conversation_id, created_at FROM mentions "
        "WHERE item_id = id AND status = 'open' AND conversation_id IS NOT NULL "
        "AND created_at < '2026-11-23' AND created_at > '2026-11-19' LIMIT 1"
    ).fetchone()
    if head is not None:
        native, handle, conv, created = head
        when = datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=NOW.tzinfo)
        late = mention(
            "late1",
            "parcel refund late",
            handle=handle,
            minutes_ago=(NOW - when).total_seconds() / 60 + 26 * 60,
            conversation_id=conv,
        )
        pipeline(config).ingest(db, [late])
        check(db, config)
    # a follow-up days later in an answered conversation: its earlier item is "followed"
    root = db.conn.execute(
        "SELECT native_id, author_handle, conversation_id FROM mentions WHERE item_id = id "
        "AND status = 'answered' AND conversation_id IS NOT NULL AND created_at < '2026-11-21' "
        "ORDER BY id LIMIT 1"
    ).fetchone()
    if root is not None:
        native, handle, conv = root
        again = mention(
            "again1",
            "still broken",
            handle=handle,
            minutes_ago=90,
            conversation_id=conv,
            in_reply_to=native,
        )
        pipeline(config).ingest(db, [again])
        check(db, config)
    # the report time moves on: waiting items fall due, cached days must follow
    check(db, config, NOW + timedelta(days=2))
    check(db, config, NOW - timedelta(hours=5))
    # a mention deleted outright
    with db.write():
        db.execute("DELETE FROM actions WHERE mention_id = ?", (some,))
        db.execute("DELETE FROM mentions WHERE id = ? AND item_id != id", (some,))
    check(db, config)


def test_changed_business_hours_do_not_reuse_rollups(tmp_path):
    db, config, _ = build(tmp_path, 7)
    p = stats.period(now=NOW, since="5d")
    first = business_hours(config)
    stats.compute(db, period=p, now=NOW, hours=first, select="business")
    other = business_hours(
        make_config({"queue": {"business_hours": {"timezone": "UTC", "days": "mon-sat"}}})
    )
    live = stats.compute(db, period=p, now=NOW, hours=other, select="business", cache=False)
    assert stats.compute(db, period=p, now=NOW, hours=other, select="business") == live


def test_whole_days_and_live_ranges():
    p = stats.Period(
        datetime(2026, 11, 1, 9, tzinfo=NOW.tzinfo), datetime(2026, 11, 4, 9, tzinfo=NOW.tzinfo)
    )
    days = stats.whole_days(p)
    assert [stats.day_key(d) for d in days] == ["2026-11-02", "2026-11-03"]
    assert stats.live_ranges(p, days) == [(p.start, days[0]), (days[-1] + timedelta(days=1), p.end)]
    assert stats.live_ranges(p, days[1:]) == [
        (p.start, days[1]),
        (days[1] + timedelta(days=1), p.end),
    ]
    assert stats.live_ranges(p, []) == [(p.start, p.end)]
    hour = timedelta(hours=1)
    cached_hours = [p.start + 2 * hour, p.start + 3 * hour]
    assert stats.live_ranges(p, days, cached_hours) == [
        (p.start, p.start + 2 * hour),
        (p.start + 4 * hour, days[0]),
        (days[-1] + timedelta(days=1), p.end),
    ]


def test_edge_hours_are_the_whole_hours_of_partial_days_before_today():
    at = lambda d, h, m=0: datetime(2026, 11, d, h, m, tzinfo=NOW.tzinfo)  # noqa: E731
    keys = lambda p, now: [stats.hour_key(h) for h in stats.edge_hours(p, now)]  # noqa: E731
    # "the last 3 days" at 21:30: 21:00 of the first day is partial; today is left out
    p = stats.Period(at(1, 21, 30), at(4, 21, 30))
    assert keys(p, at(4, 21, 30)) == ["2026-11-01T22", "2026-11-01T23"]
    # a period ending in the past: both partial days, whole hours only
    p = stats.Period(at(1, 21, 30), at(3, 2, 15))
    assert keys(p, at(9, 0)) == ["2026-11-01T22", "2026-11-01T23", "2026-11-03T00", "2026-11-03T01"]
    # whole days only (midnight to midnight): none; inside one day: its whole hours
    assert keys(stats.Period(at(1, 0), at(3, 0)), at(9, 0)) == []
    assert keys(stats.Period(at(2, 9, 5), at(2, 12, 0)), at(9, 0)) == [
        "2026-11-02T10",
        "2026-11-02T11",
    ]
    assert keys(stats.Period(at(2, 9, 5), at(2, 12, 0)), at(2, 12, 0)) == []


def live_ranges_seen(monkeypatch: pytest.MonkeyPatch) -> list[list[tuple[str, str]]]:
    """From now on, the live ranges of every report (what ``create_items`` is given)."""
    seen: list[list[tuple[str, str]]] = []
    real = stats.stats_store.create_items

    def spy(conn: Any, ranges: Any, *args: Any) -> None:
        seen.append(list(ranges))
        real(conn, ranges, *args)

    monkeypatch.setattr(stats.stats_store, "create_items", spy)
    return seen


def test_a_warm_report_computes_at_most_an_hour_of_its_first_day_live(tmp_path, monkeypatch):
    db, _config, _ = build(tmp_path, 2)
    later = NOW + timedelta(minutes=17)
    p = stats.period(now=later, since="5d")
    live = stats.compute(db, period=p, now=later, cache=False)
    assert stats.compute(db, period=p, now=later) == live  # cold: stores days and hours
    seen = live_ranges_seen(monkeypatch)
    assert stats.compute(db, period=p, now=later) == live
    first_hour = p.start.replace(minute=0) + timedelta(hours=1)
    today = later.replace(hour=0, minute=0)
    assert seen == [[(iso(p.start), iso(first_hour)), (iso(today), iso(later))]]


def test_warm_stores_the_rollups_the_next_report_reads(tmp_path):
    db, config, _ = build(tmp_path, 1)
    hours = business_hours(config)
    assert stats.warm(db, now=NOW, hours=hours, days=5) == {
        "stats:all": 5,
        "stats:business": 5,
        "stats:off": 5,
    }
    assert digest.warm(db, config, NOW, days=2) == {"digest": 4}
    end = NOW.replace(hour=0)
    p = stats.Period(end - timedelta(days=5), end)
    for select in ("all", "business", "off"):
        live = stats.compute(db, period=p, now=NOW, hours=hours, select=select, cache=False)
        assert stats.compute(db, period=p, now=NOW, hours=hours, select=select) == live
    # a minute later nothing falls due on those days: every rollup holds, none is redone
    later = NOW + timedelta(minutes=1)
    assert stats.warm(db, now=later, hours=hours, days=5) == {
        "stats:all": 0,
        "stats:business": 0,
        "stats:off": 0,
    }


def test_after_warm_the_days_first_report_computes_only_an_hour_and_today(tmp_path, monkeypatch):
    db, _config, _ = build(tmp_path, 3)
    stats.warm(db, now=NOW, days=5)
    later = NOW + timedelta(hours=3, minutes=20)  # 13:20, the day's first report
    p = stats.period(now=later, since="5d")
    live = stats.compute(db, period=p, now=later, cache=False)
    seen = live_ranges_seen(monkeypatch)
    assert stats.compute(db, period=p, now=later) == live
    today = later.replace(hour=0, minute=0)
    first_hour = p.start.replace(minute=0) + timedelta(hours=1)
    assert seen == [[(iso(p.start), iso(first_hour)), (iso(today), iso(later))]]
