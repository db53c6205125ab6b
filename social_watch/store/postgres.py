"""PostgreSQL, for a team that outgrows one SQLite file: many agents writing at once and
watch workers on several machines against one database.

The core writes its statements once, with ``?`` placeholders; this store turns them into
psycopg's ``%s``. The schema comes from the same ordered, named migrations as SQLite's
(``pg_schema.MIGRATIONS``), recorded in ``_social_watch_migrations``. Statements outside
``write()`` run in autocommit, as they do on SQLite; ``write()`` is one transaction at READ
COMMITTED, where the core's guarantees come from conditional UPDATEs, ``FOR UPDATE SKIP
LOCKED`` and (``lock()``) advisory locks; ``snapshot()`` is REPEATABLE READ for reports.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, ClassVar
from urllib.parse import urlsplit

import psycopg
from psycopg.adapt import Loader

from social_watch.errors import ConfigError, StoreBusy, StoreError
from social_watch.store.base import Cursor, Store, T, without_index_hints

log = logging.getLogger("social_watch.db")
MIGRATION_SET = "social_watch"


class _NumberLoader(Loader):
    """NUMERIC (what SUM and AVG of integers return) as int when whole, else float, as
    SQLite gives them; a Decimal would reach JSON output and arithmetic with floats."""

    def load(self, data: Any) -> int | float:
        text = bytes(data).decode()
        if text in ("NaN", "Infinity", "-Infinity"):
            return float(text)
        if "." not in text and "e" not in text.lower():
            return int(text)
        value = float(text)
        return int(value) if value.is_integer() and abs(value) < 2**53 else value


@functools.lru_cache(maxsize=4096)
def translate(sql: str, named: bool = False) -> str:
    """``?`` placeholders to ``%s`` (``:name`` to ``%(name)s`` when ``named``) and a
    literal ``%`` to ``%%``, outside quoted text. SQLite's ``INDEXED BY`` hints (its planner
    needs them on a few reports; PostgreSQL's has statistics) are dropped."""
    sql = without_index_hints(sql)
    out: list[str] = []
    quote: str | None = None
    i = 0
    while i < len(sql):
        ch = sql[i]
        i += 1
        if (
            named
            and quote is None
            and ch == ":"
            and i < len(sql)
            and (sql[i].isalpha() or sql[i] == "_")
            and (i < 2 or sql[i - 2] != ":")
        ):
            j = i
            while j < len(sql) and (sql[j].isalnum() or sql[j] == "_"):
                j += 1
            out.append(f"%({sql[i:j]})s")
            i = j
            continue
        if quote is not None:
            if ch == quote:
                quote = None
            out.append("%%" if ch == "%" else ch)
        elif ch in ("'", '"'):
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        elif ch == "%":
            out.append("%%")
        else:
            out.append(ch)
    return "".join(out)


def safe_url(url: str) -> str:
    """The URL without any password in it: what messages and logs may show."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}@" if parts.username else ""
    return parts._replace(netloc=f"{user}{host}").geturl()


def _connect_reason(exc: Exception) -> str:
    """libpq's why, in a few words: 'Connection refused', 'role "x" does not exist' (its
    message repeats the host and port, which the URL beside it names already)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    reason = lines[0].rsplit(" failed: ", 1)[-1]
    reason = re.sub(r"^(FATAL|ERROR):\s+", "", reason)
    return " ".join(reason.split())


