"""The SQL of the reports: review ratings, stats and their per-day rollups, the digest.

Period math, rollup validity and formatting stay in the domain modules (``ratings``,
``stats``, ``digest``); the caller holds the snapshot or write transaction.
"""

from __future__ import annotations

from datetime import datetime

from social_watch.clock import iso
from social_watch.store.base import Store

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
