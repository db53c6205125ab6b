"""An import commits several batches as one transaction (``SQLiteStore.grouped_writes``).

Real SQLite files, a second connection standing for another command: what it sees and
whether it can take the write lock is the behaviour that matters. The clock is injected,
so the time bound is tested without waiting.
"""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pytest

from social_watch import db as dbmod
from social_watch import ingest_file
from social_watch.store.sqlite import GROUP_CACHE_KIB, SQLiteStore
from tests.helpers import make_config, pipeline


class Ticks:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path):
    db = dbmod.connect(tmp_path / "sw.db")
    db.conn.execute("CREATE TABLE t (n INTEGER)")
    yield db
    db.close()


def other(store) -> sqlite3.Connection:
    conn = sqlite3.connect(store.url, timeout=0)
    conn.execute("PRAGMA busy_timeout = 0")
    return conn


def seen(store) -> int:
    conn = other(store)
    try:
        return conn.execute("SELECT COUNT(*) FROM t").fetchone()[0]
    finally:
        conn.close()


def can_write(store) -> bool:
    conn = other(store)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return False
    finally:
        conn.close()


def put(store, n: int) -> None:
    with store.write():
        store.execute("INSERT INTO t (n) VALUES (?)", (n,))


def test_writes_commit_together_and_release_the_lock_between_groups(store):
    with store.grouped_writes(max_writes=3, max_seconds=60, clock=Ticks()):
        put(store, 1)
        put(store, 2)
        assert seen(store) == 0  # not committed yet
        assert not can_write(store)  # the group holds the lock between its writes
        put(store, 3)
        assert seen(store) == 3
        assert can_write(store)  # committed: another writer gets in before the next group
        put(store, 4)
        assert seen(store) == 3
    assert seen(store) == 4  # the end commits the rest
    assert not store.conn.in_transaction


def test_a_group_commits_early_once_its_time_is_up(store):
    clock = Ticks()
    with store.grouped_writes(max_writes=100, max_seconds=0.25, clock=clock):
        put(store, 1)
        clock.now = 0.2
        put(store, 2)
        assert seen(store) == 0
        clock.now = 0.25
        put(store, 3)
        assert seen(store) == 3
        clock.now = 0.3  # the next group's time starts at its own first write
        put(store, 4)
        clock.now = 0.5
        put(store, 5)
        assert seen(store) == 3
        clock.now = 0.56
        put(store, 6)
        assert seen(store) == 6


def test_a_failing_write_rolls_back_its_uncommitted_group_only(store):
    with store.grouped_writes(max_writes=2, max_seconds=60, clock=Ticks()):
        put(store, 1)
        put(store, 2)  # committed: a group of two
        put(store, 3)
        with pytest.raises(RuntimeError), store.write():
            store.execute("INSERT INTO t (n) VALUES (4)")
            raise RuntimeError("the batch failed")
        assert not store.conn.in_transaction
        assert can_write(store)
        put(store, 5)  # a new group starts
    rows = [r[0] for r in store.execute("SELECT n FROM t ORDER BY n")]
    assert rows == [1, 2, 5]


def test_a_nested_write_that_fails_is_undone_alone(store):
    with store.grouped_writes(max_writes=2, max_seconds=60, clock=Ticks()):
        with store.write():
            store.execute("INSERT INTO t (n) VALUES (1)")
            with pytest.raises(RuntimeError), store.write():
                store.execute("INSERT INTO t (n) VALUES (2)")
                raise RuntimeError("the nested block failed")
        put(store, 3)
    assert [r[0] for r in store.execute("SELECT n FROM t ORDER BY n")] == [1, 3]


def test_an_exception_between_writes_rolls_back_the_pending_group(store):
    with (
        pytest.raises(KeyboardInterrupt),
        store.grouped_writes(max_writes=2, max_seconds=60, clock=Ticks()),
    ):
        put(store, 1)
        put(store, 2)
        put(store, 3)
        raise KeyboardInterrupt
    assert [r[0] for r in store.execute("SELECT n FROM t ORDER BY n")] == [1, 2]
    assert not store.conn.in_transaction
    put(store, 4)  # and the store writes as usual afterwards, one commit per block
    assert seen(store) == 3


