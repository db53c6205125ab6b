"""Two `social-watch watch` processes on one PostgreSQL database, a loopback fake network.

The fixture server plays Hacker News (Algolia search, recorded envelope) and a Google Alerts
feed (recorded entry, renumbered). One worker is killed with SIGKILL in the middle of a poll;
the other takes its connector over and every mention is stored exactly once.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import psycopg
from fixture_server import FixtureServer, Reply, serve_fixtures  # noqa: F401
from test_hackernews import FakeAlgolia, comment_hit
from test_rss import FakeFeed, alert_entry
from test_watch_e2e import child_env, wait_for


class Worker:
    def __init__(self, tmp_path: Path, config: Path, url: str, name: str) -> None:
        self.log = tmp_path / f"{name}.log"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "social_watch",
                "watch",
                "--config",
                str(config),
                "--db",
                url,
                "--tick",
                "0.1",
            ],
            cwd=tmp_path,
            env=child_env(),
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("wb"),
        )

    def stderr(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(10)


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        try:
            return conn.execute(sql).fetchall()
        except psycopg.errors.UndefinedTable:
            return []  # not migrated yet


def test_kill_9_of_one_of_two_workers_loses_nothing_doubles_nothing_and_polling_goes_on(
    fixture_server: FixtureServer, pg_database: Any, tmp_path: Path
) -> None:
    url = pg_database()
    algolia = FakeAlgolia([comment_hit(n) for n in range(1, 8)])
    alerts = FakeFeed()
    alerts.entries = [alert_entry(n) for n in range(1, 4)]
    reached, release = threading.Event(), threading.Event()

    def slow_second_page(request: Any) -> Reply:
        if "<=" in request.query.get("numericFilters", "") and not reached.is_set():
            reached.set()  # the first page is committed; hang inside the poll
            release.wait(20)
        return algolia.reply(request)

    fixture_server.get("/api/v1/search_by_date", slow_second_page)
    fixture_server.get("/alerts/feed", alerts.reply)
    config = tmp_path / "social-watch.toml"
    config.write_text(
        f"""[brand]
name = "Shop Example"
[connectors.hackernews]
base_url = "{fixture_server.url}"
queries = ["shop example"]
hits_per_page = 2
lookback = "1000d"
interval = "1s"
[connectors.rss]
feeds = ["{fixture_server.url}/alerts/feed"]
interval = "1s"
""",
        encoding="utf-8",
    )
    a = Worker(tmp_path, config, url, "a")
    b = Worker(tmp_path, config, url, "b")
    try:
        assert reached.wait(20), a.stderr() + b.stderr()

        def split() -> Any:
            owners = query(url, "SELECT connector, lease_owner FROM watch_connectors")
            return len(owners) == 2 and len({o for _, o in owners if o}) == 2 and dict(owners)

        owners = wait_for(split, 20, "each worker holding one connector")
        pids = dict(query(url, "SELECT token, pid FROM watch_workers"))
        victim = a if pids[owners["hackernews"]] == a.proc.pid else b
        survivor = b if victim is a else a
        assert pids[owners["rss"]] == survivor.proc.pid
        assert query(url, "SELECT COUNT(*) FROM mentions WHERE network = 'hackernews'") == [(2,)]
        victim.proc.kill()  # mid-poll: page 1 committed, page 2 in flight
        assert victim.proc.wait(5) == -signal.SIGKILL
    finally:
        release.set()
    try:
        wait_for(lambda: query(url, "SELECT COUNT(*) FROM mentions") == [(10,)], 20, "all mentions")
        wait_for(
            lambda: (
                query(url, "SELECT DISTINCT lease_owner FROM watch_connectors")
                == [(owners["rss"],)]
            ),
            10,
            "the survivor holding both connectors",
        )
        # both connectors keep being polled, by the survivor
        seen_hn, seen_rss = len(algolia.requests), len(alerts.requests)
        wait_for(
            lambda: len(algolia.requests) > seen_hn + 1 and len(alerts.requests) > seen_rss + 1,
            10,
            "further polls of both connectors",
        )
        assert survivor.stop() == 0, survivor.stderr()
    finally:
        for w in (a, b):
            if w.proc.poll() is None:
                w.proc.kill()
    assert "hackernews: this worker polls it now" in survivor.stderr()
    hn = query(url, "SELECT native_id FROM mentions WHERE network = 'hackernews' ORDER BY 1")
    assert [i[0] for i in hn] == [str(9000 + n) for n in range(1, 8)]
    assert query(url, "SELECT COUNT(DISTINCT global_id), COUNT(*) FROM mentions") == [(10, 10)]
    # the dead worker's row was cleared by the survivor, whose own went on SIGTERM
    assert query(url, "SELECT COUNT(*) FROM watch_workers") == [(0,)]
    assert query(url, "SELECT COUNT(*) FROM watch_connectors WHERE lease_owner IS NOT NULL") == [
        (0,)
    ]
