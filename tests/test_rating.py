"""Review ratings through the core: migration 0011, the import format, the 1-2 star rule,
an edited rating, and the digest's average with its change against the period before."""

from __future__ import annotations

import json

import pytest
from helpers import NOW, make_config, mention, open_db, pipeline

from social_watch import digest, importer, stats
from social_watch.ratings import stars

pytestmark = pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL


def test_migration_0011_adds_the_column_and_its_partial_index(tmp_path, backend):
    db = open_db(tmp_path)
    if backend == "sqlite":
        columns = {c.name: c.type for c in db["mentions"].columns}
        assert columns["rating"] == "REAL"
        index = db.scalar("SELECT sql FROM sqlite_master WHERE name = 'idx_mentions_rating'")
        assert "WHERE rating IS NOT NULL" in index
    else:
        kind = db.scalar(
            "SELECT data_type FROM information_schema.columns "
            "WHERE table_name = 'mentions' AND column_name = 'rating'"
        )
        assert kind == "double precision"
        index = db.scalar("SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_mentions_rating'")
        assert "WHERE (rating IS NOT NULL)" in index
    assert "0011_rating" in db.migrations_applied()


def test_import_line_carries_a_rating_and_refuses_a_bad_one():
    line = {
        "network": "heureka",
        "id": "cz-1",
        "text": "vše ok",
        "created_at": "2026-11-24T09:00:00Z",
        "author": {"handle": "jana"},
        "rating": 4.5,
    }
    assert importer.mention_from_dict(dict(line)).rating == 4.5
    for bad in (6, "5", True, -1):
        with pytest.raises(ValueError, match="'rating' must be a number of stars"):
            importer.mention_from_dict({**line, "rating": bad})


def test_stars_round_half_stars_up():
    assert stars(1) == "★☆☆☆☆" and stars(4.5) == "★★★★★" and stars(2.4) == "★★☆☆☆"
    assert stars(None) == ""


def test_an_edited_rating_is_stored_and_rescored(tmp_path):
    db = open_db(tmp_path)
    p = pipeline()
    text = "Děkujeme, vše proběhlo v pořádku"
    p.ingest(db, [mention("r1", text, network="heureka", rating=5.0)])
    p.ingest(db, [mention("r1", text, network="heureka", rating=1.0)])
    row = db.conn.execute("SELECT rating, sentiment_label FROM mentions").fetchone()
    assert row == (1.0, "negative")


def test_digest_reports_the_average_rating_and_its_change(tmp_path):
    db = open_db(tmp_path)
    config = make_config()
    reviews = [
        mention("y1", "super", network="heureka", handle="a", minutes_ago=1500, rating=5.0),
        mention("y2", "ok", network="heureka", handle="b", minutes_ago=1480, rating=4.0),
        mention("t1", "nedorazilo", network="heureka", handle="c", minutes_ago=60, rating=1.0),
        mention("t2", "dobré", network="heureka", handle="d", minutes_ago=30, rating=4.0),
        mention("t3", "fine", network="x", handle="e", minutes_ago=20),  # no rating
    ]
    pipeline(config).ingest(db, reviews)
    data = digest.build(db, config, period=stats.period(now=NOW, since="24h"), now=NOW)
    r = data["ratings"]
    assert (r["reviews"], r["average"], r["previous_average"], r["change"]) == (2, 2.5, 4.5, -2.0)
    assert r["low"] == 1 and r["networks"] == [{"network": "heureka", "reviews": 2, "average": 2.5}]
    assert r["line"] == "2 reviews, average ★★★☆☆ 2.5/5 (-2.0 vs 4.5 before); 1 of 1-2 stars"
    for fmt in ("text", "markdown", "html"):
        assert "2.5/5" in digest.render(data, fmt)
    assert json.loads(digest.render(data, "json"))["ratings"]["average"] == 2.5


def test_digest_without_reviews_says_nothing_about_them(tmp_path):
    db = open_db(tmp_path)
    config = make_config()
    pipeline(config).ingest(db, [mention("x1", "hello", minutes_ago=10)])
    data = digest.build(db, config, period=stats.period(now=NOW, since="24h"), now=NOW)
    assert data["ratings"] is None
    assert "REVIEWS" not in digest.render(data, "text")
