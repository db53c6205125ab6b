"""Migrations: from an empty file, and from a database at every earlier version."""

from __future__ import annotations

import pytest
import sqlite_utils

from social_watch import db as dbmod
from social_watch.errors import StoreError
from social_watch.migrations import migrations, schema_version


def names() -> list[str]:
    return [m.name for m in migrations._migrations]


def test_empty_file_gets_every_migration(tmp_path):
    db = dbmod.connect(tmp_path / "new.db")
    assert [m.name for m in migrations.applied(db)] == names()
    assert schema_version(db) == (len(names()), names()[-1])
    assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.parametrize("stop_before", names()[1:])
def test_every_earlier_version_migrates_forward_keeping_its_data(tmp_path, stop_before):
    path = tmp_path / "old.db"
    old = sqlite_utils.Database(path)
    migrations.apply(old, stop_before=stop_before)
    old.conn.execute(
        "INSERT INTO mentions (global_id, network, native_id, author_handle, text, created_at, "
        "fetched_at, status) VALUES ('x:1', 'x', '1', 'ann', 'hello', '2026-01-01T00:00:00Z', "
        "'2026-01-01T00:00:00Z', 'open')"
    )
    old.conn.commit()
    old.close()
    db = dbmod.connect(path)
    assert schema_version(db)[1] == names()[-1]
    assert (
        db.conn.execute("SELECT text FROM mentions WHERE global_id = 'x:1'").fetchone()[0]
        == "hello"
    )
    # reopening applies nothing twice
    db.close()
    assert schema_version(dbmod.connect(path))[0] == len(names())


def test_a_database_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "future.db"
    db = dbmod.connect(path)
    db.conn.execute(
        "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES ('social_watch', '9999_future', 'x')"
    )
    db.conn.commit()
    db.close()
    with pytest.raises(StoreError, match="newer social-watch"):
        dbmod.connect(path)


def test_the_reply_index_holds_replies_only_and_still_serves_its_lookups(tmp_path):
    path = tmp_path / "old.db"
    old = sqlite_utils.Database(path)
    migrations.apply(old, stop_before="0016_partial_reply_index")
    for gid, reply_to in (("x:1", None), ("x:2", "1")):
        old.conn.execute(
            "INSERT INTO mentions (global_id, network, native_id, author_handle, text, "
            "created_at, fetched_at, status, in_reply_to, kind) VALUES (?, 'x', ?, 'ann', 'hi', "
            "'2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'open', ?, 'brand')",
            (gid, gid[2:], reply_to),
        )
    old.conn.commit()
    old.close()
    db = dbmod.connect(path)
    conn = db.conn
    sql = conn.execute(
        "SELECT sql FROM sqlite_master WHERE name = 'idx_mentions_reply_to'"
    ).fetchone()[0]
    assert "WHERE in_reply_to IS NOT NULL" in sql
    count = "SELECT COUNT(*) FROM mentions INDEXED BY idx_mentions_reply_to WHERE in_reply_to > ''"
    assert conn.execute(count).fetchone()[0] == 1  # the reply, not the post

    def plan(statement: str, *args: str) -> str:
        return " ".join(r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + statement, args))

    # the store's two look-ups (store/mentions.py) still use it, and find the reply
    lookups = (
        "SELECT DISTINCT in_reply_to FROM mentions WHERE network = ? AND in_reply_to IN (?, ?)",
        "SELECT id FROM mentions WHERE network = ? AND in_reply_to = ? AND kind = 'brand' "
        "ORDER BY created_at LIMIT 1",
    )
    for statement in lookups:
        args = ("x", "1", "9")[: statement.count("?")]
        assert "idx_mentions_reply_to" in plan(statement, *args)
        assert conn.execute(statement, args).fetchone() is not None
    from social_watch.store.queue import networks

    assert networks(db) == ["x"]
