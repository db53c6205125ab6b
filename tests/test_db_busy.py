"""The write lock: bulk writes go in batches that let other writers in; a writer that cannot
get the lock says so in one line. Real SQLite files, a second real connection or process."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import mention_line

from social_watch import db as dbmod
from social_watch import queue


@pytest.fixture
def big_db(tmp_path: Path, cli: Any, write_jsonl: Any) -> Path:
    lines = [
        mention_line(id=str(n), text=f"@shopexample order {n} is late", handle=f"c{n % 97}")
        for n in range(1, 2_501)
    ]
    db = tmp_path / "sw.db"
    result = cli("import", str(write_jsonl(lines)), "--db", str(db))
    assert result.exit_code == 0, result.output
    return db


def test_a_bulk_label_lets_another_writer_in_between_batches(
    big_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = sqlite3.connect(big_db, timeout=0, isolation_level=None)  # never waits
    wrote: list[int] = []

    def between_batches() -> None:
        # A second writer takes the write lock at once (it would raise "database is
        # locked" if the bulk label still held it), writes, commits.
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE mentions SET claimed_by = 'tom' WHERE id = ?", (len(wrote) + 1,))
        other.execute("COMMIT")
        wrote.append(1)

    monkeypatch.setattr(queue, "BULK_BATCH", 600)
    monkeypatch.setattr(queue, "between_batches", between_batches)
    db = dbmod.connect(big_db)
    from helpers import NOW

    count = queue.label_where(db, ["text=late"], "negative", "jana", now=NOW)
    assert count == 2_500
    assert len(wrote) == 4  # batches of 600, 600, 600, 600 and 100: a gap between each
    labelled = db.conn.execute(
        "SELECT COUNT(*) FROM mentions WHERE sentiment_override = 'negative'"
    ).fetchone()
    actions = db.conn.execute("SELECT COUNT(*) FROM actions WHERE action = 'labelled'").fetchone()
    assert labelled == (2_500,) and actions == (2_500,)
    assert db.conn.execute("SELECT COUNT(*) FROM mentions WHERE claimed_by = 'tom'").fetchone() == (
        4,
    )
    other.close()


@pytest.fixture
def locked(big_db: Path) -> Iterator[sqlite3.Connection]:
    """Someone holds the write lock for the whole test."""
    holder = sqlite3.connect(big_db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    yield holder
    holder.execute("ROLLBACK")
    holder.close()


@pytest.mark.parametrize(
    "args",
    [
        ["claim", "1", "--as", "jana"],
        ["label", "negative", "--where", "text=late"],
        ["import", "{jsonl}"],
    ],
)
def test_a_writer_that_cannot_get_the_lock_says_so_in_one_line(
    big_db: Path, locked: sqlite3.Connection, args: list[str], tmp_path: Path
) -> None:
    jsonl = tmp_path / "more.jsonl"
    jsonl.write_text(mention_line(id="9001") + "\n", encoding="utf-8")
    args = [str(jsonl) if a == "{jsonl}" else a for a in args]
    env = {**os.environ, "SOCIAL_WATCH_BUSY_TIMEOUT": "0.2"}
    done = subprocess.run(
        [sys.executable, "-m", "social_watch", *args, "--db", str(big_db)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("Error: the database is busy") and "try again" in line


def test_the_busy_timeout_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SOCIAL_WATCH_BUSY_TIMEOUT", "2.5")
    db = dbmod.connect(tmp_path / "x.db")
    assert db.conn.execute("PRAGMA busy_timeout").fetchone() == (2500,)
    monkeypatch.setenv("SOCIAL_WATCH_BUSY_TIMEOUT", "soon")
    from social_watch.errors import UsageError

    with pytest.raises(UsageError, match="SOCIAL_WATCH_BUSY_TIMEOUT"):
        dbmod.connect(tmp_path / "y.db")
    assert json.dumps(dbmod.DEFAULT_BUSY_TIMEOUT_S)


def test_a_claim_waits_for_the_lock_and_then_succeeds(
    big_db: Path, locked: sqlite3.Connection, tmp_path: Path
) -> None:
    """Two real processes' worth: the claim finds the lock taken, says it waits, and gets
    in once the holder commits (ordered by its log line, not by sleeping)."""
    env = {**os.environ, "SOCIAL_WATCH_BUSY_TIMEOUT": "60"}
    args = ["--log-level", "info", "claim", "1", "--as", "jana", "--db", str(big_db)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "social_watch", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()  # blocks until the claim reports that it waits
    assert "waiting up to 60 s for the database's write lock" in line
    locked.execute("COMMIT")  # the holder is done: the waiting claim gets the lock
    locked.execute("BEGIN")  # (the fixture rolls back an open transaction)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.startswith("Claimed 1 for jana")
