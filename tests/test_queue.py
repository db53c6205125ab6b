"""Queue ordering, SLA states, filters and the agent actions with their audit trail."""

from __future__ import annotations

import json
from datetime import timedelta

import click
import pytest

from social_watch import queue as q
from social_watch.errors import Conflict, NotFound, UsageError
from social_watch.queue import QueueFilter, SlaSettings
from tests.helpers import NOW, mention, open_db, pipeline, rows

pytestmark = pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL

TTL = timedelta(minutes=30)


@pytest.fixture
def db(tmp_path):
    db = open_db(tmp_path)
    pipeline().ingest(
        db,
        [
            # oldest first: short ids follow posting order, so id == native id here
            mention(
                "1",
                "@shopexample hello, do you ship to Canada?",
                minutes_ago=45,
                handle="dan",
                network="reddit",
            ),
            mention("2", "@shopexample charged twice, refund please", minutes_ago=25, handle="cat"),
            mention(
                "3", "@shopexample where is my parcel? still waiting", minutes_ago=16, handle="ben"
            ),
            mention("4", "@shopexample love my new boots", minutes_ago=2, handle="ann"),
        ],
    )
    return db


def listing(db, **kw):
    return q.list_items(db, now=NOW, sla=SlaSettings(), filters=QueueFilter(**kw))


def test_savable_items_first_then_the_breached_ones(db):
    """A team works what it can still save: soonest due inside the target, then breached."""
    items = listing(db)
    assert [i["id"] for i in items] == [2, 3, 4, 1]
    assert [i["sla_state"] for i in items] == ["urgent", "at_risk", "ok", "breached"]
    assert [i["seconds_left"] for i in items] == [300, 840, 1680, -900]


def test_breached_items_longest_overdue_first_and_limit_spans_both_parts(db):
    pipeline().ingest(db, [mention("5", "@shopexample hello? anyone?", minutes_ago=90)])
    assert [i["id"] for i in listing(db)] == [2, 3, 4, 5, 1]
    assert [i["id"] for i in listing(db, limit=4)] == [2, 3, 4, 5]
    assert [i["id"] for i in listing(db, limit=2)] == [2, 3]
    assert [i["id"] for i in listing(db, overdue=True)] == [5, 1]


@pytest.mark.parametrize(
    ("sort", "order"),
    [("due", [1, 2, 3, 4]), ("oldest", [1, 2, 3, 4]), ("newest", [4, 3, 2, 1])],
)
def test_other_sort_orders(db, sort, order):
    assert [i["id"] for i in listing(db, sort=sort)] == order


def test_unknown_sort_is_a_usage_error(db):
    with pytest.raises(UsageError, match="--sort must be one of"):
        listing(db, sort="random")


def test_sla_thresholds_are_configurable(db):
    items = q.list_items(
        db, now=NOW, sla=SlaSettings(at_risk=0.9, urgent=0.95), filters=QueueFilter()
    )
    assert [i["sla_state"] for i in items] == ["ok", "ok", "ok", "breached"]


def test_item_shape_has_the_documented_keys(db):
    item = listing(db)[0]
    for key in (
        "id",
        "global_id",
        "network",
        "url",
        "author",
        "text",
        "created_at",
        "due_at",
        "seconds_left",
        "sla_state",
        "sentiment",
        "tags",
        "sensitive",
        "sensitive_reasons",
        "claimed_by",
    ):
        assert key in item
    assert set(item["author"]) >= {"handle", "name", "followers"}
    assert set(item["sentiment"]) >= {"label", "compound"}
    json.dumps(item)


def test_filters(db):
    assert [i["id"] for i in listing(db, network="reddit")] == [1]
    assert [i["id"] for i in listing(db, overdue=True)] == [1]
    assert {i["id"] for i in listing(db, sentiment="negative")} >= {3, 2}
    assert 4 not in {i["id"] for i in listing(db, sentiment="negative")}
    assert 1 in [i["id"] for i in listing(db, tag="question")]
    assert [i["id"] for i in listing(db, limit=2)] == [2, 3]
    q.claim(db, 2, "jana", now=NOW, ttl=TTL)
    assert [i["id"] for i in listing(db, mine="jana")] == [2]
    assert [i["id"] for i in listing(db, unclaimed=True)] == [3, 4, 1]
    with pytest.raises(UsageError):
        listing(db, sentiment="angry")


