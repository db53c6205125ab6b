"""The SQL of answering an item: its messages, who answered it already, and the hold on
an outbox row whose sender died. The rules stay in :mod:`social_watch.replies`."""

from __future__ import annotations

from typing import Any

from social_watch.store.base import Store
from social_watch.store.mentions import iter_rows


def item_mentions(db: Store, item_id: int) -> list[dict[str, Any]]:
    """The customer's messages of an item (any status), oldest first."""
    return iter_rows(
        db,
        "SELECT * FROM mentions WHERE COALESCE(item_id, id) = ? AND kind = 'mention' "
        "ORDER BY created_at, id",
        [item_id],
    )


def replay_paths(db: Store) -> list[str]:
    """The files replay sources (the demo's) have polled into this database, from their
    cursors' names (``replay:mentions:<path>``)."""
    rows = db.execute("SELECT source FROM cursors WHERE source LIKE 'replay:%'").fetchall()
    return [r[0].split(":", 2)[2] for r in rows if r[0].count(":") >= 2]


def first_answer_by_other(
    db: Store, item_id: int, agent: str, since: str | None
) -> tuple[str | None, str] | None:
    """(agent, at) of the first reply or handoff on the item by someone other than
    ``agent`` (at or after ``since`` when given)."""
    row = db.execute(
        "SELECT a.agent, a.at FROM actions a JOIN mentions m ON m.id = a.mention_id "
        "WHERE COALESCE(m.item_id, m.id) = ? AND a.action IN ('replied', 'moved_to_email') "
        "AND COALESCE(a.agent, '') != ? AND (? IS NULL OR a.at >= ?) ORDER BY a.at LIMIT 1",
        (item_id, agent, since, since),
    ).fetchone()
    return None if row is None else (row[0], row[1])


def last_action(
    db: Store, item_id: int, actions: tuple[str, ...]
) -> tuple[str | None, str, str | None] | None:
    """(agent, at, details JSON) of the newest of ``actions`` on the item ('replied';
    'done' or 'dismissed')."""
    marks = ", ".join("?" for _ in actions)
    row = db.execute(
        "SELECT a.agent, a.at, a.details FROM actions a JOIN mentions m ON m.id = a.mention_id "
        f"WHERE COALESCE(m.item_id, m.id) = ? AND a.action IN ({marks}) "
        "ORDER BY a.at DESC LIMIT 1",
        (item_id, *actions),
    ).fetchone()
    return None if row is None else (row[0], row[1], row[2])


def hold_unknown(db: Store, outbox_id: int, attempts: int, error: str) -> None:
    """Mark a row still ``sending`` at ``attempts`` as ``unknown`` (kept error wins)."""
    db.execute(
        "UPDATE outbox SET status = 'unknown', owner = NULL, error = COALESCE(error, ?) "
        "WHERE id = ? AND status = 'sending' AND attempts = ?",
        (error, outbox_id, attempts),
    )
