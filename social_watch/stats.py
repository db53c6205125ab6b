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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from social_watch.clock import iso, parse_iso
from social_watch.config import parse_duration, parse_option_duration
from social_watch.errors import UsageError
from social_watch.sla import BusinessHours
from social_watch.store import stats as stats_store
from social_watch.store.base import Store

HOURS = ("all", "business", "off")
GROUPS = ("overall", "by_network", "by_agent", "by_tag")
UNASSIGNED = stats_store.UNASSIGNED
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


REPORT_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
REPORT_LATEST = datetime(2200, 1, 1, tzinfo=UTC)


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
        # 0001-01-01 .. 9999-12-31 means "all of it": clamp to the years a report can span
        # (nothing before 1970 is stored), so day lists and the previous period stay finite.
        lo, hi = max(lo, REPORT_EARLIEST), min(hi, REPORT_LATEST)
        if hi <= lo:
            raise UsageError(
                f"--from/--to: reports cover {iso(REPORT_EARLIEST)} to {iso(REPORT_LATEST)}"
            )
        return Period(lo, hi)
    try:
        length = parse_option_duration(since) if since else parse_duration(default)
    except ValueError as exc:
        raise UsageError(f"--since: {exc}") from None
    if length <= timedelta(0):
        raise UsageError("--since must be longer than 0 seconds")
    return Period(max(now - min(length, now - REPORT_EARLIEST), REPORT_EARLIEST), now)


def _parse_when(text: str, tz: tzinfo, option: str) -> datetime:
    value = text.strip()
    try:
        if len(value) == 10:  # YYYY-MM-DD: midnight where the team works
            day = datetime.fromisoformat(value)
            return day.replace(tzinfo=tz).astimezone(UTC)
        return parse_iso(value)
    except (ValueError, OverflowError):
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


def _load_windows(conn: Store, hours: BusinessHours, p: Period) -> None:
    """The period's UTC working windows as a temp table (DDL only: no transaction is left open)."""
    rows: list[str] = []
    # _windows_from yields the UTC working windows in order, skipping nights and holidays.
    for opens, closes in hours._windows_from(p.start - timedelta(days=1)):
        if opens >= p.end:
            break
        rows += [iso(opens) or "", iso(closes) or ""]
    stats_store.load_windows(conn, rows)


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


class _Acc:
    """Running sums, dismiss reasons and the first-response histogram of one group."""

    __slots__ = ("hist", "reasons", "sums")

    def __init__(self) -> None:
        self.sums = dict.fromkeys(_SUMS, 0)
        self.reasons: dict[str, int] = {}
        self.hist: dict[int, int] = {}

    def dump(self) -> list[Any]:
        return [[self.sums[k] for k in _SUMS], self.reasons, sorted(self.hist.items())]

    def add(self, dumped: list[Any]) -> None:
        """Merge a ``dump`` of the same group on other items (every figure is a sum)."""
        sums, reasons, hist = dumped
        mine = self.sums
        for name, value in zip(_SUMS, sums, strict=True):
            mine[name] += value
        for reason, count in reasons.items():
            self.reasons[reason] = self.reasons.get(reason, 0) + count
        h = self.hist
        for value, count in hist:
            h[value] = h.get(value, 0) + count

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


def _keys(network: str, agent: str, tags: str) -> list[tuple[str, str]]:
    out = [("overall", "all"), ("by_network", network), ("by_agent", agent)]
    out += [("by_tag", t) for t in _tag_list(tags)]
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


_Groups = dict[str, dict[str, _Acc]]


