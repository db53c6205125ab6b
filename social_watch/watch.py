"""The watch loop: poll every connector on its own interval, remind before the breach, guard health.

Why a loop of its own and not cron: staff start it in the morning and rely on it all day, so
it must survive a failing network (backoff, one failure never stops the others), a slow one
(each connector polls in its own worker thread with its own SQLite connection), a crash (its
state lives in the database: reminders are recorded before they are sent, so a restart never
sends one twice) and a second copy started by mistake (one lock row per database).

The loop runs on its own ``schedule.Scheduler`` with an injected clock and sleep. Each job is
a plain function over ``(db, …, now)`` so tests drive it with a frozen clock and never sleep:
``plan_next`` (backoff, rate limits) here, ``remind`` and ``expire_claims`` in ``reminders``,
the lock, poll state, ``check_health`` and ``status`` in ``watch_state``; ``warm_rollups``
(hourly, in its own worker) keeps the ``stats``/``digest`` per-day rollups of the last month
computed, so reports rarely start cold.

Tables (migration ``0004_watch``): ``watch_lock`` (who runs, heartbeat), ``watch_connectors``
(last poll, next poll, backoff, health), ``reminders`` (item × threshold), ``watch_state``
(the day of the last digest).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import logging
import os
import random
import signal
import sys
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from time import perf_counter
from typing import Any, TextIO

import schedule

from social_watch import db as dbmod
from social_watch import watch_workers as workers
from social_watch.clock import Clock, from_db, iso, utcnow
from social_watch.config import Config
from social_watch.connector import Connector
from social_watch.errors import ConfigError, SocialWatchError
from social_watch.logs import LiveLine, restore, route_through
from social_watch.polling import FAILED, OK, RATE_LIMITED, ConnectorReport
from social_watch.queue import SlaSettings
from social_watch.reminders import expire_claims, remind
from social_watch.store import is_postgres
from social_watch.store import watch as store
from social_watch.store.base import Store
from social_watch.watch_state import (
    HEARTBEAT_EVERY,
    Sender,
    WatchLocked,
    acquire_lock,
    check_health,
    connector_rows,
    ensure_connectors,
    heartbeat,
    human,
    read_lock,
    record_result,
    release_lock,
    sender,
)

log = logging.getLogger("social_watch.watch")

MAX_BACKOFF = timedelta(minutes=30)
JITTER = 0.25  # a failed connector waits up to 25 % longer, so retries do not bunch up
RESUME_MARGIN = timedelta(seconds=1)  # reset times are stored to the second
MORE_DELAY = timedelta(seconds=1)  # a burst cut by the page limit is read on at once
STOP_GRACE = 3.0  # seconds a running poll gets to finish on SIGTERM
WARM_DELAY = timedelta(minutes=1)  # the first polls and reminders go first
WARM_EVERY = timedelta(hours=1)
WARM_DAYS = 30


# --- polling: when next -----------------------------------------------------------------


def backoff_delay(
    failures: int,
    interval: timedelta,
    rand: Callable[[], float] = random.random,
    cap: timedelta = MAX_BACKOFF,
) -> timedelta:
    """interval × 2^(failures-1), up to 25 % jitter on top, never above ``cap`` (or interval)."""
    cap = max(cap, interval)
    base = interval * (2 ** min(max(failures - 1, 0), 30))
    return min(cap, base * (1 + JITTER * rand()))


def plan_next(
    report: ConnectorReport,
    now: datetime,
    interval: timedelta,
    failures: int,
    rand: Callable[[], float] = random.random,
) -> tuple[datetime, int]:
    """(next poll, consecutive failures) after a poll: a success resets the backoff, a rate
    limit resumes right after its reset (never before), any other failure backs off."""
    if report.status == OK:
        more = any(s.more for s in report.sources)
        return now + (MORE_DELAY if more else interval), 0
    reset = report.rate_limit_reset
    if report.status == RATE_LIMITED and reset is not None:
        return max(reset, now) + RESUME_MARGIN, failures
    failures += 1
    return now + backoff_delay(failures, interval, rand), failures


# --- digest and spike check (their modules land in parallel) ------------------------------


def optional(module: str, attr: str) -> Callable[..., Any] | None:
    """``social_watch.<module>.<attr>`` if that module exists yet, else None (debug log)."""
    try:
        mod = importlib.import_module(f"social_watch.{module}")
    except ModuleNotFoundError as exc:
        if exc.name != f"social_watch.{module}":
            raise
        log.debug("social_watch.%s is not installed; skipping", module)
        return None
    fn = getattr(mod, attr, None)
    if fn is None:
        log.debug("social_watch.%s has no %s; skipping", module, attr)
    return fn


def parse_hhmm(value: str, key: str = "watch.digest_at") -> time:
    try:
        h, m = value.strip().split(":")
        return time(int(h), int(m))
    except ValueError:
        raise ConfigError(f"expected a local time HH:MM, got {value!r}", key=key) from None


def _state(db: Store, key: str) -> str | None:
    return store.get_state(db, key)


def _set_state(db: Store, key: str, value: str | None) -> None:
    with dbmod.write(db):
        store.set_state(db, key, value)


def digest_if_due(db: Store, config: Config, env: Mapping[str, str], now: datetime) -> bool:
    """Send the daily digest once per local day, at or after ``[watch] digest_at``.

    The day is recorded before sending (never twice, even after a restart); a failed send
    clears it and is retried ten minutes later.
    """
    at = (config.section("watch") or {}).get("digest_at")
    if not at:
        return False
    from social_watch.pipeline import business_hours

    hours = business_hours(config)
    local = now.astimezone(hours.tz) if hours else now
    if local.time() < parse_hhmm(at):
        return False
    day = local.date().isoformat()
    retry = from_db(_state(db, "digest_retry_at"))
    if _state(db, "digest_sent_for") == day or (retry is not None and now < retry):
        return False
    fn = optional("digest", "send_daily_digest")
    if fn is None:
        return False
    _set_state(db, "digest_sent_for", day)
    try:
        sent = fn(db, config, env, now)
    except SocialWatchError as exc:
        _set_state(db, "digest_sent_for", None)
        _set_state(db, "digest_retry_at", iso(now + timedelta(minutes=10)))
        log.error("daily digest not sent: %s", exc)
        return False
    log.info("daily digest for %s sent: %s", day, getattr(sent, "subject", sent))
    return True


def alerts_check(db: Store, config: Config, env: Mapping[str, str], now: datetime) -> Any:
    fn = optional("alerts", "check_and_notify")
    if fn is None:
        return None
    run = fn(db, config, env, now)
    if getattr(run, "exit_code", 0):
        log.warning("spike alert fired")
    return run


def warm_rollups(db: Store, config: Config, now: datetime, days: int = WARM_DAYS) -> dict[str, int]:
    """Store the per-day rollups that ``stats`` (every ``--hours`` the config allows) and
    ``digest`` reports over the last ``days`` days read, so the first report of the day is
    as fast as the next; returns, per scope, how many days were (re)computed."""
    from social_watch import digest, stats
    from social_watch.pipeline import business_hours

    done = stats.warm(db, now=now, hours=business_hours(config), days=days)
    done.update(digest.warm(db, config, now, days))
    return done


# --- the loop ---------------------------------------------------------------------------


@dataclass
class Slot:
    """One connector in the loop: its schedule, backoff, and the connection its worker uses."""

    name: str
    connector: Connector
    interval: timedelta
    quiet_period: timedelta
    next_poll: datetime
    failures: int = 0
    running: bool = False
    db: Store | None = None
    pipeline: Any = None  # built in the worker on first poll, then reused
    last: str = "waiting"


@dataclass
class _Job:
    """A background job (housekeeping, rollups) that never runs twice at once."""

    name: str
    running: bool = False
    db: Store | None = None


class Watch:
    """The loop. ``start`` builds connectors and takes the lock; ``run`` loops until stopped.

    ``threaded=False`` runs every job inline (tests); ``clock``, ``sleep`` and ``rand`` are
    injected so the jobs can be driven without waiting.
    """

    def __init__(
        self,
        db_path: str | Path,
        config: Config,
        env: Mapping[str, str],
        *,
        clock: Clock = utcnow,
        sleep: Callable[[float], Any] | None = None,
        rand: Callable[[], float] = random.random,
        send: Sender | None = None,
        threaded: bool = True,
        tick: float = 1.0,
        housekeeping_every: float = 5.0,
        heartbeat_every: timedelta = HEARTBEAT_EVERY,
        status_stream: TextIO | LiveLine | None = None,
        password_env: str | None = None,
    ):
        self.db_path: str | Path = db_path if is_postgres(db_path) else Path(db_path)
        self.password_env = password_env or config.password_env
        self.config = config
        self.env = env
        self.clock = clock
        self.stop_event = threading.Event()
        self.sleep = sleep or (lambda seconds: self.stop_event.wait(seconds))
        self.rand = rand
        self.send = send or sender(config, env)
        self.threaded = threaded
        self.tick = tick
        self.housekeeping_every = housekeeping_every
        self.heartbeat_every = heartbeat_every
        self.status_stream = status_stream
        self.token = uuid.uuid4().hex
        self.scheduler = schedule.Scheduler()
        self.slots: dict[str, Slot] = {}
        self.housekeeper = _Job("housekeeping")
        self.warmer = _Job("rollups")
        self.warm_next: datetime | None = None
        self.exit_code = 0
        self.started: datetime | None = None
        self._db: Store | None = None
        self._threads: list[threading.Thread] = []
        self._alerts_next: datetime | None = None
        self.shared = False  # several loops on one database (PostgreSQL; known at start)
        self.leader = False  # this loop runs the daily jobs (on SQLite: the only loop)
        self.held: set[str] = set()  # connectors this loop polls now
        watch = config.section("watch") or {}
        self.reminders = bool(watch.get("reminders", True))
        self.alert_every: timedelta = watch.get("alert_every") or timedelta(minutes=10)
        if watch.get("digest_at"):
            parse_hhmm(watch["digest_at"])
        q = config.queue
        from social_watch.pipeline import business_hours

        self.sla = SlaSettings(business_hours(config), q["at_risk"], q["urgent"], q["claim_ttl"])

    def _connect(self) -> Store:
        return dbmod.connect(self.db_path, password_env=self.password_env)

    @property
    def db(self) -> Store:
        if self._db is None:
            self._db = self._connect()
        return self._db

    # --- life cycle ---
    def start(self) -> None:
        from social_watch import polling

        connectors = polling.build_all(self.config, self.env, clock=self.clock)
        now = self.clock()
        self.shared = self.db.dialect == "postgresql"
        try:
            self.leader = self._take_lead(now)
        except BaseException:
            for c in connectors:
                c.close()
            raise
        self.started = now
        specs = {}
        for c in connectors:
            opts = self.config.connectors.get(c.name, {})
            specs[c.name] = (
                opts.get("interval") or timedelta(seconds=60),
                opts.get("quiet_period") or timedelta(hours=24),
            )
        rows = ensure_connectors(self.db, specs, now)
        workers.register(self.db, self.token, now, self.heartbeat_every)
        self.held = workers.balance(self.db, self.token, specs, now)
        for c in connectors:
            row = rows[c.name]
            planned = from_db(row["next_poll_at"])
            self.slots[c.name] = Slot(
                c.name,
                c,
                specs[c.name][0],
                specs[c.name][1],
                planned if planned and planned > now else now,
                row["failures"],
            )
        self._alerts_next = now
        self.warm_next = now + WARM_DELAY
        # schedule logs every job run at debug: at --log-level debug it would drown the rest
        logging.getLogger("schedule").setLevel(logging.INFO)
        every: Any = self.scheduler.every  # takes float seconds, though typed int
        every(self.tick).seconds.do(self._guarded, "dispatch", self.dispatch)
        every(self.housekeeping_every).seconds.do(
            self._guarded, "housekeeping", self.spawn_housekeeping
        )
        every(self.housekeeping_every).seconds.do(self._guarded, "rollups", self.spawn_warm)
        every(self.heartbeat_every.total_seconds()).seconds.do(
            self._guarded, "heartbeat", self.beat
        )
        if self.status_stream is not None:
            every(self.tick).seconds.do(self._guarded, "status", self.status_line)
        names = ", ".join(f"{s.name} every {human(s.interval)}" for s in self.slots.values())
        log.info("watching %s (pid %d)", names or "no connectors (queue only)", os.getpid())
        if self.shared:
            log.info(
                "worker %s: polls %s; %s",
                self.token[:8],
                ", ".join(sorted(self.held)) or "nothing yet (the others hold every connector)",
                "runs the daily jobs" if self.leader else "another worker runs the daily jobs",
            )

    def _take_lead(self, now: datetime) -> bool:
        """Take ``watch_lock``: on SQLite the one-loop lock (a live holder: WatchLocked), on
        PostgreSQL the right to run the daily jobs, which a live holder keeps."""
        try:
            previous = acquire_lock(
                self.db,
                now,
                token=self.token,
                heartbeat_every=self.heartbeat_every,
                taking_over=not self.shared,
            )
        except WatchLocked:
            if not self.shared:
                raise
            return False
        if previous is not None:
            log.warning("took over the lock of a dead watch loop (%s)", previous.describe())
        return True

    def request_stop(self, *_: Any) -> None:
        self.stop_event.set()

    def run(self) -> int:
        """Loop until SIGINT/SIGTERM (or ``request_stop``); returns the exit code."""
        self.start()
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, self.request_stop)
        try:
            self.dispatch()
            self.spawn_housekeeping()
            while not self.stop_event.is_set():
                self.scheduler.run_pending()
                if self.stop_event.is_set():
                    break
                self.sleep(self.tick)
        finally:
            self.shutdown()
        return self.exit_code

    def shutdown(self) -> None:
        """Let running polls finish (a few seconds at most), then release everything."""
        self.stop_event.set()
        deadline = STOP_GRACE
        for t in self._threads:
            start = utcnow()
            t.join(timeout=max(deadline, 0.0))
            deadline -= (utcnow() - start).total_seconds()
        busy = [s.name for s in self.slots.values() if s.running]
        if busy:
            log.warning(
                "stopping while %s still polls; its uncommitted page is read again next time",
                ", ".join(busy),
            )
        for s in self.slots.values():
            if not s.running:
                s.connector.close()
                if s.db is not None:
                    s.db.close()
        for job in (self.housekeeper, self.warmer):
            if not job.running and job.db is not None:
                job.db.close()
        if self.status_stream is not None:
            with contextlib.suppress(Exception):
                if isinstance(self.status_stream, LiveLine):
                    self.status_stream.end()
                else:
                    self.status_stream.write("\n")
                    self.status_stream.flush()
        if self.started is not None:
            try:
                if self.leader:
                    release_lock(self.db, self.token)
                workers.leave(self.db, self.token)
            except Exception:
                log.exception("could not release the watch lock")
        log.info("watch loop stopped")

    # --- jobs ---
    def _guarded(self, name: str, fn: Callable[[], Any]) -> None:
        """An exception in a job is logged and the loop goes on."""
        try:
            fn()
        except Exception:
            log.exception("watch job %s failed; continuing", name)

    def _spawn(self, name: str, fn: Callable[[], None]) -> None:
        if not self.threaded:
            fn()
            return
        t = threading.Thread(target=fn, name=name, daemon=True)
        self._threads = [x for x in self._threads if x.is_alive()]
        self._threads.append(t)
        t.start()

    def dispatch(self) -> None:
        """Start a poll for every connector whose time has come and that is not polling.

        A poll due before the next tick starts now rather than a whole tick late; the slack is
        under RESUME_MARGIN, so a rate-limited connector still never polls before its reset.
        """
        now = self.clock() + timedelta(seconds=min(self.tick / 2, 0.5))
        for slot in self.slots.values():
            if slot.running or now < slot.next_poll or self.stop_event.is_set():
                continue
            if slot.name not in self.held:  # another worker polls it
                continue
            slot.running = True
            self._spawn(f"poll-{slot.name}", functools.partial(self._poll_worker, slot))

    def _poll_worker(self, slot: Slot) -> None:
        try:
            if self.shared and not self._still_held(slot):
                return
            self.poll(slot)
        except Exception:
            log.exception("%s: poll crashed; will retry", slot.name)
            slot.failures += 1
            slot.next_poll = self.clock() + backoff_delay(slot.failures, slot.interval, self.rand)
        finally:
            slot.running = False

    def _slot_db(self, slot: Slot) -> Store:
        """The connection a connector's worker thread keeps."""
        if slot.db is None:
            slot.db = self._connect()
        return slot.db

    def _still_held(self, slot: Slot) -> bool:
        """Right before a poll: is the lease ours (it moves only if we were taken for dead)?"""
        if workers.holds(self._slot_db(slot), self.token, slot.name):
            return True
        self.held.discard(slot.name)
        log.warning("%s: another worker polls it now; not polling here", slot.name)
        return False

    def poll(self, slot: Slot) -> ConnectorReport:
        """One poll of one connector on the worker's own connection; records the result."""
        from social_watch import polling
        from social_watch.pipeline import Pipeline

        db = self._slot_db(slot)
        try:
            if slot.pipeline is None:
                slot.pipeline = Pipeline(self.config, self.clock)
            report = polling.poll_connector(db, slot.pipeline, slot.connector)
        except Exception as exc:
            log.debug("%s: poll failed", slot.name, exc_info=True)
            report = ConnectorReport(slot.name, FAILED, f"unexpected {type(exc).__name__}")
        now = self.clock()
        slot.next_poll, slot.failures = plan_next(
            report, now, slot.interval, slot.failures, self.rand
        )
        record_result(db, slot.name, report, now, slot.next_poll, slot.failures)
        slot.last = self._describe(report, slot)
        level = logging.INFO if report.status == OK else logging.WARNING
        log.log(level, "%s: %s", slot.name, slot.last, extra={"connector": slot.name})
        return report

    def _describe(self, report: ConnectorReport, slot: Slot) -> str:
        nxt = slot.next_poll.strftime("%H:%M:%S")
        if report.status == OK:
            return (
                f"ok, fetched {report.total('fetched')}, new {report.total('new')}, "
                f"duplicates {report.total('duplicates')}; next poll {nxt}"
            )
        if report.status == RATE_LIMITED and report.rate_limit_reset:
            return f"rate limited until {iso(report.rate_limit_reset)}; resuming {nxt}"
        # The reason names the connector already: "hackernews: GET … failed: …".
        reason = (report.reason or "").removeprefix(f"{slot.name}: ")
        if report.status != FAILED or " failed" not in reason:
            reason = f"{report.status}: {reason}"
        return f"{reason}; retry {nxt} (failure {slot.failures})"

    def _spawn_job(self, job: _Job, fn: Callable[[Store], Any]) -> None:
        """Run ``fn`` in a worker on the job's own connection, unless it is still running."""
        if job.running or self.stop_event.is_set():
            return
        job.running = True

        def work() -> None:
            try:
                if job.db is None:
                    job.db = self._connect()
                fn(job.db)
            finally:
                job.running = False

        self._spawn(job.name, work)

    def spawn_housekeeping(self) -> None:
        if self.leader:
            self._spawn_job(self.housekeeper, self.housekeeping)

    def spawn_warm(self) -> None:
        """Warm the report rollups a minute after the start, then hourly (see ``warm``)."""
        now = self.clock()
        if not self.leader or self.warm_next is None or now < self.warm_next or self.warmer.running:
            return
        self.warm_next = now + WARM_EVERY
        self._spawn_job(self.warmer, lambda db: self._guarded("rollups", lambda: self.warm(db)))

    def warm(self, db: Store) -> dict[str, int]:
        """Compute the rollups of the last whole days that no valid one covers (seconds for
        a month of a busy brand, a few queries once warm), so reports rarely start cold."""
        start = perf_counter()
        done = warm_rollups(db, self.config, self.clock())
        took = perf_counter() - start
        computed = ", ".join(f"{k} {n}" for k, n in done.items() if n) or "none"
        log.info("report rollups warm in %.1f s (days computed: %s)", took, computed)
        return done

    def housekeeping(self, db: Store) -> None:
        """Reminders, expired claims, health, digest and spike check: each guarded alone."""
        now = self.clock()
        if self.reminders:
            self._guarded(
                "reminders",
                lambda: remind(db, now, self.sla, self.send, watching_since=self.started),
            )
        self._guarded("claims", lambda: expire_claims(db, now, self.send))
        self._guarded(
            "health",
            lambda: check_health(db, list(self.slots), now, self.send, started=self.started),
        )
        self._guarded("digest", lambda: digest_if_due(db, self.config, self.env, now))
        if self._alerts_next is not None and now >= self._alerts_next:
            self._alerts_next = now + self.alert_every
            self._guarded("alerts", lambda: alerts_check(db, self.config, self.env, now))

    def beat(self) -> None:
        """Renew the lock (or try to take it: PostgreSQL), this worker's row, its leases."""
        now = self.clock()
        if self.leader and not heartbeat(self.db, self.token, now):
            holder = read_lock(self.db)
            if not self.shared:
                log.error(
                    "another watch loop took over this database (%s); stopping",
                    holder.describe() if holder else "lock released",
                )
                self.exit_code = 2
                self.started = None  # not ours to release
                self.stop_event.set()
                return
            self.leader = False
            log.warning("another worker took over the daily jobs; this one goes on polling")
        elif not self.leader and self.shared:
            self.leader = self._take_lead(now)
            if self.leader:
                log.info("this worker now runs the daily jobs (reminders, digest, alerts)")
        if not workers.beat(self.db, self.token, now, self.heartbeat_every):
            log.warning("the other workers took this one for dead (no heartbeat); rejoining")
        self.rebalance(now)

    def rebalance(self, now: datetime) -> None:
        """Hold this worker's share of the connectors; a connector taken over starts from
        the schedule its last owner stored (next poll, backoff), not from ours."""
        busy = {s.name for s in self.slots.values() if s.running}
        held = workers.balance(self.db, self.token, self.slots, now, busy=busy)
        gained, lost = held - self.held, self.held - held
        if gained:
            rows = connector_rows(self.db)
            for name in sorted(gained):
                slot, row = self.slots[name], rows.get(name)
                planned = from_db(row["next_poll_at"]) if row else None
                slot.next_poll = planned if planned and planned > now else now
                slot.failures = row["failures"] if row else 0
                log.info("%s: this worker polls it now", name)
        for name in sorted(lost):
            log.info("%s: handed over to another worker", name)
        self.held = held

    def status_line(self) -> None:
        """One compact line, rewritten in place on a terminal."""
        from social_watch import queue as q

        assert self.status_stream is not None
        now = self.clock()
        parts = [now.astimezone().strftime("%H:%M:%S")]
        for s in self.slots.values():
            if s.running:
                state = "polling…"
            elif s.name not in self.held:
                state = "polled by another worker"
            elif s.failures:
                state = f"retry in {human(s.next_poll - now)}"
            else:
                state = s.last.split(";")[0] if s.last != "waiting" else "waiting"
            parts.append(f"{s.name} {state}")
        summary = q.summary(self.db, now=now)
        parts.append(f"queue {summary['waiting']} ({summary['overdue']} past target)")
        line = " · ".join(parts)
        if isinstance(self.status_stream, LiveLine):
            self.status_stream.show(line)
            return
        self.status_stream.write("\r\x1b[K" + line[:200])
        self.status_stream.flush()


def run(
    db_path: str | Path,
    config: Config,
    env: Mapping[str, str] | None = None,
    *,
    tick: float = 1.0,
    live: bool | None = None,
    password_env: str | None = None,
) -> int:
    """The loop as `social-watch watch` runs it: a status line on a terminal, log lines not."""
    live = sys.stderr.isatty() if live is None else live
    line = LiveLine(sys.stderr) if live else None
    logged_to = route_through(line) if line is not None else None
    watch = Watch(
        db_path,
        config,
        os.environ if env is None else env,
        tick=tick,
        housekeeping_every=max(tick, min(5.0, tick * 5)),
        status_stream=line,
        password_env=password_env,
    )
    try:
        return watch.run()
    finally:
        restore(logged_to)
