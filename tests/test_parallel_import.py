"""A long import enriches on a second core; the database must not be able to tell."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest

from social_watch import ingest_file, parallel, store
from tests.helpers import NOW, make_config, open_db, pipeline, rows

TEXTS = [
    "@shopexample where is my order? still waiting after 2 weeks",
    "@shopexample thanks, the refund came through, great service!",
    "@shopexample I was charged twice for order #48213, mail me at jo@example.com",
    "Dear @shopexample, do you ship to Norway?",
    "@shopexample meine Bestellung ist immer noch nicht angekommen, sehr enttäuscht",
    "@shopexample objednávka stále nedorazila, co se děje?",
    "@shopexample love the new jacket 😍",
    "@shopexample the app keeps crashing when I log in",
    "ok",
]


def _lines(n: int, seed: int = 7, edit: bool = False) -> list[str]:
    """Threads, follow-ups arriving late, brand replies, duplicates, unknown languages."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        conv = rng.randrange(max(1, i // 3) + 1)
        author = f"user{conv % 40}"
        brand = rng.random() < 0.08
        obj = {
            "network": rng.choice(["x", "mastodon"]),
            "id": str(i),
            "text": rng.choice(TEXTS) + (" (edited)" if edit and i % 5 == 0 else ""),
            # shuffled times: late arrivals start their thread's clock
            "created_at": (NOW - timedelta(minutes=rng.randrange(5000))).isoformat(),
            "author": {
                "handle": "shopexample" if brand else author,
                "followers": rng.choice([None, 10, 50_000]),
            },
            "conversation_id": f"c{conv}",
            "query": rng.choice(["mentions", "brand"]),
        }
        if brand or rng.random() < 0.2:
            obj["in_reply_to"] = str(rng.randrange(max(1, i)))
        if rng.random() < 0.3:
            obj["lang"] = rng.choice(["en", "de", "und"])
        if rng.random() < 0.03:
            obj["repost"] = True
        out.append(json.dumps(obj, ensure_ascii=rng.random() < 0.5))
        if rng.random() < 0.02:  # the same mention twice, found by another query
            out.append(json.dumps({**obj, "query": "other"}))
    return out


def _dump(db) -> list[dict]:
    return rows(db, "SELECT * FROM mentions ORDER BY id") + rows(
        db, "SELECT * FROM actions ORDER BY id"
    )


def _import(tmp_path, name: str, files: list[str], workers: int, monkeypatch) -> list[dict]:
    monkeypatch.setattr(ingest_file, "BATCH_SIZE", 40)
    monkeypatch.setattr(parallel, "PARALLEL_AFTER", 100)
    db = open_db(tmp_path, name)
    p = pipeline(make_config())
    for f in files:
        ingest_file.run(db, p.config, f, pipeline=p, workers=workers)
    return _dump(db)


@pytest.mark.skipif(not parallel.can_fork(), reason="needs fork and two CPUs")
@pytest.mark.parametrize("max_pending", [1, parallel.MAX_PENDING])
def test_the_worker_writes_exactly_the_rows_of_the_in_process_import(
    tmp_path, monkeypatch, max_pending
):
    files = []
    for i, lines in enumerate([_lines(900), _lines(900, edit=True), _lines(500, seed=8)]):
        path = tmp_path / f"m{i}.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files.append(str(path))
    started = []
    real_start = parallel.start_worker
    monkeypatch.setattr(parallel, "start_worker", lambda e: started.append(1) or real_start(e))
    monkeypatch.setattr(parallel, "MAX_PENDING", max_pending)

    alone = _import(tmp_path, "alone.db", files, 0, monkeypatch)
    assert not started
    shared = _import(tmp_path, "shared.db", files, 1, monkeypatch)
    assert started == [1, 1, 1]
    assert shared == alone
    assert len(alone) > 1000
    labels = {r.get("sentiment_label") for r in alone}
    assert {
        "negative",
        "positive",
        "neutral",
    } <= labels  # every language gen.py writes is scored now
    assert any(r.get("action") == "replied" for r in alone)


