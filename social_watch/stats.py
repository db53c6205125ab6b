"""Response metrics for team leads: is the first-answer promise kept, and where is it not?

Every figure is about **queue items** (one conversation's messages from one author; the row
with ``item_id = id`` is the item's head and carries its status, due time and first
response). An item belongs to a period when its head was written inside it; outcomes
(answered, breached, closed) are as known at ``now``. The definitions are in README.md,
section "Metrics", and the tests check each on hand-built timelines.

Why SQL: a month of a busy brand is hundreds of thousands of rows. The heads of the period
are copied once into a temporary table with every per-item fact computed (first-response
seconds, within target, breach, agent, dismiss reason, one-touch); each grouping is then
one ``GROUP BY`` and percentiles one window query. Python only sees one row per group,
plus at most one row per hour for the volume histograms.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import sqlite_utils

from social_watch.clock import iso, parse_iso
from social_watch.config import parse_duration
from social_watch.errors import UsageError
from social_watch.sla import BusinessHours

HOURS = ("all", "business", "off")
GROUPS = ("overall", "by_network", "by_agent", "by_tag")
UNASSIGNED = "(unassigned)"
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Period:
    """A half-open UTC interval ``[start, end)``."""

    start: datetime
    end: datetime

    def previous(self) -> Period:
        """The period of the same length just before this one (for comparisons)."""
        return Period(self.start - (self.end - self.start), self.start)

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    def as_dict(self) -> dict[str, Any]:
        return {"from": iso(self.start), "to": iso(self.end)}


def period(
    *,
    now: datetime,
    since: str | None = None,
    start: str | None = None,
    end: str | None = None,
    tz: tzinfo = UTC,
    default: str = "24h",
) -> Period:
    """``--since 7d`` (ending now) or ``--from``/``--to`` (dates are midnight in ``tz``)."""
    if since and (start or end):
        raise UsageError("use --since or --from/--to, not both")
    if start or end:
        lo = _parse_when(start, tz, "--from") if start else None
        hi = _parse_when(end, tz, "--to") if end else now
        if lo is None:
            raise UsageError("--to needs --from (or use --since)")
        if hi <= lo:
            raise UsageError(f"--to ({iso(hi)}) must be after --from ({iso(lo)})")
        return Period(lo, hi)
    try:
        length = parse_duration(since or default)
    except ValueError as exc:
        raise UsageError(f"--since: {exc}") from None
    if length <= timedelta(0):
        raise UsageError("--since must be longer than 0 seconds")
    return Period(now - length, now)


def _parse_when(text: str, tz: tzinfo, option: str) -> datetime:
    value = text.strip()
    try:
        if len(value) == 10:  # YYYY-MM-DD: midnight where the team works
            day = datetime.fromisoformat(value)
            return day.replace(tzinfo=tz).astimezone(UTC)
        return parse_iso(value)
    except ValueError:
        raise UsageError(
            f"{option} {text!r}: expected a date (2026-11-01) or a time with a zone "
            "(2026-11-01T09:00:00Z)"
        ) from None


def report_tz(hours: BusinessHours | None) -> tzinfo:
    """Hours of day are the team's local hours when business hours name a zone, else UTC."""
    return hours.tz if hours is not None else UTC


# --- per-item facts ---------------------------------------------------------------------
# Everything below reads idx_mentions_stats (migration 0007) only: no wide row is fetched.
# INDEXED BY: without ANALYZE statistics SQLite prefers the narrower created_at index and
# then fetches every row, ~15x slower for a month.
# Correlated subqueries run only where a CASE lets them (closed or dismissed items), and
# the rare facts (several replies, follow-ups, follow-up messages) are small temp tables.

# Items with more than one recorded reply are not one-touch. Replies come after the period
# starts, so the (action, at) index finds them.
_MULTI_SQL = """
CREATE TEMP TABLE _sw_multi AS
SELECT mention_id AS id FROM actions WHERE action = 'replied' AND at >= :start
GROUP BY mention_id HAVING COUNT(*) > 1
"""

