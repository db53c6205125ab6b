"""The SQL of moving a thread to e-mail: the handoff row (reference, who was e-mailed) and
the item's move to ``moved_to_email``. Callers hold the transaction."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from social_watch.clock import iso
from social_watch.store.base import Store
from social_watch.store.mentions import iter_rows


def handoff_of(db: Store, item_id: int) -> dict[str, Any] | None:
    """The item's handoff row, if one was reserved."""
    rows = iter_rows(db, "SELECT * FROM handoffs WHERE mention_id = ?", [item_id])
    return rows[0] if rows else None


def insert_handoff(db: Store, item_id: int, reference: str, agent: str, now: datetime) -> None:
    """Reserve ``reference`` for the item; a second reservation of the item is a no-op, a
    taken reference raises the backend's unique violation."""
    db.execute(
        "INSERT INTO handoffs (mention_id, reference, agent, created_at) "
        "VALUES (?, ?, ?, ?) ON CONFLICT(mention_id) DO NOTHING",
        (item_id, reference, agent, iso(now)),
    )


def reference_free(db: Store, reference: str) -> bool:
    return db.execute("SELECT 1 FROM handoffs WHERE reference = ?", (reference,)).fetchone() is None


def sent_handoff_note(db: Store, item_id: int) -> tuple[int, str, str] | None:
    """(outbox id, sent at, reference) of a handoff note already posted on the item."""
    row = db.execute(
        "SELECT o.id, o.sent_at, o.reference FROM outbox o JOIN mentions m "
        "ON m.id = o.mention_id WHERE COALESCE(m.item_id, m.id) = ? AND o.kind = 'handoff' "
        "AND o.status = 'sent'",
        (item_id,),
    ).fetchone()
    return None if row is None else (row[0], row[1], row[2])


def mark_emailed(
    db: Store, item_id: int, agent: str, to: list[str], message_id: str, now: datetime
) -> None:
    """Record who was e-mailed and close the item's open messages as ``moved_to_email``."""
    db.execute(
        "UPDATE handoffs SET emailed_to = ?, message_id = ?, emailed_at = ?, agent = ? "
        "WHERE mention_id = ?",
        (json.dumps(to), message_id, iso(now), agent, item_id),
    )
    db.execute(
        "UPDATE mentions SET status = 'moved_to_email', closed_at = ?, "
        "claim_expires_at = NULL WHERE COALESCE(item_id, id) = ? AND status IN "
        "('open', 'claimed', 'answered')",
        (iso(now), item_id),
    )
