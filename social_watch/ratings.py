"""Review ratings in a period: how many, their average, and its change against the period
before (what the digest shows beside sentiment). Reads the partial index of migration
0011, so mentions without a rating are never touched."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from social_watch.store import reports as report_store
from social_watch.store.base import Store

if TYPE_CHECKING:
    from social_watch.stats import Period


def stars(rating: float | None) -> str:
    """'★★☆☆☆' for 2 of 5 (half stars round up, as review portals show them); '' for none."""
    if rating is None:
        return ""
    full = max(0, min(5, int(rating + 0.5)))
    return "★" * full + "☆" * (5 - full)


def _read(db: Store, p: Period) -> dict[str, tuple[int, float, int]]:
    return report_store.ratings_by_network(db, p.start, p.end)


def _average(rows: dict[str, tuple[int, float, int]]) -> tuple[int, float | None, int]:
    count = sum(n for n, _, _ in rows.values())
    if not count:
        return 0, None, 0
    total = sum(n * avg for n, avg, _ in rows.values())
    return count, round(total / count, 2), sum(low for _, _, low in rows.values())


def summary(conn: Store, period: Period, before: Period) -> dict[str, Any] | None:
    """``None`` when neither period had a rated review (the digest then says nothing)."""
    now, was = _read(conn, period), _read(conn, before)
    if not now and not was:
        return None
    count, average, low = _average(now)
    previous_count, previous, _ = _average(was)
    change = round(average - previous, 2) if average is not None and previous is not None else None
    line = f"{count} review{'s' if count != 1 else ''}"
    if average is not None:
        line += f", average {stars(average)} {average:.1f}/5"
    if previous is not None:
        delta = f"{change:+.1f} " if change is not None else ""
        line += f" ({delta}vs {previous:.1f} before)"
    if low:
        line += f"; {low} of 1-2 stars"
    return {
        "line": line,
        "reviews": count,
        "average": average,
        "low": low,  # 1-2 star reviews: negative whatever their words
        "previous_reviews": previous_count,
        "previous_average": previous,
        "change": change,
        "networks": [
            {"network": net, "reviews": n, "average": round(avg, 2)}
            for net, (n, avg, _) in now.items()
        ],
    }