def _aggregate(conn: Any) -> dict[str, _Groups]:
    """Every group's accumulators, per UTC day of the items in ``_sw_items``."""
    days: dict[str, _Groups] = {}

    def accs(day: str, network: str, agent: str, tags: str) -> list[_Acc]:
        groups = days.setdefault(day, {dim: {} for dim in GROUPS})
        return [groups[dim].setdefault(key, _Acc()) for dim, key in _keys(network, agent, tags)]

    for day, network, agent, tags, *sums in stats_store.sums_rows(conn):
        for acc in accs(day, network, agent, tags):
            for name, value in zip(_SUMS, sums, strict=True):
                acc.sums[name] += value or 0
    for day, network, agent, tags, reason, count in stats_store.reason_rows(conn):
        for acc in accs(day, network, agent, tags):
            acc.reasons[reason] = acc.reasons.get(reason, 0) + count
    for dim in GROUPS:
        for day, key, frt, count in stats_store.histogram_rows(conn, dim):
            found = days[day][dim]
            for k in _tag_list(key) if dim == "by_tag" else [key]:
                acc = found.setdefault(k, _Acc())
                acc.hist[frt] = acc.hist.get(frt, 0) + count
    return days


def hourly(conn: Store, p: Period, select: str = "all") -> Iterable[tuple[datetime, int]]:
    """(UTC hour, customer messages) for each hour of the period that has any.

    Grouped by UTC hour in SQL (at most 24 rows a day reach Python), then converted to
    local time by the caller, so daylight-saving changes are exact for whole-hour zones.
    """
    rows = stats_store.hour_counts(conn, p.start, p.end, select)
    for bucket, count in rows:
        yield datetime.strptime(bucket, "%Y-%m-%dT%H").replace(tzinfo=UTC), count


# --- per-day rollups ----------------------------------------------------------------------
# A month is ~30 whole UTC days plus two partial ones. The figures of a whole day (group
# sums, reasons, first-response histograms, messages per UTC hour) are cached in
# stats_rollups (migration 0008) and merged; partial days, and days with no valid rollup,
# are computed live (and the whole days among them stored). Every figure is a sum, so the
# merge is exact: the result is identical to computing the period in one go (tests check).
# A rollup is valid while its day is not marked in stats_dirty (triggers mark the day of
# any change to its items), for the same business-hours windows (fingerprint), and for a
# report time with no waiting item falling due between it and the rollup's own.

ROLLUP_VERSION = 1
_DAY = timedelta(days=1)
_HOUR = timedelta(hours=1)


def whole_days(p: Period) -> list[datetime]:
    """The UTC midnights that start a day lying wholly inside the period."""
    start = p.start.astimezone(UTC)
    day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    if day < start:
        day += _DAY
    out = []
    while day + _DAY <= p.end:
        out.append(day)
        day += _DAY
    return out


def edge_hours(p: Period, now: datetime) -> list[datetime]:
    """The whole UTC hours of the period's partial first and last days, but none of
    ``now``'s day (still being written, so marked changed again and again).

    Cached one rollup per hour: a report over "the last 30 days" starts mid-day, and
    without them it computed up to a whole day's items live on every run (issue 13: 161,000
    of them at 10 M mentions).
    """
    start, end = p.start.astimezone(UTC), p.end.astimezone(UTC)
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    whole = set(whole_days(p))
    out = []
    for day in sorted(
        {
            start.replace(hour=0, minute=0, second=0, microsecond=0),
            end.replace(hour=0, minute=0, second=0, microsecond=0),
        }
    ):
        if day in whole or day == today:
            continue
        hour = max(start, day).replace(minute=0, second=0, microsecond=0)
        if hour < start:
            hour += _HOUR
        while hour + _HOUR <= min(end, day + _DAY):
            out.append(hour)
            hour += _HOUR
    return out


def hour_key(hour: datetime) -> str:
    return hour.strftime("%Y-%m-%dT%H")


def live_ranges(
    p: Period, cached: Iterable[datetime], cached_hours: Iterable[datetime] = ()
) -> list[tuple[datetime, datetime]]:
    """The period minus the cached days (and hours), as ordered half-open intervals."""
    out: list[tuple[datetime, datetime]] = []
    lo = p.start
    spans = sorted([(d, d + _DAY) for d in cached] + [(h, h + _HOUR) for h in cached_hours])
    for start, stop in spans:
        if start > lo:
            out.append((lo, start))
        lo = max(lo, stop)
    if lo < p.end:
        out.append((lo, p.end))
    return out


def day_key(day: datetime) -> str:
    return day.strftime("%Y-%m-%d")


