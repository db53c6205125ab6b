"""Exactly once against a real (loopback) Mastodon that creates the status late (issue 17).

The server (``mastodon_late``) honours ``Idempotency-Key`` and counts every status it
creates: the public posts. The first ``reply`` times out, or is killed with -9, while the
server still holds its request; the agent runs ``reply`` again at once; only then does the
server create the first status. Ordered with threading events, never with sleeps.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import time_machine
from conftest import mention_line
from mastodon_late import LateMastodon, late_mastodon

from social_watch import config as cfg
from social_watch import db as dbmod
from social_watch import outbox, replies
from social_watch.clock import utcnow

TESTS = Path(__file__).resolve().parent
TOKEN = "test-token-not-secret"
ENV = {"SOCIAL_WATCH_MASTODON_TOKEN": TOKEN}
CONFIG = """
[brand]
name = "Shop Example"
[brand.handles]
mastodon = "shopexample"
[agents.jana]
name = "Jana Novak"
signature = "^JN"
[connectors.mastodon]
base_url = "{url}"
resolve_threads = false
"""


@pytest.fixture
def server() -> Iterator[LateMastodon]:
    with late_mastodon() as s:
        yield s


@pytest.fixture
def world(tmp_path: Path, cli: Any, server: LateMastodon) -> dict[str, Any]:
    config = tmp_path / "social-watch.toml"
    config.write_text(CONFIG.format(url=server.url), encoding="utf-8")
    lines = [mention_line(network="mastodon", id="1170205832454598", text="@shopexample hi?")]
    (tmp_path / "m.jsonl").write_text("\n".join(lines) + "\n")
    db_path = tmp_path / "sw.db"
    args = ["--config", str(config), "--db", str(db_path)]
    assert cli("import", str(tmp_path / "m.jsonl"), *args).exit_code == 0
    return {"args": args, "db_path": db_path, "config": config, "cli": cli, "server": server}


def reply(w: dict[str, Any], *extra: str) -> Any:
    return w["cli"](
        "reply", "1", "Hi, checking it now!", "--as", "jana", *w["args"], *extra, env=ENV
    )


def rows(w: dict[str, Any]) -> list[tuple[Any, ...]]:
    with sqlite3.connect(w["db_path"]) as conn:
        return conn.execute("SELECT id, status, key FROM outbox").fetchall()


def sent_key(w: dict[str, Any], outbox_id: int) -> str:
    with sqlite3.connect(w["db_path"]) as conn:
        return str(
            conn.execute(
                "SELECT COALESCE(idempotency_key, key) FROM outbox WHERE id = ?", (outbox_id,)
            ).fetchone()[0]
        )


def release_on_second_post(server: LateMastodon) -> threading.Thread:
    """Create the held status once a second POST reached the server (or the net expires)."""

    def run() -> None:
        server.second_arrived.wait(20)
        server.release.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_rerun_after_a_timeout_reuses_the_key_and_posts_once(world, monkeypatch):
    server = world["server"]
    server.hold_first = True
    from connectors import _http

    real = _http.client

    def short_timeout(*args: Any, **kwargs: Any) -> httpx.Client:
        kwargs["timeout"] = httpx.Timeout(1.0)  # the first request times out while held
        return real(*args, **kwargs)

    monkeypatch.setattr(_http, "client", short_timeout)
    first = reply(world)
    assert first.exit_code == 1 and "outcome unknown" in first.output, first.output
    assert server.first_arrived.is_set() and server.statuses == []

    helper = release_on_second_post(server)
    second = reply(world)
    helper.join(30)
    assert server.first_done.wait(20)
    assert len(server.statuses) == 1, server.posts  # exactly one public post
    assert second.exit_code == 0, second.output
    assert len(server.posts) == 2 and server.posts[0] == server.posts[1]  # the same key
    (old, new) = rows(world)
    assert old[1] == "failed" and new[1] == "sent" and sent_key(world, new[0]) == old[2]


def test_rerun_after_kill_9_reuses_the_key_and_posts_once(world):
    server = world["server"]
    server.hold_first = True
    env = {
        **os.environ,
        **ENV,
        "PYTHONPATH": os.pathsep.join([str(TESTS), str(TESTS.parent)]),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "social_watch", "reply", "1", "Hi, on it!", "--as", "jana"]
        + world["args"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        assert server.first_arrived.wait(60), "the reply never reached the server"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert server.statuses == []
    ((_, status, _),) = rows(world)
    assert status == "sending"  # its owner is gone

    helper = release_on_second_post(server)
    again = reply(world)
    helper.join(30)
    assert server.first_done.wait(20)
    assert len(server.statuses) == 1, server.posts
    assert again.exit_code == 0, again.output
    assert server.posts[0] == server.posts[1]
    # and nothing more happens afterwards
    assert "Nothing to retry" in world["cli"]("outbox", "retry", *world["args"], env=ENV).output
    assert len(server.statuses) == 1


@pytest.mark.parametrize("mode", ["nonjson", "noid"])
@pytest.mark.parametrize("then", ["reply", "retry"])
def test_an_ambiguous_success_is_unknown_and_is_settled_without_a_second_post(world, mode, then):
    server = world["server"]
    server.mode = mode
    first = reply(world)
    assert first.exit_code == 1
    assert "outcome unknown" in first.output and "not posted" not in first.output
    assert [r[1] for r in rows(world)] == ["unknown"]
    assert len(server.statuses) == 1
    server.mode = "ok"
    if then == "reply":
        settled = reply(world)
    else:
        settled = world["cli"]("outbox", "retry", *world["args"], env=ENV)
    assert settled.exit_code == 0, settled.output
    assert "found on the network (sent earlier)" in settled.output
    assert len(server.statuses) == 1
    assert [r[1] for r in rows(world)] == ["sent"]


def test_a_4xx_refusal_is_still_not_posted(world, monkeypatch):
    from connectors.mastodon import MastodonConnector
    from social_watch.errors import Rejected

    def refuse(self: Any, mention: Any, text: str, key: str) -> Any:
        raise Rejected("mastodon: POST /api/v1/statuses → 422 (Validation failed)")

    monkeypatch.setattr(MastodonConnector, "reply", refuse)
    result = reply(world)
    assert result.exit_code == 1 and "not posted" in result.output
    assert [r[1] for r in rows(world)] == ["failed"]


def test_a_reply_to_x_is_not_posted_again_while_the_earlier_one_may_land(tmp_path, cli):
    """X ignores idempotency keys: a timed-out reply stays unknown until the grace period
    is over, whatever the agent runs; then `outbox retry` settles it with find_reply."""
    from respond_fakes import posts, script, write_config

    config = write_config(tmp_path)
    (tmp_path / "m.jsonl").write_text(mention_line(id="101", text="@shopexample hello?") + "\n")
    args = ["--config", str(config), "--db", str(tmp_path / "sw.db")]
    assert cli("import", str(tmp_path / "m.jsonl"), *args).exit_code == 0
    remote = tmp_path / "remote"
    script(remote, ["timeout"])
    text = ["reply", "1", "Hi, on it!", "--as", "jana"]
    assert "outcome unknown" in cli(*text, *args).output
    for attempt in (text, [*text, "--force"], ["outbox", "retry"]):
        result = cli(*attempt, *args)
        assert result.exit_code == 1 and "may still appear" in result.output, result.output
    assert posts(remote) == []
    db = dbmod.connect(tmp_path / "sw.db")
    assert [r["status"] for r in outbox.list_rows(db)] == ["unknown"]
    with time_machine.travel(utcnow() + outbox.GRACE + timedelta(seconds=5), tick=False):
        settled = cli("outbox", "retry", *args)
    assert settled.exit_code == 0, settled.output
    assert len(posts(remote)) == 1
    assert [r["status"] for r in outbox.list_rows(db)] == ["sent"]


# --- one reply in flight per item ----------------------------------------------------------


def test_the_unique_index_refuses_a_second_unresolved_row_for_an_item(tmp_path, cli):
    from respond_fakes import write_config

    config = write_config(tmp_path)
    (tmp_path / "m.jsonl").write_text(mention_line(id="101") + "\n")
    assert cli("import", str(tmp_path / "m.jsonl"), "--config", str(config), "--db",
               str(tmp_path / "sw.db")).exit_code == 0  # fmt: skip
    db = dbmod.connect(tmp_path / "sw.db")
    kw: dict[str, Any] = {"mention_id": 1, "kind": "reply", "network": "x", "now": utcnow()}
    outbox.record(db, agent="jana", text="one", **kw)
    with pytest.raises(outbox.InFlight, match=r"^reply 1 to item 1 by jana is being sent"):
        outbox.record(db, agent="tom", text="two", **kw)
    with pytest.raises(sqlite3.IntegrityError):  # the database itself, not a check in Python
        db.conn.execute(
            "INSERT INTO outbox (key, mention_id, item_id, network, text, status, created_at) "
            "VALUES ('k2', 1, 1, 'x', 't', 'unknown', '2026-01-01T00:00:00Z')"
        )
    db.conn.rollback()
    db.conn.execute("UPDATE outbox SET status = 'sent'")
    db.conn.commit()
    outbox.record(db, agent="tom", text="three", **kw)  # a settled row frees the slot


def test_concurrent_replies_post_at_most_once_per_item(tmp_path, cli):
    """jana, tom and jana launched together on each of 12 items (threads, own connections)."""
    from respond_fakes import posts, write_config

    config_path = write_config(tmp_path)
    lines = [mention_line(id=str(500 + i), handle=f"cust{i}") for i in range(12)]
    (tmp_path / "m.jsonl").write_text("\n".join(lines) + "\n")
    db_path = tmp_path / "sw.db"
    args = ["--config", str(config_path), "--db", str(db_path)]
    assert cli("import", str(tmp_path / "m.jsonl"), *args).exit_code == 0
    config = cfg.load(str(config_path))
    agents = ["jana", "tom", "jana"]
    start = threading.Barrier(len(agents))
    outcomes: dict[tuple[int, int], str] = {}

    def run(n: int, agent: str) -> None:
        db = dbmod.connect(db_path)
        start.wait(30)
        for item in range(1, 13):
            try:
                draft, connector = replies.prepare(
                    db, config, item, agent, text="Hi, on it!", env={}, now=utcnow(),
                    clock=utcnow,
                )  # fmt: skip
                outcomes[(n, item)] = replies.send(
                    db, config, draft, connector, clock=utcnow
                ).status
            except Exception as exc:  # a refusal: one line, a Conflict
                outcomes[(n, item)] = f"{type(exc).__name__}: {exc}"
        db.close()

    threads = [threading.Thread(target=run, args=(n, a)) for n, a in enumerate(agents)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    sent = posts(tmp_path / "remote")
    per_item: dict[str, int] = {}
    for p in sent:
        per_item[p["to"]] = per_item.get(p["to"], 0) + 1
    assert sorted(per_item.values()) == [1] * 12, per_item  # one post per item, no more
    with sqlite3.connect(db_path) as conn:
        in_flight = conn.execute(
            "SELECT COALESCE(m.item_id, m.id), COUNT(*) FROM outbox o JOIN mentions m "
            "ON m.id = o.mention_id WHERE o.status IN ('pending', 'sending', 'unknown') "
            "GROUP BY 1 HAVING COUNT(*) > 1"
        ).fetchall()
    assert in_flight == []
    refusals = [o for o in outcomes.values() if o not in ("sent",)]
    assert all(o.startswith(("InFlight:", "Refused:", "Conflict:")) for o in refusals), refusals
    assert all("\n" not in o for o in refusals)
    assert len(outcomes) == 36


# --- owners that are gone, even when their pid is not ----------------------------------------


def _hold(db_path: Path, owner: str, started: str | None, lease_minutes: int = 10) -> None:
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "UPDATE outbox SET status = 'sending', owner = ?, owner_started = ?, attempts = 1, "
            "attempted_at = ?, lease_until = ?",
            (
                owner,
                started,
                (utcnow() - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                (utcnow() + timedelta(minutes=lease_minutes)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            ),
        )


@pytest.fixture
def x_world(tmp_path: Path, cli: Any) -> dict[str, Any]:
    from respond_fakes import write_config

    config = write_config(tmp_path)
    (tmp_path / "m.jsonl").write_text(mention_line(id="101", text="@shopexample hello?") + "\n")
    args = ["--config", str(config), "--db", str(tmp_path / "sw.db")]
    assert cli("import", str(tmp_path / "m.jsonl"), *args).exit_code == 0
    db = dbmod.connect(tmp_path / "sw.db")
    outbox.record(db, mention_id=1, kind="reply", agent="jana", network="x", text="hi",
                  now=utcnow())  # fmt: skip
    return {"args": args, "db_path": tmp_path / "sw.db", "remote": tmp_path / "remote"}


@pytest.mark.parametrize("command", ["retry", "reply", "reply --force"])
def test_a_reused_pid_does_not_hold_a_row_forever(x_world, cli, command):
    from respond_fakes import posts

    live = os.getppid()  # alive, but not the process that took the row
    from social_watch.process import start_token

    assert start_token(live) is not None  # Linux: /proc/<pid>/stat is readable
    _hold(x_world["db_path"], f"{outbox.HOST}:{live}", "some-other-boot:12345")
    if command == "retry":
        result = cli("outbox", "retry", *x_world["args"])
    else:
        result = cli("reply", "1", "Hi again!", "--as", "jana", *x_world["args"],
                     *command.split()[1:])  # fmt: skip
    assert "being sent right now" not in result.output, result.output
    assert result.exit_code == 0, result.output
    assert len(posts(x_world["remote"])) == 1


def test_the_same_live_owner_is_left_alone_until_its_lease_runs_out(x_world, cli):
    from respond_fakes import posts

    from social_watch.process import start_token

    live = os.getppid()
    _hold(x_world["db_path"], f"{outbox.HOST}:{live}", start_token(live))
    held = cli("outbox", "retry", *x_world["args"])
    assert held.exit_code == 1 and "being sent right now" in held.output
    assert posts(x_world["remote"]) == []
    with time_machine.travel(utcnow() + outbox.LEASE + timedelta(minutes=1), tick=False):
        result = cli("outbox", "retry", *x_world["args"])
    assert result.exit_code == 0, result.output
    assert len(posts(x_world["remote"])) == 1


def test_migration_0009_keeps_old_duplicates_listed_and_guards_new_rows(tmp_path):
    """A database from before may hold two unresolved rows for one item (the old race):
    the newest takes the item's slot, the older stays visible and settleable."""
    import sqlite_utils

    from social_watch.migrations import migrations

    path = tmp_path / "old.db"
    old = sqlite_utils.Database(path)
    migrations.apply(old, stop_before="0009_outbox_once")
    old.conn.execute(
        "INSERT INTO mentions (id, global_id, network, native_id, author_handle, text, "
        "created_at, fetched_at, status, item_id) VALUES (1, 'x:1', 'x', '1', 'ann', 'hi', "
        "'2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'open', 1)"
    )
    for key, status in (("a", "unknown"), ("b", "sending"), ("c", "sent")):
        old.conn.execute(
            "INSERT INTO outbox (key, mention_id, network, text, status, created_at, attempts) "
            "VALUES (?, 1, 'x', 't', ?, '2026-01-01T00:00:00Z', 1)",
            (key, status),
        )
    old.conn.commit()
    old.close()
    db = dbmod.connect(path)
    got = db.conn.execute("SELECT key, item_id FROM outbox ORDER BY id").fetchall()
    assert got == [("a", None), ("b", 1), ("c", 1)]
    assert [r["key"] for r in outbox.unresolved(db, 1)] == ["a", "b"]
    with pytest.raises(outbox.InFlight):
        outbox.record(db, mention_id=1, kind="reply", agent="tom", network="x", text="t",
                      now=utcnow())  # fmt: skip


