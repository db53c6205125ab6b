"""Deferred indexes: a large SQLite import drops the mentions indexes it never reads and
builds them once at its end (issue 16).

Updating an index row by row costs more than building it once from the finished table:
100,000 mentions inserted (bare executemany) with these indexes and idx_mentions_conversation
took ~1.3 s more CPU than without them, and building them afterwards ~0.6 s. So it pays only
when the table is small beside what is coming (``worth_deferring``).

Crash safety: each dropped index's ``CREATE INDEX`` (read from ``sqlite_master``, never
written out here) is saved in ``deferred_indexes`` in the transaction that drops it; the
rebuild and the deletion of its row are one transaction too. So at every instant an index
either exists or its SQL is in that table. An import that died leaves its rows behind, and
the next ``SQLiteStore`` to open the file rebuilds them (``restore(abandoned_only=True)``);
the rows of a running import (its ``host:pid`` alive, started when recorded) are left to it.

While an import runs without them, readers get the same answers, more slowly: the planner
uses what is left, and a statement hinting a missing index (``INDEXED BY``, the reports)
is run again without its hints (``SQLiteStore.execute``).
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from social_watch.process import owner_alive, owner_id, start_token

if TYPE_CHECKING:
    from social_watch.store.sqlite import SQLiteStore

log = logging.getLogger("social_watch.db")

# The mentions indexes an import may drop. Each was checked with EXPLAIN QUERY PLAN against
# every statement ``store/mentions.py`` runs and the stats_dirty trigger bodies they fire
# (tests/test_deferred_indexes.py keeps it so): none of them uses these.
DEFERRABLE = (
    "idx_mentions_queue",  # the queue's order by due time; the import finds heads by thread_key
    "idx_mentions_queue_summary",  # the queue header's counts
    "idx_mentions_created",  # reports' period scans; the import orders by id, not by time
    "idx_mentions_stats",  # the reports' covering index: 15 columns, the dearest to keep up
    "idx_mentions_rating",  # the digest's average rating
)
# Kept, though the import's own statements never read it: idx_mentions_conversation. When an
# import moves a mention to another queue item (an older message arriving late, follow-ups
# after a brand reply), the stats_dirty_mention_update_thread trigger looks up the author's
# previous item through it; without it that is a scan of the network's rows per move.
# The import reads global_id's unique index, idx_mentions_thread_key, idx_mentions_reply_to
# and idx_mentions_item, so those stay too.

# Measured at 100,000 mentions with bare executemany (bench/README.md, issue 16; six indexes,
# idx_mentions_conversation among them, so these five save a little less): deferring saves
# ~13 µs of CPU a new row and the rebuild costs ~6 µs a row of the finished table. Below some thousands
# of rows neither matters; above, deferring wins while the table holds no more rows than
# are coming (saving 13 x new against 6 x (existing + new) breaks even near existing =
# 1.2 x new). A large table also keeps its indexes because the web inbox and reports
# read it during the import, and a full scan of a big table is slow for them.
MIN_ROWS = 20_000


def worth_deferring(expected_rows: int | None, existing_rows: int) -> bool:
    """Drop the indexes for a load of ``expected_rows`` into a table of ``existing_rows``?"""
    return (
        expected_rows is not None and expected_rows >= MIN_ROWS and (existing_rows <= expected_rows)
    )


def _me() -> tuple[str, str | None]:
    return owner_id(), start_token(os.getpid())


def _owner_alive(owner: str, started: str | None) -> bool:
    """Is the import that dropped an index (``host:pid``) still running? This process's
    own, on another connection, counts as running."""
    return owner_alive(owner, started, mine=lambda: True)


def defer(db: SQLiteStore, expected_rows: int | None) -> list[str]:
    """Drop the ``DEFERRABLE`` indexes if a load of ``expected_rows`` makes it pay; returns
    the names dropped (none when another import holds deferred indexes)."""
    if db.conn.in_transaction or not worth_deferring(expected_rows, 0):
        return []  # too small whatever the table holds: no write lock taken
    marks = ", ".join("?" for _ in DEFERRABLE)
    with db.write():
        if db.scalar("SELECT COUNT(*) FROM deferred_indexes"):
            return []  # another import's: it rebuilds them
        existing = db.scalar("SELECT COALESCE(MAX(id), 0) FROM mentions")  # ids only grow
        if not worth_deferring(expected_rows, existing):
            return []
        found = db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
            f"AND tbl_name = 'mentions' AND name IN ({marks}) ORDER BY name",
            DEFERRABLE,
        ).fetchall()
        owner, started = _me()
        for name, sql in found:
            db.execute(
                "INSERT INTO deferred_indexes (name, sql, owner, owner_started) "
                "VALUES (?, ?, ?, ?)",
                (name, sql, owner, started),
            )
            db.execute(f"DROP INDEX {name}")
    names = [name for name, _sql in found]
    if names:
        log.info("building %d indexes after the import: %s", len(names), ", ".join(names))
    return names


def pending(db: SQLiteStore) -> bool:
    """Does ``deferred_indexes`` hold any row (one cheap read, outside a transaction)?"""
    return db.scalar("SELECT 1 FROM deferred_indexes LIMIT 1") is not None


def restore(db: SQLiteStore, *, abandoned_only: bool) -> list[str]:
    """Build the indexes saved in ``deferred_indexes`` and delete their rows, in one write
    transaction (it waits for the write lock as any writer does). ``abandoned_only``: only
    those whose import is gone. Returns the names built."""
    with db.write():
        rows = db.execute(
            "SELECT name, sql, owner, owner_started FROM deferred_indexes ORDER BY name"
        ).fetchall()
        if abandoned_only:
            rows = [r for r in rows if not _owner_alive(r[2], r[3])]
        if not rows:
            return []
        present = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        for name, sql, _owner, _started in rows:
            if name not in present:
                db.execute(sql)
            db.execute("DELETE FROM deferred_indexes WHERE name = ?", (name,))
    return [r[0] for r in rows]
