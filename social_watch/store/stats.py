"""The SQL of the per-day report rollups (migration 0008) and of the queue-now counts.

``stats.Rollups`` decides which rollups are valid and holds the best-effort writes
(``db.try_write``); the statements it runs are here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from social_watch.clock import iso
from social_watch.store.base import Store

UNASSIGNED = "(unassigned)"

# --- per-item facts ---------------------------------------------------------------------
# Everything below reads idx_mentions_stats (migration 0007) only: no wide row is fetched.
# INDEXED BY: without ANALYZE statistics SQLite prefers the narrower created_at index and
# then fetches every row, ~15x slower for a month.
# Correlated subqueries run only where a CASE lets them (closed or dismissed items), and
# the rare facts (several replies, follow-ups, follow-up messages) are small temp tables.

# The heads of the items a report computes live (those written in its live ranges, one
# SELECT per range): the two tables below start from them, so a warm report costs in
# proportion to the hours it computes, not to the month (issue 13: at 10 M mentions the
# month-long scans took 11 of a warm report's 17 s on PostgreSQL).
_HEADS_SQL = """
SELECT id, network, conversation_id FROM mentions INDEXED BY idx_mentions_stats
WHERE created_at >= :lo AND created_at < :hi AND kind = 'mention' AND item_id = id
"""

# Follow-up messages that joined an item (same conversation and author, before an answer):
# how many, and their tags, which count for the whole item.
_FOLLOWUPS_SQL = """
CREATE TEMP TABLE _sw_followups AS
SELECT f.item_id AS id, COUNT(*) AS n, json_group_array(f.tags) AS tags
FROM _sw_heads h JOIN mentions f ON f.item_id = h.id
WHERE f.kind = 'mention' AND f.item_id != f.id GROUP BY f.item_id
"""

# An item is followed up when its author wrote again in the same conversation after it
# (a later item). Such a message replies in the thread, so only items with in_reply_to are
# looked at, and each marks the latest earlier item of its thread. Only the conversations
# of the live heads can hold a message that marks one of them.
_FOLLOWED_SQL = """
CREATE TEMP TABLE _sw_followed AS
SELECT DISTINCT (
    SELECT p.id FROM mentions p
    WHERE p.network = f.network AND p.conversation_id = f.conversation_id
      AND p.kind = 'mention' AND p.item_id = p.id AND p.created_at < f.created_at
      AND lower(p.author_handle{c}) = lower(f.author_handle{c})
    ORDER BY p.created_at DESC LIMIT 1) AS id
FROM (SELECT DISTINCT network, conversation_id FROM _sw_heads
      WHERE conversation_id IS NOT NULL) AS c
JOIN mentions f ON f.network = c.network AND f.conversation_id = c.conversation_id
WHERE f.created_at > :start AND f.kind = 'mention' AND f.item_id = f.id
  AND f.in_reply_to IS NOT NULL
"""

# One row per queue item whose head was written in the period. :now is the report time.
# Every flag is 0 or 1 (CASE ... THEN 1 ELSE 0 END: PostgreSQL's comparisons are booleans,
# which it neither sums nor mixes with integers). {action} is ``a.action`` behind the
# store's ``unindexed``: SQLite's '+a.action' keeps it on idx_actions_mention, as (action,
# at) would scan every action of a kind. {greatest} is the two-argument maximum.
_ITEMS_SQL = (
    """
