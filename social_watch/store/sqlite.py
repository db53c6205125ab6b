"""The embedded default: one SQLite file in WAL mode.

WAL lets the watch loop write while agents read; a busy timeout makes a writer wait for
another instead of failing (20 s, or ``$SOCIAL_WATCH_BUSY_TIMEOUT`` seconds; bulk writes
commit in batches, so nobody holds the lock for long); ``write()`` takes the write lock up
front (BEGIN IMMEDIATE) so a read-then-write transaction can never deadlock into SQLITE_BUSY
halfway through. A writer that still cannot get the lock gets ``StoreBusy`` (one line).

The store is also a sqlite-utils ``Database``: migrations, ``insert_all`` and the table
helpers keep serving the SQLite side.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import sqlite_utils

from social_watch.errors import StoreBusy, StoreError, UsageError
from social_watch.store import deferred
from social_watch.store.base import Cursor, Store, T, without_index_hints

log = logging.getLogger("social_watch.db")
DEFAULT_BUSY_TIMEOUT_S = 20.0
ENV_BUSY_TIMEOUT = "SOCIAL_WATCH_BUSY_TIMEOUT"
BULK_CHECKPOINT_PAGES = 4000  # 16 MB of WAL between checkpoints during an import


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


def _fold(text: str | None) -> str:
    return text.casefold() if text else ""


class SQLiteStore(Store, sqlite_utils.Database):
    """A sqlite-utils Database on a file, in WAL mode, migrated to the current schema."""

    dialect: ClassVar[str] = "sqlite"

    def __init__(self, path: str | Path) -> None:
        from social_watch.migrations import migrate

        path = Path(path)
        self.url = str(path)
        if path.is_dir():
            raise StoreError(f"{path}: is a directory, expected a database file")
        if path.parent and not path.parent.exists():
            raise StoreError(f"{path}: folder {path.parent} does not exist")
        try:
            timeout = busy_timeout()
            conn = sqlite3.connect(str(path), timeout=timeout, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            sqlite_utils.Database.__init__(self, conn, execute_plugins=False)
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            if mode != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            # casefold() in SQL: SQLite's lower() folds ASCII only ('Žabka' never matched).
            conn.create_function("sw_fold", 1, _fold, deterministic=True)
            migrate(self)
            if deferred.pending(self):
                self._restore_abandoned()
        except sqlite3.DatabaseError as exc:
            if (locked := busy(exc)) is not None:
                raise locked from None
            raise StoreError(f"{path}: cannot open the database: {exc}") from None

    def _restore_abandoned(self) -> None:
        """Open: build the indexes an import dropped and did not live to rebuild. Until
        they are, every query still answers (more slowly), so a database this process
        cannot write now (busy, read-only) opens anyway, with a warning."""
        try:
            names = deferred.restore(self, abandoned_only=True)
        except (StoreBusy, sqlite3.OperationalError) as exc:
            log.warning(
                "%s: could not rebuild the indexes of an interrupted import: %s", self.url, exc
            )
            return
        if names:
            log.warning(
                "%s: rebuilt the indexes an interrupted import had dropped: %s",
                self.url,
                ", ".join(names),
            )

    # -- statements ----------------------------------------------------------------------
    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = ()) -> Cursor:  # type: ignore[override]
        try:
            return self.conn.execute(sql, params if params is not None else ())
        except sqlite3.OperationalError as exc:
            if not str(exc).startswith("no such index:"):
                raise
            # An import dropped the hinted index for now (``bulk_load``): the same answer
            # without the hint, by whatever plan is left.
            return self.conn.execute(without_index_hints(sql), params if params is not None else ())

    def executemany(self, sql: str, seq: Iterable[Sequence[Any]]) -> None:
        self.conn.executemany(sql, seq)

    # -- transactions --------------------------------------------------------------------
    def _begin(self) -> None:
        """BEGIN IMMEDIATE; if another writer holds the lock, say so (info) and wait for it."""
        conn = self.conn
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
                "waiting up to %g s for the database's write lock (another command holds it)",
                timeout,
            )
            conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            conn.execute("BEGIN IMMEDIATE")
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")

    @contextlib.contextmanager
    def bulk_load(self, *, expected_rows: int | None = None) -> Iterator[None]:
        """Checkpoint the WAL every ``BULK_CHECKPOINT_PAGES`` instead of every 1,000 pages,
        and for a load much larger than the table, build the reports' and the queue's
        indexes once at the end instead of row by row (``store.deferred``).

        Each checkpoint copies the WAL's pages into the database file and syncs both; an
        import's batches rewrite the same index pages again and again, so checkpointing
        less often copies each page fewer times (about 8 % of the insert time at 100,000
        mentions). Commits, and so durability, are unchanged; the WAL file grows to ~16 MB
        and is reset by the next checkpoint.

        ``expected_rows``: about how many mentions are coming. At least
        ``deferred.MIN_ROWS`` into a table holding no more than that: the indexes in
        ``deferred.DEFERRABLE`` are dropped now and rebuilt when the block ends, also
        when it ends with an exception. Dropping and rebuilding each take the write lock
        as any writer does. If the process dies in between, the next open of the database
        rebuilds them; if the rebuild cannot get the lock in time, the import's rows stay
        committed and the next open rebuilds them too (a warning says so).
        """
        conn = self.conn
        before = conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        conn.execute(f"PRAGMA wal_autocheckpoint = {max(int(before), BULK_CHECKPOINT_PAGES)}")
        try:
            dropped = deferred.defer(self, expected_rows)
            try:
                yield
            except BaseException:
                if dropped:
                    self._rebuild_deferred(quiet=True)
                raise
            if dropped:
                self._rebuild_deferred(quiet=False)
        finally:
            conn.execute(f"PRAGMA wal_autocheckpoint = {int(before)}")

    def _rebuild_deferred(self, *, quiet: bool) -> None:
        """``bulk_load``'s end: build the indexes it dropped. A busy database (or with
        ``quiet``, an import already failing) leaves them to the next open, with a warning."""
        try:
            deferred.restore(self, abandoned_only=False)
        except (StoreBusy, sqlite3.Error) as exc:
            if not quiet and not isinstance(exc, StoreBusy):
                raise
            log.warning(
                "%s: could not build the indexes the import deferred (%s); the next "
                "social-watch command that opens the database builds them",
                self.url,
                exc,
            )

    @contextlib.contextmanager
    def write(self) -> Iterator[Store]:
        conn = self.conn
        if conn.in_transaction:  # nested: ride on the outer transaction
            with self.atomic():
                yield self
            return
        try:
            self._begin()
        except sqlite3.OperationalError as exc:
            if (locked := busy(exc)) is not None:
                raise locked from None
            raise
        try:
            yield self
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if (locked := busy(exc)) is not None:
                raise locked from None
            raise
        else:
            conn.execute("COMMIT")

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Store]:
        conn = self.conn
        if conn.in_transaction:
            yield self
            return
        conn.execute("BEGIN")  # deferred: in WAL mode, one snapshot from the first read
        try:
            yield self
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    def try_write(self, fn: Callable[[], T], *, wait_s: float = 0.25) -> T | None:
        conn = self.conn
        if conn.in_transaction:
            return None
        timeout = conn.execute("PRAGMA busy_timeout").fetchone()[0]
        conn.execute(f"PRAGMA busy_timeout = {int(wait_s * 1000)}")
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn()
                conn.execute("COMMIT")
                return result
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError:  # busy, read-only: nothing written this time
            return None
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(timeout)}")

    def is_unique_violation(self, exc: BaseException, column: str) -> bool:
        return isinstance(exc, sqlite3.IntegrityError) and column in str(exc)

    def close(self) -> None:
        self.conn.close()

    def data_version(self) -> Any:
        return self.conn.execute("PRAGMA data_version").fetchone()[0]

    # -- schema --------------------------------------------------------------------------
    def user_tables(self) -> list[str]:
        return [
            t
            for t in self.table_names()
            if not t.startswith(("sqlite_", "_sqlite_")) and "_fts" not in t
        ]

    def columns(self, table: str) -> list[str]:
        return [c.name for c in self[table].columns]

    def primary_key(self, table: str) -> list[str]:
        pks = list(self.table(table).pks)
        return pks if pks != ["rowid"] else []

    def migrations_applied(self) -> list[str]:
        if "_sqlite_migrations" not in self.table_names():
            return []
        return [
            r[0]
            for r in self.conn.execute(
                "SELECT name FROM _sqlite_migrations WHERE migration_set = 'social_watch' "
                "ORDER BY rowid"
            )
        ]

    # -- fragments -----------------------------------------------------------------------
    def unindexed(self, column: str) -> str:
        return f"+{column}"
