"""What the watch loop writes and `social-watch status` reads: lock, poll state, health.

One loop per database: ``watch_lock`` holds its pid, host, start and heartbeat, and a second
loop reads who holds it; a holder whose process is gone (same host) or whose heartbeat is
three heartbeats old is dead and taken over. ``watch_connectors`` keeps each connector's
last poll and health, so a restart neither forgets a dead connector nor announces it twice.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Self

from social_watch import db as dbmod
from social_watch import notify as notifier
from social_watch.clock import from_db, iso
from social_watch.config import Config
from social_watch.errors import SocialWatchError
from social_watch.polling import OK, ConnectorReport
from social_watch.process import pid_alive
from social_watch.store import watch as store
from social_watch.store.base import Store

log = logging.getLogger("social_watch.watch")

HEARTBEAT_EVERY = timedelta(seconds=5)
STALE_HEARTBEATS = 3  # a holder silent for this many heartbeats is dead
UNHEALTHY_AFTER = 5  # intervals without a successful poll

Sender = Callable[[notifier.Notification], notifier.Delivery]


class WatchLocked(SocialWatchError):
    """Another live watch loop holds this database (exit 2)."""

    exit_code = 2


# --- small helpers ----------------------------------------------------------------------


def human(delta: timedelta) -> str:
    """'45 s', '16 min', '2 h 5 min', '3 d 4 h': ages in notifications and the status line."""
    s = max(int(delta.total_seconds()), 0)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        h, m = divmod(s // 60, 60)
        return f"{h} h {m} min" if m else f"{h} h"
    d, h = divmod(s // 3600, 24)
    return f"{d} d {h} h" if h else f"{d} d"


def deliver(send: Sender, note: notifier.Notification) -> list[str]:
    """Channels that took the note; ``["log"]`` when none is configured (logged instead)."""
    try:
        result = send(note)
    except Exception as exc:  # a channel bug must not stop the loop
        log.warning("notification failed: %s", type(exc).__name__)
        return []
    if result.delivered:
        log.info("%s: sent via %s", note.title, ", ".join(result.delivered))
        return list(result.delivered)
    if not result.failed:
        if note.text or note.fields or note.url:
            log.warning("%s (no [notify] channel configured)\n%s", note.title, note.plain())
        else:  # a one-line notice stays one line
            log.warning("%s (no [notify] channel configured)", note.title)
        return ["log"]
    return []


def sender(config: Config, env: Mapping[str, str]) -> Sender:
    return lambda note: notifier.send(config, env, note)


# --- the lock: one loop per database ----------------------------------------------------


@dataclass(frozen=True)
class LockHolder:
    token: str
    pid: int
    host: str
    since: datetime
    heartbeat: datetime
    heartbeat_every: float

    @classmethod
    def from_row(cls, row: store.HolderRow, **extra: Any) -> Self:
        """From a ``watch_lock`` or ``watch_workers`` row (the same six columns)."""
        since, beat = from_db(row[3]), from_db(row[4])
        assert since is not None and beat is not None
        return cls(row[0], row[1], row[2], since, beat, row[5], **extra)

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}, running since {iso(self.since)}"

    def alive(self, now: datetime, *, taking_over: bool = False) -> bool:
        """Dead when its heartbeat is stale, or (same host) its process is gone. When we are
        taking over, a row with our own pid is a dead predecessor's (the pid was reused)."""
        stale = timedelta(seconds=self.heartbeat_every * STALE_HEARTBEATS)
        if now - self.heartbeat > stale:
            return False
        if self.host == socket.gethostname():
            if taking_over and self.pid == os.getpid():
                return False
            return pid_alive(self.pid)
        return True


def read_lock(db: Store) -> LockHolder | None:
    row = store.lock_row(db)
    return None if row is None else LockHolder.from_row(row)


def acquire_lock(
    db: Store,
    now: datetime,
    *,
    token: str,
    heartbeat_every: timedelta = HEARTBEAT_EVERY,
    taking_over: bool = True,
) -> LockHolder | None:
    """Take the lock; returns the dead holder it replaced, raises WatchLocked if one lives.

    ``taking_over=False`` (several workers on PostgreSQL): a holder with our own pid is a
    live worker of this process, not a dead predecessor."""
    pid, host = os.getpid(), socket.gethostname()
    with dbmod.write(db):
        holder = read_lock(db)
        if (
            holder is not None
            and holder.token != token
            and holder.alive(now, taking_over=taking_over)
        ):
            age = human(now - holder.heartbeat)
            raise WatchLocked(
                f"another watch loop is running on this database: {holder.describe()} "
                f"(last heartbeat {age} ago); stop it first, or wait for it to exit"
            )
        store.put_lock(
            db,
            token=token,
            pid=pid,
            host=host,
            now=iso(now),
            heartbeat_every=heartbeat_every.total_seconds(),
        )
    return holder if holder is not None and holder.token != token else None