def test_cache_is_raised_for_the_group_and_restored(store):
    store.conn.execute("PRAGMA cache_size = -2000")
    with store.grouped_writes():
        assert store.conn.execute("PRAGMA cache_size").fetchone()[0] == -GROUP_CACHE_KIB
    assert store.conn.execute("PRAGMA cache_size").fetchone()[0] == -2000
    store.conn.execute("PRAGMA cache_size = -50000")  # a larger one is left alone
    with store.grouped_writes():
        assert store.conn.execute("PRAGMA cache_size").fetchone()[0] == -50000


def test_inside_a_callers_transaction_it_changes_nothing(store):
    with store.write():
        with store.grouped_writes(max_writes=1):
            put(store, 1)  # a nested block of the caller's transaction
            assert store.conn.in_transaction
        assert store.conn.in_transaction
        assert seen(store) == 0
    assert seen(store) == 1


def _spy(monkeypatch) -> list[str]:
    calls: list[str] = []
    real = SQLiteStore.grouped_writes

    def spy(self, **kwargs):
        calls.append("grouped")
        return real(self, **kwargs)

    monkeypatch.setattr(SQLiteStore, "grouped_writes", spy)
    return calls


def _lines(n: int) -> str:
    return "".join(
        json.dumps(
            {
                "network": "x",
                "id": str(i),
                "text": "late again",
                "created_at": "2026-03-02T10:00:00Z",
                "author": {"handle": f"u{i}"},
            }
        )
        + "\n"
        for i in range(n)
    )


def test_import_groups_a_file_but_not_a_pipe(tmp_path, monkeypatch):
    config = make_config()
    calls = _spy(monkeypatch)
    src = tmp_path / "m.jsonl"
    src.write_text(_lines(5))
    db = dbmod.connect(tmp_path / "a.db")
    result = ingest_file.run(db, config, str(src), pipeline=pipeline(config), workers=0)
    assert result.counts.new == 5 and calls == ["grouped"]
    db.close()

    calls.clear()
    with open(src, "rb") as fh:
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(fh))
        db = dbmod.connect(tmp_path / "b.db")
        result = ingest_file.run(db, config, "-", pipeline=pipeline(config), workers=0)
    assert result.counts.new == 5 and calls == []
    db.close()


def test_grouped_import_leaves_every_row_committed(tmp_path):
    config = make_config()
    src = tmp_path / "m.jsonl"
    src.write_text(_lines(2500))  # three batches: one group, committed at the end
    db = dbmod.connect(tmp_path / "a.db")
    ingest_file.run(db, config, str(src), pipeline=pipeline(config), workers=0)
    assert not db.conn.in_transaction
    db.close()
    conn = sqlite3.connect(tmp_path / "a.db")
    assert conn.execute("SELECT COUNT(*) FROM mentions").fetchone()[0] == 2500
    conn.close()


def test_an_import_that_fails_halfway_keeps_its_groups_and_a_rerun_stores_the_rest(
    tmp_path, monkeypatch
):
    from social_watch.store import mentions as store_mentions

    config = make_config()
    src = tmp_path / "m.jsonl"
    src.write_text(_lines(9500))  # ten batches of 1,000 (the last one short)
    path = tmp_path / "a.db"
    real = store_mentions.ingest
    calls = 0

    def failing(*args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == 7:
            raise OSError(28, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr("social_watch.parallel.store.ingest", failing)
    monkeypatch.setattr("social_watch.pipeline.store.ingest", failing)
    db = dbmod.connect(path)
    with pytest.raises(OSError):
        ingest_file.run(db, config, str(src), pipeline=pipeline(config), workers=0)
    db.close()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT COUNT(*) FROM mentions").fetchone()[0] == 4000  # one group
    conn.close()

    monkeypatch.setattr("social_watch.pipeline.store.ingest", real)
    monkeypatch.setattr("social_watch.parallel.store.ingest", real)
    db = dbmod.connect(path)
    result = ingest_file.run(db, config, str(src), pipeline=pipeline(config), workers=0)
    db.close()
    assert (result.counts.new, result.counts.unchanged) == (5500, 4000)
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT COUNT(*), COUNT(DISTINCT global_id) FROM mentions").fetchone() == (
        9500,
        9500,
    )
    conn.close()