# Follow-up messages that joined an item (same conversation and author, before an answer):
# how many, and their tags, which count for the whole item.
_FOLLOWUPS_SQL = """
CREATE TEMP TABLE _sw_followups AS
SELECT item_id AS id, COUNT(*) AS n, json_group_array(tags) AS tags
FROM mentions INDEXED BY idx_mentions_stats
WHERE created_at >= :start AND kind = 'mention' AND item_id != id GROUP BY item_id
"""

# An item is followed up when its author wrote again in the same conversation after it
# (a later item). Such a message replies in the thread, so only items with in_reply_to are
# looked at, and each marks the latest earlier item of its thread.
_FOLLOWED_SQL = """
CREATE TEMP TABLE _sw_followed AS
SELECT DISTINCT (
    SELECT p.id FROM mentions p
    WHERE p.network = f.network AND p.conversation_id = f.conversation_id
      AND p.kind = 'mention' AND p.item_id = p.id AND p.created_at < f.created_at
      AND lower(p.author_handle) = lower(f.author_handle)
    ORDER BY p.created_at DESC LIMIT 1) AS id
FROM mentions f INDEXED BY idx_mentions_stats
WHERE f.created_at > :start AND f.kind = 'mention' AND f.item_id = f.id
  AND f.in_reply_to IS NOT NULL AND f.conversation_id IS NOT NULL
"""

# One row per queue item whose head was written in the period. :now is the report time.
# '+a.action' keeps SQLite on idx_actions_mention: (action, at) would scan every action of a kind.
_ITEMS_SQL = (
    """
CREATE TEMP TABLE _sw_items AS
SELECT network, agent, tags, frt, messages, needs,
       needs AND frt IS NOT NULL AS answered,
       within, breach,
       needs AND frt IS NULL AND status IN ('open', 'claimed') AS unanswered_now,
       needs AND frt IS NULL AND status IN ('open', 'claimed')
           AND (due_at IS NULL OR :now < due_at) AS pending,
       needs AND frt IS NULL AND status NOT IN ('open', 'claimed') AS closed_unanswered,
       status = 'moved_to_email' AS moved, status = 'done' AS done,
       status = 'dismissed' AS dismissed, dismiss_reason,
       frt IS NOT NULL AND status IN ('answered', 'done')
           AND id NOT IN (SELECT id FROM _sw_multi)
           AND id NOT IN (SELECT id FROM _sw_followed WHERE id IS NOT NULL) AS one_touch
FROM (
    SELECT h.id, h.network, h.status, h.due_at,
        CASE WHEN h.first_response_at IS NOT NULL THEN MAX(0, CAST(round(
            (julianday(h.first_response_at) - julianday(h.created_at)) * 86400) AS INTEGER))
        END AS frt,
        h.status != 'dismissed' AS needs,
        h.first_response_at IS NOT NULL AND h.first_response_at <= h.due_at AS within,
        h.status != 'dismissed' AND h.due_at IS NOT NULL AND (
            CASE
                WHEN h.first_response_at IS NOT NULL THEN h.first_response_at > h.due_at
                WHEN h.status IN ('open', 'claimed') THEN :now >= h.due_at
                ELSE COALESCE(h.closed_at, :now) > h.due_at
            END) AS breach,
        COALESCE(
            h.first_response_by,
            CASE WHEN h.status IN ('done', 'dismissed') THEN
                (SELECT a.agent FROM actions a WHERE a.mention_id = h.id AND +a.action = h.status
                 ORDER BY a.at DESC, a.id DESC LIMIT 1) END,
            CASE WHEN h.status = 'claimed' THEN h.claimed_by END,
            '"""
    + UNASSIGNED
    + """') AS agent,
        CASE WHEN h.status = 'dismissed' THEN COALESCE(
            (SELECT json_extract(a.details, '$.reason') FROM actions a
             WHERE a.mention_id = h.id AND +a.action = 'dismissed'
             ORDER BY a.at DESC, a.id DESC LIMIT 1), 'other') END AS dismiss_reason,
        1 + COALESCE(fu.n, 0) AS messages,
        CASE WHEN fu.id IS NULL THEN h.tags ELSE (
            SELECT json_group_array(value) FROM (
                SELECT value FROM json_each(h.tags)
                UNION SELECT t.value FROM json_each(fu.tags) a, json_each(a.value) t
            )) END AS tags
    FROM mentions h INDEXED BY idx_mentions_stats LEFT JOIN _sw_followups fu ON fu.id = h.id
    WHERE h.created_at >= :start AND h.created_at < :end AND h.kind = 'mention'
      AND h.item_id = h.id {hours}
)
"""
)

