"""Exactly once: no sequence of timeouts, crashes and retries posts a reply twice.

The fake network (``respond_fakes``) times out, fails after posting, or "dies" mid-post in
every order; then `outbox retry` or a new `reply` resumes. A real subprocess is SIGKILLed
between recording and posting, and after posting but before marking; `outbox retry` then
settles it with exactly one remote post.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from conftest import mention_line
from respond_fakes import Died, posts, script, write_config

from social_watch import config as cfg
from social_watch import db as dbmod
from social_watch import outbox, replies
from social_watch.clock import utcnow
from social_watch.errors import Conflict
from social_watch.process import start_token

pytestmark = pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL

TESTS = Path(__file__).resolve().parent
STEPS = ["ok", "timeout", "post_timeout", "post_error", "crash", "post_crash", "refused"]


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One imported database per module, copied per test: the matrix stays fast."""
    from click.testing import CliRunner

    from social_watch.cli import cli as root

    base = tmp_path_factory.mktemp("outbox-template")
    lines = [mention_line(id="101", text="@shopexample where is my parcel?", handle="alice")]
    (base / "m.jsonl").write_text("\n".join(lines) + "\n")
    config = write_config(base)
    args = ["import", str(base / "m.jsonl"), "--config", str(config), "--db", str(base / "t.db")]
    assert CliRunner().invoke(root, args).exit_code == 0
    conn = sqlite3.connect(base / "t.db")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return base / "t.db"


