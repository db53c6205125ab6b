"""The watch loop as a real process against real servers on 127.0.0.1.

A loopback fixture server plays Hacker News (Algolia) or Mastodon, a tiny http.server is the
Slack-style webhook, aiosmtpd is the SMTP server. The loop runs with a 1 s interval and a
0.1 s tick; tests wait for conditions with a deadline, never for fixed amounts.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from conftest import SmtpSink
from fixture_server import FixtureServer, Reply, serve_fixtures  # noqa: F401
from test_hackernews import FakeAlgolia, comment_hit

ROOT = Path(__file__).resolve().parents[1]


def wait_for(cond: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Webhook:
    """A Slack-compatible incoming webhook: records every JSON body; can fail on purpose."""

    def __init__(self, path: str = "/hook", status: int = 200) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.status = status
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if self.path == path:
                    hook.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(hook.status if self.path == path else 404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def texts(self) -> list[str]:
        return [b["text"] for b in self.bodies]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class Loop:
    """`social-watch watch` in a subprocess, stderr to a file."""

    def __init__(
        self,
        tmp_path: Path,
        config: Path,
        env: dict[str, str],
        *args: str,
        db: str | None = None,
    ) -> None:
        """``args`` go before `watch` (global options); ``db`` is its --db."""
        self.log = tmp_path / f"watch-{time.monotonic_ns()}.log"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "social_watch",
                *args,
                "watch",
                "--config",
                str(config),
                "--tick",
                "0.1",
                *(["--db", db] if db else []),
            ],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("wb"),
        )

    def stderr(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 8.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout)


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIAL_WATCH_")}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def query(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db, timeout=10)
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError:
        return []  # not migrated yet
    finally:
        conn.close()


def fresh_hit(n: int) -> dict[str, Any]:
    """A comment hit created now (real time), so SLA thresholds pass during the test."""
    hit = comment_hit(n)
    stamp = int(time.time())
    hit["created_at_i"] = stamp
    hit["created_at"] = datetime.fromtimestamp(stamp, UTC).isoformat().replace("+00:00", ".000Z")
    return hit


def write_config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "social-watch.toml"
    path.write_text(
        f'database = "{tmp_path / "sw.db"}"\n[brand]\nname = "Shop Example"\n{body}',
        encoding="utf-8",
    )
    return path


def test_watch_loop_fails_recovers_and_reminds_once_per_threshold(
    fixture_server: FixtureServer, smtp: tuple[SmtpSink, int], tmp_path: Path
) -> None:
    box, port = smtp
    hook = Webhook()
    algolia = FakeAlgolia()
    served = {"n": 0}

    def flaky(request: Any) -> Reply:
        served["n"] += 1
        if served["n"] <= 2:  # the first two polls fail: backoff, then recovery
            return Reply.json({"message": "upstream timeout"}, status=503)
        if not algolia.hits:
            algolia.hits = [fresh_hit(1)]
        return algolia.reply(request)

    fixture_server.get("/api/v1/search_by_date", flaky)
    config = write_config(
        tmp_path,
        f"""[queue]
target = "6s"
[notify]
webhook_url_env = "SW_TEST_WEBHOOK"
email_to = ["care-leads@shop.example"]
[email]
host = "127.0.0.1"
port = {port}
security = "none"
from = "social-watch@shop.example"
[connectors.hackernews]
base_url = "{fixture_server.url}"
queries = ["shop example"]
interval = "1s"
""",
    )
    db = tmp_path / "sw.db"
    env = child_env(SW_TEST_WEBHOOK=hook.url)
    loop = Loop(tmp_path, config, env)
    try:
        wait_for(lambda: any("past its target" in t for t in hook.texts()), 20, "the breach notice")
        wait_for(lambda: any("past its target" in s for s in box.subjects()), 5, "breach e-mail")
        time.sleep(1.0)  # let a few more housekeeping passes run: nothing may repeat
        assert loop.stop() == 0, loop.stderr()
    finally:
        hook.close()
    titles = [t.split("\n", 1)[0] for t in hook.texts()]
    mine = [t for t in titles if t.startswith("*Mention 1 ")]
    assert [t.split(":")[0] for t in mine] == [
        "*Mention 1 is at risk",
        "*Mention 1 is urgent",
        "*Mention 1 is past its target",
    ], titles
    subjects = [s for s in box.subjects() if s.startswith("Mention 1 ")]
    assert [s.split(":")[0] for s in subjects] == [
        "Mention 1 is at risk",
        "Mention 1 is urgent",
        "Mention 1 is past its target",
    ]
    text = hook.texts()[titles.index(mine[0])]
    for part in (
        "Network: hackernews",
        "Sentiment: negative",
        "Claim: social-watch claim 1",
        "<https://news.ycombinator.com/item?id=9001>",
        "Still no parcel",
    ):
        assert part in text, text
    body = box.messages[0].get_content()
    assert "social-watch claim 1" in body and "news.ycombinator.com/item?id=9001" in body
    # the connector failed twice, backed off, recovered; the database says so
    polls = query(db, "SELECT error IS NULL FROM polls ORDER BY id")
    assert [p[0] for p in polls[:3]] == [0, 0, 1]
    ((status, failures, error),) = query(
        db, "SELECT last_status, failures, error FROM watch_connectors"
    )
    assert (status, failures, error) == ("ok", 0, None)
    assert query(db, "SELECT COUNT(*) FROM watch_lock") == [(0,)]  # released on SIGTERM
    assert "hackernews: failed" in loop.stderr() and "hackernews: ok" in loop.stderr()

    # a restarted loop sends none of these again
    mails = len(box.messages)
    hook = Webhook()
    again = Loop(tmp_path, config, child_env(SW_TEST_WEBHOOK=hook.url))
    try:
        wait_for(lambda: "watching hackernews" in again.stderr(), 10, "the restarted loop")
        time.sleep(1.2)
        assert again.stop() == 0
    finally:
        hook.close()
    assert hook.bodies == [] and len(box.messages) == mails


def test_kill_9_in_the_middle_of_a_poll_loses_nothing_and_stores_nothing_twice(
    fixture_server: FixtureServer, tmp_path: Path
) -> None:
    hits = [comment_hit(n) for n in range(1, 8)]
    algolia = FakeAlgolia(hits)
    reached = threading.Event()
    release = threading.Event()

    def slow_second_page(request: Any) -> Reply:
        if "<=" in request.query.get("numericFilters", "") and not reached.is_set():
            reached.set()  # the first page is committed; hang inside the poll
            release.wait(10)
        return algolia.reply(request)

    fixture_server.get("/api/v1/search_by_date", slow_second_page)
    config = write_config(
        tmp_path,
        f"""[connectors.hackernews]