@pytest.mark.skipif(not parallel.can_fork(), reason="needs fork and two CPUs")
def test_bad_lines_keep_their_numbers_and_batches_their_mentions(tmp_path, monkeypatch):
    """With the worker on, a bad or blank line must not shift a batch's
    boundary (40 mentions each, as in one process) nor the line number it is reported at."""
    lines = _lines(900, seed=9)
    bad_at = {}
    for n in (1, 17, 41, 333, 334, 700):  # 1-based numbers in the final file
        bad = "{not json" if n % 2 else ""
        lines.insert(n - 1, bad)
        if bad:
            bad_at[n] = bad
    lines.insert(500, json.dumps({"network": "x", "id": "late", "text": "hi"}))
    path = tmp_path / "bad.jsonl"
    path.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setattr(ingest_file, "BATCH_SIZE", 40)
    monkeypatch.setattr(parallel, "PARALLEL_AFTER", 100)
    batches: dict[int, list[int]] = {}
    real = store.ingest

    def spy(db_, batch_, **kwargs):
        batches.setdefault(id(db_), []).append(len(batch_) + kwargs.get("ignored", 0))
        return real(db_, batch_, **kwargs)

    monkeypatch.setattr(store, "ingest", spy)
    results, dumps = [], []
    for workers in (0, 1):
        db = open_db(tmp_path, f"bad{workers}.db")
        p = pipeline(make_config())
        results.append(ingest_file.run(db, p.config, str(path), pipeline=p, workers=workers))
        dumps.append(_dump(db))
    alone, shared = results
    assert dumps[0] == dumps[1] and len(dumps[0]) > 800
    assert shared.as_dict() == alone.as_dict() and shared.lines == alone.lines
    assert [r.line for r in shared.rejected] == sorted([*bad_at, 501])
    assert "created_at" in shared.rejected[-1].reason
    sizes = list(batches.values())
    assert sizes[0] == sizes[1] and set(sizes[1][:-1]) == {40}


def test_a_short_import_stays_in_one_process(tmp_path, monkeypatch):
    path = tmp_path / "few.jsonl"
    path.write_text("\n".join(_lines(50)) + "\n", encoding="utf-8")
    monkeypatch.setattr(parallel, "start_worker", lambda e: pytest.fail("worker started"))
    db = open_db(tmp_path)
    p = pipeline(make_config())
    result = ingest_file.run(db, p.config, str(path), pipeline=p)
    assert result.counts.new > 0


def test_an_import_checkpoints_less_often_and_restores_the_setting(tmp_path, monkeypatch):
    """SQLite: the WAL is checkpointed every BULK_CHECKPOINT_PAGES while importing only."""
    from social_watch import store
    from social_watch.store.sqlite import BULK_CHECKPOINT_PAGES

    db = open_db(tmp_path, "bulk.db")
    if db.dialect != "sqlite":
        pytest.skip("a SQLite setting")
    seen: list[int] = []
    real = store.ingest

    def spy(db_, *args, **kwargs):
        seen.append(db_.execute("PRAGMA wal_autocheckpoint").fetchone()[0])
        return real(db_, *args, **kwargs)

    monkeypatch.setattr(store, "ingest", spy)
    path = tmp_path / "m.jsonl"
    path.write_text("\n".join(_lines(50)) + "\n", encoding="utf-8")
    p = pipeline(make_config())
    before = db.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    ingest_file.run(db, p.config, str(path), pipeline=p, workers=0)
    assert seen and set(seen) == {BULK_CHECKPOINT_PAGES} != {before}
    assert db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == before
    # restored on the way out of a failed import too
    with pytest.raises(FileNotFoundError), db.bulk_load():
        raise FileNotFoundError
    assert db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == before