class Clock:
    """A clock the test moves: the outbox's grace period passes without sleeping."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by


@pytest.fixture
def world(tmp_path: Path, cli: Any, template_db: Path) -> dict[str, Any]:
    config_path = write_config(tmp_path)
    db_path = tmp_path / "sw.db"
    shutil.copyfile(template_db, db_path)
    return {
        "config_path": config_path,
        "config": cfg.load(str(config_path)),
        "db_path": db_path,
        "db": dbmod.connect(db_path),
        "remote": tmp_path / "remote",
        "cli": cli,
        "clock": Clock(),
    }


def attempt_reply(w: dict[str, Any], text: str = "Hi {{ customer_name }}, checking now!") -> None:
    """What `social-watch reply 1 TEXT` does; a 'death' or refusal ends the attempt."""
    try:
        draft, connector = replies.prepare(
            w["db"], w["config"], 1, "jana", text=text, env={}, now=w["clock"](), clock=w["clock"]
        )
        replies.send(w["db"], w["config"], draft, connector, clock=w["clock"])
    except (Died, Conflict):
        pass


def retry(w: dict[str, Any]) -> None:
    with contextlib.suppress(Died):
        replies.retry_all(w["db"], w["config"], env={}, clock=w["clock"])


def settle(w: dict[str, Any], resume: str) -> None:
    """Keep going the way an agent would until the reply is out (bounded)."""
    for _ in range(12):
        sent = w["db"].conn.execute("SELECT COUNT(*) FROM outbox WHERE status = 'sent'").fetchone()
        if sent[0]:
            return
        if outbox.unresolved(w["db"]) and resume == "retry":
            retry(w)
        else:
            attempt_reply(w)  # nothing left to retry (failed), or the agent simply re-runs
        w["clock"].advance(outbox.GRACE + timedelta(seconds=1))  # the agent comes back later
    raise AssertionError("never settled")


@pytest.mark.parametrize("resume", ["retry", "reply_again"])
@pytest.mark.parametrize("find_first", ["ok", "error"])
@pytest.mark.parametrize("steps", list(itertools.product(STEPS, repeat=2)))
def test_every_order_of_failures_posts_exactly_once(world, steps, find_first, resume):
    script(world["remote"], list(steps))
    script(world["remote"], [find_first], "find_script.json")
    attempt_reply(world)
    settle(world, resume)
    assert len(posts(world["remote"])) == 1
    statuses = [r[0] for r in world["db"].conn.execute("SELECT status FROM outbox").fetchall()]
    assert statuses.count("sent") == 1
    assert not set(statuses) - {"sent", "failed"}
    replied = (
        world["db"]
        .conn.execute("SELECT COUNT(*) FROM actions WHERE action = 'replied'")
        .fetchone()[0]
    )
    assert replied == 1
    assert world["db"].conn.execute("SELECT status FROM mentions WHERE id = 1").fetchone() == (
        "answered",
    )


def test_an_unknown_outcome_found_on_the_network_is_marked_sent_not_posted(world):
    script(world["remote"], ["post_timeout"])
    attempt_reply(world)
    (row,) = outbox.list_rows(world["db"])
    assert row["status"] == "unknown" and "timeout" in row["error"]
    result = world["cli"](
        "outbox", "retry", "--config", str(world["config_path"]), "--db", str(world["db_path"])
    )
    assert result.exit_code == 0 and "found on the network (sent earlier)" in result.output
    assert len(posts(world["remote"])) == 1


def test_find_reply_failing_keeps_the_row_unknown_and_posts_nothing(world):
    script(world["remote"], ["post_timeout"])
    attempt_reply(world)
    script(world["remote"], ["error"], "find_script.json")
    results = replies.retry_all(world["db"], world["config"], env={}, clock=utcnow)
    assert [r.status for r in results] == ["unknown"]
    assert "could not check" in (results[0].error or "")
    assert len(posts(world["remote"])) == 1


def test_a_row_held_by_a_live_process_is_left_alone(world):
    row = outbox.record(
        world["db"], mention_id=1, kind="reply", agent="jana", network="x", text="hi", now=utcnow()
    )
    with world["db"].write() as conn:  # as another live process on this host would
        conn.execute(
            "UPDATE outbox SET status = 'sending', owner = ?, owner_started = ? WHERE id = ?",
            (f"{outbox.HOST}:{os.getppid()}", start_token(os.getppid()), row["id"]),
        )
    assert replies.retry_all(world["db"], world["config"], env={}, clock=utcnow)[0].error
    assert posts(world["remote"]) == []
    with pytest.raises(Conflict, match="being sent right now"):
        draft, connector = replies.prepare(
            world["db"],
            world["config"],
            1,
            "jana",
            text="again",
            env={},
            now=utcnow(),
            clock=utcnow,
        )
        replies.send(world["db"], world["config"], draft, connector, clock=utcnow)


def _run_killed(w: dict[str, Any], step: str, db: str | None = None) -> None:
    """Start `social-watch reply` in a subprocess, SIGKILL it where the fake network blocks."""
    script(w["remote"], [step])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(TESTS.parent)])}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "social_watch",
            "reply",
            "1",
            "Hi {{ customer_name }}, on it!",
            "--as",
            "jana",
            "--config",
            str(w["config_path"]),
            "--db",
            db or str(w["db_path"]),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # blocks until the fake network says it is mid-post
        assert line.strip() == "FAKE-READY", (line, proc.stderr.read() if proc.stderr else "")
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream:
                stream.close()
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.parametrize("step", ["block", "post_block"])
def test_a_process_killed_mid_send_is_settled_by_outbox_retry(world, step, db_arg):
    _run_killed(world, step, db_arg(world["db_path"]))
    (row,) = outbox.list_rows(world["db"])
    assert row["status"] == "sending" and row["attempts"] == 1
    assert len(posts(world["remote"])) == (1 if step == "post_block" else 0)

    listed = world["cli"](
        "outbox",
        "--status",
        "sending",
        "--config",
        str(world["config_path"]),
        "--db",
        str(world["db_path"]),
    )
    assert "sending" in listed.output
    retry_args = ["outbox", "retry", "--config", str(world["config_path"])]
    retry_args += ["--db", str(world["db_path"])]
    if step == "block":
        # X ignores idempotency keys: not found yet is not "not posted" while the killed
        # request may still land; the row says unknown and nothing is posted.
        early = world["cli"](*retry_args)
        assert early.exit_code == 1 and "may still appear" in early.output
        assert posts(world["remote"]) == []
        assert outbox.list_rows(world["db"])[0]["status"] == "unknown"
    with time_machine.travel(utcnow() + outbox.GRACE + timedelta(seconds=5), tick=False):
        result = world["cli"](*retry_args)
    assert result.exit_code == 0, result.output + result.stderr
    assert len(posts(world["remote"])) == 1
    again = world["cli"](*retry_args)
    assert "Nothing to retry" in again.output
    assert len(posts(world["remote"])) == 1
    (row,) = outbox.list_rows(world["db"])
    assert row["status"] == "sent"


def test_two_agents_replying_at_once_post_once(world, monkeypatch):
    """Tom's reply is prepared and its earlier rows settled; then Jana's reply is recorded
    (her process is mid-post) before Tom takes the write lock: Tom must not post too."""
    draft, connector = replies.prepare(
        world["db"],
        world["config"],
        1,
        "tom",
        text="Hi, on it!",
        env={},
        now=utcnow(),
        clock=utcnow,
    )
    settle_earlier = replies.settle_earlier

    def jana_records_in_the_gap(*args: Any, **kwargs: Any) -> Any:
        result = settle_earlier(*args, **kwargs)
        row = outbox.record(
            world["db"],
            mention_id=1,
            kind="reply",
            agent="jana",
            network="x",
            text="Hi!",
            now=utcnow(),
        )
        with world["db"].write() as conn:  # as Jana's live process posting it would
            conn.execute(
                "UPDATE outbox SET status = 'sending', owner = ?, owner_started = ?, "
                "attempts = 1 WHERE id = ?",
                (f"{outbox.HOST}:{os.getppid()}", start_token(os.getppid()), row["id"]),
            )
        return result

    monkeypatch.setattr(replies, "settle_earlier", jana_records_in_the_gap)
    with pytest.raises(Conflict, match="being sent right now"):
        replies.send(world["db"], world["config"], draft, connector, clock=utcnow)
    assert posts(world["remote"]) == []
    assert [r["agent"] for r in outbox.list_rows(world["db"])] == ["jana"]