base_url = "{fixture_server.url}"
queries = ["shop example"]
hits_per_page = 2
lookback = "1000d"
interval = "1s"
""",
    )
    db = tmp_path / "sw.db"
    loop = Loop(tmp_path, config, child_env())
    try:
        assert reached.wait(15), loop.stderr()
        assert query(db, "SELECT COUNT(*) FROM mentions") == [(2,)]
        loop.proc.kill()
        assert loop.proc.wait(5) == -signal.SIGKILL
    finally:
        release.set()
    assert query(db, "SELECT COUNT(*) FROM watch_lock") == [(1,)]  # left behind by the crash
    again = Loop(tmp_path, config, child_env())
    try:
        wait_for(lambda: query(db, "SELECT COUNT(*) FROM mentions") == [(7,)], 10, "all mentions")
        polled = len(fixture_server.requests)
        wait_for(lambda: len(fixture_server.requests) > polled + 1, 10, "another poll")
        assert again.stop() == 0
    finally:
        if again.proc.poll() is None:
            again.proc.kill()
    assert "took over the lock of a dead watch loop" in again.stderr()
    ids = query(db, "SELECT native_id FROM mentions ORDER BY native_id")
    assert [i[0] for i in ids] == [str(9000 + n) for n in range(1, 8)]
    assert query(db, "SELECT COUNT(DISTINCT global_id), COUNT(*) FROM mentions") == [(7, 7)]


def test_second_loop_exits_2_sigterm_exits_0_and_debug_logs_hold_no_secret(
    fixture_server: FixtureServer, tmp_path: Path
) -> None:
    token = "mastodon-SECRET-token-4f9a2c"
    hook_secret = "T000/B000/XXXXhooksecret"
    hook = Webhook(f"/services/{hook_secret}", status=500)  # a failing notification request
    fixture_server.get(
        "/api/v1/notifications", Reply.json({"error": "The access token is invalid"}, 401)
    )
    fixture_server.get(
        "/api/v1/accounts/verify_credentials", Reply.json({"error": "invalid token"}, 401)
    )
    config = write_config(
        tmp_path,
        f"""[notify]
webhook_url_env = "SW_TEST_WEBHOOK"
[connectors.mastodon]
base_url = "{fixture_server.url}"
interval = "1s"
""",
    )
    old = json.dumps(
        {
            "network": "mastodon",
            "id": "1",
            "text": "@shopexample where is my refund?",
            "created_at": "2026-01-01T10:00:00Z",
            "author": {"handle": "ann"},
        }
    )
    (tmp_path / "old.jsonl").write_text(old + "\n", encoding="utf-8")
    env = child_env(SOCIAL_WATCH_MASTODON_TOKEN=token, SW_TEST_WEBHOOK=hook.url)
    subprocess.run(
        [sys.executable, "-m", "social_watch", "import", "--config", str(config), "old.jsonl"],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
    )
    first = Loop(tmp_path, config, env, "--log-level", "debug")
    try:
        wait_for(lambda: hook.bodies, 10, "the (failing) webhook call")
        wait_for(
            lambda: any(r.headers.get("authorization") for r in fixture_server.requests),
            10,
            "an authenticated, failing poll",
        )
        second = subprocess.run(
            [sys.executable, "-m", "social_watch", "watch", "--config", str(config)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=20,
        )
        assert second.returncode == 2, second.stderr
        assert f"pid {first.proc.pid} on {socket.gethostname()}" in second.stderr
        assert "another watch loop is running" in second.stderr
        started = time.monotonic()
        assert first.stop(signal.SIGTERM) == 0
        assert time.monotonic() - started < 5
    finally:
        hook.close()
        if first.proc.poll() is None:
            first.proc.kill()
    log = first.stderr()
    assert "DEBUG" in log and "webhook POST answered 500" in log and "mastodon" in log
    assert "401" in log  # the failing request is logged...
    assert token not in log and hook_secret not in log  # ...and no secret is
    assert token not in second.stderr and hook_secret not in second.stderr
    assert any(r.headers.get("authorization") == f"Bearer {token}" for r in fixture_server.requests)
