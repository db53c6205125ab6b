"""The marketing digest: what people said about the brand in a period, against the one before.

One ``build`` gathers everything as plain data (the ``--format json`` shape), with personal
data already masked, so every format shows the same, safe content; ``render`` turns it into
text for a terminal, Markdown, or an e-mail-ready HTML page (inline CSS, an inline SVG
chart) through jinja2 templates, HTML with autoescaping on. ``send`` mails HTML with a
plain-text alternative through ``mailer``; ``send_daily_digest`` is what the watch loop calls.

Cost: counts, top mentions, authors, tags and share of voice are SQL aggregates over the
period; only rising terms need the words, and they read at most ``TERM_SAMPLE`` texts per
period (an even sample by id when there are more), so a 30-day digest of a busy brand
stays within seconds.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import jinja2

from social_watch import mailer, ratings, stats
from social_watch.clock import iso
from social_watch.config import Config
from social_watch.errors import ConfigError, UsageError
from social_watch.pipeline import Enricher, business_hours
from social_watch.sensitive import SensitiveDetector
from social_watch.stats import Period
from social_watch.stopwords import brand_words, stopwords
from social_watch.store import reports as report_store
from social_watch.store.base import Store
from social_watch.untrusted import html_environment
from social_watch.untrusted import plain as one_plain_line

FORMATS = ("text", "markdown", "html", "json")
LABELS = ("negative", "neutral", "positive", "unknown")
TOP = 5
TERM_SAMPLE = 20_000


# --- gathering --------------------------------------------------------------------------


def _change(now: float, before: float) -> float | None:
    """Relative change in percent; None when there was nothing before."""
    return round((now - before) / before * 100, 1) if before else None


def net_sentiment(split: Mapping[str, int]) -> float | None:
    """(positive − negative) / (positive + negative) × 100; neutral and unknown excluded."""
    pos, neg = split.get("positive", 0), split.get("negative", 0)
    return round((pos - neg) / (pos + neg) * 100, 1) if pos + neg else None


def _sum(splits: Iterable[Mapping[str, int]]) -> dict[str, int]:
    total = dict.fromkeys(LABELS, 0)
    for s in splits:
        for label, count in s.items():
            total[label] = total.get(label, 0) + count
    return total


class _Masker:
    """Personal data out of everything a digest shows; control characters out too."""

    def __init__(self, detector: SensitiveDetector):
        self.detector = detector

    def text(self, value: str | None) -> str | None:
        if value is None:
            return None
        return self.detector.mask(value)


def _mention(row: Mapping[str, Any], mask: _Masker) -> dict[str, Any]:
    return {
        "id": row["id"],
        "network": row["network"],
        "author": {
            "handle": row["author_handle"],
            "name": mask.text(row["author_name"]),
            "followers": row["author_followers"],
        },
        "text": mask.text(row["text"]),
        "url": row["url"],
        "created_at": row["created_at"],
        "sentiment": row["label"],
        "compound": row["sentiment_compound"],
    }


def _left_out(conn: Store, p: Period) -> int:
    """Mentions of the period dismissed as spam or duplicates (not in the highlights)."""
    return report_store.dismissed_junk(conn, p.start, p.end)


def _extremes(conn: Store, p: Period, label: str, top: int, mask: _Masker) -> list[dict[str, Any]]:
    """The ``top`` most negative (or positive) mentions, spam and duplicates left out."""
    return [_mention(r, mask) for r in report_store.extremes(conn, p.start, p.end, label, top)]


def _authors(conn: Store, p: Period, top: int, mask: _Masker) -> list[dict[str, Any]]:
    rows = report_store.top_authors(conn, p.start, p.end, top)
    return [
        {
            "network": r["network"],
            "handle": r["handle"],
            "name": mask.text(r["name"]),
            "followers": r["followers"],
            "mentions": r["mentions"],
            "url": r["url"],
        }
        for r in rows
    ]


# --- counts per day -----------------------------------------------------------------------
# Volume, sentiment per network, tags, the chart and share of voice are sums over mentions,
# so whole UTC days come from the per-day rollups (scope ``digest``, migration 0008) and
# only the partial days at the ends, or days changed since, are counted live.


@dataclass
class _Counts:
    split: dict[str, dict[str, int]]  # network -> label -> mentions
    tags: Counter[str]
    hours: dict[str, dict[str, int]]  # UTC 'YYYY-MM-DDTHH' -> label -> mentions
    voice: list[int] | None  # brand, then each competitor group


def _count_ranges(
    conn: Store, ranges: Sequence[tuple[datetime, datetime]], voice: tuple[str, list[str]] | None
) -> dict[str, dict[str, Any]]:
    """Per UTC day: [[hour, network, label, n]], {tag: n} and the voice sums."""
    out: dict[str, dict[str, Any]] = {}

    def day(key: str) -> dict[str, Any]:
        found = out.get(key)
        if found is None:
            found = out[key] = {"rows": [], "tags": {}, "voice": None}
        return found

    for lo, hi in ranges:
        for hour, network, label, count in report_store.hour_counts(conn, lo, hi):
            day(hour[:10])["rows"].append([int(hour[11:13]), network, label, count])
        for key, tag, count in report_store.tag_counts(conn, lo, hi):
            day(key)["tags"][tag] = count
        if voice is not None:
            for key, sums in report_store.voice_counts(conn, lo, hi, voice):
                day(key)["voice"] = sums
    return out


def _counts(
    conn: Any,
    p: Period,
    voice: tuple[str, list[str]] | None,
    width: int,
    *,
    cache: bool,
    now: str,
) -> _Counts:
    rollups = stats.Rollups(conn, "digest", cache)
    days = stats.whole_days(p) if rollups.enabled else []
    fp = "" if voice is None else stats._dumps(voice)
    fingerprints = {stats.day_key(d): fp for d in days}
    cached = rollups.load(days, fingerprints, now)
    missing = [k for k in fingerprints if k not in cached]
    rollups.begin(missing)
    with conn.snapshot():  # the live days' counts read one committed state
        live = _count_ranges(
            conn, stats.live_ranges(p, [d for d in days if stats.day_key(d) in cached]), voice
        )
    if rollups.writable:
        empty: dict[str, Any] = {"rows": [], "tags": {}, "voice": None}
        rollups.store({k: (fp, now, None, None, live.get(k, empty)) for k in missing})
    result = _Counts({}, Counter(), {}, None if voice is None else [0] * width)
    for key, data in [*cached.items(), *live.items()]:
        for hour, network, label, count in data["rows"]:
            split = result.split.setdefault(network, dict.fromkeys(LABELS, 0))
            split[label] = split.get(label, 0) + count
            labels = result.hours.setdefault(f"{key}T{hour:02d}", {})
            labels[label] = labels.get(label, 0) + count
        result.tags.update(data["tags"])
        if result.voice is not None and data["voice"] is not None:
            result.voice = [a + b for a, b in zip(result.voice, data["voice"], strict=True)]
    return result


# --- rising terms -----------------------------------------------------------------------

_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_HANDLE = re.compile(r"@[\w.-]+(?:@[\w.-]+)?")
_WORD = re.compile(r"[^\W\d_]{3,}(?:['’][^\W\d_]+)?")
STOPWORDS = stopwords()  # every shop language (data/stopwords.txt)


def _terms(text: str, skip: frozenset[str]) -> set[str]:
    """Words and two-word phrases of one text: no handles, links, numbers or stopwords."""
    text = _HANDLE.sub(" ", _URL.sub(" ", text.lower()))
    words = _WORD.findall(text)
    out: set[str] = set()
    previous: str | None = None
    for word in words:
        if word in STOPWORDS or word in skip:
            previous = None
            continue
        out.add(word)
        if previous is not None:
            out.add(f"{previous} {word}")
        previous = word
    return out


def _term_counts(
    conn: Store, p: Period, total: int, skip: frozenset[str], mask: _Masker
) -> tuple[Counter[str], int]:
    """Document frequency of terms in (an even sample of) the period's mentions."""
    stride = max(1, math.ceil(total / TERM_SAMPLE))
    counts: Counter[str] = Counter()
    seen = 0
    rows = report_store.sample_texts(conn, p.start, p.end, stride)
    for text, sensitive in rows:
        seen += 1
        counts.update(_terms((mask.text(text) if sensitive else text) or "", skip))
    return counts, seen