CHILD = """
import sys
from social_watch import config as cfg, db as dbmod, replies
from social_watch.clock import utcnow
from social_watch.errors import SocialWatchError
config = cfg.load(sys.argv[1])
db = dbmod.connect(sys.argv[2])
agent = sys.argv[3]
print("READY", flush=True)
sys.stdin.readline()
for item in range(1, 13):
    try:
        draft, connector = replies.prepare(
            db, config, item, agent, text="Hi, on it!", env={}, now=utcnow(), clock=utcnow
        )
        r = replies.send(db, config, draft, connector, clock=utcnow)
        print(item, r.status, r.outbox_id, r.reconciled, r.error, flush=True)
    except SocialWatchError as exc:
        print(item, "refused", str(exc).replace(chr(10), " "), flush=True)
"""


def test_three_processes_replying_to_the_same_12_items_post_once_each(tmp_path, cli):
    """The tester's run: jana, tom and jana launched together, as real processes."""
    from respond_fakes import posts, write_config

    config = write_config(tmp_path)
    lines = [mention_line(id=str(700 + i), handle=f"cust{i}") for i in range(12)]
    (tmp_path / "m.jsonl").write_text("\n".join(lines) + "\n")
    db_path = tmp_path / "sw.db"
    assert cli("import", str(tmp_path / "m.jsonl"), "--config", str(config), "--db",
               str(db_path)).exit_code == 0  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(TESTS.parent)])}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(config), str(db_path), agent],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        for agent in ("jana", "tom", "jana")
    ]
    outputs = []
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "READY"
        for p in procs:  # all three go at once
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        for p in procs:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0, err
            outputs += out.splitlines()
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    per_item: dict[str, int] = {}
    for post in posts(tmp_path / "remote"):
        per_item[post["to"]] = per_item.get(post["to"], 0) + 1
    assert sorted(per_item.values()) == [1] * 12, per_item
    statuses = [line.split()[1] for line in outputs]
    assert len(outputs) == 36 and statuses.count("sent") == 12, outputs
    assert set(statuses) == {"sent", "refused"}, outputs  # the others: a one-line refusal
