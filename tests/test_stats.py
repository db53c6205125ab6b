"""Response metrics on hand-built timelines whose answers are worked out by hand below.

Each item's story is in ``timeline``; the expected numbers in the tests follow from it
(target 30 minutes; NOW is Tuesday 2026-11-24 10:00 UTC).
"""

from __future__ import annotations

import json
import statistics
from datetime import datetime, timedelta
from typing import Any

import pytest
from helpers import NOW, make_config, mention, open_db, pipeline

from social_watch import queue, stats
from social_watch.clock import iso
from social_watch.errors import UsageError
from social_watch.models import Author, Mention
from social_watch.pipeline import business_hours
from social_watch.store import add_action

pytestmark = pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL

TAGS = {"tags": {"rules": {"late": ["parcel"]}, "extend_defaults": False}}


def at(hh: int, mm: int = 0, day: int = 24) -> datetime:
    return datetime(2026, 11, day, hh, mm, tzinfo=NOW.tzinfo)


def msg(native_id: str, when: datetime, handle: str, text: str = "hello", **kw: Any) -> Mention:
    return mention(
        native_id, text, handle=handle, minutes_ago=(NOW - when).total_seconds() / 60, **kw
    )


def reply(db: Any, item_id: int, agent: str, when: datetime, *, handoff: bool = False) -> None:
    """What a sent reply does to the store (the outbox's contract): clock stops, status, audit."""
    with db.write():
        db.conn.execute(
            "UPDATE mentions SET first_response_at = ?, first_response_by = ? "
            "WHERE item_id = ? AND first_response_at IS NULL",
            (iso(when), agent, item_id),
        )
        status = "moved_to_email" if handoff else "answered"
        db.conn.execute(
            "UPDATE mentions SET status = ?, closed_at = ? WHERE item_id = ? "
            "AND status IN ('open', 'claimed')",
            (status, iso(when), item_id),
        )
        add_action(db, item_id, "replied", agent, when, {"kind": "handoff" if handoff else "reply"})


def item(db: Any, native_id: str) -> int:
    return db.conn.execute(
        "SELECT item_id FROM mentions WHERE native_id = ?", (native_id,)
    ).fetchone()[0]


def timeline(tmp_path: Any) -> Any:
    """Ten items, each a case the README's definitions have to get right."""
    db = open_db(tmp_path)
    config = make_config(TAGS)
    brand_reply = Mention(
        network="x",
        native_id="b4",
        text="@carol sorry about that, DM us",
        created_at=at(7, 20),
        author=Author("shopexample"),
        conversation_id="c4",
        in_reply_to="4",
    )
    pipeline(config).ingest(
        db,
        [
            msg("1", at(9), "alice"),  # answered in 10 min by jana
            msg("2", at(8), "bob", conversation_id="c2"),  # answered after the breach
            msg("3", at(8, 5), "bob", "and my parcel?", conversation_id="c2", in_reply_to="2"),
            msg("4", at(7), "carol", conversation_id="c4"),  # the brand answers natively
            brand_reply,
            msg("5", at(9, 40), "dave"),  # still open, not yet due
            msg("6", at(6), "erin"),  # open, claimed, past due
            msg("7", at(5), "frank"),  # moved to e-mail in 15 min
            msg("8", at(4), "gina"),  # dismissed as spam
            msg("9", at(3), "hank", network="reddit"),  # done without a public reply
            msg("10", at(2), "ivy", conversation_id="c10"),  # answered, then she writes again
        ],
    )
    reply(db, item(db, "10"), "jana", at(2, 10))
    later = msg("11", at(2, 30), "ivy", conversation_id="c10", in_reply_to="10")
    pipeline(config).ingest(db, [later])
    reply(db, item(db, "1"), "jana", at(9, 10))
    reply(db, item(db, "2"), "tom", at(9))
    reply(db, item(db, "7"), "tom", at(5, 15), handoff=True)
    queue.close(db, "reddit:9", "tom", now=at(3, 10), status="done", note="phoned")
    queue.close(db, "x:8", "jana", now=at(4, 5), status="dismissed", reason="spam")
    queue.claim(db, "x:6", "tom", now=NOW - timedelta(minutes=1), ttl=timedelta(minutes=30))
    return db, config