def rising_terms(
    current: Counter[str],
    n_current: int,
    previous: Counter[str],
    n_previous: int,
    *,
    limit: int = 10,
    min_count: int = 3,
) -> list[dict[str, Any]]:
    """Terms whose share of mentions grew most: smoothed log-ratio, a minimum count.

    score = ln((c + 1) / (N + 2)) − ln((p + 1) / (M + 2)) for a term in c of N mentions now
    and p of M before (add-one smoothing keeps a term never seen before finite). A term
    needs ``max(min_count, 0.2 % of N)`` mentions and at least twice its earlier share; a
    word inside a chosen phrase with about the same count is left out as redundant.
    """
    floor = max(min_count, math.ceil(n_current * 0.002))
    scored = []
    for term, c in current.items():
        if c < floor:
            continue
        p = previous.get(term, 0)
        score = math.log((c + 1) / (n_current + 2)) - math.log((p + 1) / (n_previous + 2))
        if score >= math.log(2):
            scored.append((score, c, term, p))
    scored.sort(key=lambda s: (-s[0], -s[1], s[2]))
    chosen: list[tuple[float, int, str, int]] = []
    for item in scored:
        _, c, term, _ = item
        if " " not in term and any(
            term in t.split() and ct >= 0.8 * c for _, ct, t, _ in scored if " " in t
        ):
            continue
        chosen.append(item)
        if len(chosen) == limit:
            break
    return [
        {"term": t, "count": c, "previous": p, "ratio": round(math.exp(s), 1)}
        for s, c, t, p in chosen
    ]


