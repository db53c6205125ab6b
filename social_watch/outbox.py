"""Public replies sent exactly once: record, then post, then mark; reconcile the unknown.

A reply is a public act that cannot be taken back, and networks time out *after* posting.
So every reply is an ``outbox`` row, committed with its idempotency key before the network
call, and moves through these states (each change its own committed transaction)::

    pending ──take──▶ sending ──posted──▶ sent
                         │  ├─refused───▶ failed    (auth, rate limit, read-only: not posted)
                         │  └─timeout───▶ unknown   (may or may not be on the network)
                         └─process died: stays 'sending', owner host:pid is gone

A row in 'sending' (dead owner) or 'unknown' is never posted again blindly: whoever takes
it next asks the connector ``find_reply(mention, key)`` first and only posts when the
network has no reply with that key. Taking a row is one conditional UPDATE, so two
retries can never both post it; a row whose owner process is alive (same host) or whose
lease has not run out (another host) is left alone.

The first reply that is sent stops the first-response clock of the whole queue item and
leaves a 'replied' action with the whole text in the audit trail.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from social_watch import db as dbmod
from social_watch.clock import from_db, iso
from social_watch.connector import Connector, PostedReply
from social_watch.errors import (
    AuthError,
    BadItem,
    ConfigError,
    ConnectorError,
    RateLimited,
    TransientError,
    UsageError,
)
from social_watch.models import Mention
from social_watch.process import pid_alive
from social_watch.store import add_action, iter_rows

STATUSES = ("pending", "sending", "sent", "unknown", "failed")
UNRESOLVED = ("pending", "sending", "unknown")
LEASE = timedelta(minutes=10)  # how long another host waits for a silent sender
HOST = socket.gethostname()
_IN_FLIGHT: set[str] = set()  # keys this process is posting right now

# Refusals that mean "the network did not post it": safe to mark failed, never unknown.
_DEFINITELY_NOT_POSTED = (AuthError, RateLimited, UsageError, ConfigError, BadItem)


@dataclass(frozen=True)
class SendResult:
    """What happened to one outbox row; ``status`` is the row's status afterwards."""

    outbox_id: int
    key: str
    mention_id: int
    kind: str
    status: str
    text: str
    remote_id: str | None = None
    url: str | None = None
    error: str | None = None
    reconciled: bool = False  # found on the network instead of posted by this call

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def new_key(item_id: int, kind: str) -> str:
    """An idempotency key: unique, and readable enough to find in a network's UI."""
    return f"sw-{item_id}-{kind}-{uuid.uuid4().hex[:16]}"


def owner_id() -> str:
    return f"{HOST}:{os.getpid()}"


def record(
    db: sqlite_utils.Database,
    *,
    mention_id: int,
    kind: str,
    agent: str | None,
    network: str,
    text: str,
    now: datetime,
    reference: str | None = None,
) -> dict[str, Any]:
    """Commit the intent to post before anything leaves the machine."""
    key = new_key(mention_id, kind)
    with dbmod.write(db):
        cur = db.conn.execute(
            "INSERT INTO outbox (key, mention_id, kind, agent, network, text, status, reference, "
            "created_at, owner, lease_until) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)",
            (
                key,
                mention_id,
                kind,
                agent,
                network,
                text,
                reference,
                iso(now),
                owner_id(),
                iso(now + LEASE),
            ),
        )
    assert cur.lastrowid is not None
    return get(db, cur.lastrowid)


def get(db: sqlite_utils.Database, outbox_id: int) -> dict[str, Any]:
    rows = iter_rows(db, "SELECT * FROM outbox WHERE id = ?", [outbox_id])
    if not rows:
        raise UsageError(f"no outbox row {outbox_id}")
    return rows[0]


def owner_alive(row: dict[str, Any], now: datetime) -> bool:
    """Is the process that holds this row possibly still posting it?"""
    owner = row.get("owner")
    if row["status"] not in ("pending", "sending") or not owner:
        return False
    host, _, pid_text = owner.rpartition(":")
    if host != HOST:
        lease = from_db(row.get("lease_until"))
        return lease is not None and lease > now
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    if pid == os.getpid():
        return row["key"] in _IN_FLIGHT
    return pid_alive(pid)


