"""A large import builds the reports' and queue's indexes at its end (``store.deferred``).

Real SQLite files: the import never reads the indexes it drops (query plans of every
statement it ran and of the triggers it fires), they come back exactly (``sqlite_master``
before and after), also after the importing process is killed, and small imports or big
tables keep them. ``tests/test_import_rows.py`` checks that the rows are the same.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bench.gen import CONFIG_TOML
from bench.gen import write_jsonl as gen_jsonl
from social_watch import config as cfg
from social_watch import db as dbmod
from social_watch import ingest_file
from social_watch.store import deferred
from social_watch.store.reports import _COVERING
from tests.helpers import NOW, pipeline

ROOT = Path(__file__).resolve().parent.parent


def indexes(path: Path) -> dict[str, str]:
    """Every index of the file, name to its CREATE INDEX (None for automatic ones)."""
    conn = sqlite3.connect(path)
    try:
        return dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index'"))
    finally:
        conn.close()


def saved(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [r[0] for r in conn.execute("SELECT name FROM deferred_indexes ORDER BY name")]
    finally:
        conn.close()


def fresh(tmp_path: Path, name: str = "sw.db") -> tuple[Path, dict[str, str]]:
    path = tmp_path / name
    dbmod.connect(path).close()
    return path, indexes(path)


def sample_import(tmp_path: Path, db, n: int = 1500):
    sample = tmp_path / "sample.jsonl"
    gen_jsonl(sample, n, seed=16, days=5, now=NOW)
    conf_path = tmp_path / "social-watch.toml"
    conf_path.write_text(CONFIG_TOML, encoding="utf-8")
    config = cfg.load(str(conf_path), env={})
    return ingest_file.run(db, config, str(sample), pipeline=pipeline(config), workers=0)


def test_the_deferrable_indexes_exist_and_only_index_mentions(tmp_path):
    _path, before = fresh(tmp_path)
    for name in deferred.DEFERRABLE:
        assert " ON mentions " in before[name], name


def test_a_large_import_builds_them_at_the_end_and_the_plans_use_them(tmp_path, monkeypatch):
    path, before = fresh(tmp_path)
    monkeypatch.setattr(deferred, "MIN_ROWS", 500)
    db = dbmod.connect(path)
    dropped: list[list[str]] = []
    real_defer = deferred.defer

    def spy(db_, expected_rows):
        names = real_defer(db_, expected_rows)
        dropped.append(names)
        missing = set(before) - set(indexes(path))
        assert missing == set(deferred.DEFERRABLE) == set(saved(path))
        return names

    monkeypatch.setattr(deferred, "defer", spy)
    result = sample_import(tmp_path, db)
    assert result.counts.new > 1000
    assert dropped == [sorted(deferred.DEFERRABLE)]
    assert indexes(path) == before
    assert saved(path) == []

    def plan(sql: str) -> str:
        return " | ".join(r[3] for r in db.execute("EXPLAIN QUERY PLAN " + sql))

    assert "idx_mentions_queue" in plan(
        "SELECT id FROM mentions WHERE status IN ('open', 'claimed') AND item_id = id "
        "ORDER BY due_at LIMIT 20"
    )
    assert "idx_mentions_created" in plan(
        "SELECT id FROM mentions WHERE created_at >= '2026-11-20' ORDER BY created_at LIMIT 5"
    )
    assert "COVERING INDEX idx_mentions_stats" in plan(
        f"SELECT COUNT(*), network FROM mentions {_COVERING} WHERE created_at >= '2026-11-20' GROUP BY 2"
    )
    assert "idx_mentions_rating" in plan(
        "SELECT AVG(rating) FROM mentions WHERE rating IS NOT NULL AND created_at >= '2026-11-20'"
    )


def _plan_names(conn: sqlite3.Connection, sql: str, params: tuple = ()) -> set[str]:
    detail = " ".join(r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + sql, params))
    return set(re.findall(r"\b(idx_\w+|sqlite_autoindex_\w+)", detail))


def test_the_import_never_reads_a_deferrable_index(tmp_path):
    """Every statement an import runs, and every stats_dirty trigger body, is planned
    (indexes present) without one of ``DEFERRABLE``."""
    path, _before = fresh(tmp_path)
    db = dbmod.connect(path)
    statements: set[str] = set()
    db.conn.set_trace_callback(statements.add)
    # twice: the second time every line is an existing mention (the update path)
    sample_import(tmp_path, db, n=1200)
    sample_import(tmp_path, db, n=1200)
    db.conn.set_trace_callback(None)
    db.close()
    conn = sqlite3.connect(path)
    used: set[str] = set()
    for sql in statements:
        head = sql.lstrip().split(None, 1)[0].upper()
        if head in ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH"):
            used |= _plan_names(conn, sql)
    triggers = [r[0] for r in conn.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger'")]
    assert len(triggers) >= 6
    for text in triggers:
        body = text[text.index(" BEGIN") + len(" BEGIN") : text.rindex("END")]
        for stmt in filter(str.strip, body.split(";")):
            stmt = re.sub(r"\b(?:OLD|NEW)\.\w+", "?", stmt)
            used |= _plan_names(conn, stmt, (None,) * stmt.count("?"))
    conn.close()
    assert {"sqlite_autoindex_mentions_1", "idx_mentions_thread_key"} <= used
    assert "idx_mentions_conversation" in used  # by a trigger: why it is not deferred
    assert used.isdisjoint(deferred.DEFERRABLE)


def test_small_imports_and_big_tables_keep_their_indexes(tmp_path, monkeypatch):
    path, before = fresh(tmp_path)
    monkeypatch.setattr(deferred, "MIN_ROWS", 100)
    db = dbmod.connect(path)
    with db.bulk_load(expected_rows=99):
        assert indexes(path) == before
    with db.bulk_load(expected_rows=None):  # stdin: unknown
        assert indexes(path) == before
    with db.write():
        db.executemany(
            "INSERT INTO mentions (global_id, network, native_id, author_handle, text, "
            "created_at, fetched_at) VALUES (?, 'x', ?, 'ann', 'hi', '2026-11-01T00:00:00Z', "
            "'2026-11-01T00:00:00Z')",
            [(f"x:{i}", str(i)) for i in range(300)],
        )
    with db.bulk_load(expected_rows=299):  # smaller than the table
        assert indexes(path) == before
    with db.bulk_load(expected_rows=300):
        assert set(before) - set(indexes(path)) == set(deferred.DEFERRABLE)
    assert indexes(path) == before
    assert deferred.worth_deferring(100_000, 0)
    assert not deferred.worth_deferring(deferred.MIN_ROWS - 1, 0)
    assert not deferred.worth_deferring(100_000, 100_001)


def test_a_failed_import_rebuilds_them_too(tmp_path):
    path, before = fresh(tmp_path)
    db = dbmod.connect(path)
    with pytest.raises(KeyError), db.bulk_load(expected_rows=10**6):
        assert saved(path) == sorted(deferred.DEFERRABLE)
        raise KeyError("boom")
    assert indexes(path) == before
    assert saved(path) == []


def test_readers_during_the_import_get_the_same_answers(tmp_path, monkeypatch):
    path, _before = fresh(tmp_path)
    monkeypatch.setattr(deferred, "MIN_ROWS", 10)
    db = dbmod.connect(path)
    sample_import(tmp_path, db, n=300)
    sql = (
        f"SELECT network, COUNT(*) FROM mentions {_COVERING} "
        "WHERE created_at >= ? GROUP BY 1 ORDER BY 1"
    )
    want = db.execute(sql, ("2026-11-01",)).fetchall()
    reader = dbmod.connect(path)
    with db.bulk_load(expected_rows=10**6):
        assert "idx_mentions_stats" not in indexes(path)
        assert reader.execute(sql, ("2026-11-01",)).fetchall() == want
        with reader.snapshot():
            assert reader.execute(sql, ("2026-11-01",)).fetchall() == want
    assert reader.execute(sql, ("2026-11-01",)).fetchall() == want


def test_the_rebuild_waits_for_another_writer(tmp_path, caplog):
    """Another command holds the write lock when the import ends: the rebuild waits for
    it (BEGIN IMMEDIATE with the busy timeout), as any writer does, and succeeds."""
    path, before = fresh(tmp_path)
    db = dbmod.connect(path)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    class Release(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "waiting up to" in record.getMessage() and other.in_transaction:
                other.execute("COMMIT")  # the other writer finishes while we wait

    handler = Release()
    logging.getLogger("social_watch.db").addHandler(handler)
    caplog.set_level(logging.INFO, logger="social_watch.db")
    try:
        with db.bulk_load(expected_rows=10**6):
            other.execute("BEGIN IMMEDIATE")
            other.execute("INSERT INTO watch_state (key, value) VALUES ('k', 'v')")
    finally:
        logging.getLogger("social_watch.db").removeHandler(handler)
    assert any("waiting up to" in r.getMessage() for r in caplog.records)
    assert indexes(path) == before
    assert saved(path) == []
    other.close()


_CHILD = """
import sys
from social_watch import db as dbmod
db = dbmod.connect(sys.argv[1])
with db.bulk_load(expected_rows=10**6):
    print("deferred", flush=True)
    sys.stdin.read()  # until killed
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_an_import_killed_midway_leaves_them_to_the_next_open(tmp_path):
    path, before = fresh(tmp_path)
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(path)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "deferred"
        assert saved(path) == sorted(deferred.DEFERRABLE)
        # the import lives: another open leaves its indexes to it, and reads still work
        during = dbmod.connect(path)
        assert saved(path) == sorted(deferred.DEFERRABLE)
        assert during.scalar(f"SELECT COUNT(*) FROM mentions {_COVERING}") == 0
        during.close()
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL
    assert set(before) - set(indexes(path)) == set(deferred.DEFERRABLE)
    after = dbmod.connect(path)
    assert indexes(path) == before
    assert saved(path) == []
    after.close()


def test_an_owner_whose_pid_now_runs_another_process_is_gone(tmp_path):
    """``bulk_load`` entered and never left, as if the process had died there; the row's
    pid now belongs to another process (pid 1, started at another time)."""
    path, before = fresh(tmp_path)
    db = dbmod.connect(path)
    db.bulk_load(expected_rows=10**6).__enter__()
    host = socket.gethostname()
    assert deferred._owner_alive(f"{host}:{os.getpid()}", None)  # ours: left alone
    with db.write():
        db.execute(
            "UPDATE deferred_indexes SET owner = ?, owner_started = 'another-boot:1'",
            (f"{host}:1",),
        )
    assert not deferred._owner_alive(f"{host}:1", "another-boot:1")
    reopened = dbmod.connect(path)
    assert indexes(path) == before
    assert saved(path) == []
    reopened.close()
    db.close()
