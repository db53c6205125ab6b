"""PostgreSQL beside SQLite (issue 13): queue and 30-day stats up to 10,000,000 mentions,
ingest with 1, 2 and 4 workers, and the claim race at 50 agents, each beside a baseline
measured in the same run.

Usage: .venv/bin/python bench/postgres.py [queue|ingest|claims|all|server] [--url URL] [options]

Without ``--url`` it starts a throwaway PostgreSQL 15 (``tests/pg_server.Server``: initdb in
a temporary folder, 127.0.0.1, a free port), restarted with the settings a server of its
own would have (``PG_SETTINGS``: shared_buffers 1 GB, fsync on, synchronous_commit off, the
PostgreSQL twin of SQLite's WAL + synchronous=NORMAL), and stops it at the end. Each part
makes its own database on it (``bench_*``); with ``--url`` those go on your server.
``server`` starts that tuned server alone and prints its URL (Ctrl-C or SIGTERM stops it),
for runs with ``--url`` and ``--dir`` that keep the built sizes for ``queue --reuse``.

``queue`` (``--sizes 1000000,3000000,10000000 --sqlite-sizes 1000000,3000000 --base
204100 --runs 30``): a realistic base month of ~200,000 mentions (``--base`` generated
lines, reposts skipped) is built with
``bench/gen.build_db`` (statuses, answers, claims and the audit trail as a team leaves them;
the product's ingest would leave every mention open) and copied into PostgreSQL with the
product's ``store.copy`` (``db copy``). It is then multiplied in SQL on the server (SQLite:
in the file) up to each size: copy ``k`` of the base gets new ids, global/native ids,
thread keys and conversation ids suffixed ``~k``, and every timestamp moved back ``k *
--step-hours`` (14.4 h: 10 M mentions span 60 days, the last 30 days hold about half of
them); the open and claimed items of copies more than a day old are answered (with a
``replied`` action), so the queue stays the size of a team's queue (twice the base's),
not 50 times it. The same copies go into SQLite and PostgreSQL, so a size is the same data
on both. Indexes are dropped during the load and rebuilt from the schema's own DDL; then
PostgreSQL gets ``VACUUM ANALYZE`` (what autovacuum would do; index-only scans need the
visibility map); SQLite is left as the product leaves it (no ANALYZE). The build time of
every stage is printed.

Each (backend, size) is measured in a child process (its peak RSS, VmHWM; on PostgreSQL
also the server backend's, which includes the shared buffers it
touched): the queue as ``social-watch queue`` and the web inbox list it
(``queue.list_items``, limit 50; cold = the first call in a fresh process) and a few
filters, ``queue.summary``; p50 / p95 over ``--runs`` calls, beside two baselines on the same
connection (``SELECT 1`` and a plain select of 50 whole rows by primary key). Then
``stats.compute`` over the last 30 days: cold (rollups cleared: every day computed and
stored), warm (the rollups in place: what every later report costs; median of 3), beside a
``COUNT(*)`` of the period's mentions. Goals (issue 13): queue p95 < 50 ms, warm stats < 2 s.

``ingest`` (``--ingest-n 100000 --workers 1,2,4``): one generated file, split round-robin
into disjoint slices; ``W`` processes each run ``ingest_file.run`` (what ``social-watch
import`` does, its enrichment worker included) on their slice, at once, into one fresh
database; mentions/s of the whole, on PostgreSQL and on SQLite (same worker counts: the
product lets several imports wait for SQLite's write lock), beside ``bench/ingest.py``'s
raw bound (parse + plain VADER + sqlite-utils ``insert_all``, one process). Then an
overlapping run (each worker gets its own slice and the next one's: every line ingested
twice, concurrently) and the check that rows == distinct global ids == the rows of a
single-worker import of the same file.

``claims`` (``--agents 50 --items 100``): ``--items`` open queue items; ``--agents``
processes, each with its own connection, try to claim every item (``queue.claim``, in the
same order, released by a barrier at once); claims/s, p50 / p95 latency of an attempt, and
the check that each item has exactly one winner (one successful call, one ``claimed``
action, ``claimed_by`` the winner). Baseline: one agent claiming the same number of items
alone, same backend, same run.

A benchmark, not a test: it prints numbers and exits 0.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import gen  # noqa: E402
from queue_query import measure as timed  # noqa: E402

QUEUE_GOAL_MS = 50.0
STATS_GOAL_S = 2.0
# The throwaway server's settings, for a machine of its own (24 GB here, shared with other
# work): fsync on; synchronous_commit off loses at most the last ~0.6 s of commits in a
# crash of the machine (no corruption), as SQLite's synchronous=NORMAL in WAL mode does.
PG_SETTINGS = {
    "shared_buffers": "1GB",
    "effective_cache_size": "8GB",
    "work_mem": "64MB",
    "maintenance_work_mem": "512MB",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "30min",
    "fsync": "on",
    "full_page_writes": "on",
    "synchronous_commit": "off",
    "max_parallel_workers_per_gather": "2",
}


# --- the server ------------------------------------------------------------------------


@contextlib.contextmanager
def postgres(url: str | None) -> Iterator[str]:
    """A server URL: ``url`` as given, or a throwaway server started (and stopped) here."""
    if url:
        yield url
        return
    from tests.pg_server import Server

    server = Server()
    try:
        server.start()
        # Restart with the benchmark's settings (later -c options win over the test ones).
        pg_ctl = str(server.bindir / "pg_ctl")
        server._run(pg_ctl, "-D", str(server.data), "-m", "fast", "-w", "stop")
        opts = f"-h 127.0.0.1 -p {server.port} -k {server.root} -c max_connections=200 " + " ".join(
            f"-c {k}={v}" for k, v in PG_SETTINGS.items()
        )
        server._run(
            pg_ctl,
            "-D",
            str(server.data),
            "-o",
            opts,
            "-l",
            str(server.root / "log"),
            "-w",
            "start",
        )
        yield server.url
    finally:
        server.stop()


def database_url(server_url: str, name: str) -> str:
    return urlsplit(server_url)._replace(path=f"/{name}").geturl()


def database(
    server_url: str, name: str, *, template: str | None = None, drop_only: bool = False
) -> str:
    """A fresh database ``name`` on the server (a copy of ``template``); its URL."""
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        if not drop_only:
            copy_of = f' TEMPLATE "{template}"' if template else ""
            conn.execute(f'CREATE DATABASE "{name}"{copy_of}')
    return database_url(server_url, name)


def machine() -> str:
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores ({model}), {mem:.0f} GB RAM, load {load}"


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p * (len(values) - 1)))]


# --- building big databases --------------------------------------------------------------


class Grower:
    """Multiplies a base set of mentions (ids 1..M, actions 1..A) in place, copy by copy."""

    def __init__(self, db: Any, now: datetime, step_hours: float) -> None:
        self.db = db
        self.pg = db.dialect == "postgresql"
        self.now = now
        self.step_s = round(step_hours * 3600)
        self.base_m = db.scalar("SELECT MAX(id) FROM mentions")
        self.base_a = db.scalar("SELECT COALESCE(MAX(id), 0) FROM actions")
        self.a_stride = self.base_a + self.base_m  # a copy's actions, then its new replies
        self.copies = 1
        self.mcols = db.columns("mentions")
        self.acols = db.columns("actions")

    def count(self) -> int:
        return int(self.db.scalar("SELECT COUNT(*) FROM mentions"))

    def _shift(self, col: str, extra: str = "") -> str:
        """``col`` (YYYY-MM-DDTHH:MM:SSZ text) moved back by the copy's shift (+ extra s)."""
        secs = f"(c.shift_s{extra})"
        if self.pg:
            return (
                f"to_char(CAST({col} AS timestamptz) AT TIME ZONE 'UTC' - "
                f'make_interval(secs => {secs}), \'YYYY-MM-DD"T"HH24:MI:SS"Z"\')'
            )
        return f"strftime('%Y-%m-%dT%H:%M:%SZ', {col}, '-' || {secs} || ' seconds')"

    def _mention_select(self) -> str:
        conv = "(c.keep_open = 0 AND m.status IN ('open', 'claimed'))"
        answered_at = self._shift("m.created_at", " - 1200")  # 20 minutes after it was written
        expr = {
            "id": f"m.id + c.k * {self.base_m}",
            "item_id": f"m.item_id + c.k * {self.base_m}",
            "global_id": "m.global_id || '~' || c.k",
            "native_id": "m.native_id || '~' || c.k",
            "thread_key": "m.thread_key || '~' || c.k",
            "conversation_id": "m.conversation_id || '~' || c.k",
            "in_reply_to": "m.in_reply_to || '~' || c.k",
            "status": f"CASE WHEN {conv} THEN 'answered' ELSE m.status END",
            "first_response_at": f"CASE WHEN {conv} THEN {answered_at} "
            f"ELSE {self._shift('m.first_response_at')} END",
            "first_response_by": f"CASE WHEN {conv} THEN 'jana' ELSE m.first_response_by END",
            "closed_at": f"CASE WHEN {conv} THEN {answered_at} "
            f"ELSE {self._shift('m.closed_at')} END",
            "claimed_by": f"CASE WHEN {conv} THEN NULL ELSE m.claimed_by END",
            "claimed_at": f"CASE WHEN {conv} THEN NULL ELSE {self._shift('m.claimed_at')} END",
            "claim_expires_at": f"CASE WHEN {conv} THEN NULL "
            f"ELSE {self._shift('m.claim_expires_at')} END",
        }
        for col in ("created_at", "fetched_at", "updated_at", "due_at"):
            expr[col] = self._shift(f"m.{col}")
        return ", ".join(expr.get(c, f"m.{c}") for c in self.mcols)

    def _indexes(self) -> list[tuple[str, str]]:
        """(drop, create) statements of the secondary indexes of mentions and actions."""
        if not self.pg:
            return [
                (f"DROP INDEX {name}", sql)
                for name, sql in self.db.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                    "AND tbl_name IN ('mentions', 'actions')"
                )
            ]
        out = [
            (f"DROP INDEX {name}", sql)
            for name, sql in self.db.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN "
                "('mentions', 'actions') AND indexname NOT IN (SELECT conname FROM pg_constraint)"
            )
        ]
        out += [
            (
                f"ALTER TABLE {table} DROP CONSTRAINT {name}",
                f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}",
            )
            for name, table, definition in self.db.execute(
                "SELECT conname, CAST(conrelid AS regclass), pg_get_constraintdef(oid) "
                "FROM pg_constraint WHERE contype = 'u' AND "
                "conrelid IN (CAST('mentions' AS regclass), CAST('actions' AS regclass))"
            )
        ]
        return out

    def grow(self, target: int) -> dict[str, float]:
        """Add copies until there are at least ``target`` mentions; seconds per phase."""
        db, times = self.db, {}
        want = max(1, -(-target // self.base_m))
        if want <= self.copies:
            return times
        t0 = time.perf_counter()
        indexes = self._indexes()
        if self.pg:
            db.execute("ALTER TABLE mentions DISABLE TRIGGER ALL")
            db.execute("ALTER TABLE actions DISABLE TRIGGER ALL")
        for drop, _create in indexes:
            db.execute(drop)
        db.execute("DROP TABLE IF EXISTS bench_copies")
        db.execute("CREATE TABLE bench_copies (k BIGINT, shift_s BIGINT, keep_open BIGINT)")
        mentions_sql = (
            f"INSERT INTO mentions ({', '.join(self.mcols)}) SELECT {self._mention_select()} "
            f"FROM mentions m, bench_copies c WHERE m.id <= {self.base_m}"
        )
        actions_expr = {
            "id": f"a.id + c.k * {self.a_stride}",
            "mention_id": f"a.mention_id + c.k * {self.base_m}",
            "at": self._shift("a.at"),
        }
        actions_sql = (
            f"INSERT INTO actions ({', '.join(self.acols)}) SELECT "
            + ", ".join(actions_expr.get(c, f"a.{c}") for c in self.acols)
            + f" FROM actions a, bench_copies c WHERE a.id <= {self.base_a}"
        )
        replied = {
            "id": f"c.k * {self.a_stride} + {self.base_a} + m.id",
            "mention_id": f"m.id + c.k * {self.base_m}",
            "action": "'replied'",
            "agent": "'jana'",
            "at": self._shift("m.created_at", " - 1200"),
            "details": "'{\"native\":false}'",
        }
        replied_sql = (
            f"INSERT INTO actions ({', '.join(self.acols)}) SELECT "
            + ", ".join(replied[c] for c in self.acols)
            + f" FROM mentions m, bench_copies c WHERE m.id <= {self.base_m} AND c.keep_open = 0 "
            "AND m.status IN ('open', 'claimed') AND m.item_id = m.id"
        )
        for k in range(self.copies, want):
            shift = k * self.step_s
            with db.write():
                db.execute("DELETE FROM bench_copies")
                db.execute(f"INSERT INTO bench_copies VALUES ({k}, {shift}, {int(shift < 86400)})")
                db.execute(mentions_sql)
                db.execute(actions_sql)
                db.execute(replied_sql)
            if (k + 1) % 10 == 0 or k + 1 == want:
                print(f"    copies: {k + 1}/{want} ({time.perf_counter() - t0:.0f} s)", flush=True)
        self.copies = want
        db.execute("DROP TABLE bench_copies")
        times["insert"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _drop, create in indexes:
            db.execute(create)
        if self.pg:
            db.execute("ALTER TABLE mentions ENABLE TRIGGER ALL")
            db.execute("ALTER TABLE actions ENABLE TRIGGER ALL")
            for table in ("mentions", "actions"):
                db.after_bulk_load(table)
        times["index"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        with db.write():  # the stats caches as a fresh database has them: nothing marked
            db.execute("DELETE FROM stats_rollups")
            db.execute("DELETE FROM stats_dirty")
            db.execute("UPDATE stats_watermark SET max_id = (SELECT MAX(id) FROM mentions)")
        if self.pg:
            db.execute("VACUUM (ANALYZE) mentions")
            db.execute("VACUUM (ANALYZE) actions")
            times["vacuum analyze"] = time.perf_counter() - t0
        else:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return times


def sqlite_copy(src: Path, dst: Path) -> None:
    """Copy a closed database file; a WAL left by an earlier run must not meet the copy."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{dst}{suffix}").unlink(missing_ok=True)
    shutil.copy(src, dst)


def sqlite_fast(db: Any) -> None:
    """Bulk-load settings for the SQLite build connection (as gen.build_db uses)."""
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA cache_size = -400000")
    db.execute("PRAGMA foreign_keys = OFF")


# --- measuring one database (in a child process) -------------------------------------


def measure(target: str, now: datetime, runs: int, with_stats: bool) -> dict[str, Any]:
    from social_watch import db as dbmod
    from social_watch import queue as q
    from social_watch import stats

    out: dict[str, Any] = {}
    sla = q.SlaSettings()
    db = dbmod.connect(target)
    out["mentions"] = db.scalar("SELECT COUNT(*) FROM mentions")
    summ = q.summary(db, now=now)
    out["waiting"] = summ["waiting"]

    def items(**kw: Any) -> Callable[[], Any]:
        filters = q.QueueFilter(**kw)
        return lambda: q.list_items(db, now=now, sla=sla, filters=filters)

    t0 = time.perf_counter()
    items()()
    out["queue cold ms"] = (time.perf_counter() - t0) * 1000
    mid = out["mentions"] // 2
    cases: list[tuple[str, Callable[[], Any]]] = [
        ("SELECT 1", lambda: db.execute("SELECT 1").fetchone()),
        (
            "50 rows by id",
            lambda: db.execute(
                "SELECT * FROM mentions WHERE id >= ? ORDER BY id LIMIT 50", (mid,)
            ).fetchall(),
        ),
        ("queue", items()),
        ("queue --unclaimed", items(unclaimed=True)),
        ("queue --tag complaint", items(tag="complaint")),
        ("queue --network x", items(network="x")),
        ("queue --sentiment negative", items(sentiment="negative")),
        ("queue.summary", lambda: q.summary(db, now=now)),
    ]
    timings: dict[str, tuple[float, float]] = {}
    for name, fn in cases:
        median, p95, _slowest = timed(fn, runs)
        timings[name] = (median, p95)
    out["timings"] = timings

    if with_stats:
        period = stats.period(now=now, since="30d")
        t0 = time.perf_counter()
        out["in 30 days"] = db.scalar(
            "SELECT COUNT(*) FROM mentions WHERE kind = 'mention' AND created_at >= ? "
            "AND created_at < ?",
            (stats.iso(period.start), stats.iso(period.end)),
        )
        out["count 30d s"] = time.perf_counter() - t0
        try:
            with db.write():
                db.execute("DELETE FROM stats_rollups")
            t0 = time.perf_counter()
            stats.compute(db, period=period, now=now)
            out["stats cold s"] = time.perf_counter() - t0
            warm = []
            for _ in range(3):
                t0 = time.perf_counter()
                data = stats.compute(db, period=period, now=now)
                warm.append(time.perf_counter() - t0)
            out["stats warm s"] = statistics.median(warm)
            out["stats items"] = data["overall"]["items"]
        except Exception as exc:  # the PostgreSQL port of stats may not be merged yet
            out["stats error"] = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}"
    out["peak MB"] = peak_mb("self")
    if db.dialect == "postgresql":
        out["backend peak MB"] = peak_mb(db.scalar("SELECT pg_backend_pid()"))
    db.close()
    return out


def peak_mb(pid: int | str) -> float:
    """A process's peak RSS (VmHWM; since its exec, unlike ru_maxrss of a forked child)."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def measure_child(target: str, now: datetime, runs: int, with_stats: bool) -> dict[str, Any]:
    """``measure`` in a fresh process: cold is cold, and its peak RSS is its own."""
    cmd = [
        sys.executable,
        str(Path(__file__)),
        "_measure",
        "--target",
        target,
        "--now",
        now.isoformat(),
        "--runs",
        str(runs),
    ]
    if not with_stats:
        cmd.append("--no-stats")
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, cwd=ROOT, check=False)
    if proc.returncode != 0:
        return {"error": f"measuring {target} failed (exit {proc.returncode})"}
    out: dict[str, Any] = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    return out


def print_measure(backend: str, size: int, build_s: float, r: dict[str, Any]) -> None:
    if "error" in r:
        print(f"  {backend} {size:,}: {r['error']}")
        return
    t = r["timings"]
    base = t["50 rows by id"][0]
    print(
        f"\n  {backend}, {r['mentions']:,} mentions ({r.get('in 30 days', 0):,} in the last "
        f"30 days), {r['waiting']:,} waiting items; built in {build_s:.0f} s"
    )
    print(f"    {'case':<30}{'p50 ms':>9}{'p95 ms':>9}{'x 50 rows':>11}")
    for name, (p50, p95) in t.items():
        mark = ""
        if name.startswith("queue") and name != "queue.summary":
            mark = "  ok" if p95 < QUEUE_GOAL_MS else f"  OVER {QUEUE_GOAL_MS:.0f} ms"
        print(f"    {name:<30}{p50:9.2f}{p95:9.2f}{p50 / base:10.1f}x{mark}")
    print(f"    queue, first call in a fresh process: {r['queue cold ms']:.1f} ms")
    if "stats error" in r:
        print(f"    stats 30d: FAILED: {r['stats error']}")
    elif "stats warm s" in r:
        ok = "ok" if r["stats warm s"] < STATS_GOAL_S else f"OVER {STATS_GOAL_S:.0f} s"
        print(
            f"    stats 30d: cold {r['stats cold s']:.2f} s, warm {r['stats warm s']:.3f} s "
            f"[{ok}] ({r['stats items']:,} items); baseline COUNT(*) of the period "
            f"{r['count 30d s']:.3f} s"
        )
    backend_peak = r.get("backend peak MB")
    extra = f", server backend {backend_peak:.0f} MB" if backend_peak else ""
    print(f"    peak RSS: client {r['peak MB']:.0f} MB{extra}")


def part_queue(args: argparse.Namespace, server: str, work: Path) -> list[dict[str, Any]]:
    """Build (or, with ``--reuse``, find in ``--dir``/on ``--url``) each size, measure it."""
    from social_watch import db as dbmod
    from social_watch.store.copy import copy

    saved = work / "queue-builds.json"
    builds: dict[str, Any] = json.loads(saved.read_text()) if saved.exists() else {}
    sqlite_sizes = sorted(int(s) for s in args.sqlite_sizes.split(",") if s)
    pg_sizes = sorted(int(s) for s in args.sizes.split(",") if s)
    results: list[dict[str, Any]] = []

    def measured(backend: str, size: int, target: str) -> None:
        b = builds[f"{backend} {size}"]
        r = measure_child(
            target, datetime.fromisoformat(builds["now"]), args.runs, not args.no_stats
        )
        r.update(backend=backend, size=size, build_s=b["seconds"], phases=b["phases"])
        print_measure(backend, size, b["seconds"], r)
        results.append(r)

    if args.reuse:
        from social_watch.store.pg_schema import PORTABLE_FUNCTIONS

        for size in pg_sizes:  # functions the current schema defines (built before they were)
            import psycopg

            with psycopg.connect(database_url(server, f"bench_queue_{size}")) as conn:
                conn.execute(PORTABLE_FUNCTIONS)
        for size in sqlite_sizes:
            measured("sqlite", size, str(work / f"sqlite-{size}.db"))
        for size in pg_sizes:
            measured("postgresql", size, database_url(server, f"bench_queue_{size}"))
        queue_table(results)
        return results

    now = datetime.now(UTC).replace(microsecond=0)
    builds = {"now": now.isoformat()}
    base = work / "base.db"
    t0 = time.perf_counter()
    counts = gen.build_db(base, args.base, days=30, now=now)
    base_s = time.perf_counter() - t0
    print(f"base: {args.base:,} generated lines -> {counts} in {base_s:.0f} s", flush=True)

    def keep(backend: str, size: int, seconds: float, phases: dict[str, float]) -> None:
        builds[f"{backend} {size}"] = {"seconds": seconds, "phases": phases}
        saved.write_text(json.dumps(builds, indent=1))

    if sqlite_sizes:
        path = work / "big.db"
        sqlite_copy(base, path)
        db = dbmod.connect(path)
        sqlite_fast(db)
        grower = Grower(db, now, args.step_hours)
        spent = base_s
        for size in sqlite_sizes:
            t0 = time.perf_counter()
            phases = grower.grow(size)
            db.close()  # a copy of this size to measure (and to measure again later)
            sqlite_copy(path, work / f"sqlite-{size}.db")
            db = grower.db = dbmod.connect(path)
            sqlite_fast(db)
            spent += time.perf_counter() - t0
            print(f"  sqlite grown to {grower.count():,}: {phases}", flush=True)
            keep("sqlite", size, spent, phases)
            measured("sqlite", size, str(work / f"sqlite-{size}.db"))
        db.close()
        path.unlink()

    if pg_sizes:
        url = database(server, "bench_queue")
        t0 = time.perf_counter()
        src, dst = dbmod.connect(base), dbmod.connect(url)
        copied = copy(src, dst)
        src.close()
        spent = base_s + time.perf_counter() - t0
        print(
            f"\n  base copied into PostgreSQL (store.copy): {copied.rows:,} rows "
            f"in {time.perf_counter() - t0:.0f} s"
        )
        grower = Grower(dst, now, args.step_hours)
        for size in pg_sizes:
            t0 = time.perf_counter()
            phases = grower.grow(size)
            if not phases:
                dst.execute("VACUUM (ANALYZE) mentions")
                dst.execute("VACUUM (ANALYZE) actions")
            dst.close()  # a copy of this size (CREATE DATABASE ... TEMPLATE needs it idle)
            snapshot = database(server, f"bench_queue_{size}", template="bench_queue")
            dst = grower.db = dbmod.connect(url)
            spent += time.perf_counter() - t0
            print(f"  postgresql grown to {grower.count():,}: {phases}", flush=True)
            keep("postgresql", size, spent, phases)
            measured("postgresql", size, snapshot)
        dst.close()
        database(server, "bench_queue", drop_only=True)
    queue_table(results)
    return results


def queue_table(results: list[dict[str, Any]]) -> None:
    print(
        "\n| backend | mentions | in 30 d | waiting | queue p50 / p95 ms | worst filter p95 ms "
        "| 50 rows p50 ms | queue cold ms | stats 30d cold / warm s | COUNT 30d s "
        "| peak RSS MB | build s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        if "error" in r:
            continue
        t = r["timings"]
        worst = max(p95 for n, (_p, p95) in t.items() if n.startswith("queue --"))
        if "stats warm s" in r:
            st = f"{r['stats cold s']:.2f} / {r['stats warm s']:.3f}"
        else:
            st = "failed" if "stats error" in r else "—"
        rss = f"{r['peak MB']:.0f}"
        if "backend peak MB" in r:
            rss += f" (+ server {r['backend peak MB']:.0f})"
        print(
            f"| {r['backend']} | {r['mentions']:,} | {r.get('in 30 days', 0):,} | "
            f"{r['waiting']:,} | {t['queue'][0]:.1f} / {t['queue'][1]:.1f} | {worst:.1f} | "
            f"{t['50 rows by id'][0]:.2f} | {r['queue cold ms']:.0f} | {st} | "
            f"{r.get('count 30d s', 0):.2f} | {rss} | {r['build_s']:.0f} |"
        )


# --- ingest with several workers ----------------------------------------------------------


def _ingest_worker(target: str, config_path: str, path: str) -> None:
    from social_watch import config as cfg
    from social_watch import db as dbmod
    from social_watch import ingest_file

    conf = cfg.load(config_path, env={})
    db = dbmod.connect(target)
    try:
        res = ingest_file.run(db, conf, path)
        print(json.dumps(res.as_dict() | {"errors": len(res.rejected)}), flush=True)
    finally:
        db.close()


def run_workers(target: str, config: Path, slices: list[Path]) -> tuple[float, float, list[str]]:
    """All slices at once, one process each (started, then released together)."""
    from social_watch import db as dbmod

    dbmod.connect(target).close()  # migrated before the clock starts, as `db init` would
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r}); sys.path.insert(0, {str(HERE)!r}); "
        "import postgres; postgres._ingest_worker(*sys.argv[1:])"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIAL_WATCH_")}
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, target, str(config), str(s)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        for s in slices
    ]
    outs, cpu = [], 0.0
    for p in procs:
        out, err = p.communicate()
        if p.returncode != 0:
            outs.append(f"FAILED ({p.returncode}): {err.decode().strip().splitlines()[-1:]}")
        else:
            outs.append(out.decode().strip())
    wall = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, outs


def split(path: Path, parts: int, overlap: bool = False) -> list[Path]:
    """Round-robin slices of ``path``; with ``overlap``, slice i also holds slice i+1's lines."""
    lines = path.read_bytes().splitlines(keepends=True)
    chunks = [lines[i::parts] for i in range(parts)]
    out = []
    for i in range(parts):
        mine = chunks[i] + (chunks[(i + 1) % parts] if overlap else [])
        p = path.with_name(f"{path.stem}-{parts}{'o' if overlap else ''}-{i}.jsonl")
        p.write_bytes(b"".join(mine))
        out.append(p)
    return out


def row_check(target: str) -> tuple[int, int]:
    from social_watch import db as dbmod

    db = dbmod.connect(target)
    rows, distinct = db.one("SELECT COUNT(*), COUNT(DISTINCT global_id) FROM mentions")
    db.close()
    return int(rows), int(distinct)


def part_ingest(args: argparse.Namespace, server: str, work: Path) -> list[dict[str, Any]]:
    import ingest as ingest_bench

    data = work / "ingest.jsonl"
    config = work / "social-watch.toml"
    config.write_text(gen.CONFIG_TOML, encoding="utf-8")
    gen.write_jsonl(data, args.ingest_n, seed=3)
    n = args.ingest_n
    workers = [int(w) for w in args.workers.split(",")]
    print(f"{n:,} generated mentions; worker counts {workers}", flush=True)
    results: list[dict[str, Any]] = []

    def line(name: str, wall: float, cpu: float | None, note: str = "") -> None:
        cpu_s = f"  cpu {n / cpu:>8,.0f}/s" if cpu else ""
        print(f"  {name:<34}{n / wall:>9,.0f} mentions/s ({wall:6.1f} s){cpu_s}  {note}")
        results.append({"name": name, "rate": n / wall, "wall": wall})

    t0 = time.perf_counter()
    count = ingest_bench.raw_bound(data, ingest_bench.fresh(work / "raw.db"))
    line("raw bound (SQLite, 1 process)", time.perf_counter() - t0, None, f"[{count:,} rows]")
    single: dict[str, int] = {}
    for backend in ("postgresql", "sqlite"):
        for w in workers:
            if backend == "postgresql":
                target = database(server, f"bench_ingest_{w}")
            else:
                target = str(ingest_bench.fresh(work / f"ingest-{w}.db"))
            wall, _cpu, outs = run_workers(target, config, split(data, w))
            rows, distinct = row_check(target)
            if w == 1:
                single[backend] = rows
            failed = [o for o in outs if o.startswith("FAILED")]
            note = f"[{rows:,} rows{'; ' + '; '.join(failed) if failed else ''}]"
            line(f"{backend}, {w} worker{'s' if w > 1 else ''}", wall, None, note)
    print("\n  overlapping slices (each line ingested twice, by two workers at once):")
    for backend in ("postgresql", "sqlite"):
        w = max(workers)
        if backend == "postgresql":
            target = database(server, "bench_ingest_overlap")
        else:
            target = str(ingest_bench.fresh(work / "ingest-overlap.db"))
        wall, _cpu, outs = run_workers(target, config, split(data, w, overlap=True))
        rows, distinct = row_check(target)
        failed = [o for o in outs if o.startswith("FAILED")]
        ok = rows == distinct == single.get(backend, rows) and not failed
        print(
            f"  {backend}, {w} workers, {2 * n:,} lines: {rows:,} rows, {distinct:,} distinct "
            f"global ids, single-worker import {single.get(backend, 0):,} rows -> "
            f"{'OK: nothing doubled, nothing lost' if ok else 'MISMATCH'} ({wall:.1f} s)"
            + (f" {failed}" if failed else "")
        )
        results.append({"name": f"overlap {backend}", "ok": ok, "rows": rows})
    t0 = time.perf_counter()
    ingest_bench.raw_bound(data, ingest_bench.fresh(work / "raw.db"))
    line("raw bound again (after)", time.perf_counter() - t0, None)
    return results


# --- the claim race ------------------------------------------------------------------------


def _claimer(
    target: str, agent: str, items: list[int], barrier: Any, results: Any, shuffle: bool
) -> None:
    from social_watch import db as dbmod
    from social_watch import queue as q
    from social_watch.errors import Conflict, SocialWatchError

    db = dbmod.connect(target)
    won, times, errors = [], [], 0
    if shuffle:  # an agent of its own: picks the items in its own order
        items = list(items)
        random.Random(agent).shuffle(items)
    barrier.wait()
    t_start = time.perf_counter()
    for item in items:
        t0 = time.perf_counter()
        try:
            q.claim(db, item, agent, now=datetime.now(UTC), ttl=timedelta(hours=1))
            won.append(item)
        except Conflict:
            pass
        except SocialWatchError:
            errors += 1
        times.append(time.perf_counter() - t0)
    results.put((agent, won, times, errors, t_start, time.perf_counter()))
    db.close()


def race(target: str, agents: int, items: list[int], shuffle: bool = False) -> dict[str, Any]:
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(agents)
    results = ctx.Queue()
    names = [f"agent{i:02d}" for i in range(agents)]
    procs = [
        ctx.Process(target=_claimer, args=(target, name, items, barrier, results, shuffle))
        for name in names
    ]
    for p in procs:
        p.start()
    got = [results.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    winners: dict[int, list[str]] = {}
    times: list[float] = []
    errors = 0
    for agent, won, ts, errs, _s, _e in got:
        for item in won:
            winners.setdefault(item, []).append(agent)
        times += ts
        errors += errs
    span = max(g[5] for g in got) - min(g[4] for g in got)
    from social_watch import db as dbmod

    db = dbmod.connect(target)
    marks = ", ".join("?" for _ in items)
    holders = dict(
        db.execute(f"SELECT id, claimed_by FROM mentions WHERE id IN ({marks})", items).fetchall()
    )
    actions: dict[int, list[str]] = {}
    for mid, agent in db.execute(
        f"SELECT mention_id, agent FROM actions WHERE action = 'claimed' AND mention_id IN ({marks})",
        items,
    ):
        actions.setdefault(mid, []).append(agent)
    db.close()
    one = all(
        len(winners.get(i, [])) == 1
        and actions.get(i) == winners[i]
        and holders.get(i) == winners[i][0]
        for i in items
    )
    return {
        "attempts": len(times),
        "span": span,
        "p50 ms": statistics.median(times) * 1000,
        "p95 ms": pct(times, 0.95) * 1000,
        "p99 ms": pct(times, 0.99) * 1000,
        "max ms": max(times) * 1000,
        "won": sum(len(w) for w in winners.values()),
        "errors": errors,
        "one winner": one,
        "items": len(items),
    }


def claim_db(target: str, work: Path, n_items: int) -> list[int]:
    """A database with ``n_items`` open queue items (one mention each), ingested."""
    from social_watch import config as cfg
    from social_watch import db as dbmod
    from social_watch import ingest_file

    path = work / f"claims-{n_items}.jsonl"
    now = datetime.now(UTC).replace(microsecond=0)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n_items):
            obj = {
                "network": "x",
                "id": f"claim{i}",
                "text": f"@shopexample order {1000 + i} still not here",
                "created_at": (now - timedelta(minutes=i % 25)).isoformat(),
                "author": {"handle": f"customer{i}"},
            }
            f.write(json.dumps(obj) + "\n")
    conf = cfg.validate({"brand": {"name": "Shop Example"}})
    db = dbmod.connect(target)
    ingest_file.run(db, conf, str(path), workers=0)
    ids = [r[0] for r in db.execute("SELECT id FROM mentions WHERE item_id = id ORDER BY id")]
    db.close()
    return ids


def part_claims(args: argparse.Namespace, server: str, work: Path) -> list[dict[str, Any]]:
    results = []
    config = work / "social-watch.toml"
    config.write_text(gen.CONFIG_TOML, encoding="utf-8")
    feed = work / "claims-import.jsonl"
    gen.write_jsonl(feed, args.import_n, seed=5)
    print(
        f"{args.agents} agents, {args.items} open items; each agent tries every item, all in "
        f"the same order ('same') or each in its own ('own'); 'import': while one "
        f"`import` of {args.import_n:,} mentions runs into the same database"
    )
    print(
        f"  {'':<40}{'attempts/s':>11}{'wins/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
        f"{'max ms':>9}  check"
    )
    scenarios = [
        (1, False, False),
        (args.agents, False, False),
        (args.agents, True, False),
        (args.agents, True, True),
    ]
    for backend in ("postgresql", "sqlite"):
        for i, (agents, shuffle, importing) in enumerate(scenarios):
            name = f"bench_claims_{i}"
            if backend == "postgresql":
                target = database(server, name)
            else:
                target = str(work / f"{name}.db")
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{target}{suffix}").unlink(missing_ok=True)
            items = claim_db(target, work, args.items)
            feeder = None
            if importing:
                feeder = start_import(target, config, feed)
            r = race(target, agents, items, shuffle)
            note = ""
            if feeder is not None:
                running = feeder.poll() is None
                feeder.communicate()
                note = "; the import ran throughout" if running else "; import ENDED FIRST"
            check = (
                f"exactly one winner for each of {r['items']} items"
                if r["one winner"]
                else "FAILED: an item without exactly one winner"
            )
            if r["errors"]:
                check += f"; {r['errors']} attempts failed with an error (busy?)"
            label = f"{backend}, {agents} agent{'s' if agents > 1 else ''}"
            if agents > 1:
                label += f", {'own' if shuffle else 'same'} order{', import' if importing else ''}"
            print(
                f"  {label:<40}{r['attempts'] / r['span']:11,.0f}{r['won'] / r['span']:9,.0f}"
                f"{r['p50 ms']:9.1f}{r['p95 ms']:9.1f}{r['p99 ms']:9.1f}{r['max ms']:9.0f}"
                f"  {check}{note}",
                flush=True,
            )
            results.append(r | {"backend": backend, "agents": agents, "shuffle": shuffle})
    return results


def start_import(target: str, config: Path, path: Path) -> subprocess.Popen[bytes]:
    """``social-watch import`` into ``target`` in the background, once it is under way."""
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r}); sys.path.insert(0, {str(HERE)!r}); "
        "import postgres; postgres._ingest_worker(*sys.argv[1:])"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, target, str(config), str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    from social_watch import db as dbmod

    db = dbmod.connect(target)
    first = db.scalar("SELECT COUNT(*) FROM mentions")
    while db.scalar("SELECT COUNT(*) FROM mentions") == first and proc.poll() is None:
        time.sleep(0.05)  # until its first batch is stored
    db.close()
    return proc