def test_sensitive_items_suggest_email(db):
    item = next(i for i in listing(db) if i["id"] == 2)
    assert item["sensitive"] is True and item["suggest"] == "to-email"
    assert "topic:refund" in item["sensitive_reasons"]


def test_claim_is_exclusive_and_expires(db):
    q.claim(db, 3, "jana", now=NOW, ttl=TTL)
    with pytest.raises(Conflict, match="claimed by jana"):
        q.claim(db, 3, "tom", now=NOW + timedelta(minutes=5), ttl=TTL)
    # renewing your own claim is fine
    q.claim(db, 3, "jana", now=NOW + timedelta(minutes=10), ttl=TTL)
    # after expiry the item is free again and shows unclaimed
    later = NOW + timedelta(minutes=41)
    item = next(
        i
        for i in q.list_items(db, now=later, sla=SlaSettings(), filters=QueueFilter())
        if i["id"] == 3
    )
    assert item["claimed_by"] is None
    assert q.claim(db, 3, "tom", now=later, ttl=TTL)["claimed_by"] == "tom"


def test_release_and_its_guard(db):
    q.claim(db, 3, "jana", now=NOW, ttl=TTL)
    with pytest.raises(Conflict):
        q.release(db, 3, "tom", now=NOW)
    q.release(db, 3, "tom", now=NOW, force=True)
    assert [i["id"] for i in listing(db, unclaimed=True)] == [2, 3, 4, 1]
    with pytest.raises(Conflict, match="not claimed"):
        q.release(db, 3, "jana", now=NOW)


def test_done_and_dismiss_shrink_the_queue_and_are_audited(db):
    q.close(db, 3, "jana", now=NOW, status="done", note="called her")
    q.close(db, 4, "jana", now=NOW, status="dismissed", reason="no-reply-needed")
    assert [i["id"] for i in listing(db)] == [2, 1]
    history = rows(db, "SELECT mention_id, action, agent, details FROM actions ORDER BY id")
    assert [(h["mention_id"], h["action"]) for h in history] == [(3, "done"), (4, "dismissed")]
    assert json.loads(history[1]["details"])["reason"] == "no-reply-needed"
    with pytest.raises(Conflict, match="dismissed"):
        q.close(db, 4, "jana", now=NOW, status="dismissed", reason="spam")
    with pytest.raises(UsageError):
        q.close(db, 2, "jana", now=NOW, status="dismissed", reason="boring")


def test_close_refuses_an_item_claimed_by_someone_else(db):
    q.claim(db, 2, "jana", now=NOW, ttl=TTL)
    with pytest.raises(Conflict, match="claimed by jana"):
        q.close(db, 2, "tom", now=NOW, status="done")
    q.close(db, 2, "tom", now=NOW, status="done", force=True)


def test_label_correction_wins_and_is_audited(db):
    q.label(db, 4, "negative", "jana", now=NOW)
    item = next(i for i in listing(db) if i["id"] == 4)
    assert item["sentiment"]["label"] == "negative" and item["sentiment"]["corrected"] is True
    (action,) = rows(db, "SELECT details FROM actions WHERE action = 'labelled'")
    assert json.loads(action["details"])["model"] == "positive"


def test_bulk_label_with_where(db):
    count = q.label_where(db, ["network=x", "sentiment=negative"], "negative", "jana", now=NOW)
    assert count == 2
    with pytest.raises(UsageError, match="KEY=VALUE"):
        q.label_where(db, ["nonsense"], "negative", "jana", now=NOW)
    with pytest.raises(UsageError, match="KEY=VALUE"):
        q.parse_where(["id=1"])


