"""The outbox's statements: one row per public reply, moved between states by conditional
UPDATEs (each a compare-and-set on what the caller last read), so two senders never both
take a row. The decisions (who may take a row, when to post again) live in ``outbox``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from social_watch.store.base import Store

OutboxRow = dict[str, Any]


def item_of(db: Store, mention_id: int) -> int | None:
    """The queue item a mention belongs to (None when the mention does not exist)."""
    row = db.execute(
        "SELECT COALESCE(item_id, id) FROM mentions WHERE id = ?", (mention_id,)
    ).fetchone()
    return int(row[0]) if row else None


def insert_pending(
    db: Store,
    *,
    key: str,
    mention_id: int,
    item_id: int,
    kind: str,
    agent: str | None,
    network: str,
    text: str,
    reference: str | None,
    created_at: str | None,
    owner: str,
    owner_started: str | None,
    lease_until: str | None,
    idempotency_key: str | None,
) -> int:
    """Insert a 'pending' row and return its id; the unique partial index may refuse it."""
    cur = db.execute(
        "INSERT INTO outbox (key, mention_id, item_id, kind, agent, network, text, "
        "status, reference, created_at, owner, owner_started, lease_until, "
        "idempotency_key) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?) "
        "RETURNING id",
        (
            key,
            mention_id,
            item_id,
            kind,
            agent,
            network,
            text,
            reference,
            created_at,
            owner,
            owner_started,
            lease_until,
            idempotency_key,
        ),
    )
    return int(cur.fetchone()[0])


def unresolved_of_item(db: Store, item_id: int) -> tuple[int, str | None, str, str | None] | None:
    """(id, agent, status, owner) of the item's one unsettled row, if any."""
    row = db.execute(
        "SELECT id, agent, status, owner FROM outbox WHERE item_id = ? "
        "AND status IN ('pending', 'sending', 'unknown')",
        (item_id,),
    ).fetchone()
    return (row[0], row[1], row[2], row[3]) if row else None


def get(db: Store, outbox_id: int) -> OutboxRow | None:
    rows = db.rows("SELECT * FROM outbox WHERE id = ?", [outbox_id])
    return rows[0] if rows else None


def take(
    db: Store,
    outbox_id: int,
    *,
    owner: str,
    owner_started: str | None,
    lease_until: str | None,
    attempted_at: str | None,
    was_status: str,
    was_owner: str | None,
    was_attempts: int,
) -> bool:
    """Mark the row 'sending' by ``owner`` if it is still as the caller read it."""
    cur = db.execute(
        "UPDATE outbox SET status = 'sending', owner = ?, owner_started = ?, "
        "lease_until = ?, attempts = attempts + 1, attempted_at = ? WHERE id = ? "
        "AND status = ? AND owner IS NOT DISTINCT FROM ? AND attempts = ?",
        (
            owner,
            owner_started,
            lease_until,
            attempted_at,
            outbox_id,
            was_status,
            was_owner,
            was_attempts,
        ),
    )
    return cur.rowcount == 1


def back_to_unknown(
    db: Store, outbox_id: int, *, error: str, attempts: int, attempted_at: str | None
) -> None:
    """A 'sending' row this take did not post: 'unknown' with the last real attempt restored."""
    db.execute(
        "UPDATE outbox SET status = 'unknown', error = ?, owner = NULL, attempts = ?, "
        "attempted_at = ? WHERE id = ? AND status = 'sending'",
        (error, attempts, attempted_at, outbox_id),
    )


def mark_unknown(db: Store, outbox_id: int, error: str) -> None:
    db.execute(
        "UPDATE outbox SET status = 'unknown', error = ?, owner = NULL WHERE id = ? "
        "AND status = 'sending'",
        (error, outbox_id),
    )


def mark_failed(db: Store, outbox_id: int, error: str) -> None:
    db.execute(
        "UPDATE outbox SET status = 'failed', error = ?, owner = NULL WHERE id = ? "
        "AND status IN ('pending', 'sending', 'unknown')",
        (error, outbox_id),
    )


def fail_if_unchanged(
    db: Store, outbox_id: int, *, error: str, was_status: str, was_attempts: int
) -> bool:
    """Close the row as 'failed' if nobody took it since the caller read it."""
    cur = db.execute(
        "UPDATE outbox SET status = 'failed', owner = NULL, error = ? WHERE id = ? "
        "AND status = ? AND attempts = ?",
        (error, outbox_id, was_status, was_attempts),
    )
    return cur.rowcount == 1


def set_error(db: Store, outbox_id: int, error: str) -> None:
    db.execute("UPDATE outbox SET error = ? WHERE id = ?", (error, outbox_id))


def mark_sent(
    db: Store, outbox_id: int, *, remote_id: str | None, remote_url: str | None, sent_at: str | None
) -> None:
    db.execute(
        "UPDATE outbox SET status = 'sent', remote_id = ?, remote_url = ?, sent_at = ?, "
        "error = NULL, owner = NULL WHERE id = ?",
        (remote_id, remote_url, sent_at, outbox_id),
    )


def stop_first_response(db: Store, item_id: int, *, at: str | None, by: str) -> None:
    """Stop the item's first-response clock unless an earlier answer already did."""
    db.execute(
        "UPDATE mentions SET first_response_at = ?, first_response_by = ? "
        "WHERE item_id = ? AND first_response_at IS NULL",
        (at, by, item_id),
    )


def close_item(db: Store, item_id: int, *, at: str | None, handoff: bool) -> None:
    """Close the replied-to item: 'moved_to_email' for a handoff, 'answered' otherwise."""
    if handoff:
        db.execute(
            "UPDATE mentions SET status = 'moved_to_email', closed_at = ?, "
            "claim_expires_at = NULL WHERE item_id = ? AND status IN "
            "('open', 'claimed', 'answered')",
            (at, item_id),
        )
    else:
        db.execute(
            "UPDATE mentions SET status = 'answered', closed_at = ?, claim_expires_at = NULL "
            "WHERE item_id = ? AND status IN ('open', 'claimed')",
            (at, item_id),
        )


def unresolved(db: Store, item_id: int | None = None) -> list[OutboxRow]:
    """Rows whose outcome is not final, oldest first (optionally of one queue item)."""
    sql = (
        "SELECT o.* FROM outbox o JOIN mentions m ON m.id = o.mention_id "
        "WHERE o.status IN ('pending', 'sending', 'unknown')"
    )
    params: list[Any] = []
    if item_id is not None:
        sql += " AND COALESCE(m.item_id, m.id) = ?"
        params.append(item_id)
    return db.rows(sql + " ORDER BY o.id", params)


def listed(db: Store, statuses: Sequence[str], limit: int | None) -> list[OutboxRow]:
    """Rows newest first with the replied-to author and URL, optionally filtered."""
    sql = (
        "SELECT o.*, m.author_handle, m.url AS mention_url, COALESCE(m.item_id, m.id) AS item_id "
        "FROM outbox o JOIN mentions m ON m.id = o.mention_id"
    )
    params: list[Any] = []
    if statuses:
        sql += f" WHERE o.status IN ({', '.join('?' for _ in statuses)})"
        params += list(statuses)
    sql += " ORDER BY o.id DESC"
    if limit:
        sql += f" LIMIT {min(int(limit), 2**63 - 1)}"
    return db.rows(sql, params)


def count(db: Store, statuses: Sequence[str] = ()) -> int:
    sql = "SELECT COUNT(*) FROM outbox"
    if statuses:
        sql += f" WHERE status IN ({', '.join('?' for _ in statuses)})"
    return int(db.execute(sql, list(statuses)).fetchone()[0])
