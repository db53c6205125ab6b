"""Open the SQLite database the way every caller needs it.

WAL lets the watch loop write while agents read; a busy timeout makes a writer wait for
another instead of failing (20 s, or ``$SOCIAL_WATCH_BUSY_TIMEOUT`` seconds; bulk writes
commit in batches, so nobody holds the lock for long); ``write()`` takes the write lock up
front (BEGIN IMMEDIATE) so a read-then-write transaction can never deadlock into SQLITE_BUSY
halfway through. A writer that still cannot get the lock gets ``StoreBusy`` (one line).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import sqlite_utils

from social_watch.errors import StoreBusy, StoreError, UsageError

log = logging.getLogger("social_watch.db")
DEFAULT_BUSY_TIMEOUT_S = 20.0
ENV_BUSY_TIMEOUT = "SOCIAL_WATCH_BUSY_TIMEOUT"


def busy_timeout() -> float:
    """Seconds a writer waits for the write lock: $SOCIAL_WATCH_BUSY_TIMEOUT, else 20."""
    raw = os.environ.get(ENV_BUSY_TIMEOUT, "").strip()
    if not raw:
        return DEFAULT_BUSY_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (0 <= value <= 3600):
        raise UsageError(f"{ENV_BUSY_TIMEOUT}={raw!r}: expected seconds, 0 to 3600")
    return value


def busy(exc: BaseException) -> StoreBusy | None:
    """``exc`` as a StoreBusy if it is SQLite's "database is locked" (or busy), else None."""
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
        if "locked" in text or "busy" in text:
            return StoreBusy(
                "the database is busy: another social-watch command held its write lock "
                f"for more than {busy_timeout():g} s; try again (or raise {ENV_BUSY_TIMEOUT})"
            )
    return None


def connect(path: str | Path) -> sqlite_utils.Database:
    """A sqlite-utils Database on a file, in WAL mode, migrated to the current schema."""
    from social_watch.migrations import migrate

    path = Path(path)
    if path.is_dir():
        raise StoreError(f"{path}: is a directory, expected a database file")
    if path.parent and not path.parent.exists():
        raise StoreError(f"{path}: folder {path.parent} does not exist")
    try:
        timeout = busy_timeout()
        conn = sqlite3.connect(str(path), timeout=timeout, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        db = sqlite_utils.Database(conn, execute_plugins=False)
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        if mode != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        migrate(db)
    except sqlite3.DatabaseError as exc:
        if (locked := busy(exc)) is not None:
            raise locked from None
        raise StoreError(f"{path}: cannot open the database: {exc}") from None
    return db


def _begin(conn: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE; if another writer holds the lock, say so (info) and wait for it."""
    timeout = busy_timeout()
    try:
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if busy(exc) is None:
                raise
        log.info(
            "waiting up to %g s for the database's write lock (another command holds it)", timeout
        )
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        conn.execute("BEGIN IMMEDIATE")
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")


@contextlib.contextmanager
def write(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """One write transaction, committed whole or not at all."""
    conn = db.conn
    if conn.in_transaction:  # nested: ride on the outer transaction
        with db.atomic():
            yield db
        return
    try:
        _begin(conn)
    except sqlite3.OperationalError as exc:
        if (locked := busy(exc)) is not None:
            raise locked from None
        raise
    try:
        yield db
    except BaseException as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if (locked := busy(exc)) is not None:
            raise locked from None
        raise
    else:
        conn.execute("COMMIT")


class PerThread:
    """One connection per thread on one file: the web inbox's request and worker threads
    each keep their own (a sqlite3 connection is not to be shared across threads)."""

    def __init__(self, path: str | Path) -> None:
        import threading

        self.path = path
        self._local = threading.local()

    def __call__(self) -> sqlite_utils.Database:
        db: sqlite_utils.Database | None = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = connect(self.path)
        return db