SELECT day, due_at, network, agent, tags, frt, messages, needs,
       CASE WHEN needs = 1 AND frt IS NOT NULL THEN 1 ELSE 0 END AS answered,
       within, breach,
       CASE WHEN needs = 1 AND frt IS NULL AND status IN ('open', 'claimed')
           THEN 1 ELSE 0 END AS unanswered_now,
       CASE WHEN needs = 1 AND frt IS NULL AND status IN ('open', 'claimed')
           AND (due_at IS NULL OR :now < due_at) THEN 1 ELSE 0 END AS pending,
       CASE WHEN needs = 1 AND frt IS NULL AND status NOT IN ('open', 'claimed')
           THEN 1 ELSE 0 END AS closed_unanswered,
       CASE WHEN status = 'moved_to_email' THEN 1 ELSE 0 END AS moved,
       CASE WHEN status = 'done' THEN 1 ELSE 0 END AS done,
       CASE WHEN status = 'dismissed' THEN 1 ELSE 0 END AS dismissed, dismiss_reason,
       CASE WHEN frt IS NOT NULL AND status IN ('answered', 'done') THEN CASE WHEN
           (SELECT COUNT(*) FROM actions a WHERE a.mention_id = i.id AND {action} = 'replied') <= 1
           AND id NOT IN (SELECT id FROM _sw_followed WHERE id IS NOT NULL) THEN 1 ELSE 0 END
           ELSE 0 END AS one_touch,
       CASE WHEN needs = 1 AND frt IS NULL AND due_at IS NOT NULL
           AND (status IN ('open', 'claimed') OR closed_at IS NULL)
           THEN 1 ELSE 0 END AS now_dependent
