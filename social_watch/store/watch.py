"""The watch loop's statements: its lock, each connector's state, the workers and their
leases, reminders, and the small ``watch_state`` key/value table. The rules (who is alive,
fair share, backoff, when to remind) stay in the watch modules; every change of owner here
is a conditional UPDATE on what the caller saw, and returns whether it won."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from social_watch.store.base import Store

Row = dict[str, Any]
# token, pid, host, since, heartbeat, heartbeat_every: a lock holder or a worker
HolderRow = tuple[str, int, str, str, str, float]


# --- watch_state: small named values ----------------------------------------------------


def get_state(db: Store, key: str) -> str | None:
    row = db.execute("SELECT value FROM watch_state WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def set_state(db: Store, key: str, value: str | None) -> None:
    """Store ``value`` under ``key``; None removes the key."""
    if value is None:
        db.execute("DELETE FROM watch_state WHERE key = ?", (key,))
    else:
        db.execute(
            "INSERT INTO watch_state (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )


# --- the one-loop lock (SQLite) ---------------------------------------------------------


def lock_row(db: Store) -> HolderRow | None:
    row = db.execute(
        "SELECT token, pid, host, since, heartbeat, heartbeat_every FROM watch_lock WHERE id = 1"
    ).fetchone()
    return (row[0], row[1], row[2], row[3], row[4], row[5]) if row else None


def put_lock(
    db: Store, *, token: str, pid: int, host: str, now: str | None, heartbeat_every: float
) -> None:
    """Make ``token`` the lock's holder, replacing whoever held it."""
    db.execute(
        "INSERT INTO watch_lock (id, token, pid, host, since, heartbeat, "
        "heartbeat_every) VALUES (1, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
        "token = excluded.token, pid = excluded.pid, host = excluded.host, "
        "since = excluded.since, heartbeat = excluded.heartbeat, "
        "heartbeat_every = excluded.heartbeat_every",
        (token, pid, host, now, now, heartbeat_every),
    )


def beat_lock(db: Store, token: str, now: str | None) -> bool:
    """Renew the lock's heartbeat; False when ``token`` no longer holds it."""
    cur = db.execute("UPDATE watch_lock SET heartbeat = ? WHERE id = 1 AND token = ?", (now, token))
    return cur.rowcount == 1


def drop_lock(db: Store, token: str) -> None:
    db.execute("DELETE FROM watch_lock WHERE id = 1 AND token = ?", (token,))


# --- connectors ------------------------------------------------------------------------


def ensure_connector(
    db: Store, name: str, *, interval: float, quiet_period: float, now: str | None
) -> None:
    """A state row for ``name``; an existing one keeps its history, takes the new settings."""
    db.execute(
        "INSERT INTO watch_connectors (connector, interval, quiet_period, watched_since) "
        "VALUES (?, ?, ?, ?) ON CONFLICT(connector) DO UPDATE SET "
        "interval = excluded.interval, quiet_period = excluded.quiet_period",
        (name, interval, quiet_period, now),
    )


def connectors(db: Store) -> list[Row]:
    return db.rows("SELECT * FROM watch_connectors")


def connectors_with_state(db: Store) -> list[Row]:
    """Every connector's row with ``cannot_poll`` from its ``watch_state`` key."""
    return db.rows(
        "SELECT c.*, s.value AS cannot_poll FROM watch_connectors c LEFT JOIN watch_state s "
        "ON s.key = 'cannot_poll:' || c.connector"
    )


