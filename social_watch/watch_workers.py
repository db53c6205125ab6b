"""Several watch loops on one database: who runs, and which connector each one polls.

Every loop registers a row in ``watch_workers`` and beats it; ``watch_connectors.lease_owner``
names the worker that polls a connector. A lease is as good as its owner: a worker whose
heartbeat is three beats old (or, on this host, whose process is gone) is dead, and the
others take its connectors over. Every change of owner is a compare-and-set UPDATE on the
owner it saw, so two workers never take the same connector, and a worker never polls a
connector it does not hold. Each live worker holds its fair share (``ceil(connectors /
workers)``) and hands extras back when a new worker joins, so the work spreads out.

On SQLite only one loop runs (``watch_lock``), so it simply holds every connector; the code
is the same, which keeps one path tested on both backends.
"""

from __future__ import annotations

import math
import os
import socket
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from social_watch.clock import iso
from social_watch.store import watch as store
from social_watch.store.base import Store
from social_watch.watch_state import LockHolder


@dataclass(frozen=True)
class Worker(LockHolder):
    """One running loop and the connectors it holds."""

    sources: tuple[str, ...] = ()


def register(db: Store, token: str, now: datetime, heartbeat_every: timedelta) -> None:
    with db.write():
        store.register_worker(
            db,
            token=token,
            pid=os.getpid(),
            host=socket.gethostname(),
            now=iso(now),
            heartbeat_every=heartbeat_every.total_seconds(),
        )


def beat(db: Store, token: str, now: datetime, heartbeat_every: timedelta) -> bool:
    """Renew our row; False when others had taken us for dead (our row was gone): then we
    are registered again, and the connectors we held may have moved to another worker."""
    with db.write():
        renewed = store.beat_worker(db, token, iso(now))
    if renewed:
        return True
    register(db, token, now, heartbeat_every)
    return False


def leave(db: Store, token: str) -> None:
    """Hand every lease back and remove our row: the others take over at their next beat."""
    with db.write():
        store.remove_worker(db, token)


def workers(db: Store) -> list[Worker]:
    """Every registered worker (live or not yet cleared), oldest first, with its leases."""
    held: dict[str, list[str]] = {}
    for owner, connector in store.leases(db):
        held.setdefault(owner, []).append(connector)
    return [
        Worker.from_row(row, sources=tuple(held.get(row[0], ()))) for row in store.worker_rows(db)
    ]


def balance(
    db: Store, token: str, names: Iterable[str], now: datetime, *, busy: Collection[str] = ()
) -> set[str]:
    """Take this worker's fair share of ``names`` and return the connectors it now holds.

    Dead workers' rows are cleared and their connectors are free; a worker holding more than
    its share hands back the ones not polling right now (``busy``). Rows are changed in
    connector order inside one transaction, so two workers balancing at once cannot deadlock.
    """
    names = sorted(set(names))
    if not names:
        return set()
    with db.write():
        everyone = workers(db)
        dead = [w for w in everyone if w.token != token and not w.alive(now)]
        for w in dead:
            store.clear_dead_worker(db, w.token, iso(w.heartbeat))
        live = {w.token for w in everyone if w not in dead} | {token}
        owners = store.owners(db, names)
        share = math.ceil(len(names) / len(live))
        mine = {c for c, owner in owners.items() if owner == token}
        for c in sorted(mine - set(busy), reverse=True):
            if len(mine) <= share:
                break
            store.hand_back(db, c, token)
            mine.discard(c)
        for c, owner in owners.items():
            if len(mine) >= share:
                break
            if owner == token or (owner is not None and owner in live):
                continue
            if store.take_lease(db, c, token, owner):
                mine.add(c)
    return mine


def holds(db: Store, token: str, connector: str) -> bool:
    """Whether ``connector``'s lease is still ours (checked right before a poll)."""
    return store.lease_owner(db, connector) == token