FROM (
    SELECT h.id, {bucket} AS day, h.network, h.status, h.due_at,
        h.closed_at,
        CASE WHEN h.first_response_at IS NOT NULL THEN {greatest}(0, CAST(round(
            (julianday(h.first_response_at) - julianday(h.created_at)) * 86400) AS INTEGER))
        END AS frt,
        CASE WHEN h.status != 'dismissed' THEN 1 ELSE 0 END AS needs,
        CASE WHEN h.first_response_at IS NOT NULL AND h.first_response_at <= h.due_at
            THEN 1 ELSE 0 END AS within,
        CASE WHEN h.status != 'dismissed' AND h.due_at IS NOT NULL AND (
            CASE
                WHEN h.first_response_at IS NOT NULL THEN h.first_response_at > h.due_at
                WHEN h.status IN ('open', 'claimed') THEN :now >= h.due_at
                ELSE COALESCE(h.closed_at, :now) > h.due_at
            END) THEN 1 ELSE 0 END AS breach,
        COALESCE(
            h.first_response_by,
            CASE WHEN h.status IN ('done', 'dismissed') THEN
                (SELECT a.agent FROM actions a WHERE a.mention_id = h.id AND {action} = h.status
                 ORDER BY a.at DESC, a.id DESC LIMIT 1) END,
            CASE WHEN h.status = 'claimed' THEN h.claimed_by END,
            '"""
    + UNASSIGNED
    + """') AS agent,
        CASE WHEN h.status = 'dismissed' THEN COALESCE(
            (SELECT json_extract(a.details, '$.reason') FROM actions a
             WHERE a.mention_id = h.id AND {action} = 'dismissed'
             ORDER BY a.at DESC, a.id DESC LIMIT 1), 'other') END AS dismiss_reason,
        1 + COALESCE(fu.n, 0) AS messages,
        CASE WHEN fu.id IS NULL THEN h.tags ELSE (
            SELECT json_group_array(value) FROM (
                SELECT value FROM json_each(h.tags)
                UNION SELECT t.value FROM json_each(fu.tags) a, json_each(a.value) t
            ) AS u) END AS tags
    FROM mentions h INDEXED BY idx_mentions_stats LEFT JOIN _sw_followups fu ON fu.id = h.id
    WHERE h.created_at >= :lo AND h.created_at < :hi AND h.kind = 'mention'
      AND h.item_id = h.id {hours}
) AS i
"""
)

_TEMP = ("_sw_items", "_sw_followups", "_sw_followed", "_sw_heads", "_sw_windows")

# The working window a time falls in: the latest window opening at or before it.
_IN_HOURS = "(SELECT w.e FROM _sw_windows w WHERE w.s <= {col} ORDER BY w.s DESC LIMIT 1) > {col}"


def _hours_clause(select: str, col: str) -> str:
    if select == "all":
        return ""
    inside = _IN_HOURS.format(col=col)
    return f"AND {inside}" if select == "business" else f"AND NOT COALESCE({inside}, FALSE)"


def load_windows(db: Store, rows: Sequence[str]) -> None:
    """``rows``: UTC open, close, open, close, ... as the temp table of working windows."""
    if rows:
        values = ", ".join("(?, ?)" for _ in range(len(rows) // 2))
        db.execute(
            "CREATE TEMP TABLE _sw_windows AS SELECT column1 AS s, column2 AS e "
            f"FROM (VALUES {values}) AS v",
            list(rows),
        )
    else:
        db.execute("CREATE TEMP TABLE _sw_windows (s TEXT, e TEXT)")
    db.execute("CREATE INDEX _sw_windows_s ON _sw_windows (s)")


def drop_temp(db: Store) -> None:
    db.drop_temp(_TEMP)


def create_items(
    db: Store,
    ranges: Sequence[tuple[str, str]],
    select: str,
    now: str,
    whole: tuple[str, str] | None = None,
) -> None:
    """The temp tables of the items whose heads lie in ``ranges`` (UTC ISO bounds, first
    range earliest), kept to ``select`` hours (``_sw_windows`` loaded for business/off).
    ``day`` is the item's UTC day inside ``whole`` (the period's whole days), its UTC hour
    ('YYYY-MM-DDTHH') outside it: the slots rollups are kept for."""
    bounds: dict[str, str] = {}
    heads = []
    for i, (lo, hi) in enumerate(ranges):
        bounds[f"lo{i}"], bounds[f"hi{i}"] = lo, hi
        heads.append(_HEADS_SQL.replace(":lo", f":lo{i}").replace(":hi", f":hi{i}"))
    db.execute("CREATE TEMP TABLE _sw_heads AS " + " UNION ALL ".join(heads), bounds)
    db.execute(_FOLLOWUPS_SQL)
    db.execute(_FOLLOWED_SQL.format(c=db.bytewise), {"start": ranges[0][0]})
    clause = _hours_clause(select, "h.created_at")
    # One statement (a DML statement would open a transaction): UNION ALL of the ranges.
    params: dict[str, str] = {"now": now}
    bucket = "substr(h.created_at, 1, 13)"
    if whole is not None:
        params["w0"], params["w1"] = whole
        bucket = (
            "CASE WHEN h.created_at >= :w0 AND h.created_at < :w1 THEN substr(h.created_at, 1, 10) "
            f"ELSE {bucket} END"
        )
    selects = []
    for i, (lo, hi) in enumerate(ranges):
        params[f"lo{i}"], params[f"hi{i}"] = lo, hi
        selects.append(
            _ITEMS_SQL.format(
                hours=clause, action=db.unindexed("a.action"), greatest=db.greatest, bucket=bucket
            )
            .replace(":lo", f":lo{i}")
            .replace(":hi", f":hi{i}")
        )
    db.execute("CREATE TEMP TABLE _sw_items AS " + " UNION ALL ".join(selects), params)


# --- aggregation over _sw_items -----------------------------------------------------------

_AGG = """
SELECT day, network, agent, tags, COUNT(*), SUM(messages), SUM(needs), SUM(answered),
    SUM(CASE WHEN answered = 1 THEN frt END), SUM(within), SUM(breach), SUM(pending),
    SUM(unanswered_now), SUM(closed_unanswered), SUM(moved), SUM(done), SUM(dismissed),
    SUM(one_touch)
FROM _sw_items GROUP BY day, network, agent, tags
"""
_REASONS = """
SELECT day, network, agent, tags, dismiss_reason, COUNT(*) FROM _sw_items
WHERE dismiss_reason IS NOT NULL GROUP BY 1, 2, 3, 4, 5
"""
# First-response seconds, exact below 10 minutes, then to 10 s below an hour, to a minute
# below a day, to 10 minutes beyond (a value stands for its bucket's lower bound): one
# histogram per dimension stays a few thousand rows however many items a period has.
_BUCKET = (
    "CASE WHEN frt < 600 THEN frt WHEN frt < 3600 THEN frt / 10 * 10 "
    "WHEN frt < 86400 THEN frt / 60 * 60 ELSE frt / 600 * 600 END"
)
_HISTOGRAM = (
    "SELECT day, {key}, "
    + _BUCKET
    + ", COUNT(*) FROM _sw_items WHERE answered = 1 GROUP BY 1, 2, 3"
)
_HIST_KEYS = {"overall": "'all'", "by_network": "network", "by_agent": "agent", "by_tag": "tags"}
# Per day, the due times around :now of items whose figures depend on the report time
# (still waiting: breached once due). A day's rollup holds for any report time with no such
# due time between it and the time the rollup was computed for.
_NOW_BOUNDS = """
SELECT day, MAX(CASE WHEN now_dependent = 1 AND due_at <= :now THEN due_at END),
    MIN(CASE WHEN now_dependent = 1 AND due_at >= :now THEN due_at END)
FROM _sw_items GROUP BY day
"""


def sums_rows(db: Store) -> list[tuple[Any, ...]]:
    """(day, network, agent, tags, then the sums in ``stats._SUMS`` order) per group."""
    return [tuple(r) for r in db.execute(_AGG)]


def reason_rows(db: Store) -> list[tuple[Any, ...]]:
    """(day, network, agent, tags, dismiss reason, items)."""
    return [tuple(r) for r in db.execute(_REASONS)]


def histogram_rows(db: Store, dim: str) -> list[tuple[Any, ...]]:
    """(day, key of ``dim``, first-response bucket seconds, items) of answered items."""
    return [tuple(r) for r in db.execute(_HISTOGRAM.format(key=_HIST_KEYS[dim]))]


def now_bounds(db: Store, now: str) -> list[tuple[Any, ...]]:
    """(day, latest due time at or before ``now``, earliest at or after) of waiting items."""
    return [tuple(r) for r in db.execute(_NOW_BOUNDS, {"now": now})]


def hour_counts(db: Store, start: datetime, end: datetime, select: str) -> list[tuple[str, int]]:
    """(UTC 'YYYY-MM-DDTHH', customer messages) over [start, end), kept to ``select`` hours."""
    extra = _hours_clause(select, "created_at")
    rows = db.execute(
        "SELECT substr(created_at, 1, 13) AS h, COUNT(*) FROM mentions INDEXED BY idx_mentions_stats "
        f"WHERE created_at >= ? AND created_at < ? AND kind = 'mention' {extra} GROUP BY h",
        (iso(start), iso(end)),
    )
    return [(r[0], int(r[1])) for r in rows]


# --- per-day rollups ----------------------------------------------------------------------


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
          AND lower(p.author_handle{c}) = lower(f.author_handle{c})
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
        f"INSERT INTO stats_dirty (day) SELECT day FROM ({_NEW_DAYS.format(c=db.bytewise)}) "
        "AS new_days "
        "WHERE day IS NOT NULL ON CONFLICT DO NOTHING",
        {"mark": low},
    )
    db.execute("UPDATE stats_watermark SET max_id = ?", (high,))


def new_days(db: Store, mark: int) -> set[str]:
    """The days mentions above ``mark`` change (when they could not be marked)."""
    new_days = _NEW_DAYS.format(c=db.bytewise)
    return {r[0] for r in db.execute(new_days, {"mark": mark}) if r[0] is not None}


def rollup_rows(db: Store, scopes: Sequence[str], first: str, last: str) -> list[tuple[Any, ...]]:
    """(day, scope, fingerprint, version, computed_now, lo, hi, data) of the rollups of
    ``scopes`` for unmarked days in [first, last]."""
    marks = ", ".join("?" for _ in scopes)
    rows = db.execute(
        "SELECT day, scope, fingerprint, version, computed_now, lo, hi, data FROM stats_rollups "
        f"WHERE scope IN ({marks}) AND day >= ? AND day <= ? "
        "AND day NOT IN (SELECT day FROM stats_dirty)",
        (*scopes, first, last),
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