def test_bulk_label_text_is_a_literal_substring(db):
    everything = rows(db, "SELECT COUNT(*) AS n FROM mentions WHERE kind = 'mention'")[0]["n"]
    assert everything > 2
    # LIKE's wildcards typed as text are looked for literally, not as "anything"
    assert q.label_where(db, ["text=%"], "neutral", "jana", now=NOW) == 0
    assert q.label_where(db, ["text=_"], "neutral", "jana", now=NOW) == 0
    assert (
        rows(db, "SELECT COUNT(*) AS n FROM mentions WHERE sentiment_override IS NOT NULL")[0]["n"]
        == 0
    )
    db.execute("UPDATE mentions SET text = 'save 100% now' WHERE id = 4")
    db.execute("UPDATE mentions SET text = 'save 1000 now' WHERE id = 2")
    assert q.label_where(db, ["text=100%"], "negative", "jana", now=NOW) == 1
    # any case, any script, the same on both backends
    db.execute("UPDATE mentions SET text = 'Objednávka nedorazila' WHERE id = 2")
    assert q.label_where(db, ["text=OBJEDNÁVKA"], "negative", "jana", now=NOW) == 1


def test_bulk_author_matches_with_or_without_the_at_sign(db):
    db.execute("UPDATE mentions SET author_handle = '@Cat' WHERE id = 2")
    assert q.label_where(db, ["author=@cat"], "negative", "jana", now=NOW) == 1
    assert q.label_where(db, ["author=cat"], "negative", "jana", now=NOW) == 1


@pytest.mark.parametrize(
    ("clause", "message"),
    [
        ("text=", "give a value"),
        ("status=wat", "status must be one of"),
        ("sentiment=nope", "sentiment must be one of"),
        ("model=", "give a value"),
        ("tag=bad tag!", "bad tag name"),
    ],
)
def test_bulk_filters_refuse_values_that_can_never_match(db, clause, message):
    with pytest.raises(UsageError, match=message):
        q.label_where(db, [clause], "negative", "jana", now=NOW)


def test_bulk_filters_take_values_as_typed_elsewhere(db):
    """Short labels, upper-case tags and networks, an @ before a handle: what the rest of
    the CLI accepts, a filter accepts too."""
    where, params = q.parse_where(
        ["sentiment=neg", "model=POS", "tag=VIP", "network=X", "author=@ann", "status=Open"]
    )
    assert params == ["negative", "positive", "vip", "x", "ann", "open"]
    assert where.startswith("kind = 'mention'")


def test_retag(db):
    result = q.retag(db, 4, "jana", now=NOW, add=["vip"], remove=["review"])
    assert "vip" in result["tags"] and "review" not in result["tags"]


def test_unknown_ids_and_brand_posts(db):
    with pytest.raises(NotFound):
        q.claim(db, 999, "jana", now=NOW, ttl=TTL)
    pipeline().ingest(db, [mention("9", "hi", handle="shopexample")])
    brand_id = db.conn.execute("SELECT id FROM mentions WHERE kind = 'brand'").fetchone()[0]
    with pytest.raises(UsageError, match="brand's own post"):
        q.claim(db, brand_id, "jana", now=NOW, ttl=TTL)


def test_show_returns_thread_and_history(db):
    pipeline().ingest(
        db, [mention("5", "@shopexample hello??", minutes_ago=1, handle="ben", conversation_id="3")]
    )
    db.conn.execute("UPDATE mentions SET conversation_id = '3' WHERE native_id = '3'")
    q.claim(db, "x:3", "jana", now=NOW, ttl=TTL)
    data = q.show(db, 3, now=NOW, sla=SlaSettings())
    assert [m["global_id"] for m in data["thread"]] == ["x:3", "x:5"]
    assert data["actions"][0]["action"] == "claimed"
    assert data["claimed_by"] == "jana"


def test_summary_counts(db):
    q.claim(db, 2, "jana", now=NOW, ttl=TTL)
    assert q.summary(db, now=NOW) == {
        "waiting": 4,
        "overdue": 1,
        "claimed": 1,
        "oldest_created_at": "2026-11-24T09:15:00Z",
    }


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("neg", "negative"), ("POS", "positive"), ("Neutral", "neutral"), ("unk", "unknown")],
)
def test_label_accepts_the_short_forms_the_queue_shows(db, typed, stored):
    assert q.label(db, 4, typed, "jana", now=NOW)["sentiment"] == stored


