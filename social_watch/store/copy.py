"""``db copy``: every table of one store into another (SQLite into PostgreSQL, and back).

Rows go in primary-key order, in batches, each batch its own transaction with
``ON CONFLICT DO NOTHING``: a copy that stops halfway is resumed by running it again, and
picks up after the last row the destination has. The tables triggers fill (the stats
marks) are copied last, replacing what the copied mentions' triggers wrote, so both sides
end equal. At the end each table is checked: same row count, same checksum of its rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from social_watch.errors import UsageError
from social_watch.store.base import Store

BATCH = 10_000
# Filled by triggers as mentions are written: copied whole, after everything else.
DERIVED = ("stats_dirty", "stats_watermark", "stats_rollups")
# Rows in any of these: the destination holds a team's data already.
HOLDS_DATA = ("mentions", "actions", "outbox", "accounts", "cursors")

Progress = Callable[[str, int, int], None]  # table, rows copied so far, rows in the source


@dataclass(frozen=True)
class TableCopy:
    table: str
    rows: int  # rows in the source
    copied: int  # rows written by this run (0 when a resumed run found them there)
    checksum: str


@dataclass(frozen=True)
class CopyResult:
    tables: list[TableCopy]

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)


class CopyMismatch(UsageError):
    """The destination differs from the source after the copy (exit 1: look at it)."""

    exit_code = 1


def _order(src: Store, dst: Store) -> list[str]:
    """Tables in creation order (a table's foreign keys point to earlier ones)."""
    sqlite_side = src if src.dialect == "sqlite" else dst
    if sqlite_side.dialect == "sqlite":
        names = [
            r[0]
            for r in sqlite_side.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid"
            )
        ]
    else:
        names = sorted(src.user_tables(), key=lambda t: (t != "mentions", t))
    common = set(src.user_tables()) & set(dst.user_tables())
    plain = [t for t in names if t in common and t not in DERIVED]
    return plain + [t for t in DERIVED if t in common]


_PLAIN = frozenset({str, int, type(None)})  # read the same from both drivers


def _normal(value: Any) -> Any:
    """One spelling for a value whichever driver read it (REAL 1.0 vs BIGINT 1, a boolean
    vs 0/1, bytes vs memoryview)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, memoryview | bytes | bytearray):
        return bytes(value).hex()
    return value


def checksum(store: Store, table: str, columns: list[str]) -> tuple[int, str]:
    """Row count and a hash of the table's rows in no particular order: the sum of each
    row's SHA-256 (rows are unique by their key), so the two sides' text collations, which
    may sort keys differently, cannot make equal tables differ."""
    total = n = 0
    sha256 = hashlib.sha256
    for row in store.execute(f"SELECT {', '.join(columns)} FROM {table}"):
        line = repr(tuple(v if type(v) in _PLAIN else _normal(v) for v in row)).encode()
        total += int.from_bytes(sha256(line).digest(), "big")
        n += 1
    return n, f"{total % 2**256:064x}"


def is_empty(store: Store) -> bool:
    tables = set(store.user_tables())
    return all(store.scalar(f"SELECT COUNT(*) FROM {t}") == 0 for t in HOLDS_DATA if t in tables)


def copy(
    src: Store,
    dst: Store,
    *,
    batch: int = BATCH,
    force: bool = False,
    progress: Progress | None = None,
) -> CopyResult:
    """Copy (or resume copying) ``src`` into ``dst``; both at the same schema version."""
    if src.migrations_applied() != dst.migrations_applied():
        raise UsageError(
            f"{src.url} and {dst.url} are at different schema versions; open both with this "
            "version of social-watch first (it migrates them)"
        )
    if not force and not is_empty(dst):
        resumable = _resumable(src, dst)
        if not resumable:
            raise UsageError(
                f"{dst.url} already holds data; copy into an empty database, or pass --force "
                "to add the missing rows to it"
            )
    results = []
    for table in _order(src, dst):
        columns = src.columns(table)
        key = src.primary_key(table) or columns
        total = int(src.scalar(f"SELECT COUNT(*) FROM {table}") or 0)
        copied = _copy_table(src, dst, table, columns, key, batch, total, progress)
        dst.after_bulk_load(table)
        n_src, sum_src = checksum(src, table, columns)
        n_dst, sum_dst = checksum(dst, table, columns)
        if (n_src, sum_src) != (n_dst, sum_dst):
            raise CopyMismatch(
                f"{table}: {n_src} rows in {src.url} but {n_dst} in {dst.url} after the copy"
                if n_src != n_dst
                else f"{table}: the rows differ between {src.url} and {dst.url} after the copy"
            )
        results.append(TableCopy(table, n_src, copied, sum_src))
    return CopyResult(results)


def _resumable(src: Store, dst: Store) -> bool:
    """The destination holds only rows of the source (a copy that stopped): resume it."""
    if "mentions" not in dst.user_tables():
        return False
    first = dst.one("SELECT id, global_id FROM mentions ORDER BY id LIMIT 1")
    if first is None:
        return True
    return src.one("SELECT global_id FROM mentions WHERE id = ?", (first[0],)) == (first[1],)


def _copy_table(
    src: Store,
    dst: Store,
    table: str,
    columns: list[str],
    key: list[str],
    batch: int,
    total: int,
    progress: Progress | None,
) -> int:
    cols = ", ".join(columns)
    keys = ", ".join(key)
    if table in DERIVED:
        with dst.write():
            dst.execute(f"DELETE FROM {table}")
        last = None
    else:
        # Resume after the last row already there (rows are written in key order).
        last = dst.one(f"SELECT {keys} FROM {table} ORDER BY {keys} DESC LIMIT 1") if key else None
    key_at = [columns.index(k) for k in key]
    written = done = 0
    if last is not None:
        done = int(dst.scalar(f"SELECT COUNT(*) FROM {table}") or 0)
    while True:
        if last is None:
            rows = src.execute(
                f"SELECT {cols} FROM {table} ORDER BY {keys} LIMIT ?", (batch,)
            ).fetchall()
        else:
            marks = ", ".join("?" for _ in key)
            rows = src.execute(
                f"SELECT {cols} FROM {table} WHERE ({keys}) > ({marks}) ORDER BY {keys} LIMIT ?",
                (*last, batch),
            ).fetchall()
        if not rows:
            break
        with dst.write():
            dst.bulk_insert(table, columns, rows)
        written += len(rows)
        done += len(rows)
        last = tuple(rows[-1][i] for i in key_at)
        if progress is not None:
            progress(table, min(done, total), total)
    if progress is not None:
        progress(table, total, total)
    return written