def test_ingest_built_the_items_the_story_needs(tmp_path):
    """Guards the fixture itself: the follow-ups are where the story says they are."""
    db, _ = timeline(tmp_path)
    assert item(db, "3") == item(db, "2")  # bob's follow-up joined his item
    assert item(db, "11") != item(db, "10")  # ivy wrote after the reply: a new item
    head = db.conn.execute(
        "SELECT first_response_at, first_response_by, status FROM mentions WHERE native_id = '4'"
    ).fetchone()
    assert head == ("2026-11-24T07:20:00Z", "brand:shopexample", "answered")


def test_overall_metrics_match_the_hand_computed_answers(tmp_path):
    db, _ = timeline(tmp_path)
    data = stats.compute(db, period=stats.period(now=NOW, since="24h"), now=NOW)
    o = data["overall"]
    assert o["items"] == 10
    assert o["mentions"] == 11  # bob's follow-up is a message of his item
    assert o["needing_answer"] == 9  # gina's spam needed none
    assert o["answered"] == 5  # alice, bob (late), carol (native), frank (handoff), ivy
    frts = [600, 3600, 1200, 900, 600]
    assert o["first_response"] == {
        "median_s": 900.0,
        "mean_s": 1380.0,
        "p90_s": 2640.0,  # 1200 + 0.6 × (3600 − 1200)
    }
    assert o["first_response"]["median_s"] == statistics.median(frts)
    assert o["first_response"]["p90_s"] == statistics.quantiles(frts, n=10, method="inclusive")[8]
    assert o["within_target"] == 4  # alice, carol, frank, ivy
    # dave is not due yet: his outcome is unknown, so he is left out of the share
    assert o["within_target_share"] == 0.5  # 4 of 8 decided
    assert o["response_rate"] == round(5 / 9, 4)
    assert o["breaches"] == 3  # bob answered late, erin and ivy's second item still waiting
    assert o["unanswered_now"] == 3  # dave, erin, ivy's second item
    assert o["closed_unanswered"] == 1  # hank, closed before his due time: no breach
    assert o["moved_to_email"] == 1
    assert o["done"] == 1
    assert o["dismissed"] == {"total": 1, "by_reason": {"spam": 1}}
    # alice, bob (one reply; his follow-up came before it) and carol; not ivy (wrote again),
    # not frank (moved to e-mail)
    assert o["one_touch"] == 3
    assert o["one_touch_rate"] == 0.6
    assert data["queue_now"] == {"waiting": 3, "overdue": 2}


def test_groups_by_network_agent_and_tag(tmp_path):
    db, _ = timeline(tmp_path)
    data = stats.compute(db, period=stats.period(now=NOW, since="24h"), now=NOW)
    assert set(data["by_network"]) == {"x", "reddit"}
    assert data["by_network"]["reddit"]["items"] == 1
    assert data["by_network"]["reddit"]["closed_unanswered"] == 1
    agents = data["by_agent"]
    # first responder; else who closed it; else who holds the claim
    assert agents["jana"]["items"] == 3  # alice, ivy (replied), gina (dismissed)
    assert agents["jana"]["answered"] == 2
    assert agents["tom"]["items"] == 4  # bob, frank (replied), hank (done), erin (claimed)
    assert agents["tom"]["breaches"] == 2  # bob late, erin waiting
    assert agents["brand:shopexample"]["first_response"]["median_s"] == 1200.0
    assert agents[stats.UNASSIGNED]["items"] == 2  # dave, ivy's second item
    # the tag sits on bob's follow-up; it counts for his whole item
    assert data["by_tag"]["late"]["items"] == 1
    assert data["by_tag"]["late"]["mentions"] == 2
    assert data["by_tag"]["late"]["breaches"] == 1


def test_period_keeps_items_whose_first_message_is_inside(tmp_path):
    db, _ = timeline(tmp_path)
    period = stats.Period(at(7), at(9, 30))  # carol 07:00 … alice 09:00
    o = stats.compute(db, period=period, now=NOW)["overall"]
    assert o["items"] == 3  # carol, bob, alice
    assert o["mentions"] == 4


def test_volume_by_local_hour_and_weekday(tmp_path):
    db, _ = timeline(tmp_path)
    data = stats.compute(db, period=stats.period(now=NOW, since="24h"), now=NOW)
    by_hour = data["volume"]["by_hour"]
    assert sum(by_hour) == 11 and by_hour[2] == 2 and by_hour[8] == 2 and by_hour[9] == 2
    assert data["volume"]["by_weekday"]["tue"] == 11