def record_poll_result(
    db: Store,
    name: str,
    *,
    now: str | None,
    status: str,
    fetched: int,
    new: int,
    duplicates: int,
    skipped: int,
    error: str | None,
    rate_limit_reset: str | None,
    next_poll: str | None,
    failures: int,
    ok: bool,
) -> None:
    """What the last poll of ``name`` did; success and new-mention times move only on evidence."""
    db.execute(
        "UPDATE watch_connectors SET last_poll_at = ?, last_status = ?, fetched = ?, new = ?, "
        "duplicates = ?, skipped = ?, error = ?, rate_limit_reset = ?, next_poll_at = ?, "
        "failures = ?, last_success_at = CASE WHEN ? THEN ? ELSE last_success_at END, "
        "last_mention_at = CASE WHEN ? > 0 THEN ? ELSE last_mention_at END "
        "WHERE connector = ?",
        (
            now,
            status,
            fetched,
            new,
            duplicates,
            skipped,
            error,
            rate_limit_reset,
            next_poll,
            failures,
            ok,
            now,
            new,
            now,
            name,
        ),
    )


def set_health(db: Store, name: str, *, healthy: bool, reason: str | None, at: str | None) -> None:
    db.execute(
        "UPDATE watch_connectors SET healthy = ?, health_reason = ?, health_changed_at = ? "
        "WHERE connector = ?",
        (int(healthy), reason, at, name),
    )


def last_poll_wait(db: Store, source_key: str) -> tuple[str | None, str | None] | None:
    """(error, rate_limit_reset) of the latest poll of a source, None if never polled."""
    row = db.execute(
        "SELECT error, rate_limit_reset FROM polls WHERE source = ? "
        "ORDER BY started_at DESC, id DESC LIMIT 1",
        (source_key,),
    ).fetchone()
    return (row[0], row[1]) if row else None


# --- workers and leases (several loops on PostgreSQL) ------------------------------------


def register_worker(
    db: Store, *, token: str, pid: int, host: str, now: str | None, heartbeat_every: float
) -> None:
    """Insert the worker's row, or renew its heartbeat if it is there already."""
    db.execute(
        "INSERT INTO watch_workers (token, pid, host, since, heartbeat, heartbeat_every) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (token) DO UPDATE SET "
        "heartbeat = excluded.heartbeat",
        (token, pid, host, now, now, heartbeat_every),
    )


def beat_worker(db: Store, token: str, now: str | None) -> bool:
    """Renew the worker's heartbeat; False when its row is gone (others took it for dead)."""
    cur = db.execute("UPDATE watch_workers SET heartbeat = ? WHERE token = ?", (now, token))
    return cur.rowcount == 1


def remove_worker(db: Store, token: str) -> None:
    """Hand back every lease of ``token`` and delete its row."""
    db.execute("UPDATE watch_connectors SET lease_owner = NULL WHERE lease_owner = ?", (token,))
    db.execute("DELETE FROM watch_workers WHERE token = ?", (token,))


def clear_dead_worker(db: Store, token: str, heartbeat: str | None) -> None:
    """Delete a worker's row only if it has not beaten since the caller saw it dead."""
    db.execute(
        "DELETE FROM watch_workers WHERE token = ? AND heartbeat = ?",
        (token, heartbeat),
    )


def leases(db: Store) -> list[tuple[str, str]]:
    """(owner, connector) of every held lease, by connector."""
    return [
        (r[0], r[1])
        for r in db.execute(
            "SELECT lease_owner, connector FROM watch_connectors WHERE lease_owner IS NOT NULL "
            "ORDER BY connector"
        )
    ]


def worker_rows(db: Store) -> list[HolderRow]:
    """Every registered worker, oldest first."""
    return [
        (r[0], r[1], r[2], r[3], r[4], r[5])
        for r in db.execute(
            "SELECT token, pid, host, since, heartbeat, heartbeat_every FROM watch_workers "
            "ORDER BY since, token"
        )
    ]


def owners(db: Store, names: Sequence[str]) -> dict[str, str | None]:
    """connector -> lease owner (None when free) for ``names``, in connector order."""
    marks = ", ".join("?" for _ in names)
    return dict(
        db.execute(
            f"SELECT connector, lease_owner FROM watch_connectors WHERE connector IN ({marks}) "
            "ORDER BY connector",
            list(names),
        ).fetchall()
    )


def hand_back(db: Store, connector: str, token: str) -> None:
    db.execute(
        "UPDATE watch_connectors SET lease_owner = NULL WHERE connector = ? AND lease_owner = ?",
        (connector, token),
    )


