"""The storage layer: every statement the core runs, behind one ``Store`` per database.

``open_store`` picks the backend from the target: a file path is SQLite (the embedded
default), a ``postgresql://`` URL is PostgreSQL. The write path of mentions lives in ``mentions``;
its public functions are re-exported here, where the core has always found them.
"""

from __future__ import annotations

from pathlib import Path

from social_watch.store.base import Store
from social_watch.store.mentions import (
    LANG_SQL,
    POLL_HISTORY,
    Prepared,
    add_action,
    agreement_by_lang,
    counts,
    ingest,
    iter_rows,
    load_cursor,
    record_poll,
    thread_key,
)

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(target: str | Path) -> bool:
    return isinstance(target, str) and target.startswith(POSTGRES_SCHEMES)


def display(target: str | Path) -> str:
    """``target`` as messages and logs may show it: a URL without its password."""
    if is_postgres(target):
        from social_watch.store.postgres import safe_url

        return safe_url(str(target))
    return str(target)


def open_store(target: str | Path, *, password_env: str | None = None) -> Store:
    """The store at ``target``, migrated to the current schema."""
    if is_postgres(target):
        from social_watch.store.postgres import PostgresStore

        return PostgresStore(str(target), password_env=password_env)
    from social_watch.store.sqlite import SQLiteStore

    return SQLiteStore(target)


__all__ = [
    "LANG_SQL",
    "POLL_HISTORY",
    "POSTGRES_SCHEMES",
    "Prepared",
    "Store",
    "add_action",
    "agreement_by_lang",
    "counts",
    "display",
    "ingest",
    "is_postgres",
    "iter_rows",
    "load_cursor",
    "open_store",
    "record_poll",
    "thread_key",
]