# --- share of voice ---------------------------------------------------------------------


def _shares(counts: Mapping[str, int]) -> dict[str, float | None]:
    total = sum(counts.values())
    return {k: (round(v / total, 4) if total else None) for k, v in counts.items()}


# --- the chart --------------------------------------------------------------------------

_BUCKET_HOURS = (1, 2, 3, 4, 6, 12, 24)


def _chart(by_hour: Mapping[str, Mapping[str, int]], p: Period, tz: tzinfo) -> dict[str, Any]:
    """Mentions per time bucket by sentiment; buckets of 1 h, or wider so at most ~72 bars."""
    hours = p.seconds / 3600
    size = next((b for b in _BUCKET_HOURS if hours / b <= 72), 24 * math.ceil(hours / 24 / 72))
    start = p.start.astimezone(tz)
    # Buckets start on a local hour that is a multiple of the bucket size (midnight for days).
    anchor = start.replace(minute=0, second=0, microsecond=0)
    anchor = anchor.replace(hour=anchor.hour - anchor.hour % size) if size <= 24 else anchor
    step = timedelta(hours=size)
    edges: list[datetime] = []
    edge = anchor.astimezone(UTC)
    while edge < p.end:
        edges.append(edge)
        edge += step
    buckets: list[dict[str, Any]] = [{"start": iso(e), **dict.fromkeys(LABELS, 0)} for e in edges]
    for hour, labels in sorted(by_hour.items()):
        at = datetime.strptime(hour, "%Y-%m-%dT%H").replace(tzinfo=UTC)
        index = min(len(buckets) - 1, max(0, int((at - edges[0]) / step)))
        for label, count in labels.items():
            buckets[index][label] = buckets[index].get(label, 0) + count
    return {"bucket_hours": size, "buckets": buckets}


# --- the digest -------------------------------------------------------------------------


def _languages(conn: Store, p: Period) -> list[dict[str, Any]]:
    """Sentiment per language of the period (``und`` when none is stored), most first."""
    split: dict[str, dict[str, int]] = {}
    for code, label, n in report_store.language_sentiment(conn, p.start, p.end):
        split.setdefault(code, dict.fromkeys(LABELS, 0))[label] = n
    rows = [
        {"lang": code, "mentions": sum(s.values()), "sentiment": s, "net": net_sentiment(s)}
        for code, s in split.items()
    ]
    return sorted(rows, key=lambda r: (-r["mentions"], r["lang"]))


