"""Open the database the way every caller needs it (see ``social_watch.store``).

Kept as the entry point the commands and tests have always used: ``connect`` opens a
``Store`` (SQLite file or PostgreSQL URL) and ``write`` is its write transaction.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

from social_watch.store import Store, open_store
from social_watch.store.sqlite import (
    DEFAULT_BUSY_TIMEOUT_S,
    ENV_BUSY_TIMEOUT,
    busy,
    busy_timeout,
)

__all__ = [
    "DEFAULT_BUSY_TIMEOUT_S",
    "ENV_BUSY_TIMEOUT",
    "PerThread",
    "Store",
    "busy",
    "busy_timeout",
    "connect",
    "write",
]


def connect(target: str | Path, *, password_env: str | None = None) -> Store:
    """The store at ``target`` (a SQLite file or a ``postgresql://`` URL), migrated.

    ``password_env`` names the environment variable holding a PostgreSQL password (config's
    ``password_env``); whoever opens the store passes it, so the password never sits in a
    URL, a log line or the config file.
    """
    return open_store(target, password_env=password_env)


@contextlib.contextmanager
def write(db: Store) -> Iterator[Store]:
    """One write transaction, committed whole or not at all."""
    with db.write():
        yield db


class PerThread:
    """One connection per thread on one database: the web inbox's request and worker
    threads each keep their own (a connection is not to be shared across threads)."""

    def __init__(self, path: str | Path, *, password_env: str | None = None) -> None:
        self.path = path
        self.password_env = password_env
        self._local = threading.local()

    def __call__(self) -> Store:
        db: Store | None = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = connect(self.path, password_env=self.password_env)
        return db