def heartbeat(db: Store, token: str, now: datetime) -> bool:
    """False when the lock is no longer ours (another loop took it over): stop."""
    with dbmod.write(db):
        return store.beat_lock(db, token, iso(now))


def release_lock(db: Store, token: str) -> None:
    with dbmod.write(db):
        store.drop_lock(db, token)


def ensure_connectors(
    db: Store, specs: Mapping[str, tuple[timedelta, timedelta]], now: datetime
) -> dict[str, dict[str, Any]]:
    """One state row per watched connector (interval, quiet period); returns the rows."""
    with dbmod.write(db):
        for name, (interval, quiet) in specs.items():
            store.ensure_connector(
                db,
                name,
                interval=interval.total_seconds(),
                quiet_period=quiet.total_seconds(),
                now=iso(now),
            )
    return {r["connector"]: r for r in store.connectors(db)}


def record_result(
    db: Store,
    name: str,
    report: ConnectorReport,
    now: datetime,
    next_poll: datetime,
    failures: int,
) -> None:
    ok = report.status == OK
    new = report.total("new")
    with dbmod.write(db):
        store.record_poll_result(
            db,
            name,
            now=iso(now),
            status=report.status,
            fetched=report.total("fetched"),
            new=new,
            duplicates=report.total("duplicates"),
            skipped=report.total("skipped"),
            error=None if ok else report.reason,
            rate_limit_reset=iso(report.rate_limit_reset),
            next_poll=iso(next_poll),
            failures=failures,
            ok=ok,
        )
        store.set_state(db, f"cannot_poll:{name}", report.cannot_poll or None)


def connector_rows(db: Store) -> dict[str, dict[str, Any]]:
    """Each watched connector's state, with ``cannot_poll`` (why its last poll could not
    poll at all: 'missing secret', 'auth', 'unreachable'; else None)."""
    rows = store.connectors_with_state(db)
    return {r["connector"]: r for r in rows}


# --- the silent-failure guard -----------------------------------------------------------


def assess(row: Mapping[str, Any], now: datetime, started: datetime | None = None) -> str | None:
    """Why a connector is unhealthy, or None. Baselines never predate the loop's start, so a
    loop restarted after a weekend does not cry wolf before its first poll."""
    since = from_db(row["watched_since"]) or now
    # An unhealthy connector recovers only on evidence, not because the loop restarted.
    floor = max(since, started) if started and row["healthy"] else since
    interval = timedelta(seconds=row["interval"])
    reason = cannot_poll(row, floor)
    if reason:
        return reason
    last_ok = max(from_db(row["last_success_at"]) or floor, floor)
    if now - last_ok >= interval * UNHEALTHY_AFTER:
        error = f" (last error: {row['error']})" if row["error"] else ""
        return f"no successful poll for {human(now - last_ok)}{error}"
    last_new = max(from_db(row["last_mention_at"]) or floor, floor)
    if now - last_new >= timedelta(seconds=row["quiet_period"]):
        return f"no new mention for {human(now - last_new)} (quiet_period exceeded)"
    return None


def cannot_poll(row: Mapping[str, Any], since: datetime) -> str | None:
    """A connector that has failed every poll since ``since`` (a missing secret, an auth error,
    a refused connection): unhealthy at once, not after five intervals of silence. A rate
    limit is waiting, not failing."""
    last_poll = from_db(row["last_poll_at"])
    if last_poll is None or last_poll < since or not row.get("cannot_poll"):
        return None
    last_ok = from_db(row["last_success_at"])
    if last_ok is not None and last_ok >= since:
        return None
    tries = "the first try" if (row["failures"] or 1) <= 1 else f"all {row['failures']} tries"
    error = f" (last error: {row['error']})" if row["error"] else ""
    return f"cannot poll: {tries} since {iso(since)} failed{error}"


