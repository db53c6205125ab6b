"""The SQL of the per-day report rollups (migration 0008) and of the queue-now counts.

``stats.Rollups`` decides which rollups are valid and holds the best-effort writes
(``db.try_write``); the statements it runs are here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from social_watch.store.base import Store

# The days that mentions stored above the watermark change: their own, their item head's,
# and their author's previous item in the conversation (as the UPDATE triggers mark them).
_NEW_DAYS = """
SELECT substr(created_at, 1, 10) AS day FROM mentions WHERE id > :mark AND kind = 'mention'
UNION
SELECT substr(h.created_at, 1, 10) FROM mentions f JOIN mentions h ON h.id = f.item_id
WHERE f.id > :mark AND f.kind = 'mention' AND f.item_id != f.id
UNION
SELECT (SELECT substr(p.created_at, 1, 10) FROM mentions p
        WHERE p.network = f.network AND p.conversation_id = f.conversation_id
          AND p.kind = 'mention' AND p.item_id = p.id AND p.created_at < f.created_at
          AND lower(p.author_handle) = lower(f.author_handle)
        ORDER BY p.created_at DESC LIMIT 1)
FROM mentions f
WHERE f.id > :mark AND f.kind = 'mention' AND f.conversation_id IS NOT NULL AND f.item_id = f.id
"""


def has_rollups(db: Store) -> bool:
    return {"stats_rollups", "stats_dirty", "stats_watermark"} <= set(db.user_tables())


def watermark(db: Store) -> tuple[int, int]:
    """(the highest mention id whose days are marked, the highest mention id stored)."""
    (mark,) = db.execute("SELECT max_id FROM stats_watermark").fetchone()
    (top,) = db.execute("SELECT COALESCE(MAX(id), 0) FROM mentions").fetchone()
    return int(mark), int(top)


def advance_watermark(db: Store) -> None:
    """Inside a write: mark the days of mentions stored since the watermark, then move it."""
    low, high = watermark(db)
    db.execute(
        f"INSERT INTO stats_dirty (day) SELECT day FROM ({_NEW_DAYS}) AS new_days "
        "WHERE day IS NOT NULL ON CONFLICT DO NOTHING",
        {"mark": low},
    )
    db.execute("UPDATE stats_watermark SET max_id = ?", (high,))


def new_days(db: Store, mark: int) -> set[str]:
    """The days mentions above ``mark`` change (when they could not be marked)."""
    return {r[0] for r in db.execute(_NEW_DAYS, {"mark": mark}) if r[0] is not None}


def rollup_rows(db: Store, scope: str, first: str, last: str) -> list[tuple[Any, ...]]:
    """(day, fingerprint, version, computed_now, lo, hi, data) of unmarked days in [first, last]."""
    rows = db.execute(
        "SELECT day, fingerprint, version, computed_now, lo, hi, data FROM stats_rollups "
        "WHERE scope = ? AND day >= ? AND day <= ? "
        "AND day NOT IN (SELECT day FROM stats_dirty)",
        (scope, first, last),
    )
    return [tuple(r) for r in rows]


def dirty_days(db: Store, days: Sequence[str]) -> list[str]:
    """Which of ``days`` are marked changed."""
    marks = ", ".join("?" for _ in days)
    return [r[0] for r in db.execute(f"SELECT day FROM stats_dirty WHERE day IN ({marks})", days)]


def clear_days(db: Store, days: Sequence[str]) -> None:
    """Inside a write: drop the rollups of ``days`` (every scope) and their marks."""
    marks = ", ".join("?" for _ in days)
    db.execute(f"DELETE FROM stats_rollups WHERE day IN ({marks})", days)
    db.execute(f"DELETE FROM stats_dirty WHERE day IN ({marks})", days)


def put_rollups(db: Store, rows: Iterable[Sequence[Any]]) -> None:
    """Inside a write: (day, scope, fingerprint, version, computed_now, lo, hi, data) rows."""
    db.executemany(
        "INSERT INTO stats_rollups (day, scope, fingerprint, version, "
        "computed_now, lo, hi, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (day, scope) DO UPDATE SET fingerprint = excluded.fingerprint, "
        "version = excluded.version, computed_now = excluded.computed_now, "
        "lo = excluded.lo, hi = excluded.hi, data = excluded.data",
        rows,
    )


def stamped(db: Store, scope: str, first: str, end: str, now: str) -> int:
    """Rollups of ``scope`` for days in [first, end) computed for report time ``now``."""
    return int(
        db.execute(
            "SELECT COUNT(*) FROM stats_rollups WHERE scope = ? AND day >= ? AND day < ? "
            "AND computed_now = ?",
            (scope, first, end, now),
        ).fetchone()[0]
    )


def queue_now(db: Store, now: str) -> tuple[int, int]:
    """(waiting, overdue at ``now``) queue items. Brand posts are never open, so the
    queue's own covering index answers this."""
    waiting, overdue = db.execute(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN due_at <= ? THEN 1 ELSE 0 END), 0) FROM mentions "
        "WHERE status IN ('open', 'claimed') AND item_id = id",
        (now,),
    ).fetchone()
    return int(waiting), int(overdue)