# --- main --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("part", choices=("queue", "ingest", "claims", "all", "server", "_measure"))
    ap.add_argument("--url", help="a PostgreSQL server to use (postgresql://user@host:port/db)")
    ap.add_argument("--sizes", default="1000000,3000000,10000000", help="PostgreSQL sizes")
    ap.add_argument("--sqlite-sizes", default="1000000,3000000")
    ap.add_argument(
        "--base", type=int, default=204_100, help="generated lines of the base (~200,000 rows)"
    )
    ap.add_argument("--step-hours", type=float, default=14.4, help="shift between copies")
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--no-stats", action="store_true", help="queue part: skip stats")
    ap.add_argument(
        "--reuse", action="store_true", help="queue part: measure the sizes --dir/--url hold"
    )
    ap.add_argument("--ingest-n", type=int, default=100_000)
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--agents", type=int, default=50)
    ap.add_argument("--items", type=int, default=100)
    ap.add_argument("--import-n", type=int, default=100_000, help="claims part: the import")
    ap.add_argument("--dir", help="work in DIR (kept) instead of a temporary folder")
    ap.add_argument("--target", help=argparse.SUPPRESS)
    ap.add_argument("--now", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.part == "_measure":
        now = datetime.fromisoformat(args.now)
        print(json.dumps(measure(args.target, now, args.runs, not args.no_stats)))
        return

    if args.part == "server":  # a tuned throwaway server for --url runs; Ctrl-C stops it
        with postgres(None) as server:
            print(server, flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                signal.signal(signal.SIGTERM, signal.default_int_handler)
                while True:
                    time.sleep(3600)
        return

    work = Path(args.dir or tempfile.mkdtemp(prefix="sw-bench-pg-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {machine()}")
    started = time.perf_counter()
    try:
        with postgres(args.url) as server:
            import psycopg

            with psycopg.connect(server) as conn:
                version = conn.execute("SHOW server_version").fetchone()
                print(f"PostgreSQL {version[0] if version else '?'} at {server.split('@')[-1]}")
            parts = ("ingest", "claims", "queue") if args.part == "all" else (args.part,)
            for part in parts:
                print(f"\n== {part} ==", flush=True)
                t0 = time.perf_counter()
                {"queue": part_queue, "ingest": part_ingest, "claims": part_claims}[part](
                    args, server, work
                )
                print(f"({part}: {time.perf_counter() - t0:.0f} s)", flush=True)
    finally:
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