def _competitors(config: Config) -> dict[str, list[str]]:
    return (config.section("digest") or {}).get("competitors") or {}


def _voice(config: Config) -> tuple[str, list[str]] | None:
    """The share-of-voice sums' SQL and words (None without competitors); it is part of
    the digest rollups' fingerprint, so ``build`` and ``warm`` must agree on it."""
    competitors = _competitors(config)
    if not competitors:
        return None
    brand_words = [config.brand_name, *config.raw["brand"]["keywords"]]
    brand_words += [str(h) for h in config.brand_handles.values()]
    return report_store.voice_sql(brand_words, competitors)


def warm(db: Store, config: Config, now: datetime, days: int = 30) -> dict[str, int]:
    """Compute and store the missing digest rollups of the whole UTC days a ``days``-long
    digest ending ``now`` reads: its own and the previous period's (``2 × days`` days before
    today). Valid rollups are left as they are. Returns {"digest": days (re)computed}.
    """
    conn = db
    if days <= 0 or not stats._has_rollups(conn):
        return {}
    end = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    span = Period(end - timedelta(days=2 * days), end)
    now_s = iso(now) or ""
    _counts(conn, span, _voice(config), 1 + len(_competitors(config)), cache=True, now=now_s)
    return {"digest": stats.stamped(conn, "digest", span, now_s)}


