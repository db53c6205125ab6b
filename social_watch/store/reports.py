"""The SQL of the reports: review ratings, stats and their per-day rollups, the digest.

Period math, rollup validity and formatting stay in the domain modules (``ratings``,
``stats``, ``digest``); the caller holds the snapshot or write transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from social_watch.clock import iso
from social_watch.store.base import Store
from social_watch.store.mentions import LANG_SQL

# --- ratings ----------------------------------------------------------------------------

# Reads the partial index of migration 0011, so mentions without a rating are never touched.
_RATINGS_SQL = (
    "SELECT network, COUNT(*), AVG(rating), SUM(CASE WHEN rating <= 2 THEN 1 ELSE 0 END) FROM mentions "
    "INDEXED BY idx_mentions_rating WHERE rating IS NOT NULL AND kind = 'mention' "
    "AND created_at >= ? AND created_at < ? GROUP BY network ORDER BY network"
)


def ratings_by_network(
    db: Store, start: datetime, end: datetime
) -> dict[str, tuple[int, float, int]]:
    """Rated reviews in [start, end) per network: (count, average, 1-2 star count)."""
    rows = db.execute(_RATINGS_SQL, (iso(start), iso(end))).fetchall()
    return {r[0]: (int(r[1]), float(r[2]), int(r[3] or 0)) for r in rows}


# --- digest -----------------------------------------------------------------------------

LABEL_SQL = "COALESCE(sentiment_override, sentiment_label, 'unknown')"
_PERIOD_SQL = "kind = 'mention' AND created_at >= ? AND created_at < ?"
# Counts read only the reports' covering index (migration 0007), never the wide rows.
_COVERING = "INDEXED BY idx_mentions_stats"
#: Dismissed as spam or a duplicate: still counted in volume, left out of the highlights
#: (most negative, most positive, most reached authors).
_DISMISSED_JUNK_SQL = (
    "(status = 'dismissed' AND EXISTS (SELECT 1 FROM actions a WHERE "
    "a.mention_id = COALESCE(mentions.item_id, mentions.id) AND a.action = 'dismissed' "
    "AND json_extract(a.details, '$.reason') IN ('spam', 'duplicate')))"
)


def _period(start: datetime, end: datetime) -> list[str | None]:
    return [iso(start), iso(end)]


def dismissed_junk(db: Store, start: datetime, end: datetime) -> int:
    """Mentions of [start, end) dismissed as spam or duplicates (not in the highlights)."""
    row = db.execute(
        f"SELECT COUNT(*) FROM mentions {_COVERING} WHERE {_PERIOD_SQL} AND {_DISMISSED_JUNK_SQL}",
        _period(start, end),
    ).fetchone()
    return int(row[0])


def extremes(
    db: Store, start: datetime, end: datetime, label: str, top: int
) -> list[dict[str, Any]]:
    """The ``top`` most negative (or positive) mentions, most extreme first: ranked on the
    index, then fetched. What the team dismissed as spam or a duplicate is no highlight."""
    order = "ASC" if label == "negative" else "DESC"
    ids = [
        r[0]
        for r in db.execute(
            f"SELECT id FROM mentions {_COVERING} WHERE {_PERIOD_SQL} AND {LABEL_SQL} = ? "
            f"AND NOT {_DISMISSED_JUNK_SQL} "
            # A score of NULL ranks as the lowest, as SQLite orders it (PostgreSQL would
            # put NULLs last going up and first going down).
            f"ORDER BY CASE WHEN sentiment_compound IS NULL THEN 0 ELSE 1 END {order}, "
            f"sentiment_compound {order}, id LIMIT ?",
            [*_period(start, end), label, top],
        )
    ]
    if not ids:
        return []
    rows = db.rows(
        "SELECT id, network, author_handle, author_name, author_followers, text, url, "
        f"created_at, sentiment_compound, {LABEL_SQL} AS label FROM mentions "
        f"WHERE id IN ({', '.join('?' for _ in ids)})",
        ids,
    )
    rows.sort(key=lambda r: ids.index(r["id"]))
    return rows


def top_authors(db: Store, start: datetime, end: datetime, top: int) -> list[dict[str, Any]]:
    """The most followed authors of [start, end) (one row per network and handle)."""
    return db.rows(
        "SELECT network, MAX(author_handle) AS handle, MAX(author_name) AS name, "
        "MAX(COALESCE(author_followers, 0)) AS followers, COUNT(*) AS mentions, "
        f"MAX(url) AS url FROM mentions WHERE {_PERIOD_SQL} AND NOT {_DISMISSED_JUNK_SQL} "
        f"GROUP BY network, lower(author_handle{db.bytewise}) "
        "ORDER BY followers DESC, mentions DESC, network, handle LIMIT ?",
        [*_period(start, end), top],
    )


def hour_counts(db: Store, start: datetime, end: datetime) -> list[tuple[str, str, str, int]]:
    """(UTC 'YYYY-MM-DDTHH', network, label, mentions) over [start, end)."""
    rows = db.execute(
        f"SELECT substr(created_at, 1, 13), network, {LABEL_SQL}, COUNT(*) "
        f"FROM mentions {_COVERING} WHERE {_PERIOD_SQL} GROUP BY 1, 2, 3",
        _period(start, end),
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def tag_counts(db: Store, start: datetime, end: datetime) -> list[tuple[str, str, int]]:
    """(UTC day, tag, mentions) over [start, end)."""
    rows = db.execute(
        f"SELECT substr(created_at, 1, 10), t.value, COUNT(*) FROM mentions {_COVERING}, "
        f"json_each(mentions.tags) t WHERE {_PERIOD_SQL} GROUP BY 1, 2",
        _period(start, end),
    )
    return [(r[0], r[1], r[2]) for r in rows]


def voice_sql(
    brand_words: Sequence[str], groups: Mapping[str, Sequence[str]]
) -> tuple[str, list[str]]:
    """Share-of-voice columns: mentions naming each competitor (case-insensitive substring),
    and the rest, the brand's.

    A stored mention was found by one of the brand's queries unless it names a competitor
    and not the brand, so a mention counts for the brand when it names the brand or no
    competitor, and for each competitor it names.
    """

    def any_of(words: Sequence[str]) -> tuple[str, list[str]]:
        # sw_fold, not SQLite's lower(), which folds ASCII only ('Žabka' never matched).
        words = [w.casefold() for w in words if w.strip()]
        if not words:
            return "1 = 0", []
        return "(" + " OR ".join("instr(sw_fold(text), ?) > 0" for _ in words) + ")", words

    cols: list[str] = []
    params: list[str] = []
    comp_exprs: list[tuple[str, list[str]]] = [any_of(words) for words in groups.values()]
    brand_expr, brand_params = any_of(brand_words)
    anyc = " OR ".join(e for e, _ in comp_exprs) or "1 = 0"
    anyc_params = [w for _, ps in comp_exprs for w in ps]
    # Counted with CASE: the conditions are booleans on PostgreSQL, which sums no booleans.
    cols.append(f"COUNT(CASE WHEN {brand_expr} OR NOT ({anyc}) THEN 1 END)")
    params += brand_params + anyc_params
    for expr, ps in comp_exprs:
        cols.append(f"COUNT(CASE WHEN {expr} THEN 1 END)")
        params += ps
    return ", ".join(cols), params


def voice_counts(
    db: Store, start: datetime, end: datetime, voice: tuple[str, list[str]]
) -> list[tuple[str, list[int]]]:
    """(UTC day, [brand, each competitor]) over [start, end), columns from ``voice_sql``."""
    cols, words = voice
    rows = db.execute(
        f"SELECT substr(created_at, 1, 10), {cols} FROM mentions WHERE {_PERIOD_SQL} GROUP BY 1",
        [*words, *_period(start, end)],
    )
    return [(key, [int(v or 0) for v in sums]) for key, *sums in rows]


def sample_texts(db: Store, start: datetime, end: datetime, stride: int) -> list[tuple[str, Any]]:
    """(text, sensitive) of every ``stride``-th mention by id of [start, end)."""
    rows = db.execute(
        f"SELECT text, sensitive FROM mentions WHERE {_PERIOD_SQL} AND id % ? = 0",
        [*_period(start, end), stride],
    )
    return [(r[0], r[1]) for r in rows]


def language_sentiment(db: Store, start: datetime, end: datetime) -> list[tuple[str, str, int]]:
    """(language code, label, mentions) over [start, end); ``und`` when none is stored."""
    rows = db.execute(
        f"SELECT {LANG_SQL}, {LABEL_SQL}, COUNT(*) FROM mentions WHERE {_PERIOD_SQL} GROUP BY 1, 2",
        _period(start, end),
    )
    return [(r[0], r[1], r[2]) for r in rows]