def _take(db: sqlite_utils.Database, row: dict[str, Any], now: datetime) -> dict[str, Any] | None:
    """Become the only sender of ``row``: one conditional UPDATE, None if someone else is."""
    with dbmod.write(db):
        fresh = get(db, row["id"])
        if fresh["status"] not in UNRESOLVED:
            return None
        mine = fresh["owner"] == owner_id() and fresh["key"] not in _IN_FLIGHT
        if fresh["status"] in ("pending", "sending") and not mine and owner_alive(fresh, now):
            return None
        cur = db.conn.execute(
            "UPDATE outbox SET status = 'sending', owner = ?, lease_until = ?, "
            "attempts = attempts + 1, attempted_at = ? WHERE id = ? AND status = ? "
            "AND owner IS ? AND attempts = ?",
            (
                owner_id(),
                iso(now + LEASE),
                iso(now),
                fresh["id"],
                fresh["status"],
                fresh["owner"],
                fresh["attempts"],
            ),
        )
        if cur.rowcount != 1:
            return None
    return fresh  # as it was before we took it: attempts > 0 means it may be out there


def send(
    db: sqlite_utils.Database,
    row: dict[str, Any],
    connector: Connector,
    mention: Mention,
    *,
    clock: Callable[[], datetime],
) -> SendResult:
    """Post one outbox row at most once (reconciling first if it may already be out)."""
    before = _take(db, row, clock())
    if before is None:
        fresh = get(db, row["id"])
        if fresh["status"] in UNRESOLVED:
            return _result(fresh, error=f"being sent right now by {fresh['owner']}")
        return _result(fresh)
    key = before["key"]
    if before["attempts"] > 0 or before["status"] in ("sending", "unknown"):
        try:
            found = connector.find_reply(mention, key)
        except Exception as exc:  # cannot tell: never post blindly
            return _mark_unknown(db, before, f"could not check the network: {_describe(exc)}")
        if found is not None:
            return mark_sent(db, before, found, now=clock(), reconciled=True)
    _IN_FLIGHT.add(key)
    try:
        posted = connector.reply(mention, before["text"], key)
    except _DEFINITELY_NOT_POSTED as exc:
        return _mark_failed(db, before, _describe(exc))
    except ConnectorError as exc:
        if isinstance(exc, TransientError):
            return _mark_unknown(db, before, _describe(exc))
        return _mark_failed(db, before, _describe(exc))
    except (Exception, KeyboardInterrupt) as exc:
        # A timeout or crash inside the client: it may have been posted.
        _mark_unknown(db, before, _describe(exc))
        if isinstance(exc, KeyboardInterrupt):
            raise
        return _result(get(db, before["id"]))
    finally:
        _IN_FLIGHT.discard(key)
    return mark_sent(db, before, posted, now=clock())


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _mark_unknown(db: sqlite_utils.Database, row: dict[str, Any], error: str) -> SendResult:
    with dbmod.write(db):
        db.conn.execute(
            "UPDATE outbox SET status = 'unknown', error = ?, owner = NULL WHERE id = ? "
            "AND status = 'sending'",
            (error, row["id"]),
        )
    return _result(get(db, row["id"]))


def _mark_failed(db: sqlite_utils.Database, row: dict[str, Any], error: str) -> SendResult:
    with dbmod.write(db):
        db.conn.execute(
            "UPDATE outbox SET status = 'failed', error = ?, owner = NULL WHERE id = ? "
            "AND status IN ('pending', 'sending', 'unknown')",
            (error, row["id"]),
        )
    return _result(get(db, row["id"]))


def supersede(db: sqlite_utils.Database, row: dict[str, Any], why: str) -> SendResult:
    """Close a row that is known not to be on the network, so a new reply can go out."""
    return _mark_failed(db, row, why)


