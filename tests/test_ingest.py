"""The ingest pipeline: exactly once, never resetting agents' work, brand posts and reposts."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from social_watch import queue as q
from social_watch.queue import QueueFilter, SlaSettings
from tests.helpers import NOW, make_config, mention, open_db, pipeline, rows

pytestmark = pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL


def test_a_mention_is_stored_once_whatever_the_overlap(tmp_path):
    db = open_db(tmp_path)
    p = pipeline()
    first = p.ingest(db, [mention("1"), mention("2")])
    again = p.ingest(db, [mention("2"), mention("3"), mention("3")])
    assert (first.new, again.new, again.unchanged) == (2, 1, 2)
    assert db.conn.execute("SELECT COUNT(*) FROM mentions").fetchone()[0] == 3


def test_a_mention_found_by_two_queries_knows_both(tmp_path):
    db = open_db(tmp_path)
    p = pipeline()
    p.ingest(db, [replace(mention("1"), query="shopexample")])
    p.ingest(
        db, [replace(mention("1"), query='"shop example"'), replace(mention("1"), query="mentions")]
    )
    (row,) = rows(db, "SELECT sources FROM mentions")
    assert json.loads(row["sources"]) == ["shopexample", '"shop example"', "mentions"]


def test_reingest_updates_network_changes_but_keeps_agent_work(tmp_path):
    db = open_db(tmp_path)
    p = pipeline()
    p.ingest(db, [mention("1", "@shopexample love it")])
    q.claim(db, 1, "jana", now=NOW, ttl=SlaSettings().claim_ttl)
    q.label(db, 1, "negative", "jana", now=NOW)
    edited = replace(
        mention("1", "@shopexample my parcel never arrived, still waiting"), author=mention().author
    )
    result = p.ingest(db, [edited])
    assert result.updated == 1
    (row,) = rows(db, "SELECT * FROM mentions")
    assert row["text"].endswith("still waiting")
    assert row["status"] == "claimed" and row["claimed_by"] == "jana"
    assert row["sentiment_override"] == "negative"
    assert row["updated_at"] is not None


def test_unchanged_reingest_is_not_an_update(tmp_path):
    db = open_db(tmp_path)
    p = pipeline()
    p.ingest(db, [mention("1")])
    assert p.ingest(db, [mention("1")]).unchanged == 1


def test_brand_posts_are_stored_but_never_queued_and_answer_their_thread(tmp_path):
    db = open_db(tmp_path)
    p = pipeline()
    customer = mention("10", "@shopexample my order is late", minutes_ago=20, conversation_id="10")
    reply = mention(
        "11",
        "@alice sorry! DM us ^JN",
        handle="ShopExample",
        minutes_ago=8,
        conversation_id="10",
        in_reply_to="10",
    )
    result = p.ingest(db, [customer, reply])  # same batch, any order
    assert result.answered_natively == 1
    items = q.list_items(db, now=NOW, sla=SlaSettings(), filters=QueueFilter())
    assert items == []
    (row,) = rows(
        db,
        "SELECT status, first_response_at, first_response_by FROM mentions WHERE native_id = '10'",
    )
    assert row == {
        "status": "answered",
        "first_response_at": "2026-11-24T09:52:00Z",
        "first_response_by": "brand:ShopExample",
    }
    (action,) = rows(db, "SELECT action, agent, details FROM actions")
    assert action["action"] == "replied" and json.loads(action["details"])["native"] is True


def test_a_brand_reply_seen_before_its_mention_still_answers_it(tmp_path):
    db = open_db(tmp_path)
    p = pipeline()
    p.ingest(db, [mention("11", "thanks!", handle="shopexample", minutes_ago=1, in_reply_to="10")])
    p.ingest(db, [mention("10", "@shopexample help", minutes_ago=9)])
    (row,) = rows(db, "SELECT status, first_response_at FROM mentions WHERE native_id = '10'")
    assert row["status"] == "answered" and row["first_response_at"] == "2026-11-24T09:59:00Z"


def test_brand_search_echo_and_reposts_and_ignored_authors_are_not_queued(tmp_path):
    db = open_db(tmp_path)
    config = make_config({"ingest": {"ignore_authors": ["x:spambot", "everywherebot"]}})
    p = pipeline(config)
    result = p.ingest(
        db,
        [
            mention(
                "1", "New arrivals at Shop Example!", handle="@ShopExample"
            ),  # brand via search
            mention("2", "", is_repost=True),
            mention("3", "RT @bob: Shop Example is great", is_repost=True),
            mention("4", "buy followers", handle="spambot"),
            mention("5", "buy followers", handle="everywherebot", network="mastodon"),
            mention("6", "ok", handle="spambot", network="mastodon"),  # ignored only on x
        ],
    )
    assert result.ignored == 4
    queued = [
        i["global_id"] for i in q.list_items(db, now=NOW, sla=SlaSettings(), filters=QueueFilter())
    ]
    assert queued == ["mastodon:6"]


def test_mastodon_brand_handle_matches_local_and_remote_forms(tmp_path):
    db = open_db(tmp_path)
    p = pipeline()
    p.ingest(
        db,
        [
            mention("1", "hi", network="mastodon", handle="shopexample"),
            mention("2", "hi", network="mastodon", handle="shopexample@mastodon.social"),
            mention("3", "hi", network="mastodon", handle="shopexample@evil.example"),
        ],
    )
    kinds = dict(db.conn.execute("SELECT native_id, kind FROM mentions").fetchall())
    assert kinds == {"1": "brand", "2": "brand", "3": "mention"}


def test_follow_ups_of_one_author_in_one_conversation_are_one_item(tmp_path):
    db = open_db(tmp_path)
    p = pipeline()
    p.ingest(db, [mention("1", "@shopexample parcel late", minutes_ago=40, conversation_id="1")])
    p.ingest(
        db,
        [
            mention(
                "2", "@shopexample hello??", minutes_ago=20, conversation_id="1", in_reply_to="1"
            ),
            mention("3", "same here", handle="bob", minutes_ago=10, conversation_id="1"),
        ],
    )
    items = q.list_items(db, now=NOW, sla=SlaSettings(), filters=QueueFilter(sort="due"))
    assert [(i["id"], i["messages"], i["author"]["handle"]) for i in items] == [
        (1, 2, "alice"),
        (3, 1, "bob"),
    ]
    # the clock starts at the earliest message
    assert items[0]["due_at"] == "2026-11-24T09:50:00Z"
    assert items[0]["text"] == "@shopexample hello??"


def test_a_late_arriving_older_message_restarts_the_clock_earlier(tmp_path):
    db = open_db(tmp_path)
    p = pipeline()
    p.ingest(db, [mention("2", "anyone?", minutes_ago=10, conversation_id="c")])
    p.ingest(db, [mention("1", "my order", minutes_ago=50, conversation_id="c")])
    (item,) = q.list_items(db, now=NOW, sla=SlaSettings(), filters=QueueFilter())
    assert item["messages"] == 2 and item["created_at"] == "2026-11-24T09:10:00Z"
    assert item["sla_state"] == "breached"


def test_a_follow_up_after_an_answer_is_a_new_item(tmp_path):
    db = open_db(tmp_path)
    p = pipeline()
    p.ingest(db, [mention("1", "help", minutes_ago=40, conversation_id="1")])
    q.close(db, 1, "jana", now=NOW, status="done")
    p.ingest(db, [mention("2", "still broken", minutes_ago=2, conversation_id="1")])
    (item,) = q.list_items(db, now=NOW, sla=SlaSettings(), filters=QueueFilter())
    assert item["id"] == 2 and item["messages"] == 1


def test_a_follow_up_joins_a_claimed_item_with_its_claim(tmp_path):
    db = open_db(tmp_path)
    p = pipeline()
    p.ingest(db, [mention("1", "help", minutes_ago=10, conversation_id="1")])
    q.claim(db, 1, "jana", now=NOW, ttl=SlaSettings().claim_ttl)
    p.ingest(db, [mention("2", "hello?", minutes_ago=1, conversation_id="1")])
    (item,) = q.list_items(db, now=NOW, sla=SlaSettings(), filters=QueueFilter())
    assert item["claimed_by"] == "jana" and item["messages"] == 2


def test_enrichment_is_stored(tmp_path):
    db = open_db(tmp_path)
    p = pipeline()
    p.ingest(
        db,
        [
            mention(
                "1", "@shopexample charged twice for order #4829133, email me at ann@example.com"
            ),
            mention("2", "Bestellung nie angekommen, sehr enttäuscht", lang="de"),
            mention("3", "Commande jamais arrivée, très déçu", lang="fr"),
        ],
    )
    one, two, three = rows(db, "SELECT * FROM mentions ORDER BY id")
    assert one["sentiment_label"] == "negative"
    assert one["sensitive"] == 1
    reasons = json.loads(one["sensitive_reasons"])
    assert "email" in reasons and "order_number" in reasons
    assert "billing" in json.loads(one["tags"])
    assert two["sentiment_label"] == "negative" and two["lang"] == "de"
    assert three["sentiment_label"] == "unknown" and three["lang"] == "fr"


def test_a_failing_batch_stores_nothing_and_not_its_cursor(tmp_path, monkeypatch):
    from social_watch import store
    from social_watch.store import mentions

    db = open_db(tmp_path)
    p = pipeline()

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(mentions, "record_poll", boom)
    with pytest.raises(RuntimeError):
        p.ingest(
            db, [mention("1")], source="x:search:q", cursor={"since_id": "1"}, poll={"source": "x"}
        )
    assert db.conn.execute("SELECT COUNT(*) FROM mentions").fetchone()[0] == 0
    assert store.load_cursor(db, "x:search:q") is None


def test_per_network_targets_set_the_due_time(tmp_path):
    db = open_db(tmp_path)
    p = pipeline(make_config({"queue": {"targets": {"reddit": "2h"}}}))
    p.ingest(db, [mention("1", minutes_ago=0), mention("1", network="reddit", minutes_ago=0)])
    due = dict(db.conn.execute("SELECT network, due_at FROM mentions").fetchall())
    assert due == {"x": "2026-11-24T10:30:00Z", "reddit": "2026-11-24T12:00:00Z"}


def test_business_hours_pause_the_clock(tmp_path):
    from datetime import UTC, datetime

    db = open_db(tmp_path)
    config = make_config(
        {
            "queue": {
                "business_hours": {
                    "timezone": "Europe/Prague",
                    "days": "mon-fri",
                    "start": "09:00",
                    "end": "17:00",
                }
            }
        }
    )
    friday = datetime(2026, 11, 27, 15, 45, tzinfo=UTC)  # 16:45 in Prague
    p = pipeline(config, now=friday)
    p.ingest(db, [mention("1", minutes_ago=0, now=friday)])
    (row,) = rows(db, "SELECT due_at FROM mentions")
    assert row["due_at"] == "2026-11-30T08:15:00Z"  # Monday 09:15 in Prague


def test_a_brand_reply_to_a_follow_up_answers_the_whole_item_but_not_later_messages(tmp_path):
    db = open_db(tmp_path)
    p = pipeline()
    p.ingest(
        db,
        [
            mention("1", "@shopexample lamp arrived broken", minutes_ago=60, conversation_id="1"),
            mention(
                "2", "@shopexample hello??", minutes_ago=40, conversation_id="1", in_reply_to="1"
            ),
            mention(
                "3",
                "@alice so sorry, DM us",
                handle="shopexample",
                minutes_ago=30,
                conversation_id="1",
                in_reply_to="2",
            ),
            mention(
                "4",
                "@shopexample DM sent, order number is in there",
                minutes_ago=10,
                conversation_id="1",
            ),
        ],
    )
    status = dict(db.conn.execute("SELECT native_id, status FROM mentions").fetchall())
    assert status == {"1": "answered", "2": "answered", "3": "done", "4": "open"}
    (item,) = q.list_items(db, now=NOW, sla=SlaSettings(), filters=QueueFilter())
    assert item["global_id"] == "x:4" and item["messages"] == 1
    (first,) = rows(db, "SELECT first_response_at FROM mentions WHERE native_id = '1'")
    assert first["first_response_at"] == "2026-11-24T09:30:00Z"


def test_a_topic_in_praise_is_not_sensitive_but_personal_data_always_is(tmp_path):
    db = open_db(tmp_path)
    pipeline().ingest(
        db,
        [
            mention("1", "@shopexample refund arrived in two days, brilliant service, thank you!"),
            mention("2", "@shopexample love it! my order #4829133 came early"),
            mention("3", "@shopexample still waiting for my refund"),
        ],
    )
    flags = {
        r["native_id"]: json.loads(r["sensitive_reasons"])
        for r in rows(db, "SELECT native_id, sensitive_reasons FROM mentions")
    }
    assert flags == {"1": [], "2": ["order_number"], "3": ["topic:refund"]}


def test_a_non_english_mention_is_language_detected_once(tmp_path, monkeypatch):
    from social_watch import sentiment

    calls = []
    real = sentiment._detect
    monkeypatch.setattr(sentiment, "_detect", lambda *a, **k: calls.append(a) or real(*a, **k))
    db = open_db(tmp_path)
    pipeline().ingest(
        db, [mention("1", "Meine Bestellung ist nie angekommen, sehr enttäuscht und verärgert")]
    )
    (row,) = rows(db, "SELECT sentiment_label, lang FROM mentions")
    assert row == {"sentiment_label": "negative", "lang": "de"}
    assert len(calls) == 1
