"""`polls` keeps a bounded history: the newest POLL_HISTORY rows per source, pruned as each
poll is recorded (in the same transaction)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from helpers import NOW, open_db

from social_watch import db as dbmod
from social_watch import store
from social_watch.clock import iso

pytestmark = pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL


def record(db: object, source: str, n: int, error: str | None = None) -> None:
    with dbmod.write(db):  # type: ignore[arg-type]
        store.record_poll(
            db,  # type: ignore[arg-type]
            {
                "source": source,
                "started_at": iso(NOW + timedelta(minutes=n)),
                "finished_at": iso(NOW + timedelta(minutes=n, seconds=2)),
                "fetched": n,
                "error": error,
            },
        )


def test_each_source_keeps_only_its_newest_polls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store.mentions, "POLL_HISTORY", 5)
    db = open_db(tmp_path)
    for n in range(1, 31):
        record(db, "x:brand", n)
        if n % 3 == 0:
            record(db, "rss:feed", n, error="timeout" if n == 30 else None)
    kept = db.conn.execute(
        "SELECT source, fetched FROM polls ORDER BY source, started_at"
    ).fetchall()
    assert [f for s, f in kept if s == "x:brand"] == [26, 27, 28, 29, 30]
    assert [f for s, f in kept if s == "rss:feed"] == [18, 21, 24, 27, 30]
    last = db.conn.execute(
        "SELECT error FROM polls WHERE source = 'rss:feed' ORDER BY started_at DESC LIMIT 1"
    ).fetchone()
    assert last == ("timeout",)  # what the runner reads back (a rate limit, an error) stays


def test_the_prune_is_part_of_the_poll_transaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store.mentions, "POLL_HISTORY", 2)
    db = open_db(tmp_path)
    for n in (1, 2):
        record(db, "x:brand", n)
    with pytest.raises(RuntimeError), dbmod.write(db):
        store.record_poll(db, {"source": "x:brand", "started_at": iso(NOW + timedelta(hours=1))})
        raise RuntimeError("the poll's transaction fails after the record")
    assert db.conn.execute("SELECT fetched FROM polls ORDER BY started_at").fetchall() == [
        (1,),
        (2,),
    ]


def test_the_default_history_is_bounded() -> None:
    assert 100 <= store.POLL_HISTORY <= 10_000
