"""The SQL of ``social-watch demo``: what the database already holds, and the items its
simulated team works through."""

from __future__ import annotations

from datetime import datetime

from social_watch.clock import iso
from social_watch.store.base import Store


def mention_count(db: Store) -> int:
    return int(db.execute("SELECT COUNT(*) FROM mentions").fetchone()[0])


def cursor_count(db: Store, source_prefix: str) -> int:
    """Sources whose name starts with ``source_prefix`` that have a cursor (were polled)."""
    return int(
        db.execute(
            "SELECT COUNT(*) FROM cursors WHERE source LIKE ?", (source_prefix + "%",)
        ).fetchone()[0]
    )


def mention_extent(db: Store) -> tuple[int, int]:
    """(how many mentions, the highest id or 0)."""
    count, last_id = db.execute("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM mentions").fetchone()
    return int(count), int(last_id)


def open_heads_before(
    db: Store, before: datetime, after_id: int
) -> list[tuple[int, str, str, str, str | None, int, str]]:
    """Open items created before ``before`` with an id above ``after_id``, oldest first:
    (id, network, text, created_at, sentiment_label, sensitive, tags JSON)."""
    rows = db.execute(
        "SELECT id, network, text, created_at, sentiment_label, sensitive, tags FROM mentions "
        "WHERE status = 'open' AND item_id = id AND created_at < ? AND id > ? "
        "ORDER BY created_at",
        (iso(before), after_id),
    ).fetchall()
    return [tuple(r) for r in rows]