def check_health(
    db: Store,
    names: list[str],
    now: datetime,
    send: Sender,
    *,
    started: datetime | None = None,
) -> list[notifier.Notification]:
    """One notice when a connector turns unhealthy and one when it recovers; state in the DB."""
    sent = []
    rows = connector_rows(db)
    for name in names:
        row = rows.get(name)
        if row is None:
            continue
        reason = assess(row, now, started)
        if (reason is None) == bool(row["healthy"]):
            continue
        with dbmod.write(db):
            store.set_health(db, name, healthy=reason is None, reason=reason, at=iso(now))
        if reason is not None:
            note = notifier.Notification(
                f"social-watch: {name} looks unhealthy",
                f"{name}: {reason}. Mentions may be missed until it recovers.",
                fields={"Check": f"social-watch check --connector {name}"},
            )
        else:
            changed = from_db(row["health_changed_at"])
            was = f" after {human(now - changed)}" if changed else ""
            note = notifier.Notification(
                f"social-watch: {name} recovered",
                f"{name} is polling and finding mentions again{was}.",
            )
        if deliver(send, note) != ["log"]:  # with no channel, deliver has logged it whole
            log.warning("%s", note.title + (f": {reason}" if reason else ""))
        sent.append(note)
    return sent


# --- status (for `social-watch status`) ---------------------------------------------------


def status(db: Store, config: Config, now: datetime) -> dict[str, Any]:
    """What `status` prints; ``problems`` is empty when all is well (exit 0)."""
    from social_watch import queue as q
    from social_watch import registry
    from social_watch.watch_workers import workers

    holder = read_lock(db)
    alive = holder is not None and holder.alive(now)
    leader = holder.token if holder is not None and alive else None
    team = workers(db)
    if not alive:  # PostgreSQL: the daily jobs move to a live worker at its next beat
        holder = next((w for w in team if w.alive(now)), holder)
        alive = holder is not None and holder.alive(now)
    loop: dict[str, Any] = {"alive": alive}
    if holder is not None:
        loop.update(
            pid=holder.pid,
            host=holder.host,
            since=iso(holder.since),
            heartbeat=iso(holder.heartbeat),
            heartbeat_age_seconds=int((now - holder.heartbeat).total_seconds()),
        )
    live = {w.token for w in team if w.alive(now)}
    polled = {c for w in team if w.token in live for c in w.sources}
    workers_out = [
        {
            "pid": w.pid,
            "host": w.host,
            "since": iso(w.since),
            "heartbeat_age_seconds": int((now - w.heartbeat).total_seconds()),
            "alive": w.token in live,
            "runs_daily_jobs": w.token == leader,
            "connectors": list(w.sources),
        }
        for w in team
    ]
    names = registry.configured(config)
    rows = connector_rows(db)
    problems: list[str] = []
    if names and not alive:
        problems.append(
            "no watch loop is running"
            if holder is None
            else f"the watch loop ({holder.describe()}) stopped: "
            f"last heartbeat {human(now - holder.heartbeat)} ago"
        )
    connectors = []
    for name in names:
        row = rows.get(name)
        if row is None:
            connectors.append({"connector": name, "last_poll_at": None, "healthy": None})
            continue
        reason = assess(row, now, holder.since if alive and holder else None) if alive else None
        if not alive and not row["healthy"]:
            reason = row["health_reason"]
        if reason is None and alive and team and name not in polled:
            reason = "no live worker polls it (a worker's config lacks it, or one just died)"
        if reason:
            problems.append(f"{name}: {reason}")
        entry: dict[str, Any] = {
            "connector": name,
            "last_poll_at": row["last_poll_at"],
            "result": row["last_status"],
            "fetched": row["fetched"],
            "new": row["new"],
            "error": row["error"],
            "rate_limit_reset": row["rate_limit_reset"],
            "next_poll_at": row["next_poll_at"] if alive else None,
            "failures": row["failures"],
            "last_success_at": row["last_success_at"],
            "last_mention_at": row["last_mention_at"],
            "healthy": reason is None,
            "health_reason": reason,
        }
        connectors.append(entry)
    summary = q.summary(db, now=now)
    oldest = from_db(summary["oldest_created_at"])
    return {
        "ok": not problems,
        "problems": problems,
        "loop": loop,
        "workers": workers_out,
        "connectors": connectors,
        "queue": {
            "waiting": summary["waiting"],
            "past_target": summary["overdue"],
            "claimed": summary["claimed"],
            "oldest_created_at": summary["oldest_created_at"],
            "oldest_age_seconds": int((now - oldest).total_seconds()) if oldest else None,
        },
    }
