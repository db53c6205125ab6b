"""Queue query time at 1,000,000 mentions, beside baselines measured in the same run.

Usage: .venv/bin/python bench/queue_query.py [--n 1000000] [--runs 30] [--db PATH [--reuse]]
                                             [--no-cli]

Builds a database of ``--n`` mentions with ``bench/gen.py`` (about 2 % of them waiting:
~20,000 open items at 1 M, a quarter claimed), or reuses ``--db PATH`` with ``--reuse``.
Then times the library calls behind ``social-watch queue``: ``queue.list_items`` with the
default limit of 50, with each filter (``--tag``, ``--sentiment``, ``--network``,
``--overdue``, ``--unclaimed``, ``--mine``), the ``--json`` shape (list + ``json.dumps`` as
the CLI prints it), the terminal table (list + ``queue.summary`` + ``render.queue_table``,
which is what a bare ``social-watch queue`` does), ``queue.summary`` alone and
``--limit 0`` (every waiting item; informative, not under the floor).

Baselines, same connection, same run: a ``SELECT 1`` round trip, and a plain select of
50 whole rows by primary key. For each case it prints the first call on a fresh connection
("cold": SQLite's page cache empty, the OS cache warm), then median and p95 over
``--runs`` calls, and the median as a multiple of the 50-row baseline. Finally the whole
command as a subprocess (``social-watch queue``, ``--json``) beside ``social-watch
--version``, the interpreter and click start-up alone.

Floor (issue 3): the queue under 50 ms at 1 M mentions. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import gen  # noqa: E402

FLOOR_MS = 50.0


def measure(fn: Callable[[], Any], runs: int) -> tuple[float, float, float]:
    """(median ms, p95 ms, max ms) of ``runs`` calls after two warm-up calls."""
    fn()
    fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return statistics.median(times), p95, times[-1]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--db", metavar="PATH", help="database path (kept)")
    ap.add_argument("--reuse", action="store_true", help="use --db as it is, do not rebuild")
    ap.add_argument("--no-cli", action="store_true", help="skip the subprocess timings")
    args = ap.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="sw-bench-queue-"))
    db_path = Path(args.db) if args.db else work / "queue.db"
    try:
        if not (args.reuse and db_path.exists()):
            t0 = time.perf_counter()
            stats = gen.build_db(db_path, args.n)
            print(f"built {db_path} in {time.perf_counter() - t0:.1f} s: {stats}")
        size = db_path.stat().st_size / 1e6
        run(db_path, args.runs, size, cli=not args.no_cli)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(db_path: Path, runs: int, size_mb: float, *, cli: bool) -> None:
    from social_watch import db as dbmod
    from social_watch import queue as q
    from social_watch import render

    now = datetime.now(UTC)
    sla = q.SlaSettings()

    def connect() -> Any:
        return dbmod.connect(db_path)

    db = connect()
    total = db.conn.execute("SELECT COUNT(*) FROM mentions").fetchone()[0]
    summ = q.summary(db, now=now)
    print(
        f"database: {total:,} mentions, {size_mb:.0f} MB; waiting items: {summ['waiting']:,} "
        f"({summ['overdue']:,} overdue, {summ['claimed']:,} claimed); cores: {os.cpu_count()}"
    )

    def items(**kw: Any) -> Callable[[Any], Any]:
        filters = q.QueueFilter(**kw)
        return lambda d: q.list_items(d, now=now, sla=sla, filters=filters)

    def as_json(d: Any) -> str:
        return json.dumps(items()(d), ensure_ascii=False, indent=2, default=str)

    def table(d: Any) -> str:
        return render.queue_table(items()(d), q.summary(d, now=now))

    first_id = db.conn.execute("SELECT MIN(id) FROM mentions").fetchone()[0] + total // 2
    cases: list[tuple[str, Callable[[Any], Any], bool]] = [
        ("baseline: SELECT 1", lambda d: d.conn.execute("SELECT 1").fetchone(), False),
        (
            "baseline: 50 rows by id",
            lambda d: d.conn.execute(
                "SELECT * FROM mentions WHERE id >= ? ORDER BY id LIMIT 50", (first_id,)
            ).fetchall(),
            False,
        ),
        ("queue (list_items, limit 50)", items(), True),
        ("queue table (+summary, render)", table, True),
        ("queue --json", as_json, True),
        ("queue.summary", lambda d: q.summary(d, now=now), True),
        ("queue --tag complaint", items(tag="complaint"), True),
        ("queue --tag vip", items(tag="vip"), True),
        ("queue --sentiment negative", items(sentiment="negative"), True),
        ("queue --sentiment unknown", items(sentiment="unknown"), True),
        ("queue --network x", items(network="x"), True),
        ("queue --network hackernews", items(network="hackernews"), True),
        ("queue --overdue", items(overdue=True), True),
        ("queue --unclaimed", items(unclaimed=True), True),
        ("queue --mine (jana)", items(mine="jana"), True),
        (
            "queue --tag billing --sentiment negative",
            items(tag="billing", sentiment="negative"),
            True,
        ),
        ("queue --limit 0 (all waiting items)", items(limit=None), False),
    ]
    base_ms = None
    print(f"\n{'case':<42}{'cold ms':>9}{'median':>9}{'p95':>9}{'max':>9}{'x base':>8}  floor")
    worst = 0.0
    for name, fn, floored in cases:
        cold_db = connect()
        t0 = time.perf_counter()
        result = fn(cold_db)
        cold = (time.perf_counter() - t0) * 1000
        cold_db.close()
        med, p95, mx = measure(lambda fn=fn: fn(db), runs)
        if name.startswith("baseline: 50"):
            base_ms = med
        ratio = f"{med / base_ms:7.1f}x" if base_ms else f"{'':>8}"
        verdict = ""
        if floored:
            worst = max(worst, p95)
            verdict = "ok" if p95 < FLOOR_MS else f"OVER {FLOOR_MS:.0f} ms"
        rows = f"  [{len(result)} rows]" if isinstance(result, list) else ""
        print(f"{name:<42}{cold:9.2f}{med:9.2f}{p95:9.2f}{mx:9.2f}{ratio}  {verdict}{rows}")
    print(
        f"\nworst p95 of the floored queue calls: {worst:.1f} ms "
        f"({'under' if worst < FLOOR_MS else 'OVER'} the {FLOOR_MS:.0f} ms floor)"
    )
    db.close()
    if cli:
        cli_timings(db_path)


def cli_timings(db_path: Path, runs: int = 7) -> None:
    exe = str(Path(sys.executable).with_name("social-watch"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIAL_WATCH_")}
    env["COLUMNS"] = "120"

    def timed(cmd: list[str]) -> tuple[float, float]:
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            subprocess.run(cmd, capture_output=True, env=env, check=True)
            times.append((time.perf_counter() - t0) * 1000)
        return statistics.median(times), min(times)

    print(f"\nwhole command as a subprocess (median / best of {runs}):")
    base, base_min = timed([exe, "--version"])
    print(f"  {'social-watch --version (start-up)':<40}{base:8.1f} ms {base_min:8.1f} ms")
    for label, extra in (("social-watch queue", []), ("social-watch queue --json", ["--json"])):
        med, best = timed([exe, "queue", "--db", str(db_path), *extra])
        print(f"  {label:<40}{med:8.1f} ms {best:8.1f} ms   start-up + {med - base:.1f} ms of work")


if __name__ == "__main__":
    main()