def now_valid(now: str, computed: str, lo: str | None, hi: str | None) -> bool:
    """Whether figures computed at report time ``computed`` hold at ``now``: no due time
    of a waiting item lies between the two (``lo``/``hi``: the nearest ones around it)."""
    if now == computed:
        return True
    first, last = min(now, computed), max(now, computed)
    return (lo is None or lo < first) and (hi is None or hi > last)


class Rollups:
    """The cached per-day figures of one scope (``stats:all``, ``digest``, ...).

    ``load`` returns the valid rollups of the days asked for; ``begin`` clears the dirty
    marks of the days about to be recomputed (with every scope's rollup of them), so a
    change made while they are computed marks them again; ``store`` keeps those still
    unmarked. Writes are best effort: a busy or read-only database (or a caller's open
    transaction) only means nothing is cached this time.
    """

    def __init__(self, conn: Any, scope: str, enabled: bool = True) -> None:
        self.conn = conn
        self.scope = scope
        self.enabled = enabled and _has_rollups(conn)
        self.writable = False
        self.unmarked: set[str] = set()  # new mentions' days we could not mark
        if self.enabled:
            self._catch_up()

    def _catch_up(self) -> None:
        """Mark the days of mentions stored since the watermark (inserts have no trigger)."""
        conn = self.conn
        mark, top = stats_store.watermark(conn)
        if top <= mark:
            return

        def advance() -> bool:
            stats_store.advance_watermark(conn)
            return True

        if not self.conn.try_write(advance):
            self.unmarked = stats_store.new_days(conn, mark)

    def _scope(self, key: str) -> str:
        """Where a slot's rollup is kept: a day's under the scope, an hour's (key
        'YYYY-MM-DDTHH') under ``scope@HH`` of its day, so the day's dirty mark clears both."""
        return self.scope if len(key) == 10 else f"{self.scope}@{key[11:13]}"

    def load(
        self,
        days: list[datetime],
        fingerprints: dict[str, str],
        now: str,
        hours: Sequence[datetime] = (),
    ) -> dict[str, Any]:
        """The valid rollups of ``days`` and ``hours``, keyed by ``day_key``/``hour_key``;
        ``fingerprints`` has an entry for each key."""
        keys = [day_key(d) for d in days] + [hour_key(h) for h in hours]
        if not self.enabled or not keys:
            return {}
        scopes = sorted({self._scope(k) for k in keys})
        rows = stats_store.rollup_rows(self.conn, scopes, min(keys)[:10], max(keys)[:10])
        out = {}
        for day, scope, fp, version, computed, lo, hi, data in rows:
            key = day if scope == self.scope else f"{day}T{scope[-2:]}"
            if (
                version == ROLLUP_VERSION
                and day not in self.unmarked
                and key in fingerprints
                and fingerprints[key] == fp
                and now_valid(now, computed, lo, hi)
            ):
                out[key] = json.loads(data)
        return out

    def begin(self, keys: list[str]) -> None:
        """Clear the marks of the days of ``keys`` (and drop their rollups of every scope)."""
        if not self.enabled or not keys or self.unmarked:
            return
        days = sorted({k[:10] for k in keys})

        def clear() -> bool:
            dirty = stats_store.dirty_days(self.conn, days)
            if dirty:
                stats_store.clear_days(self.conn, dirty)
            return True

        self.writable = bool(self.conn.try_write(clear))

    def store(self, rollups: dict[str, tuple[str, str, str | None, str | None, Any]]) -> None:
        """``rollups``: day or hour key -> (fingerprint, computed_now, lo, hi, data)."""
        if not self.writable or not rollups:
            return

        def put() -> None:
            dirty = set(stats_store.dirty_days(self.conn, sorted({k[:10] for k in rollups})))
            stats_store.put_rollups(
                self.conn,
                [
                    (key[:10], self._scope(key), fp, ROLLUP_VERSION, computed, lo, hi, _dumps(data))
                    for key, (fp, computed, lo, hi, data) in rollups.items()
                    if key[:10] not in dirty
                ],
            )

        self.conn.try_write(put)


def _dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def _has_rollups(conn: Store) -> bool:
    return stats_store.has_rollups(conn)


