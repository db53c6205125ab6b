"""Open the SQLite database the way every caller needs it.

WAL lets the watch loop write while agents read; a busy timeout makes a writer wait for
another instead of failing; ``write()`` takes the write lock up front (BEGIN IMMEDIATE) so a
read-then-write transaction can never deadlock into SQLITE_BUSY halfway through.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import sqlite_utils

from social_watch.errors import StoreError

BUSY_TIMEOUT_MS = 10_000


def connect(path: str | Path) -> sqlite_utils.Database:
    """A sqlite-utils Database on a file, in WAL mode, migrated to the current schema."""
    from social_watch.migrations import migrate

    path = Path(path)
    if path.is_dir():
        raise StoreError(f"{path}: is a directory, expected a database file")
    if path.parent and not path.parent.exists():
        raise StoreError(f"{path}: folder {path.parent} does not exist")
    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db = sqlite_utils.Database(conn, execute_plugins=False)
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        if mode != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        migrate(db)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: cannot open the database: {exc}") from None
    return db


@contextlib.contextmanager
def write(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """One write transaction, committed whole or not at all."""
    conn = db.conn
    if conn.in_transaction:  # nested: ride on the outer transaction
        with db.atomic():
            yield db
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")