def build(
    db: Store,
    config: Config,
    *,
    period: Period,
    now: datetime,
    top: int = TOP,
    cache: bool = True,
) -> dict[str, Any]:
    """Everything a digest shows, as plain data with personal data masked (the JSON shape).

    ``cache``: merge the per-day rollups of whole days (``stats.Rollups``); False counts
    everything live and touches no cache (the result is the same).
    """
    conn = db
    hours = business_hours(config)
    tz = stats.report_tz(hours)
    mask = _Masker(Enricher(config).detector)
    before = period.previous()

    competitors = _competitors(config)
    brand = config.brand_name
    voice_sql = _voice(config)
    width = 1 + len(competitors)
    now_s = iso(now) or ""
    cur = _counts(conn, period, voice_sql, width, cache=cache, now=now_s)
    prev = _counts(conn, before, voice_sql, width, cache=cache, now=now_s)
    cur_split, prev_split = cur.split, prev.split
    cur_total, prev_total = _sum(cur_split.values()), _sum(prev_split.values())
    n_cur, n_prev = sum(cur_total.values()), sum(prev_total.values())
    networks: list[dict[str, Any]] = []
    for network in sorted(set(cur_split) | set(prev_split)):
        now_split = cur_split.get(network, dict.fromkeys(LABELS, 0))
        was = sum(prev_split.get(network, {}).values())
        count = sum(now_split.values())
        networks.append(
            {
                "network": network,
                "mentions": count,
                "previous": was,
                "change_pct": _change(count, was),
                "sentiment": now_split,
                "net": net_sentiment(now_split),
                "previous_net": net_sentiment(prev_split.get(network, {})),
            }
        )
    networks.sort(key=lambda n: (-n["mentions"], n["network"]))

    net_now, net_before = net_sentiment(cur_total), net_sentiment(prev_total)
    tags_now, tags_before = cur.tags, prev.tags

    skip = brand_words(config)
    # The reads that no rollup covers, in one snapshot: the highlights, authors, terms,
    # languages and ratings agree with each other even while the watch loop writes.
    with conn.snapshot():
        terms_now, seen_now = _term_counts(conn, period, n_cur, skip, mask)
        terms_before, seen_before = _term_counts(conn, before, n_prev, skip, mask)
        read = {
            "languages": _languages(conn, period),
            "most_negative": _extremes(conn, period, "negative", top, mask),
            "most_positive": _extremes(conn, period, "positive", top, mask),
            "left_out_of_highlights": _left_out(conn, period),
            "top_authors": _authors(conn, period, top, mask),
            "ratings": ratings.summary(conn, period, before),
        }

    voice = None
    if cur.voice is not None and prev.voice is not None:
        names = [brand, *competitors]
        v_now = dict(zip(names, cur.voice, strict=True))
        v_before = dict(zip(names, prev.voice, strict=True))
        s_now, s_before = _shares(v_now), _shares(v_before)
        voice = [
            {
                "name": name,
                "brand": name == brand,
                "mentions": v_now[name],
                "previous": v_before[name],
                "share": s_now[name],
                "previous_share": s_before[name],
            }
            for name in v_now
        ]

    service = stats.compute(
        db, period=period, now=now, hours=hours, groups=("overall",), cache=cache
    )
    overall = service["overall"]
    return {
        "brand": brand,
        "period": {
            **period.as_dict(),
            "hours": round(period.seconds / 3600, 2),
            "timezone": str(getattr(tz, "key", "UTC")),
        },
        "previous": before.as_dict(),
        "generated_at": iso(now),
        "volume": {
            "mentions": n_cur,
            "previous": n_prev,
            "change": n_cur - n_prev,
            "change_pct": _change(n_cur, n_prev),
        },
        "sentiment": {
            **cur_total,
            "previous": prev_total,
            "net": net_now,
            "previous_net": net_before,
            "net_change": round(net_now - net_before, 1)
            if net_now is not None and net_before is not None
            else None,
        },
        "networks": networks,
        "languages": read["languages"],
        "most_negative": read["most_negative"],
        "most_positive": read["most_positive"],
        # dismissed as spam or duplicates: counted in volume, not among the highlights
        "left_out_of_highlights": read["left_out_of_highlights"],
        "top_authors": read["top_authors"],
        "tags": [
            {"tag": t, "count": c, "previous": tags_before.get(t, 0)}
            for t, c in sorted(tags_now.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "rising_terms": rising_terms(terms_now, seen_now, terms_before, seen_before),
        "share_of_voice": voice,
        "service": {
            "needing_answer": overall["needing_answer"],
            "answered": overall["answered"],
            "first_response": overall["first_response"],
            "within_target_share": overall["within_target_share"],
            "response_rate": overall["response_rate"],
            "breaches": overall["breaches"],
            "unanswered_now": overall["unanswered_now"],
            "queue_now": service["queue_now"],
        },
        "chart": _chart(cur.hours, period, tz),
        "ratings": read["ratings"],
    }


# --- rendering --------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~&])")
COLOURS = {
    "negative": "#d64545",
    "neutral": "#9aa5b1",
    "positive": "#2f9e6e",
    "unknown": "#d9dee4",
}


def plain(value: Any, width: int | None = None) -> str:
    """One line, no control characters (an ANSI escape in a mention cannot drive a terminal)."""
    text = one_plain_line(value)
    if width and len(text) > width:
        text = text[: width - 1].rstrip() + "…"
    return text


def md(value: Any, width: int | None = None) -> str:
    """Markdown-safe one line: markup and raw HTML in a mention shows as the characters."""
    return _MD_SPECIAL.sub(r"\\\1", plain(value, width))


def compact(value: Any) -> str:
    """12345 → '12.3k', 2500000 → '2.5M': reach for people."""
    if value is None:
        return "–"
    n = float(value)
    for limit, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(n) >= limit:
            return f"{n / limit:.1f}".rstrip("0").rstrip(".") + suffix
    return f"{int(n)}"


def signed(value: float | None, unit: str = "%") -> str:
    if value is None:
        return "new" if unit == "%" else "–"
    return f"{value:+.0f}{unit}" if abs(value) >= 1 or value == 0 else f"{value:+.1f}{unit}"


def chart_geometry(chart: Mapping[str, Any], tz: str) -> dict[str, Any]:
    """The digest's stacked-bar chart as SVG geometry (the web inbox's lead page draws it)."""
    return _svg(chart, tz)


def _svg(chart: Mapping[str, Any], tz: str) -> dict[str, Any]:
    """Stacked-bar geometry for the template: the template only draws what is computed here."""
    width, height, left, bottom, top = 600, 170, 34, 22, 8
    buckets = chart["buckets"]
    totals = [sum(b[label] for label in LABELS) for b in buckets]
    peak = max(totals, default=0)
    scale_max = max(1, _nice(peak))
    inner_w, inner_h = width - left - 6, height - bottom - top
    slot = inner_w / max(1, len(buckets))
    bar_w = max(1.0, slot * 0.78)
    bars = []
    labels: list[str] = []
    every = max(1, math.ceil(len(buckets) / 8))
    size = chart["bucket_hours"]
    for i, bucket in enumerate(buckets):
        x = left + i * slot + (slot - bar_w) / 2
        y = top + inner_h
        rects = []
        for label in ("negative", "neutral", "unknown", "positive"):
            h = bucket[label] / scale_max * inner_h
            if h > 0:
                y -= h
                rects.append(
                    {"y": round(y, 1), "h": round(h, 1), "fill": COLOURS[label], "label": label}
                )
        start = datetime.strptime(bucket["start"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        local = start.astimezone(_zone(tz))
        label = local.strftime("%d %b") if size >= 24 else local.strftime("%a %H:%M")
        if size < 24 and len(buckets) * size <= 24:
            label = local.strftime("%H:%M")
        tick = label if i % every == 0 else None
        cx = x + bar_w / 2
        # A label is ~0.6 em per character wide: near an edge it is anchored to the edge
        # instead of centred on its bar, so the last one is never cut off.
        half = len(tick or "") * TICK_CHAR / 2
        anchor, tx = "middle", cx
        if cx + half > width - 1:
            anchor, tx = "end", width - 1
        elif cx - half < 1:
            anchor, tx = "start", 1
        labels.append(label)
        bars.append(
            {
                "x": round(x, 1),
                "w": round(bar_w, 1),
                "rects": rects,
                "tick": tick,
                "cx": round(cx, 1),
                "tx": round(tx, 1),
                "anchor": anchor,
                "total": totals[i],
                "title": f"{local:%a %d %b %H:%M}: {totals[i]} mentions",
            }
        )
    return {
        "width": width,
        "height": height,
        "left": left,
        "base": top + inner_h,
        "top": top,
        "right": width - 6,
        "max": scale_max,
        "mid": scale_max / 2,
        "mid_y": top + inner_h / 2,
        "bars": bars,
        "rows": _rows(buckets, labels),
        "bucket_hours": size,
    }


TICK_CHAR = 6.0  # px per character of a 10 px axis label (Helvetica/Arial, a little generous)


MAIL_ROWS = 24  # the e-mail's table chart merges neighbouring buckets to stay this short


def _rows(buckets: Sequence[Mapping[str, Any]], labels: Sequence[str]) -> list[dict[str, Any]]:
    """The chart as table rows for mail clients that show no SVG: at most ``MAIL_ROWS``,
    neighbouring buckets summed (each row labelled with its first bucket)."""
    step = max(1, math.ceil(len(buckets) / MAIL_ROWS))
    merged = []
    for start in range(0, len(buckets), step):
        group = buckets[start : start + step]
        merged.append((labels[start], {k: sum(b[k] for b in group) for k in LABELS}))
    scale = max(1, _nice(max((sum(c.values()) for _, c in merged), default=0)))
    return [_row(label, counts, sum(counts.values()), scale) for label, counts in merged]


def _row(label: str, bucket: Mapping[str, Any], total: int, scale: int) -> dict[str, Any]:
    """One bar of the chart as a table row."""
    parts = [
        {
            "label": name,
            "count": bucket[name],
            "fill": COLOURS[name],
            "pct": round(bucket[name] / scale * 100, 1),
        }
        for name in ("negative", "neutral", "unknown", "positive")
        if bucket[name]
    ]
    used = sum(p["pct"] for p in parts)
    return {"label": label, "total": total, "parts": parts, "rest": round(max(0.0, 100 - used), 1)}


def _nice(value: float) -> int:
    """The next 'round' axis maximum at or above ``value`` (1, 1.5, 2, 3, 4, 5, 6, 8 × 10^n)."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for m in (1, 1.5, 2, 3, 4, 5, 6, 8, 10):
        if value <= m * power:
            return max(1, math.ceil(m * power))
    return int(10 * power)


def _zone(name: str) -> tzinfo:
    from zoneinfo import ZoneInfo

    return UTC if name == "UTC" else ZoneInfo(name)


def _local(value: str | None, tz: str, fmt: str = "%a %d %b %Y %H:%M") -> str:
    if not value:
        return "–"
    at = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return at.astimezone(_zone(tz)).strftime(fmt)


def _environment() -> jinja2.Environment:
    env = html_environment(
        loader=jinja2.PackageLoader("social_watch", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(
        plain=plain,
        md=md,
        compact=compact,
        signed=signed,
        pct=stats.share,
        dur=stats.seconds,
    )
    from social_watch.authors import author_parts

    env.globals["author_parts"] = author_parts
    return env


_ENV: jinja2.Environment | None = None


def environment() -> jinja2.Environment:
    global _ENV
    if _ENV is None:
        _ENV = _environment()
    return _ENV


def render(data: Mapping[str, Any], fmt: str = "text", *, mail: bool = False) -> str:
    """The digest in one of ``FORMATS``; json is the ``build`` data itself. ``mail``: the
    HTML for an e-mail, whose chart is a table (Gmail and Outlook show no inline SVG)."""
    if fmt == "json":
        import json

        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    names = {"text": "digest.txt", "markdown": "digest.md", "html": "digest.html"}
    if fmt not in names:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}")
    tz = data["period"]["timezone"]
    context = {
        **data,
        "d": data,
        "colours": COLOURS,
        "labels": LABELS,
        "svg": _svg(data["chart"], tz) if fmt == "html" else None,
        "mail": mail,
        "span": _span(data["period"]["hours"]),
        "when": _local(data["period"]["from"], tz) + " – " + _local(data["period"]["to"], tz),
        "local": lambda v, f="%d %b %H:%M": _local(v, tz, f),
    }
    return environment().get_template(names[fmt]).render(context)


def _span(hours: float) -> str:
    if hours % 24 == 0:
        days = int(hours // 24)
        return "24 hours" if days == 1 else f"{days} days"
    return f"{hours:g} hours"


def subject(data: Mapping[str, Any]) -> str:
    v, s = data["volume"], data["sentiment"]
    net = "–" if s["net"] is None else f"{s['net']:+.0f}"
    return (
        f"{data['brand']} digest, last {_span(data['period']['hours'])}: {v['mentions']} mentions "
        f"({signed(v['change_pct'])}), net sentiment {net}"
    )


# --- sending ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SentDigest:
    """What went out: enough for the watch loop to log and for tests to assert."""

    period: Period
    recipients: tuple[str, ...]
    subject: str
    message_id: str
    mentions: int


def recipients(config: Config) -> tuple[str, ...]:
    found = tuple((config.section("digest") or {}).get("recipients") or ())
    if not found:
        raise ConfigError(
            'no digest recipients: set [digest] recipients = ["marketing@shop.example"]'
        )
    return found


def send(
    db: Store,
    config: Config,
    env: Mapping[str, str],
    *,
    period: Period,
    now: datetime,
) -> SentDigest:
    """E-mail the digest (HTML with a plain-text alternative) to ``[digest] recipients``."""
    to = recipients(config)
    smtp = mailer.settings(config, env)
    data = build(db, config, period=period, now=now)
    title = subject(data)
    msg = mailer.build(
        sender=smtp.sender,
        to=to,
        subject=title,
        text=render(data, "text"),
        html=render(data, "html", mail=True),
        headers={"Auto-Submitted": "auto-generated"},
    )
    mailer.send(smtp, msg)
    return SentDigest(period, to, title, str(msg["Message-ID"]), data["volume"]["mentions"])


def send_daily_digest(
    db: Store, config: Config, env: Mapping[str, str], now: datetime
) -> SentDigest:
    """The watch loop's daily digest: the 24 hours before ``now``, compared with the day before.

    The loop decides when (``[watch] digest_at``) and remembers that it sent; this only
    builds and sends, raising ``ConfigError`` or ``MailError`` with nothing sent.
    """
    return send(db, config, env, period=Period(now - timedelta(hours=24), now), now=now)