@pytest.mark.parametrize("typed", ["n", "ne", "bad", ""])
def test_label_refuses_what_is_not_one_label(db, typed):
    with pytest.raises(UsageError, match="sentiment must be one of"):
        q.label(db, 4, typed, "jana", now=NOW)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (42, "42s left"),
        (-5, "5s over"),
        (0, "0s over"),
        (61, "1m left"),
        (3700, "1h01m left"),
        (3 * 86400 + 7200, "3d02h left"),
        (150 * 86400, "150d left"),
        (26662 * 86400, "73y left"),  # a mention dated 2099: the column keeps its width
    ],
)
def test_due_text_shows_seconds_under_a_minute(seconds, shown):
    from social_watch.render import due_text

    assert due_text(seconds) == shown


@pytest.mark.parametrize(
    ("network", "handle", "name", "shown"),
    [
        ("x", "ann", "Ann", "@ann"),
        ("facebook", "2315682678452791", "Jana Nováková", "Jana Nováková"),
        ("facebook", "2315682678452791", None, "id 2315682678452791"),  # name withheld
        ("facebook", "anonymous", None, "anonymous"),  # no `from` at all
        ("youtube", "@jananovak", None, "@jananovak"),  # not "@@jananovak"
        ("youtube", "Jana Novák", None, "Jana Novák"),  # a channel without a handle
        ("google_reviews", "Tereza Malá", None, "Tereza Malá"),
        ("trustpilot", "John D.", None, "John D."),
    ],
)
def test_author_label_names_people_as_each_network_does(network, handle, name, shown):
    from social_watch.authors import author_label

    assert author_label(network, handle, name) == shown


def test_two_anonymous_commenters_are_two_items(tmp_path):
    """Facebook comments without ``from`` all carry the handle 'anonymous': two such
    customers under one comment are two people, each needing an answer, not one item."""
    db = open_db(tmp_path, "anon.db")
    pipeline().ingest(
        db,
        [
            mention("p", "where is my refund?", network="facebook", handle="3040506070809011"),
            mention(
                "a1",
                "same here",
                network="facebook",
                handle="anonymous",
                conversation_id="p",
                in_reply_to="p",
            ),
            mention(
                "a2",
                "me too, 3 weeks",
                network="facebook",
                handle="anonymous",
                conversation_id="p",
                in_reply_to="p",
            ),
            mention(
                "e1",
                "still nothing",
                network="facebook",
                handle="3040506070809011",
                conversation_id="p",
                in_reply_to="p",
            ),
        ],
    )
    items = q.list_items(db, now=NOW, sla=SlaSettings(), filters=QueueFilter())
    by_head = sorted((i["global_id"].rsplit(":", 1)[-1], i["messages"]) for i in items)
    assert by_head == [("a1", 1), ("a2", 1), ("p", 2)]  # her own follow-up joins hers


def test_show_of_an_expired_claim_says_it_is_open_again(db):
    from social_watch.render import thread_text

    q.claim(db, 2, "jana", now=NOW, ttl=TTL)
    held = click.unstyle(thread_text(q.show(db, 2, now=NOW + TTL / 2, sla=SlaSettings())))
    assert held.splitlines()[0].endswith("· claimed · claimed by jana")
    expired = click.unstyle(thread_text(q.show(db, 2, now=NOW + TTL * 2, sla=SlaSettings())))
    assert expired.splitlines()[0].endswith("· open (the claim expired)")


def test_queue_search_ignores_case_in_every_script(db):
    db.execute("UPDATE mentions SET text = 'Objednávka nedorazila, 100% zklamání' WHERE id = 2")
    for typed in ("OBJEDNÁVKA", "objednávka", "ZKLAMÁNÍ", "100%"):
        assert [i["id"] for i in listing(db, text=typed)] == [2], typed
    assert listing(db, text="_") == []