HOURS = {"queue": {"business_hours": {"timezone": "UTC", "days": "mon-fri"}}}


def hours_timeline(tmp_path: Any) -> Any:
    """Mon–Fri 09–17 UTC. m1 in hours; m2 at night, answered before the queue opened + 30 min;
    m3 at 16:50 Monday, due 09:20 Tuesday, answered 09:25: a breach on the business clock."""
    db = open_db(tmp_path)
    config = make_config(HOURS)
    pipeline(config).ingest(
        db,
        [
            msg("m1", at(9, 30), "ann"),
            msg("m2", at(20, 0, day=23), "ben"),
            msg("m3", at(16, 50, day=23), "cy"),
        ],
    )
    reply(db, item(db, "m1"), "jana", at(9, 40))
    reply(db, item(db, "m2"), "jana", at(9, 20))
    reply(db, item(db, "m3"), "jana", at(9, 25))
    return db, config


def test_business_hours_select_items_and_the_target_uses_the_business_clock(tmp_path):
    db, config = hours_timeline(tmp_path)
    hours = business_hours(config)
    period = stats.period(now=NOW, since="24h")
    inside = stats.compute(db, period=period, now=NOW, hours=hours, select="business")
    assert inside["overall"]["items"] == 2
    assert inside["overall"]["within_target"] == 1  # m1
    assert inside["overall"]["breaches"] == 1  # m3: 30 business minutes ran out at 09:20
    off = stats.compute(db, period=period, now=NOW, hours=hours, select="off")
    assert off["overall"]["items"] == 1
    assert off["overall"]["breaches"] == 0  # due 09:30 Tuesday, answered 09:20
    assert off["overall"]["first_response"]["median_s"] == 13 * 3600 + 20 * 60  # wall clock
    every = stats.compute(db, period=period, now=NOW, hours=hours)
    assert every["overall"]["items"] == 3
    assert off["volume"]["by_hour"][20] == 1 and sum(off["volume"]["by_hour"]) == 1


def test_hours_filter_needs_business_hours(tmp_path):
    db = open_db(tmp_path)
    with pytest.raises(UsageError, match="business_hours"):
        stats.compute(db, period=stats.period(now=NOW), now=NOW, select="business")


def test_empty_period_has_every_key_and_no_open_transaction(tmp_path):
    db = open_db(tmp_path)
    data = stats.compute(db, period=stats.period(now=NOW, since="7d"), now=NOW)
    o = data["overall"]
    assert o["items"] == 0 and o["first_response"]["median_s"] is None
    assert o["response_rate"] is None and o["within_target_share"] is None
    assert data["by_network"] == {} and data["by_tag"] == {}
    assert not db.conn.in_transaction
    json.dumps(data)


def test_period_parsing():
    assert stats.period(now=NOW, since="7d").start == NOW - timedelta(days=7)
    p = stats.period(now=NOW, start="2026-11-01", end="2026-11-02T12:00:00Z")
    assert (iso(p.start), iso(p.end)) == ("2026-11-01T00:00:00Z", "2026-11-02T12:00:00Z")
    assert p.previous().end == p.start
    for bad in ({"since": "7d", "start": "2026-11-01"}, {"start": "yesterday"}, {"end": "2026"}):
        with pytest.raises(UsageError):
            stats.period(now=NOW, **bad)


def test_cli_stats_json_and_text(tmp_path, cli):
    import os

    db, _ = timeline(tmp_path)
    path = str(tmp_path / "sw.db")
    del db
    os.environ.pop("SOCIAL_WATCH_CONFIG", None)
    result = cli("stats", "--db", path, "--from", "2026-11-23", "--to", iso(NOW), "--json")
    data = json.loads(result.output)
    for group in ("overall", *data["by_network"].values()):
        group = data["overall"] if group == "overall" else group
        assert {
            "mentions",
            "needing_answer",
            "answered",
            "first_response",
            "within_target_share",
            "response_rate",
            "unanswered_now",
            "breaches",
        } <= set(group)
    assert data["overall"]["answered"] == 5
    text = cli("stats", "--db", path, "--from", "2026-11-23", "--to", iso(NOW)).output
    assert "overall" in text and "brand:shopexample" in text and "spam 1" in text
    bad = cli("stats", "--db", path, "--hours", "business")
    assert bad.exit_code == 2 and "business_hours" in bad.output