_TEMP = ("_sw_items", "_sw_multi", "_sw_followups", "_sw_followed", "_sw_windows")

# The working window a time falls in: the latest window opening at or before it.
_IN_HOURS = "(SELECT w.e FROM _sw_windows w WHERE w.s <= {col} ORDER BY w.s DESC LIMIT 1) > {col}"


def _hours_clause(select: str, col: str) -> str:
    if select == "all":
        return ""
    inside = _IN_HOURS.format(col=col)
    return f"AND {inside}" if select == "business" else f"AND NOT COALESCE({inside}, 0)"


def _load_windows(conn: Any, hours: BusinessHours, p: Period) -> None:
    """The period's UTC working windows as a temp table (DDL only: no transaction is left open)."""
    rows: list[str] = []
    # _windows_from yields the UTC working windows in order, skipping nights and holidays.
    for opens, closes in hours._windows_from(p.start - timedelta(days=1)):
        if opens >= p.end:
            break
        rows += [iso(opens) or "", iso(closes) or ""]
    if rows:
        values = ", ".join("(?, ?)" for _ in range(len(rows) // 2))
        conn.execute(
            "CREATE TEMP TABLE _sw_windows AS SELECT column1 AS s, column2 AS e "
            f"FROM (VALUES {values})",
            rows,
        )
    else:
        conn.execute("CREATE TEMP TABLE _sw_windows (s TEXT, e TEXT)")
    conn.execute("CREATE INDEX temp._sw_windows_s ON _sw_windows (s)")


def _drop_temp(conn: Any) -> None:
    for name in _TEMP:
        conn.execute(f"DROP TABLE IF EXISTS temp.{name}")


# --- aggregation ------------------------------------------------------------------------
# One GROUP BY (network, agent, tags) over the items gives a few hundred rows whatever the
# period; sums roll up exactly into every group in Python. Percentiles come from one
# first-response histogram per dimension.

_SUMS = (
    "items",
    "mentions",
    "needing",
    "answered",
    "frt_sum",
    "within",
    "breaches",
    "pending",
    "unanswered_now",
    "closed_unanswered",
    "moved_to_email",
    "done",
    "dismissed",
    "one_touch",
)

_AGG = """
SELECT network, agent, tags, COUNT(*), SUM(messages), SUM(needs), SUM(answered),
    SUM(CASE WHEN answered THEN frt END), SUM(within), SUM(breach), SUM(pending),
    SUM(unanswered_now), SUM(closed_unanswered), SUM(moved), SUM(done), SUM(dismissed),
    SUM(one_touch)
FROM _sw_items GROUP BY network, agent, tags
"""
_REASONS = """
SELECT network, agent, tags, dismiss_reason, COUNT(*) FROM _sw_items
WHERE dismiss_reason IS NOT NULL GROUP BY 1, 2, 3, 4
"""
# First-response seconds, exact below 10 minutes, then to 10 s below an hour, to a minute
# below a day, to 10 minutes beyond (a value stands for its bucket's lower bound): one
# histogram per dimension stays a few thousand rows however many items a period has.
_BUCKET = (
    "CASE WHEN frt < 600 THEN frt WHEN frt < 3600 THEN frt / 10 * 10 "
    "WHEN frt < 86400 THEN frt / 60 * 60 ELSE frt / 600 * 600 END"
)
_HISTOGRAM = "SELECT {key}, " + _BUCKET + ", COUNT(*) FROM _sw_items WHERE answered GROUP BY 1, 2"
_HIST_KEYS = {"overall": "'all'", "by_network": "network", "by_agent": "agent", "by_tag": "tags"}


class _Acc:
    """Running sums, dismiss reasons and the first-response histogram of one group."""

    __slots__ = ("hist", "reasons", "sums")

    def __init__(self) -> None:
        self.sums = dict.fromkeys(_SUMS, 0)
        self.reasons: dict[str, int] = {}
        self.hist: dict[int, int] = {}

    def result(self) -> dict[str, Any]:
        s = self.sums
        decided = s["needing"] - s["pending"]
        values = sorted(self.hist.items())
        return {
            "mentions": s["mentions"],
            "items": s["items"],
            "needing_answer": s["needing"],
            "answered": s["answered"],
            "first_response": {
                "median_s": _quantile(values, 0.5),
                "mean_s": round(s["frt_sum"] / s["answered"], 1) if s["answered"] else None,
                "p90_s": _quantile(values, 0.9),
            },
            "within_target": s["within"],
            "within_target_share": _ratio(s["within"], decided),
            "response_rate": _ratio(s["answered"], s["needing"]),
            "unanswered_now": s["unanswered_now"],
            "breaches": s["breaches"],
            "closed_unanswered": s["closed_unanswered"],
            "moved_to_email": s["moved_to_email"],
            "done": s["done"],
            "dismissed": {"total": s["dismissed"], "by_reason": dict(sorted(self.reasons.items()))},
            "one_touch": s["one_touch"],
            "one_touch_rate": _ratio(s["one_touch"], s["answered"]),
        }


def _ratio(part: float | None, whole: float | None) -> float | None:
    return round(part / whole, 4) if part is not None and whole else None


def _quantile(values: list[tuple[int, int]], p: float) -> float | None:
    """Linear interpolation at rank (n − 1)·p over (value, count) pairs, as numpy's default
    and ``statistics.quantiles(method='inclusive')``."""
    n = sum(c for _, c in values)
    if not n:
        return None
    pos = (n - 1) * p
    lo = int(pos)
    frac = pos - lo
    seen = 0
    low = high = None
    for value, count in values:
        if low is None and lo < seen + count:
            low = value
        if lo + 1 < seen + count:
            high = value
            break
        seen += count
    assert low is not None
    high = low if high is None else high
    return round(low + (high - low) * frac, 1)


def _keys(network: str, agent: str, tags: str, wanted: Iterable[str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for dim in wanted:
        if dim == "overall":
            out.append((dim, "all"))
        elif dim == "by_network":
            out.append((dim, network))
        elif dim == "by_agent":
            out.append((dim, agent))
        elif dim == "by_tag":
            out += [(dim, t) for t in _tag_list(tags)]
    return out


_TAG_CACHE: dict[str, list[str]] = {}


def _tag_list(tags: str | None) -> list[str]:
    if not tags:
        return []
    if tags not in _TAG_CACHE:
        if len(_TAG_CACHE) > 10_000:
            _TAG_CACHE.clear()
        _TAG_CACHE[tags] = sorted({str(t) for t in json.loads(tags)})
    return _TAG_CACHE[tags]


def _aggregate(conn: Any, wanted: list[str]) -> dict[str, dict[str, _Acc]]:
    groups: dict[str, dict[str, _Acc]] = {dim: {} for dim in wanted}

    def accs(network: str, agent: str, tags: str) -> list[_Acc]:
        return [
            groups[dim].setdefault(key, _Acc()) for dim, key in _keys(network, agent, tags, wanted)
        ]

    for network, agent, tags, *sums in conn.execute(_AGG):
        for acc in accs(network, agent, tags):
            for name, value in zip(_SUMS, sums, strict=True):
                acc.sums[name] += value or 0
    for network, agent, tags, reason, count in conn.execute(_REASONS):
        for acc in accs(network, agent, tags):
            acc.reasons[reason] = acc.reasons.get(reason, 0) + count
    for dim in wanted:
        found = groups[dim]
        for key, frt, count in conn.execute(_HISTOGRAM.format(key=_HIST_KEYS[dim])):
            for k in _tag_list(key) if dim == "by_tag" else [key]:
                acc = found.setdefault(k, _Acc())
                acc.hist[frt] = acc.hist.get(frt, 0) + count
    return groups


def _volume(conn: Any, p: Period, tz: tzinfo, hours_clause: str) -> dict[str, list[int]]:
    """Customer messages per local hour of day and day of week (for staffing)."""
    by_hour = [0] * 24
    by_weekday = [0] * 7
    for bucket, count in hourly(conn, p, hours_clause):
        local = bucket.astimezone(tz)
        by_hour[local.hour] += count
        by_weekday[local.weekday()] += count
    return {"by_hour": by_hour, "by_weekday": by_weekday}


def hourly(conn: Any, p: Period, extra: str = "") -> Iterable[tuple[datetime, int]]:
    """(UTC hour, customer messages) for each hour of the period that has any.

    Grouped by UTC hour in SQL (at most 24 rows a day reach Python), then converted to
    local time by the caller, so daylight-saving changes are exact for whole-hour zones.
    """
    rows = conn.execute(
        "SELECT substr(created_at, 1, 13) AS h, COUNT(*) FROM mentions INDEXED BY idx_mentions_stats "
        f"WHERE created_at >= ? AND created_at < ? AND kind = 'mention' {extra} GROUP BY h",
        (iso(p.start), iso(p.end)),
    )
    for bucket, count in rows:
        yield datetime.strptime(bucket, "%Y-%m-%dT%H").replace(tzinfo=UTC), count


def compute(
    db: sqlite_utils.Database,
    *,
    period: Period,
    now: datetime,
    hours: BusinessHours | None = None,
    select: str = "all",
    groups: Iterable[str] = GROUPS,
) -> dict[str, Any]:
    """The metrics of items written in ``period``, as known at ``now``, in the documented shape.

    ``select`` keeps items (and messages, for volume) written inside business hours
    (``business``), outside them (``off``) or all; it needs ``hours``.
    """
    if select not in HOURS:
        raise UsageError(f"--hours must be one of {', '.join(HOURS)}")
    if select != "all" and hours is None:
        raise UsageError(
            f"--hours {select} needs business hours: set [queue.business_hours] in the config"
        )
    wanted = [g for g in GROUPS if g in set(groups)]
    conn = db.conn
    tz = report_tz(hours)
    params = {"start": iso(period.start), "end": iso(period.end), "now": iso(now)}
    _drop_temp(conn)
    try:
        if select != "all":
            assert hours is not None
            _load_windows(conn, hours, period)
        conn.execute(_MULTI_SQL, params)
        conn.execute(_FOLLOWUPS_SQL, params)
        conn.execute(_FOLLOWED_SQL, params)
        conn.execute(_ITEMS_SQL.format(hours=_hours_clause(select, "h.created_at")), params)
        accs = _aggregate(conn, wanted)
        result: dict[str, Any] = {
            "period": {
                **period.as_dict(),
                "hours": select,
                "timezone": str(getattr(tz, "key", "UTC")),
            },
            "generated_at": iso(now),
        }
        for name in wanted:
            found = accs[name]
            if name == "overall":
                result[name] = found.get("all", _Acc()).result()
            else:
                data = {k: acc.result() for k, acc in found.items()}
                result[name] = dict(sorted(data.items(), key=lambda kv: (-kv[1]["items"], kv[0])))
        volume = _volume(conn, period, tz, _hours_clause(select, "created_at"))
        result["volume"] = {
            "by_hour": volume["by_hour"],
            "by_weekday": dict(zip(_WEEKDAYS, volume["by_weekday"], strict=True)),
        }
        # Brand posts are never open, so the queue's own covering index answers this.
        waiting, overdue = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(due_at <= ?), 0) FROM mentions "
            "WHERE status IN ('open', 'claimed') AND item_id = id",
            (iso(now),),
        ).fetchone()
        result["queue_now"] = {"waiting": waiting, "overdue": overdue}
    finally:
        _drop_temp(conn)
    return result


def share(value: float | None) -> str:
    """0.8123 → '81%'; None → '–' (nothing to measure)."""
    return "–" if value is None else f"{value:.0%}"


def seconds(value: float | None) -> str:
    """A first-response time for people: '42s', '7m', '1h05m', '2d03h'."""
    if value is None:
        return "–"
    s = math.floor(value + 0.5)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"
