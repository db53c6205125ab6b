"""Digest and stats time on a realistic 1,000,000-mention database, beside a baseline.

Usage: .venv/bin/python bench/digest.py [--n 1000000] [--days 30] [--db PATH] [--repeat 3]

Builds the database with ``bench/gen.build_db`` (or reuses ``--db`` if it exists), then
times, warm (each measured ``--repeat`` times, best kept):

1. **baseline**: ``SELECT COUNT(*)`` of the period's customer mentions, and one
   ``GROUP BY network, sentiment`` over them: the least any report over the period costs.
2. **digest 24h / 30d**: ``digest.build`` + ``render`` to HTML and text (what ``--send``
   does, without SMTP). Issue 7 bars: under 2 s for 24 hours, under 5 s for 30 days.
3. **stats 30d**: ``stats.compute`` with every group. Bar: under 2 s.
4. **watch warm()**: ``watch.warm_rollups``, the watch loop's hourly job, from no rollups
   (cold) and again at once (warm: nothing to compute), then stats 30d and digest 30d after
   it, as the first report of the day meets them.

Reports merge per-day rollups of whole UTC days (migration 0008), so each report is timed
three ways: ``uncached`` (``cache=False``: everything computed live, once), ``cold`` (the
first cached run: computes and stores the rollups of the whole days; run on a copy with
the rollups cleared) and warm (best of ``--repeat``: what every later report costs; the
bar applies to it). ``before`` is the same report measured before the rollups (commit
ef37ea8 on the same machine: digest 24h 0.79 s, 30d 14.0 s, stats 8.2 s).

A benchmark, not a test: it prints numbers and exits 0.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.gen import build_db
from social_watch import config as cfg
from social_watch import db as dbmod
from social_watch import digest, stats, watch

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
# Measured before the per-day rollups (ef37ea8, bench box under load), seconds.
BEFORE = {"digest 24h": 0.79, "digest 30d": 14.0, "stats 30d": 8.2}
CONFIG = {
    "brand": {"name": "Shop Example", "handles": {"x": "shopexample"}},
    "digest": {"competitors": {"othershop": ["othershop", "other shop"]}},
}


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--days", type=float, default=30)
    ap.add_argument("--db", default="/tmp/social-watch-bench-1m.db")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)

    path = Path(args.db)
    if not path.exists():
        start = time.perf_counter()
        counts = build_db(path, args.n, days=args.days, now=NOW)
        print(f"built {path} in {time.perf_counter() - start:.1f} s: {counts}")
    db = dbmod.connect(path)
    config = cfg.validate(CONFIG)
    total = db.conn.execute("SELECT COUNT(*) FROM mentions").fetchone()[0]
    print(f"database {path}: {total:,} rows; now = {NOW:%Y-%m-%d %H:%M} UTC")
    # Start cold: no rollups, every day to be computed.
    with db.conn:
        db.conn.execute("DELETE FROM stats_rollups")
    print(f"{'what':<34}{'seconds':>9}{'bar':>7}  notes")

    def row(name: str, seconds: float, bar: float | None, note: str = "") -> None:
        mark = "" if bar is None else ("ok" if seconds < bar else "SLOW")
        limit = "" if bar is None else f"<{bar:g}"
        print(f"{name:<34}{seconds:>9.3f}{limit:>7}  {mark} {note}")

    def timed(fn: Callable[[], Any]) -> float:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    for since, bar in (("24h", 2.0), ("30d", 5.0)):
        period = stats.period(now=NOW, since=since)
        params = (stats.iso(period.start), stats.iso(period.end))
        t, n = best(
            lambda p=params: db.conn.execute(
                "SELECT COUNT(*) FROM mentions WHERE kind = 'mention' AND created_at >= ? "
                "AND created_at < ?",
                p,
            ).fetchone()[0],
            args.repeat,
        )
        row(f"baseline COUNT(*) {since}", t, None, f"{n:,} mentions")
        t, _ = best(
            lambda p=params: db.conn.execute(
                "SELECT network, sentiment_label, COUNT(*) FROM mentions WHERE kind = 'mention' "
                "AND created_at >= ? AND created_at < ? GROUP BY 1, 2",
                p,
            ).fetchall(),
            args.repeat,
        )
        row(f"baseline GROUP BY {since}", t, None)

        def run(p: stats.Period = period, cache: bool = True) -> dict[str, Any]:
            data = digest.build(db, config, period=p, now=NOW, cache=cache)
            digest.render(data, "html")
            digest.render(data, "text")
            return data

        before = BEFORE[f"digest {since}"]
        row(f"digest {since} uncached", timed(lambda r=run: r(cache=False)), None)
        row(f"digest {since} cold (fills cache)", timed(run), None)
        t, data = best(run, args.repeat)
        terms = ", ".join(x["term"] for x in data["rising_terms"][:4]) or "none"
        row(f"digest {since} (build + html + text)", t, bar, f"before {before}; rising: {terms}")

    period = stats.period(now=NOW, since="30d")
    with db.conn:
        db.conn.execute("DELETE FROM stats_rollups")
    row(
        "stats --since 30d uncached",
        timed(lambda: stats.compute(db, period=period, now=NOW, cache=False)),
        None,
    )
    row("stats --since 30d cold", timed(lambda: stats.compute(db, period=period, now=NOW)), None)
    t, data = best(lambda: stats.compute(db, period=period, now=NOW), args.repeat)
    o = data["overall"]
    row(
        "stats --since 30d",
        t,
        2.0,
        f"before {BEFORE['stats 30d']}; {o['items']:,} items, "
        f"median FRT {stats.seconds(o['first_response']['median_s'])}",
    )

    with db.conn:
        db.conn.execute("DELETE FROM stats_rollups")
    done: dict[str, int] = {}
    t = timed(lambda: done.update(watch.warm_rollups(db, config, NOW)))
    row("watch warm() cold", t, None, ", ".join(f"{k} {n}" for k, n in done.items()))
    row("watch warm() again", timed(lambda: watch.warm_rollups(db, config, NOW)), None)
    row(
        "stats --since 30d after warm()",
        timed(lambda: stats.compute(db, period=period, now=NOW)),
        2.0,
    )
    row(
        "digest 30d after warm() (build)",
        timed(lambda: digest.build(db, config, period=period, now=NOW)),
        5.0,
    )


if __name__ == "__main__":
    main()
