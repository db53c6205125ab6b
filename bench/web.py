"""The web inbox under load, each number beside a baseline measured in the same run (issue 12).

Usage: .venv/bin/python bench/web.py [--n 1000000] [--runs 40] [--agents 50] [--seconds 30]
                                     [--events 15] [--think 1] [--cache DIR] [--rebuild] [--no-ingest]

1. Pages at ``--n`` mentions (``bench/gen.py`` builds the database once and caches it in
   ``--cache``, default /tmp; each run works on a copy): ``GET /inbox`` and ``GET /api/queue``
   p50/p95 over ``--runs`` requests from a logged-in client, beside two baselines: the bare
   SQL queue query (50 waiting items by due time, on a plain sqlite3 connection) and
   ``GET /healthz`` over the same HTTP connection (what the network and uvicorn cost alone).
2. Live: the time from a mention committed (``ingest_file.run`` returned, the library path
   ``import`` and ``watch`` take) to its ``queue`` event arriving on an open ``/events``
   stream, ``--events`` times; goal under 1 s. Baseline: a client that polls once right
   after the commit (one ``GET /api/queue``, which already shows it).
3. ``--agents`` agents, each logged in with its own httpx async client and holding an
   ``/events`` stream open, poll ``/api/queue`` and claim (a lost race is the 409 the
   contract promises, not an error; a won claim is released again half of the time) for a
   bounded ``--seconds`` while another process ingests a small batch every two seconds
   (``social-watch import``, as ``watch`` would). Each agent waits ``--think`` seconds
   (0.5x-1.5x, default 1) between looks, as a person does; ``--think 0`` saturates. Errors (transport errors, 5xx, any other
   status) and p50/p95 per route, beside the same loop with one agent. Goal: no error,
   p95 under 200 ms.

The app runs as ``social-watch serve`` in its own process on 127.0.0.1, as it is deployed;
the clients run here. A benchmark, not a test: it prints numbers and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import gen  # noqa: E402

PAGE_GOAL_MS = 100.0
LIVE_GOAL_S = 1.0
LOAD_GOAL_MS = 200.0
PASSWORD = "bench-password-1234"
CONFIG = """
[brand]
name = "Shop Example"
[brand.handles]
x = "shopexample"
"""
BARE_QUEUE_SQL = (
    "SELECT * FROM mentions WHERE status IN ('open', 'claimed') AND item_id = id "
    "ORDER BY due_at LIMIT 50"
)
CSRF_RE = re.compile(
    r"""name=["']?csrf(?:[-_]token)?["']?\s+(?:content|value)=["']([^"']+)"""
    r"""|(?:content|value)=["']([^"']+)["']\s+name=["']?csrf(?:[-_]token)?["']?"""
)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def line(name: str, values_ms: list[float], base_ms: float | None = None, goal: str = "") -> None:
    p50, p95 = statistics.median(values_ms), pct(values_ms, 0.95)
    ratio = f"{p50 / base_ms:8.1f}x" if base_ms else f"{'':>9}"
    print(f"  {name:<44}{p50:9.2f}{p95:9.2f}{max(values_ms):9.2f}{ratio}  {goal}")


def header(title: str) -> None:
    print(f"\n{title}\n  {'':<44}{'p50 ms':>9}{'p95':>9}{'max':>9}{'x base':>9}")


# ---------------------------------------------------------------- the database and the app


def cached_db(n: int, cache: Path, rebuild: bool) -> Path:
    path = cache / f"sw-bench-web-{n}.db"
    if rebuild or not path.exists():
        t0 = time.perf_counter()
        stats = gen.build_db(path, n)
        print(f"built {path} in {time.perf_counter() - t0:.0f} s: {stats}")
    else:
        age = (time.time() - path.stat().st_mtime) / 3600
        print(f"reusing {path} (built {age:.1f} h ago; --rebuild for a fresh clock)")
    return path


def cli(*args: str, stdin: str | None = None) -> str:
    exe = str(Path(sys.executable).with_name("social-watch"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIAL_WATCH_")}
    done = subprocess.run([exe, *args], input=stdin, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"social-watch {' '.join(args[:2])} failed: {done.stderr.strip()}")
    return done.stdout


def add_agents(db: Path, config: Path, count: int) -> list[str]:
    ids = [f"agent{i:02d}" for i in range(count)]
    for agent in ids:
        cli("agents", "add", agent, "--name", f"Agent {agent[5:]}", "--signature", f"^{agent[5:]}",
            "--password-stdin", "--db", str(db), "--config", str(config), stdin=PASSWORD + "\n")  # fmt: skip
    return ids


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve(db: Path, config: Path) -> Iterator[str]:
    port = free_port()
    exe = str(Path(sys.executable).with_name("social-watch"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIAL_WATCH_")}
    proc = subprocess.Popen(
        [exe, "serve", "--port", str(port), "--db", str(db), "--config", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"serve exited: {proc.stderr.read() if proc.stderr else ''}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit("serve did not answer /healthz within 60 s")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def csrf_of(html: str) -> str | None:
    found = CSRF_RE.search(html)
    return (found.group(1) or found.group(2)) if found else None


def login_sync(url: str, agent: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30)
    form = client.get("/login")
    data = {"agent": agent, "password": PASSWORD, "csrf": csrf_of(form.text) or ""}
    done = client.post("/login", data=data)
    if done.status_code != 303:
        raise SystemExit(f"login as {agent} answered {done.status_code}")
    token = csrf_of(client.get("/inbox").text)
    if token:
        client.headers["X-CSRF-Token"] = token
    return client


async def login_async(url: str, agent: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=url, timeout=30)
    form = await client.get("/login")
    data = {"agent": agent, "password": PASSWORD, "csrf": csrf_of(form.text) or ""}
    done = await client.post("/login", data=data)
    if done.status_code != 303:
        raise RuntimeError(f"login as {agent} answered {done.status_code}")
    token = csrf_of((await client.get("/inbox")).text)
    if token:
        client.headers["X-CSRF-Token"] = token
    return client


# ---------------------------------------------------------------- 1. pages at 1 M mentions


def timed(fn: Any, runs: int) -> list[float]:
    fn()
    fn()  # warm-up: connection, caches
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def pages(url: str, db: Path, runs: int) -> None:
    conn = sqlite3.connect(str(db))
    header("1. pages at 1 M mentions (logged-in client, keep-alive)")
    bare = timed(lambda: conn.execute(BARE_QUEUE_SQL).fetchall(), runs)
    line("baseline: bare SQL queue query (50 rows)", bare)
    client = login_sync(url, "agent00")
    health = timed(lambda: client.get("/healthz").raise_for_status(), runs)
    line("baseline: GET /healthz", health)
    base = statistics.median(bare)
    for name, path in (("GET /inbox", "/inbox"), ("GET /api/queue", "/api/queue")):
        values = timed(lambda path=path: client.get(path).raise_for_status(), runs)
        goal = "ok" if pct(values, 0.95) < PAGE_GOAL_MS else f"OVER {PAGE_GOAL_MS:.0f} ms"
        line(name, values, base, f"{goal} (p95 goal {PAGE_GOAL_MS:.0f} ms)")
    rows = client.get("/api/queue").json()
    print(f"  /api/queue answered {len(rows) if isinstance(rows, list) else '?'} items")
    client.close()
    conn.close()


# ---------------------------------------------------------------- 2. commit to SSE event


@dataclass
class Stream:
    """An /events reader in a thread: (arrival time, event name, data) of every event."""

    client: httpx.Client
    events: list[tuple[float, str, Any]] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)
    opened: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with (
            contextlib.suppress(httpx.HTTPError),
            self.client.stream("GET", "/events", timeout=httpx.Timeout(30, read=None)) as response,
        ):
            self.opened.set()
            name, data = "message", ""
            for raw in response.iter_lines():
                if raw.startswith("event:"):
                    name = raw[6:].strip()
                elif raw.startswith("data:"):
                    data += raw[5:].strip()
                elif raw == "":
                    if data:
                        with contextlib.suppress(ValueError):
                            data = json.loads(data)
                        with self.arrived:
                            self.events.append((time.perf_counter(), name, data))
                            self.arrived.notify_all()
                    name, data = "message", ""

    def wait_for(self, item_id: int, after: int, timeout: float = 10) -> float | None:
        """Arrival time of the first ``queue`` event after index ``after`` naming ``item_id``
        (or carrying no ids, which the contract allows when they are not known)."""
        deadline = time.perf_counter() + timeout
        with self.arrived:
            while True:
                for at, name, data in self.events[after:]:
                    ids = data.get("ids") if isinstance(data, dict) else None
                    if name == "queue" and (not ids or item_id in ids):
                        return at
                left = deadline - time.perf_counter()
                if left <= 0:
                    return None
                self.arrived.wait(left)


def ingest_one(db: Path, config: Path, work: Path, seq: int) -> int:
    from social_watch import config as cfg
    from social_watch import db as dbmod
    from social_watch import ingest_file

    native = str(990000000000000000 + seq)
    mention = {
        "network": "x",
        "id": native,
        "text": f"@shopexample bench mention {seq}: where is my parcel?",
        "created_at": datetime.now(UTC).isoformat(),
        "author": {"handle": f"bench{seq}", "name": f"Bench {seq}", "followers": 10},
    }
    path = work / f"live-{seq}.jsonl"
    path.write_text(json.dumps(mention) + "\n", encoding="utf-8")
    conn = dbmod.connect(db)
    try:
        ingest_file.run(conn, cfg.load(str(config)), str(path), workers=0)
        (item,) = conn.conn.execute(
            "SELECT item_id FROM mentions WHERE global_id = ?", (f"x:{native}",)
        ).fetchone()
    finally:
        conn.close()
    return int(item)


def live(url: str, db: Path, config: Path, work: Path, count: int) -> None:
    header("2. a committed mention to its event on an open /events stream")
    stream = Stream(login_sync(url, "agent01"))
    reader = threading.Thread(target=stream.run, daemon=True)
    reader.start()
    if not stream.opened.wait(10):
        print("  /events did not open")
        return
    poller = login_sync(url, "agent02")
    latencies, polls, ingests, missed = [], [], [], 0
    for seq in range(count):
        with stream.arrived:
            after = len(stream.events)
        t0 = time.perf_counter()
        item = ingest_one(db, config, work, seq)
        committed = time.perf_counter()
        ingests.append((committed - t0) * 1000)
        seen = poller.get("/api/queue", params={"q": f"bench mention {seq}:"})
        polls.append((time.perf_counter() - committed) * 1000)
        if seen.status_code != 200:
            print(f"  /api/queue answered {seen.status_code}")
        at = stream.wait_for(item, after)
        if at is None:
            missed += 1
        else:
            latencies.append(max(0.0, (at - committed) * 1000))
    line("baseline: ingest of one mention (commit)", ingests)
    line("baseline: one poll of /api/queue after it", polls)
    if latencies:
        goal = "ok" if pct(latencies, 0.95) < LIVE_GOAL_S * 1000 else "OVER 1 s"
        line("commit -> queue event on /events", latencies, statistics.median(polls), goal)
    print(f"  events received for {len(latencies)} of {count} mentions ({missed} never arrived)")
    stream.client.close()
    poller.close()


# ---------------------------------------------------------------- 3. concurrent agents


@dataclass
class Load:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    claims_won: int = 0
    claims_lost: int = 0
    events: int = 0

    def note(self, route: str, ms: float) -> None:
        self.latencies.setdefault(route, []).append(ms)

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


async def agent_loop(
    client: httpx.AsyncClient, load: Load, until: float, rng: random.Random, think: float
) -> None:
    while time.perf_counter() < until:
        if think:  # a person between two looks at the queue: 0.5x to 1.5x ``think`` seconds
            await asyncio.sleep(think * rng.uniform(0.5, 1.5))
        t0 = time.perf_counter()
        try:
            r = await client.get("/api/queue", params={"unclaimed": "1"})
        except httpx.HTTPError as exc:
            load.error(f"GET /api/queue {type(exc).__name__}")
            continue
        load.note("GET /api/queue", (time.perf_counter() - t0) * 1000)
        if r.status_code != 200:
            load.error(f"GET /api/queue {r.status_code}")
            continue
        items = r.json()
        if not items:
            continue
        item = rng.choice(items[:20])["id"]
        t0 = time.perf_counter()
        try:
            c = await client.post(f"/api/items/{item}/claim", json={})
        except httpx.HTTPError as exc:
            load.error(f"POST claim {type(exc).__name__}")
            continue
        load.note("POST claim", (time.perf_counter() - t0) * 1000)
        if c.status_code == 409:
            load.claims_lost += 1
        elif c.status_code == 200:
            load.claims_won += 1
            if rng.random() < 0.5:
                t0 = time.perf_counter()
                rel = await client.post(f"/api/items/{item}/release", json={})
                load.note("POST release", (time.perf_counter() - t0) * 1000)
                if rel.status_code != 200:
                    load.error(f"POST release {rel.status_code}")
        else:
            load.error(f"POST claim {c.status_code}")


async def hold_events(client: httpx.AsyncClient, load: Load, until: float) -> None:
    with contextlib.suppress(httpx.HTTPError, asyncio.CancelledError):
        async with client.stream("GET", "/events", timeout=httpx.Timeout(30, read=None)) as r:
            if r.status_code != 200:
                load.error(f"GET /events {r.status_code}")
                return
            async for raw in r.aiter_lines():
                if raw.startswith("event:"):
                    load.events += 1
                if time.perf_counter() > until:
                    return


async def run_load(
    url: str, agents: list[str], seconds: float, streams: bool, think: float
) -> Load:
    load = Load()
    clients = []
    for agent in agents:  # one after another: a burst of 50 logins is not what is measured
        clients.append(await login_async(url, agent))
    until = time.perf_counter() + seconds
    tasks = [
        asyncio.create_task(agent_loop(c, load, until, random.Random(i), think))
        for i, c in enumerate(clients)
    ]
    watchers = (
        [asyncio.create_task(hold_events(c, load, until)) for c in clients] if streams else []
    )
    await asyncio.gather(*tasks)
    for w in watchers:
        w.cancel()
    await asyncio.gather(*watchers, return_exceptions=True)
    for c in clients:
        await c.aclose()
    return load


def ingester(db: Path, config: Path, work: Path, stop: threading.Event) -> threading.Thread:
    """``social-watch import`` of 20 fresh mentions every two seconds, in its own process."""

    def run() -> None:
        seq = 0
        while not stop.wait(2.0):
            lines = []
            for _ in range(20):
                seq += 1
                lines.append(json.dumps({
                    "network": "x", "id": str(880000000000000000 + seq),
                    "text": f"@shopexample load mention {seq}",
                    "created_at": (datetime.now(UTC) - timedelta(seconds=5)).isoformat(),
                    "author": {"handle": f"load{seq}", "name": f"Load {seq}", "followers": 3},
                }))  # fmt: skip
            path = work / "load.jsonl"
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            cli("import", str(path), "--db", str(db), "--config", str(config))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def concurrent(url: str, db: Path, config: Path, work: Path, agents: list[str], seconds: float,
               ingest: bool, think: float) -> None:  # fmt: skip
    header(
        f"3. {len(agents)} agents polling /api/queue and claiming for {seconds:.0f} s "
        f"({think:g} s between looks)"
    )
    base = asyncio.run(run_load(url, agents[:1], min(10.0, seconds / 3), False, think))
    stop = threading.Event()
    feeder = ingester(db, config, work, stop) if ingest else None
    try:
        load = asyncio.run(run_load(url, agents, seconds, True, think))
    finally:
        stop.set()
        if feeder:
            feeder.join(30)
    for route in ("GET /api/queue", "POST claim", "POST release"):
        if route in base.latencies:
            line(f"baseline: 1 agent, {route}", base.latencies[route])
    worst = 0.0
    for route in ("GET /api/queue", "POST claim", "POST release"):
        values = load.latencies.get(route)
        if not values:
            continue
        worst = max(worst, pct(values, 0.95))
        ref = statistics.median(base.latencies.get(route) or values)
        line(f"{len(agents)} agents, {route} (n={len(values)})", values, ref)
    total = sum(len(v) for v in load.latencies.values())
    errors = sum(load.errors.values())
    print(
        f"  {total} requests ({total / seconds:.0f}/s), claims won {load.claims_won}, "
        f"lost races {load.claims_lost} (409, expected), events received {load.events}; "
        f"errors {errors} {dict(load.errors) if errors else ''}"
    )
    verdict = "ok" if errors == 0 and worst < LOAD_GOAL_MS else "OVER"
    print(f"  worst p95 {worst:.1f} ms, {errors} errors: {verdict} (goal: no error, p95 < 200 ms)")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--agents", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--events", type=int, default=15)
    ap.add_argument("--think", type=float, default=1.0, help="seconds between an agent's looks")
    ap.add_argument("--cache", default="/tmp", help="where the built database is kept")
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--no-ingest", action="store_true", help="no import beside the load")
    args = ap.parse_args(argv)
    args.seconds = max(20.0, min(60.0, args.seconds))  # bounded, as the issue asks

    work = Path(tempfile.mkdtemp(prefix="sw-bench-web-"))
    try:
        db = work / "web.db"
        shutil.copyfile(cached_db(args.n, Path(args.cache), args.rebuild), db)
        config = work / "social-watch.toml"
        config.write_text(CONFIG, encoding="utf-8")
        t0 = time.perf_counter()
        agents = add_agents(db, config, args.agents)
        print(
            f"{len(agents)} agents added in {time.perf_counter() - t0:.1f} s; cores: {os.cpu_count()}"
        )
        with serve(db, config) as url:
            pages(url, db, args.runs)
            live(url, db, config, work, args.events)
            concurrent(url, db, config, work, agents, args.seconds, not args.no_ingest, args.think)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
