"""The SQL of spike alerts: window counts, the negative examples of a scope, and the
cool-down state per scope (``alert_state``) with its history (``alert_events``).

The rule and the cool-down decisions stay in ``social_watch.alerts``; the caller holds
the transaction (``db.snapshot()`` for counting, ``db.write()`` for recording).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from social_watch.clock import iso
from social_watch.store.base import Store

NEGATIVE = "COALESCE(sentiment_override, sentiment_label) = 'negative'"


def group_sql(keywords: Sequence[str]) -> tuple[str, list[str]]:
    """A SQL condition: the folded text contains any keyword (substring, case-insensitive)."""
    words = [k.casefold() for k in keywords if k.strip()]
    if not words:
        return "1 = 0", []
    return "(" + " OR ".join("instr(t, ?) > 0" for _ in words) + ")", words


def window_counts_sql(groups: Mapping[str, Sequence[str]]) -> tuple[str, list[str]]:
    """One query counting (all, negative) overall and per group in a window (start, end]:
    its parameters are the group words, then the window's start and end."""
    # The conditions are booleans on PostgreSQL (which sums no booleans): count with CASE.
    columns, params = ["COUNT(*)", "COUNT(CASE WHEN neg THEN 1 END)"], []
    for keywords in groups.values():
        cond, words = group_sql(keywords)
        columns += [
            f"COUNT(CASE WHEN {cond} THEN 1 END)",
            f"COUNT(CASE WHEN neg AND {cond} THEN 1 END)",
        ]
        params += words + words
    sql = (
        f"SELECT {', '.join(columns)} FROM (SELECT {NEGATIVE} AS neg, sw_fold(text) AS t "
        "FROM mentions WHERE kind = 'mention' AND created_at > ? AND created_at <= ?) AS m"
    )
    return sql, params


def window_counts(
    db: Store, sql: str, params: Sequence[Any], start: datetime, end: datetime
) -> tuple[int, ...]:
    """The row of ``window_counts_sql`` for one window: total, negative, then per group."""
    row = db.execute(sql, [*params, iso(start), iso(end)]).fetchone()
    return tuple(int(v) for v in row)


def first_mention_at(db: Store) -> str | None:
    """When the first customer mention was created (stored text), None on an empty database."""
    row = db.execute("SELECT MIN(created_at) FROM mentions WHERE kind = 'mention'").fetchone()
    return row[0] if row and row[0] else None


def negative_mentions(
    db: Store, keywords: Sequence[str] | None, start: datetime, end: datetime, limit: int = 1000
) -> list[tuple[Any, ...]]:
    """Negative mentions of a scope in (start, end], most negative first:
    (id, network, url, author_handle, text, created_at)."""
    cond, words = group_sql(keywords) if keywords is not None else ("1 = 1", [])
    rows = db.execute(
        "SELECT id, network, url, author_handle, text, created_at FROM ("
        "  SELECT *, sw_fold(text) AS t FROM mentions WHERE kind = 'mention' AND "
        f"  {NEGATIVE} AND created_at > ? AND created_at <= ?) AS m WHERE {cond} "
        "ORDER BY COALESCE(sentiment_compound, 0), COALESCE(author_followers, 0) DESC, id "
        f"LIMIT {int(limit)}",
        [iso(start), iso(end), *words],
    ).fetchall()
    return [tuple(r) for r in rows]


def state(db: Store, scope: str) -> dict[str, Any] | None:
    """The ``alert_state`` row of one scope, None before its first alert."""
    rows = db.rows("SELECT * FROM alert_state WHERE scope = ?", [scope])
    return rows[0] if rows else None


def start_alert(db: Store, scope: str, at: datetime, details: str) -> None:
    """Mark the scope active and paged now; an alert already active keeps its start."""
    db.execute(
        "INSERT INTO alert_state (scope, status, started_at, alerted_at, last_firing_at, "
        "recovered_at, details) VALUES (?, 'active', ?, ?, ?, NULL, ?) "
        "ON CONFLICT (scope) DO UPDATE SET status = 'active', "
        "started_at = COALESCE(CASE WHEN alert_state.status = 'active' "
        "THEN alert_state.started_at END, excluded.started_at), alerted_at = excluded.alerted_at, "
        "last_firing_at = excluded.last_firing_at, recovered_at = NULL, details = excluded.details",
        [scope, iso(at), iso(at), iso(at), details],
    )


def remind(db: Store, scope: str, at: datetime, details: str) -> None:
    db.execute(
        "UPDATE alert_state SET alerted_at = ?, last_firing_at = ?, details = ? WHERE scope = ?",
        [iso(at), iso(at), details, scope],
    )


def still_firing(db: Store, scope: str, at: datetime, details: str) -> None:
    db.execute(
        "UPDATE alert_state SET last_firing_at = ?, details = ? WHERE scope = ?",
        [iso(at), details, scope],
    )


def set_details(db: Store, scope: str, details: str) -> None:
    db.execute("UPDATE alert_state SET details = ? WHERE scope = ?", [details, scope])


def recover(db: Store, scope: str, at: datetime, details: str) -> None:
    db.execute(
        "UPDATE alert_state SET status = 'calm', recovered_at = ?, details = ? WHERE scope = ?",
        [iso(at), details, scope],
    )


def add_event(db: Store, scope: str, event: str, at: datetime, details: str) -> None:
    db.execute(
        "INSERT INTO alert_events (scope, event, at, details) VALUES (?, ?, ?, ?)",
        [scope, event, iso(at), details],
    )


def record_delivery(
    db: Store, scope: str, event: str, at: datetime, delivered: list[str], failed: Mapping[str, str]
) -> None:
    """Where the page of ``event`` at ``at`` went (channels reached, and why others failed)."""
    db.execute(
        "UPDATE alert_events SET delivered = ?, failed = ? WHERE scope = ? AND at = ? "
        "AND event = ?",
        [json.dumps(delivered), json.dumps(dict(failed)), scope, iso(at), event],
    )


def clear_alerted(db: Store, scope: str) -> None:
    """The page reached nobody: forget it was sent, so the next run pages again."""
    db.execute("UPDATE alert_state SET alerted_at = NULL WHERE scope = ?", [scope])
