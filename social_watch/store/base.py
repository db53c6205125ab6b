"""What every backend offers the core: statements, transactions and the few SQL fragments
whose spelling differs between SQLite and PostgreSQL.

Why hand-written SQL per dialect behind one interface rather than SQLAlchemy Core: the
queries were written (and tuned, with covering indexes and index hints) as SQL; nine in ten
are already the same text on both backends (``ON CONFLICT``, ``RETURNING``,
``IS NOT DISTINCT FROM``, row values). For the rest, SQLite's functions the queries call
(``json_each`` over TEXT, ``instr``, ``julianday``, ``sw_fold``) are defined on PostgreSQL
by its first migration, its index hints are dropped there, and the few spellings left are
the fragments named here. One more dependency and a rewrite of every query would buy
little. Statements are written with ``?`` placeholders; the PostgreSQL store turns them
into ``%s``.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, ClassVar, Protocol, TypeVar

T = TypeVar("T")

_INDEX_HINT = re.compile(r"\s+(?:NOT\s+INDEXED\b|INDEXED\s+BY\s+\w+)", re.IGNORECASE)


@functools.lru_cache(maxsize=4096)
def without_index_hints(sql: str) -> str:
    """``sql`` without SQLite's ``INDEXED BY``/``NOT INDEXED`` hints: for PostgreSQL, and
    for SQLite while an import has dropped the hinted index (``SQLiteStore.bulk_load``)."""
    return _INDEX_HINT.sub("", sql)


class Cursor(Protocol):
    """The DB-API cursor both drivers return (sqlite3 and psycopg)."""

    @property
    def rowcount(self) -> int: ...
    @property
    def description(self) -> Any: ...

    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Store:
    """One database. Owns its connection and its statements; the domain modules call it."""

    dialect: ClassVar[str]
    url: str  # where it is, for messages (never with a password)

    # -- statements ----------------------------------------------------------------------
    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Cursor:
        raise NotImplementedError

    def executemany(self, sql: str, seq: Iterable[Sequence[Any]]) -> None:
        raise NotImplementedError

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows as dicts keyed by column name."""
        cur = self.execute(sql, list(params))
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur]

    def one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.execute(sql, params).fetchone()

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.execute(sql, params).fetchone()
        return None if row is None else row[0]

    # -- transactions --------------------------------------------------------------------
    @contextlib.contextmanager
    def write(self) -> Iterator[Store]:
        """One write transaction, committed whole or not at all (nested: joins the outer)."""
        raise NotImplementedError
        yield self  # pragma: no cover

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Store]:
        """A read-only transaction: every statement inside sees the same committed state
        (a report's totals add up even while the watch loop writes)."""
        raise NotImplementedError
        yield self  # pragma: no cover

    @contextlib.contextmanager
    def bulk_load(self, *, expected_rows: int | None = None) -> Iterator[None]:
        """Around many write transactions in a row (an import): tune the backend for
        throughput without changing what is stored or when it is committed.

        ``expected_rows``: about how many mentions are coming (None: unknown, as from
        stdin); the backend may prepare differently for a load much larger than its table.
        """
        yield

    def try_write(self, fn: Callable[[], T], *, wait_s: float = 0.25) -> T | None:
        """``fn()`` in a write transaction if the lock comes within ``wait_s``, else None:
        for best-effort writes (a cache) that must never hold up a reader. Also None on a
        read-only database or inside a caller's open transaction."""
        raise NotImplementedError

    def is_unique_violation(self, exc: BaseException, column: str) -> bool:
        """``exc`` is this driver's unique-constraint error on ``table.column``."""
        raise NotImplementedError

    def lock(self, name: str) -> None:
        """Inside ``write()``: serialize with every other writer taking ``name``.

        SQLite has one writer at a time already; PostgreSQL takes a transaction-scoped
        advisory lock, released at commit or rollback.
        """

    def drop_temp(self, names: Sequence[str]) -> None:
        """Drop this connection's TEMP tables ``names`` that exist (a report's scratch)."""
        for name in names:
            self.execute(f"DROP TABLE IF EXISTS {self.temp_schema}.{name}")

    def close(self) -> None:
        raise NotImplementedError

    def data_version(self) -> Any:
        """A value that moves when another connection commits a change (the web inbox's
        live updates ask it a few times a second)."""
        raise NotImplementedError

    # -- schema --------------------------------------------------------------------------
    def user_tables(self) -> list[str]:
        raise NotImplementedError

    def columns(self, table: str) -> list[str]:
        raise NotImplementedError

    def primary_key(self, table: str) -> list[str]:
        raise NotImplementedError

    def bulk_insert(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Inside ``write()``: insert ``rows``, skipping any whose key is already there
        (``db copy`` resumes by rewriting a batch that may have half-landed)."""
        marks = ", ".join("?" for _ in columns)
        self.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) ON CONFLICT DO NOTHING",
            rows,
        )

    def after_bulk_load(self, table: str) -> None:
        """Rows with explicit ids went in: make the next generated id follow them."""

    def migrations_applied(self) -> list[str]:
        raise NotImplementedError

    # -- fragments -----------------------------------------------------------------------
    def unindexed(self, column: str) -> str:
        """``column`` in a WHERE term the planner must not pick an index for (SQLite's unary
        ``+``; PostgreSQL's planner has the statistics to choose well by itself)."""
        return column

    temp_schema: ClassVar[str] = "temp"  # where this connection's TEMP tables live
    # Row locks for a read-then-write: SQLite's write transaction already excludes every
    # other writer (BEGIN IMMEDIATE); PostgreSQL locks just the rows read.
    for_update: ClassVar[str] = ""
    like: ClassVar[str] = "LIKE"  # case-insensitive for ASCII, as SQLite's LIKE is
    greatest: ClassVar[str] = "MAX"  # the scalar maximum of its arguments (SQLite's MAX(a, b))
    # Appended to a TEXT operand of lower() or a comparison: SQLite's meaning, whatever the
    # database's collation (bytewise order, lower() of ASCII letters only).
    bytewise: ClassVar[str] = ""
    # Ends an EXISTS subquery that must stay a per-row filter: PostgreSQL turns EXISTS into
    # a semi-join unless it has an OFFSET, and with its guess of one matching row it then
    # sorts every candidate instead of walking an index in order and stopping at LIMIT.
    # SQLite runs EXISTS per row anyway.
    per_row: ClassVar[str] = ""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}>"