def mark_sent(
    db: sqlite_utils.Database,
    row: dict[str, Any],
    posted: PostedReply,
    *,
    now: datetime,
    reconciled: bool = False,
) -> SendResult:
    """The row is on the network: record where, stop the clock, audit the whole text."""
    at = from_db(row.get("attempted_at")) if reconciled else None
    at = at or now
    with dbmod.write(db):
        db.conn.execute(
            "UPDATE outbox SET status = 'sent', remote_id = ?, remote_url = ?, sent_at = ?, "
            "error = NULL, owner = NULL WHERE id = ?",
            (posted.remote_id, posted.url, iso(at), row["id"]),
        )
        item_id = db.conn.execute(
            "SELECT COALESCE(item_id, id) FROM mentions WHERE id = ?", (row["mention_id"],)
        ).fetchone()[0]
        by = row["agent"] or "social-watch"
        db.conn.execute(
            "UPDATE mentions SET first_response_at = ?, first_response_by = ? "
            "WHERE item_id = ? AND first_response_at IS NULL",
            (iso(at), by, item_id),
        )
        if row["kind"] == "handoff":
            db.conn.execute(
                "UPDATE mentions SET status = 'moved_to_email', closed_at = ?, "
                "claim_expires_at = NULL WHERE item_id = ? AND status IN "
                "('open', 'claimed', 'answered')",
                (iso(at), item_id),
            )
        else:
            db.conn.execute(
                "UPDATE mentions SET status = 'answered', closed_at = ?, claim_expires_at = NULL "
                "WHERE item_id = ? AND status IN ('open', 'claimed')",
                (iso(at), item_id),
            )
        details: dict[str, Any] = {
            "kind": row["kind"],
            "text": row["text"],
            "network": row["network"],
            "outbox_id": row["id"],
            "key": row["key"],
            "remote_id": posted.remote_id,
            "url": posted.url,
            "reply_to": row["mention_id"],
        }
        if row.get("reference"):
            details["reference"] = row["reference"]
        if reconciled:
            details["reconciled"] = True
        add_action(db, item_id, "replied", row["agent"], at, details)
    return _result(get(db, row["id"]), reconciled=reconciled)


def _result(
    row: dict[str, Any], *, error: str | None = None, reconciled: bool = False
) -> SendResult:
    return SendResult(
        outbox_id=row["id"],
        key=row["key"],
        mention_id=row["mention_id"],
        kind=row["kind"],
        status=row["status"],
        text=row["text"],
        remote_id=row["remote_id"],
        url=row["remote_url"],
        error=error or row["error"],
        reconciled=reconciled,
    )


# --- reading --------------------------------------------------------------------------


def unresolved(db: sqlite_utils.Database, item_id: int | None = None) -> list[dict[str, Any]]:
    """Rows whose outcome is not final, oldest first (optionally of one queue item)."""
    sql = (
        "SELECT o.* FROM outbox o JOIN mentions m ON m.id = o.mention_id "
        "WHERE o.status IN ('pending', 'sending', 'unknown')"
    )
    params: list[Any] = []
    if item_id is not None:
        sql += " AND COALESCE(m.item_id, m.id) = ?"
        params.append(item_id)
    return iter_rows(db, sql + " ORDER BY o.id", params)


def list_rows(
    db: sqlite_utils.Database, statuses: Iterable[str] = (), limit: int | None = 100
) -> list[dict[str, Any]]:
    """Outbox rows newest first, in the documented JSON shape."""
    wanted = list(statuses)
    for s in wanted:
        if s not in STATUSES:
            raise UsageError(f"--status must be one of {', '.join(STATUSES)}, got {s!r}")
    sql = (
        "SELECT o.*, m.author_handle, m.url AS mention_url, COALESCE(m.item_id, m.id) AS item_id "
        "FROM outbox o JOIN mentions m ON m.id = o.mention_id"
    )
    params: list[Any] = []
    if wanted:
        sql += f" WHERE o.status IN ({', '.join('?' for _ in wanted)})"
        params += wanted
    sql += " ORDER BY o.id DESC"
    if limit:
        sql += f" LIMIT {min(int(limit), 2**63 - 1)}"
    return [_shape(r) for r in iter_rows(db, sql, params)]


def count(db: sqlite_utils.Database, statuses: Iterable[str] = ()) -> int:
    """How many outbox rows there are (in these statuses, if given)."""
    wanted = list(statuses)
    sql = "SELECT COUNT(*) FROM outbox"
    if wanted:
        sql += f" WHERE status IN ({', '.join('?' for _ in wanted)})"
    return int(db.conn.execute(sql, wanted).fetchone()[0])


def _shape(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": r["id"],
        "status": r["status"],
        "kind": r["kind"],
        "mention_id": r["mention_id"],
        "item_id": r["item_id"],
        "network": r["network"],
        "in_reply_to": {"author": r["author_handle"], "url": r["mention_url"]},
        "agent": r["agent"],
        "text": r["text"],
        "reference": r["reference"],
        "key": r["key"],
        "remote_id": r["remote_id"],
        "remote_url": r["remote_url"],
        "error": r["error"],
        "attempts": r["attempts"],
        "created_at": r["created_at"],
        "attempted_at": r["attempted_at"],
        "sent_at": r["sent_at"],
    }