def _fingerprint(hours: BusinessHours | None, select: str, day: datetime) -> str:
    """The working windows that decide which of the day's items ``select`` keeps."""
    if select == "all" or hours is None:
        return ""
    end = day + _DAY
    windows = []
    for opens, closes in hours._windows_from(day - _DAY):
        if opens >= end:
            break
        if closes > day:
            windows.append(f"{iso(opens)}/{iso(closes)}")
    return ",".join(windows)


def compute(
    db: Store,
    *,
    period: Period,
    now: datetime,
    hours: BusinessHours | None = None,
    select: str = "all",
    groups: Iterable[str] = GROUPS,
    cache: bool = True,
) -> dict[str, Any]:
    """The metrics of items written in ``period``, as known at ``now``, in the documented shape.

    ``select`` keeps items (and messages, for volume) written inside business hours
    (``business``), outside them (``off``) or all; it needs ``hours``. ``cache``: merge the
    per-day rollups of whole days (and store the ones computed); False computes everything
    live and touches no cache (the result is the same).
    """
    if select not in HOURS:
        raise UsageError(f"--hours must be one of {', '.join(HOURS)}")
    if select != "all" and hours is None:
        raise UsageError(
            f"--hours {select} needs business hours: set [queue.business_hours] in the config"
        )
    wanted = [g for g in GROUPS if g in set(groups)]
    conn = db
    tz = report_tz(hours)
    now_s = iso(now) or ""

    rollups = Rollups(conn, f"stats:{select}", cache)
    days = whole_days(period) if rollups.enabled else []
    edge = edge_hours(period, now) if rollups.enabled else []
    fingerprints = {day_key(d): _fingerprint(hours, select, d) for d in days}
    day_prints = {h: _fingerprint(hours, select, h.replace(hour=0)) for h in edge}
    fingerprints.update({hour_key(h): fp for h, fp in day_prints.items()})
    cached = rollups.load(days, fingerprints, now_s, edge)
    missing = [k for k in fingerprints if k not in cached]
    rollups.begin(missing)
    ranges = live_ranges(
        period,
        [d for d in days if day_key(d) in cached],
        [h for h in edge if hour_key(h) in cached],
    )

    merged: _Groups = {dim: {} for dim in GROUPS}
    by_hour_utc: dict[str, int] = {}  # 'YYYY-MM-DDTHH' -> messages

    def merge(data: dict[str, Any]) -> None:
        for dim, found in data["groups"].items():
            target = merged[dim]
            for key, dumped in found.items():
                acc = target.get(key)
                if acc is None:
                    acc = target[key] = _Acc()
                acc.add(dumped)

    for key, data in cached.items():
        merge(data)
        for hour, count in enumerate(data["volume"]):
            if count:
                by_hour_utc[f"{key[:10]}T{hour:02d}"] = count

    computed: dict[str, dict[str, Any]] = {}
    # The live figures and the queue now read one committed state (on PostgreSQL a
    # REPEATABLE READ transaction; the days' rollups are written after it, by try_write).
    with conn.snapshot():
        if ranges:
            computed = _compute_live(conn, hours, select, period, ranges, now_s, whole_days(period))
        waiting, overdue = stats_store.queue_now(conn, now_s)
    if computed:
        for data in computed.values():
            merge(data)
            by_hour_utc.update(data["hours"])

    if rollups.writable:
        empty: dict[str, Any] = {"groups": {}, "hours": {}, "lo": None, "hi": None}
        rollups.store(
            {
                day: (fingerprints[day], now_s, data["lo"], data["hi"], _rollup(data))
                for day in missing
                for data in [computed.get(day, empty)]
            }
        )

    result: dict[str, Any] = {
        "period": {
            **period.as_dict(),
            "hours": select,
            "timezone": str(getattr(tz, "key", "UTC")),
        },
        "generated_at": iso(now),
    }
    for name in wanted:
        found = merged[name]
        if name == "overall":
            result[name] = found.get("all", _Acc()).result()
        else:
            data = {k: acc.result() for k, acc in found.items()}
            result[name] = dict(sorted(data.items(), key=lambda kv: (-kv[1]["items"], kv[0])))
    by_hour = [0] * 24
    by_weekday = [0] * 7
    for bucket, count in by_hour_utc.items():
        local = datetime.strptime(bucket, "%Y-%m-%dT%H").replace(tzinfo=UTC).astimezone(tz)
        by_hour[local.hour] += count
        by_weekday[local.weekday()] += count
    result["volume"] = {
        "by_hour": by_hour,
        "by_weekday": dict(zip(_WEEKDAYS, by_weekday, strict=True)),
    }
    result["queue_now"] = {"waiting": waiting, "overdue": overdue}
    return result