def take_lease(db: Store, connector: str, token: str, was_owner: str | None) -> bool:
    """Make ``token`` the owner if the owner is still ``was_owner``; True when it won."""
    cur = db.execute(
        "UPDATE watch_connectors SET lease_owner = ? "
        "WHERE connector = ? AND lease_owner IS NOT DISTINCT FROM ?",
        (token, connector, was_owner),
    )
    return cur.rowcount == 1


def lease_owner(db: Store, connector: str) -> str | None:
    owner = db.scalar("SELECT lease_owner FROM watch_connectors WHERE connector = ?", (connector,))
    return None if owner is None else str(owner)


# --- reminders and expired claims -------------------------------------------------------


def reminder_heads(db: Store) -> list[Row]:
    """Open items with a due time that have not yet had a delivered 'breached' reminder."""
    return db.rows(
        "SELECT m.id, m.created_at, m.due_at, m.fetched_at FROM mentions m "
        "WHERE m.status IN ('open', 'claimed') AND m.item_id = m.id AND m.due_at IS NOT NULL "
        "AND m.kind = 'mention' AND NOT EXISTS (SELECT 1 FROM reminders r WHERE "
        "r.item_id = m.id AND r.threshold = 'breached' AND r.delivered != '[]')"
    )


def open_reminders(db: Store) -> list[Row]:
    """Reminder rows (item_id, threshold, delivered, at) of items still open."""
    return db.rows(
        "SELECT item_id, threshold, delivered, at FROM reminders WHERE item_id IN "
        "(SELECT id FROM mentions WHERE status IN ('open', 'claimed') AND item_id = id)"
    )


def add_reminders(db: Store, rows: Iterable[tuple[int, str, str | None]], delivered: str) -> None:
    """Record (item_id, threshold, at) reminders as ``delivered``; existing ones are kept."""
    db.executemany(
        "INSERT INTO reminders (item_id, threshold, at, delivered) "
        "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [(i, t, at, delivered) for i, t, at in rows],
    )


def start_reminder(
    db: Store, item_id: int, threshold: str, at: str | None, retry_before: str | None
) -> bool:
    """Claim one reminder for sending, before it leaves the machine; False when another
    loop recorded it first. A conditional claim, not a blind upsert (several watch loops on
    PostgreSQL read the same state): a failed one (delivered '[]') is taken again once it
    is older than ``retry_before``."""
    cur = db.execute(
        "INSERT INTO reminders (item_id, threshold, at, delivered) VALUES (?, ?, ?, "
        "'[\"sending\"]') ON CONFLICT(item_id, threshold) DO UPDATE SET at = excluded.at, "
        "delivered = excluded.delivered "
        "WHERE reminders.delivered = '[]' AND reminders.at <= ?",
        (item_id, threshold, at, retry_before),
    )
    return bool(cur.rowcount)


def set_delivered(db: Store, item_ids: Iterable[int], threshold: str, channels: str) -> None:
    db.executemany(
        "UPDATE reminders SET delivered = ? WHERE item_id = ? AND threshold = ?",
        [(channels, i, threshold) for i in item_ids],
    )


def expired_claims(db: Store, now: str | None) -> list[Row]:
    return db.rows(
        "SELECT id, network, url, author_handle, claimed_by, claim_expires_at FROM mentions "
        "WHERE status = 'claimed' AND item_id = id AND claim_expires_at <= ?",
        [now],
    )


def unclaim_expired(db: Store, item_id: int, now: str | None) -> bool:
    """Put an item whose claim ran out back in the queue; False if re-claimed or answered."""
    cur = db.execute(
        "UPDATE mentions SET status = 'open', claimed_by = NULL, claimed_at = NULL, "
        "claim_expires_at = NULL WHERE item_id = ? AND status = 'claimed' "
        "AND claim_expires_at <= ?",
        (item_id, now),
    )
    return bool(cur.rowcount)