class PostgresStore(Store):
    dialect: ClassVar[str] = "postgresql"
    like: ClassVar[str] = "ILIKE"
    greatest: ClassVar[str] = "GREATEST"
    bytewise: ClassVar[str] = ' COLLATE "C"'
    temp_schema: ClassVar[str] = "pg_temp"
    for_update: ClassVar[str] = " FOR UPDATE"
    per_row: ClassVar[str] = " OFFSET 0"

    def __init__(self, url: str, *, password_env: str | None = None, migrate: bool = True) -> None:
        self.url = safe_url(url)
        # Client-side binding: parameters reach the server as typed literals, so the
        # statements written for SQLite's dynamic typing (``? IS NULL``, ``? || '%'``) need
        # no casts; psycopg quotes them with libpq's own escaping.
        kwargs: dict[str, Any] = {
            "autocommit": True,
            "connect_timeout": 10,
            "cursor_factory": psycopg.ClientCursor,
        }
        if password_env:
            password = os.environ.get(password_env)
            if not password:
                raise ConfigError(
                    f"password_env: environment variable {password_env} is not set (it holds "
                    f"the password for {self.url}): export it, or fix password_env"
                )
            kwargs["password"] = password
        from social_watch import redact

        for secret in (kwargs.get("password"), urlsplit(url).password):
            if secret:
                redact.register(secret)  # masked in every error and log line from now on
        if urlsplit(url).password is not None:
            log.warning(
                "%s: a password in the database URL ends up in shell history and process "
                "lists; name an environment variable with password_env instead",
                self.url,
            )
        try:
            self.pg = psycopg.connect(url, **kwargs)
        except psycopg.OperationalError as exc:
            reason = _connect_reason(exc)
            if (password := kwargs.get("password")) and password in reason:
                reason = reason.replace(password, "***")
            raise StoreError(f"{self.url}: cannot connect to PostgreSQL: {reason}") from None
        self.pg.adapters.register_loader("numeric", _NumberLoader)
        # JIT pays off for hour-long analytics; the core's statements take milliseconds to
        # seconds, and compiling one costs more than it saves (1.4 s of a 5.7 s report
        # statement at 10 M mentions, ``bench/postgres.py``).
        self.pg.execute("SET jit = off")
        self._depth = 0
        if migrate:
            self.migrate()

    @property
    def conn(self) -> PostgresStore:
        """The store itself: scripts and tests written as ``db.conn.execute(sql, params)``
        against SQLite run unchanged (``?`` placeholders) on PostgreSQL."""
        return self

    # -- statements ----------------------------------------------------------------------
    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = ()) -> Cursor:
        try:
            if params:
                return self.pg.execute(translate(sql, isinstance(params, dict)), params)
            return self.pg.execute(without_index_hints(sql))
        except psycopg.errors.LockNotAvailable as exc:
            raise StoreBusy(f"{self.url}: the database is busy: {exc}") from None

    def executemany(self, sql: str, seq: Iterable[Sequence[Any]]) -> None:
        # Server-side binding here: one statement prepared once, then only values sent
        # (psycopg pipelines them). The client-side cursor the rest uses sent every row
        # as new SQL text to parse and plan: bench/postgres.py measured ingest 1.7-2.4k
        # mentions/s that way, 3.3k this way, identical rows.
        with psycopg.Cursor(self.pg) as cur:
            cur.executemany(translate(sql), list(seq))

    # -- transactions --------------------------------------------------------------------
    @contextlib.contextmanager
    def write(self) -> Iterator[Store]:
        with self.pg.transaction():
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1

    def _in_transaction(self) -> bool:
        """Inside ``write()``/``snapshot()``, or a transaction the caller opened."""
        return bool(self._depth) or (
            self.pg.info.transaction_status != psycopg.pq.TransactionStatus.IDLE
        )

    @property
    def in_transaction(self) -> bool:
        """As sqlite3's ``Connection.in_transaction``: a transaction is open."""
        return self._in_transaction()

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Store]:
        # REPEATABLE READ, not READ ONLY: the reports build TEMP tables inside it, which
        # PostgreSQL refuses in a read-only transaction. Nothing else here writes.
        if self._in_transaction():
            yield self
            return
        # Set on the connection (no round trip), so the BEGIN itself names the level.
        self.pg.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        try:
            with self.pg.transaction():
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
        finally:
            self.pg.isolation_level = None

    def try_write(self, fn: Callable[[], T], *, wait_s: float = 0.25) -> T | None:
        if self._in_transaction():
            return None
        try:
            with self.write():
                self.pg.execute(f"SET LOCAL lock_timeout = '{int(wait_s * 1000)}ms'")
                return fn()
        except (psycopg.errors.LockNotAvailable, psycopg.errors.ReadOnlySqlTransaction):
            return None

    def is_unique_violation(self, exc: BaseException, column: str) -> bool:
        if not isinstance(exc, psycopg.errors.UniqueViolation):
            return False
        detail = exc.diag.message_detail or ""
        return f"({column.rsplit('.', 1)[-1]})" in detail

    def drop_temp(self, names: Sequence[str]) -> None:
        # One statement, not one per table: a report drops its scratch on every run. In a
        # failed transaction nothing can run, and its rollback drops what it created.
        if names and self.pg.info.transaction_status != psycopg.pq.TransactionStatus.INERROR:
            self.pg.execute(
                "DROP TABLE IF EXISTS " + ", ".join(f"{self.temp_schema}.{n}" for n in names)
            )

    def lock(self, name: str) -> None:
        self.pg.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"social_watch:{name}",))

    def close(self) -> None:
        self.pg.close()

    def data_version(self) -> Any:
        """The server's write-ahead log position: it moves on every commit (and on some
        housekeeping too, which only costs a page an extra refresh)."""
        return self.scalar("SELECT CAST(pg_current_wal_lsn() AS text)")

    # -- schema --------------------------------------------------------------------------
    def migrate(self) -> None:
        """Apply the migrations not yet recorded, each in its own transaction; two
        processes starting at once take turns on an advisory lock."""
        from social_watch.store.pg_schema import MIGRATIONS

        done = set(self.migrations_applied())
        if all(name in done for name, _sql in MIGRATIONS):
            return
        with self.pg.transaction():
            self.lock("migrations")
            self.pg.execute(
                "CREATE TABLE IF NOT EXISTS _social_watch_migrations ("
                "migration_set TEXT NOT NULL, name TEXT NOT NULL, applied_at TEXT NOT NULL, "
                "PRIMARY KEY (migration_set, name))"
            )
            done = set(self.migrations_applied())
            for name, sql in MIGRATIONS:
                if name in done:
                    continue
                with self.pg.transaction():
                    self.pg.execute(sql)
                    self.pg.execute(
                        "INSERT INTO _social_watch_migrations (migration_set, name, applied_at) "
                        "VALUES (%s, %s, to_char(now() AT TIME ZONE 'UTC', "
                        '\'YYYY-MM-DD"T"HH24:MI:SS"Z"\'))',
                        (MIGRATION_SET, name),
                    )
                log.info("%s: applied migration %s", self.url, name)

    def user_tables(self) -> list[str]:
        return [
            r[0]
            for r in self.pg.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' "
                "AND table_name NOT LIKE '\\_%' ORDER BY table_name"
            )
        ]

    def columns(self, table: str) -> list[str]:
        return [
            r[0]
            for r in self.pg.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = "
                "current_schema() AND table_name = %s ORDER BY ordinal_position",
                (table,),
            )
        ]

    def primary_key(self, table: str) -> list[str]:
        return [
            r[0]
            for r in self.pg.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = CAST(%s AS regclass) "
                "AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)",
                (table,),
            )
        ]

    def bulk_insert(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """COPY into a scratch table of the same shape, then one INSERT … SELECT … ON
        CONFLICT DO NOTHING: several times faster than row-by-row INSERTs, and still skips
        the rows a resumed copy finds there already."""
        cols = ", ".join(columns)
        scratch = f"_sw_bulk_{table}"
        self.pg.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {scratch} (LIKE {table}) ON COMMIT DELETE ROWS"
        )
        with self.pg.cursor() as cur:
            with cur.copy(f"COPY {scratch} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cur.execute(
                f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {scratch} ON CONFLICT DO NOTHING"
            )
            cur.execute(f"TRUNCATE {scratch}")

    def after_bulk_load(self, table: str) -> None:
        if "id" not in self.columns(table):
            return
        seq = self.pg.execute("SELECT pg_get_serial_sequence(%s, 'id')", (table,)).fetchone()
        if seq and seq[0]:
            self.pg.execute(
                f"SELECT setval(%s, (SELECT MAX(id) FROM {table}))",  # NULL: an empty table
                (seq[0],),
            )

    def migrations_applied(self) -> list[str]:
        exists = self.pg.execute(
            "SELECT to_regclass('_social_watch_migrations') IS NOT NULL"
        ).fetchone()
        if not exists or not exists[0]:
            return []
        return [
            r[0]
            for r in self.pg.execute(
                "SELECT name FROM _social_watch_migrations WHERE migration_set = %s ORDER BY name",
                (MIGRATION_SET,),
            )
        ]