def _rollup(data: dict[str, Any]) -> dict[str, Any]:
    volume = [0] * 24
    for bucket, count in data["hours"].items():
        volume[int(bucket[11:13])] = count
    return {"groups": data["groups"], "volume": volume}


def warm(
    db: Store,
    *,
    now: datetime,
    hours: BusinessHours | None = None,
    days: int = 30,
) -> dict[str, int]:
    """Compute and store the missing rollups of the last ``days`` whole UTC days before
    ``now`` (``all``, and ``business``/``off`` when ``hours`` are given), so the next
    report over them finds them cached. Valid rollups are left as they are, so a second
    call costs a few queries. Returns, per scope, how many days were (re)computed.
    """
    conn = db
    if days <= 0 or not _has_rollups(conn):
        return {}
    end = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    span = Period(end - days * _DAY, end)
    now_s = iso(now) or ""
    done = {}
    # Today's reports over the last ``days`` start inside the first of these days: its
    # whole hours from 01:00 are cached too, so the day's first report is warm as well.
    edge = Period(span.start + _HOUR, end)
    for select in HOURS if hours is not None else ("all",):
        compute(db, period=span, now=now, hours=hours, select=select, groups=("overall",))
        done[f"stats:{select}"] = stamped(conn, f"stats:{select}", span, now_s)
        compute(db, period=edge, now=now, hours=hours, select=select, groups=("overall",))
    return done


def stamped(conn: Any, scope: str, p: Period, now: str) -> int:
    """How many of the period's rollups of ``scope`` were computed for report time ``now``
    (by the last call at ``now``: an earlier call at the same time is not told apart)."""
    return stats_store.stamped(conn, scope, day_key(p.start), day_key(p.end), now)


def _compute_live(
    conn: Any,
    hours: BusinessHours | None,
    select: str,
    period: Period,
    ranges: list[tuple[datetime, datetime]],
    now: str,
    days: list[datetime],
) -> dict[str, dict[str, Any]]:
    """Per UTC day of the ranges inside ``days`` (the period's whole days) and per UTC hour
    of the rest: dumped groups, messages per UTC hour, now bounds."""
    stats_store.drop_temp(conn)
    try:
        if select != "all":
            assert hours is not None
            _load_windows(conn, hours, period)
        whole = (iso(days[0]) or "", iso(days[-1] + _DAY) or "") if days else None
        stats_store.create_items(
            conn, [(iso(lo) or "", iso(hi) or "") for lo, hi in ranges], select, now, whole
        )

        first, last = (day_key(days[0]), day_key(days[-1])) if days else ("~", "")

        def slot(hour: str) -> str:  # 'YYYY-MM-DDTHH' -> the key its figures are kept under
            return hour[:10] if first <= hour[:10] <= last else hour

        out: dict[str, dict[str, Any]] = {}

        def day(key: str) -> dict[str, Any]:
            found = out.get(key)
            if found is None:
                found = out[key] = {"groups": {}, "hours": {}, "lo": None, "hi": None}
            return found

        for key, groups in _aggregate(conn).items():
            day(key)["groups"] = {
                dim: {k: acc.dump() for k, acc in found.items()} for dim, found in groups.items()
            }
        for key, lo, hi in stats_store.now_bounds(conn, now):
            d = day(key)
            d["lo"], d["hi"] = lo, hi
        for lo, hi in ranges:
            for bucket, count in hourly(conn, Period(lo, hi), select):
                key = bucket.strftime("%Y-%m-%dT%H")
                day(slot(key))["hours"][key] = count
        return out
    finally:
        stats_store.drop_temp(conn)


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
