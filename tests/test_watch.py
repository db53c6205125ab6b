"""The watch loop's jobs with an injected clock: no sleeping, real SQLite.

Backoff and rate-limit resume, one slow connector not holding up another, reminders once per
threshold (and not again after a restart), one health notice and one recovery, expired
claims, the digest once a day, the lock, and `status` as a monitoring check.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from helpers import NOW, make_config, mention, open_db, pipeline, rows

from social_watch import notify, queue, reminders, watch, watch_state
from social_watch.clock import iso
from social_watch.connector import Connector, PollResult, Source
from social_watch.errors import AuthError, RateLimited, TransientError, Unreachable
from social_watch.polling import FAILED, OK, RATE_LIMITED, ConnectorReport
from social_watch.runner import PollSummary

pytestmark = pytest.mark.usefixtures("backend")

# --- fakes ------------------------------------------------------------------------------

SCRIPT: dict[str, list[Any]] = {}  # connector name -> what each poll does, in order
CALLS: dict[str, int] = {}
INSIDE = threading.Event()  # set when a poll starts waiting on its Event


class Scripted(Connector):
    """Each poll takes the next step of SCRIPT[name]: an exception to raise, a list of
    mentions to return, or an Event to wait for (a slow network). Empty script: no mentions."""

    name = "alpha"
    network = "x"
    options: ClassVar[dict[str, str]] = {}

    def sources(self) -> list[Source]:
        return [Source(self.name, "search", "q")]

    def poll(self, source: Source, cursor: Any) -> PollResult:
        CALLS[self.name] = CALLS.get(self.name, 0) + 1
        steps = SCRIPT.get(self.name) or []
        step = steps.pop(0) if steps else []
        if isinstance(step, BaseException):
            raise step
        if isinstance(step, threading.Event):
            INSIDE.set()
            assert step.wait(5)
            step = []
        return PollResult(list(step), {"n": CALLS[self.name]})


class Alpha(Scripted):
    name = "alpha"


class Beta(Scripted):
    name = "beta"


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> datetime:
        self.now += timedelta(**kw)
        return self.now


class Outbox:
    """A Sender that records notifications; ``fail`` makes every channel fail."""

    def __init__(self) -> None:
        self.notes: list[notify.Notification] = []
        self.fail = False

    def __call__(self, note: notify.Notification) -> notify.Delivery:
        if self.fail:
            return notify.Delivery(failed={"webhook": "503"})
        self.notes.append(note)
        return notify.Delivery(delivered=["webhook"])

    def titles(self) -> list[str]:
        return [n.title for n in self.notes]


@pytest.fixture(autouse=True)
def _reset_script() -> None:
    SCRIPT.clear()
    CALLS.clear()
    INSIDE.clear()


def config(**sections: Any) -> Any:
    connectors = sections.pop(
        "connectors",
        {"alpha": {"class": "test_watch:Alpha", "interval": "60s", "quiet_period": "1h"}},
    )
    return make_config({"connectors": connectors, **sections})


def make_watch(tmp_path: Path, clock: Clock, outbox: Outbox, cfg: Any = None, **kw: Any) -> Any:
    w = watch.Watch(
        tmp_path / "sw.db",
        cfg or config(),
        {},
        clock=clock,
        rand=lambda: 0.0,
        send=outbox,
        threaded=kw.pop("threaded", False),
        **kw,
    )
    w.start()
    return w


# --- backoff and the next poll ------------------------------------------------------------


def report(status: str, reset: datetime | None = None, more: bool = False) -> ConnectorReport:
    kind = "rate_limited" if status == RATE_LIMITED else None if status == OK else "transient"
    s = PollSummary("alpha:search:q", more=more, error_kind=kind, rate_limit_reset=reset)
    if status != OK:
        s.error = "boom"
    return ConnectorReport("alpha", status, None if status == OK else "boom", [s])


def test_backoff_is_exponential_jittered_and_capped() -> None:
    minute = timedelta(minutes=1)
    assert [watch.backoff_delay(n, minute, lambda: 0.0) for n in (1, 2, 3, 4)] == [
        minute,
        2 * minute,
        4 * minute,
        8 * minute,
    ]
    assert watch.backoff_delay(2, minute, lambda: 1.0) == 2.5 * minute  # 25 % jitter at most
    assert watch.backoff_delay(40, minute, lambda: 1.0) == watch.MAX_BACKOFF
    # an interval longer than the cap is never shortened by the cap
    assert watch.backoff_delay(3, timedelta(hours=2), lambda: 0.0) == timedelta(hours=2)


def test_plan_next_success_resets_failure_backs_off_rate_limit_waits_for_reset() -> None:
    minute = timedelta(minutes=1)
    nxt, failures = watch.plan_next(report(FAILED), NOW, minute, 2, lambda: 0.0)
    assert (nxt, failures) == (NOW + 4 * minute, 3)
    assert watch.plan_next(report(OK), NOW, minute, 3) == (NOW + minute, 0)
    assert watch.plan_next(report(OK, more=True), NOW, minute, 0)[0] == NOW + watch.MORE_DELAY
    reset = NOW + timedelta(seconds=90)
    assert watch.plan_next(report(RATE_LIMITED, reset), NOW, minute, 1) == (
        reset + watch.RESUME_MARGIN,
        1,
    )


def test_loop_backs_off_a_failing_connector_and_resets_after_success(tmp_path: Path) -> None:
    clock, outbox = Clock(), Outbox()
    SCRIPT["alpha"] = [TransientError("alpha: 503"), TransientError("alpha: 503"), []]
    w = make_watch(tmp_path, clock, outbox)
    slot = w.slots["alpha"]
    w.dispatch()
    assert CALLS["alpha"] == 1 and slot.failures == 1
    assert slot.next_poll == NOW + timedelta(seconds=60)
    clock.advance(seconds=59)
    w.dispatch()
    assert CALLS["alpha"] == 1  # not before its backoff
    clock.advance(seconds=1)
    w.dispatch()
    assert CALLS["alpha"] == 2 and slot.failures == 2
    assert slot.next_poll == clock.now + timedelta(seconds=120)
    clock.advance(seconds=120)
    w.dispatch()
    assert CALLS["alpha"] == 3 and slot.failures == 0
    assert slot.next_poll == clock.now + timedelta(seconds=60)
    (state,) = rows(w.db, "SELECT * FROM watch_connectors")
    assert state["last_status"] == "ok" and state["failures"] == 0 and state["error"] is None
    assert state["last_success_at"] == iso(clock.now)
    assert state["next_poll_at"] == iso(clock.now + timedelta(seconds=60))


def test_rate_limited_connector_resumes_right_after_reset_and_not_before(tmp_path: Path) -> None:
    clock, outbox = Clock(), Outbox()
    reset = NOW + timedelta(seconds=300)
    SCRIPT["alpha"] = [RateLimited("alpha: 429", reset_at=reset), []]
    w = make_watch(tmp_path, clock, outbox)
    w.dispatch()
    (state,) = rows(w.db, "SELECT * FROM watch_connectors")
    assert state["last_status"] == "rate_limited" and state["rate_limit_reset"] == iso(reset)
    for at in (NOW + timedelta(seconds=60), reset - timedelta(seconds=1), reset):
        clock.now = at
        w.dispatch()
        assert CALLS["alpha"] == 1, at
    clock.now = reset + watch.RESUME_MARGIN
    w.dispatch()
    assert CALLS["alpha"] == 2
    # a restarted loop honours a reset recorded by the previous one
    clock.advance(seconds=60)
    later = clock.now + timedelta(hours=1)
    SCRIPT["alpha"] = [RateLimited("alpha: 429", reset_at=later)]
    w.dispatch()
    w.shutdown()
    again = make_watch(tmp_path, clock, outbox)
    assert again.slots["alpha"].next_poll == later + watch.RESUME_MARGIN


def test_a_crashing_job_is_logged_and_the_loop_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock, outbox = Clock(), Outbox()
    SCRIPT["alpha"] = [ZeroDivisionError("bug in a connector")]
    w = make_watch(tmp_path, clock, outbox)
    w.dispatch()  # the runner turns a connector bug into a failed poll
    assert w.slots["alpha"].failures == 1

    def broken() -> None:
        raise RuntimeError("job bug")

    w._guarded("reminders", broken)
    assert "watch job reminders failed" in caplog.text
    w.scheduler.every(1).seconds.do(w._guarded, "broken", broken)
    w.scheduler.run_all()  # nothing propagates out of the scheduler
    clock.advance(seconds=60)
    w.dispatch()
    assert CALLS["alpha"] == 2


def test_a_slow_poll_does_not_delay_another_connector_and_never_runs_twice(
    tmp_path: Path,
) -> None:
    clock, outbox = Clock(), Outbox()
    cfg = config(
        connectors={
            "alpha": {"class": "test_watch:Alpha", "interval": "10s"},
            "beta": {"class": "test_watch:Beta", "interval": "10s"},
        }
    )
    slow = threading.Event()
    SCRIPT["alpha"] = [slow]
    SCRIPT["beta"] = [[], []]
    w = make_watch(tmp_path, clock, outbox, cfg, threaded=True)
    try:
        w.dispatch()
        assert INSIDE.wait(5)  # alpha hangs in its network call
        beta = w._threads[-1]
        beta.join(5)
        assert CALLS["beta"] == 1 and w.slots["alpha"].running
        clock.advance(seconds=10)
        w.dispatch()  # alpha still hangs: not polled again; beta polls on time
        w._threads[-1].join(5)
        assert CALLS == {"alpha": 1, "beta": 2}
        w.spawn_housekeeping()  # reminders and health are not blocked either
        w._threads[-1].join(5)
        assert not w.housekeeper.running
    finally:
        slow.set()
        w.shutdown()
    assert not w.slots["alpha"].running and CALLS["alpha"] == 1


# --- reminders ----------------------------------------------------------------------------


def ingest(db: Any, *mentions: Any) -> None:
    pipeline().ingest(db, list(mentions))


def sla() -> queue.SlaSettings:
    return queue.SlaSettings(at_risk=0.5, urgent=0.8)


def test_reminders_once_per_threshold_and_never_again_after_a_restart(tmp_path: Path) -> None:
    db = open_db(tmp_path)
    # created at NOW, target 30 min: at risk at 15 min, urgent at 24, breached at 30
    ingest(db, mention("1", "@shopexample my parcel never arrived, awful", minutes_ago=0))
    outbox = Outbox()
    assert reminders.remind(db, NOW + timedelta(minutes=14), sla(), outbox) == []
    assert reminders.remind(db, NOW + timedelta(minutes=15), sla(), outbox) == [(1, "at_risk")]
    assert reminders.remind(db, NOW + timedelta(minutes=16), sla(), outbox) == []
    assert reminders.remind(db, NOW + timedelta(minutes=24), sla(), outbox) == [(1, "urgent")]
    db.close()
    db = open_db(tmp_path)  # a restart: the same thresholds are not sent again
    assert reminders.remind(db, NOW + timedelta(minutes=25), sla(), outbox) == []
    assert reminders.remind(db, NOW + timedelta(minutes=30), sla(), outbox) == [(1, "breached")]
    assert reminders.remind(db, NOW + timedelta(hours=3), sla(), outbox) == []
    assert outbox.titles() == [
        "Mention 1 is at risk: x, 15 min old",
        "Mention 1 is urgent: x, 24 min old",
        "Mention 1 is past its target: x, 30 min old",
    ]
    note = outbox.notes[0]
    assert note.url == "https://x.com/alice/status/1"
    assert note.fields["Sentiment"] == "negative" and note.fields["Network"] == "x"
    assert note.fields["Claim"] == "social-watch claim 1"
    assert note.fields["Age"] == "15 min (due in 15 min)"
    assert "never arrived" in note.text
    recorded = rows(db, "SELECT threshold, delivered FROM reminders ORDER BY at")
    assert [(r["threshold"], json.loads(r["delivered"])) for r in recorded] == [
        ("at_risk", ["webhook"]),
        ("urgent", ["webhook"]),
        ("breached", ["webhook"]),
    ]


def test_an_item_found_late_gets_only_its_highest_threshold(tmp_path: Path) -> None:
    db = open_db(tmp_path)
    ingest(db, mention("1", minutes_ago=0))
    outbox = Outbox()
    assert reminders.remind(db, NOW + timedelta(minutes=40), sla(), outbox) == [(1, "breached")]
    assert len(outbox.notes) == 1
    assert reminders.remind(db, NOW + timedelta(minutes=41), sla(), outbox) == []


def test_answered_items_get_no_reminder_and_many_at_once_are_grouped(tmp_path: Path) -> None:
    db = open_db(tmp_path)
    ingest(db, *[mention(str(i), handle=f"user{i}", minutes_ago=0) for i in range(1, 8)])
    queue.close(db, 7, "jana", now=NOW, status="done")
    outbox = Outbox()
    sent = reminders.remind(db, NOW + timedelta(minutes=15), sla(), outbox)
    assert sorted(sent) == [(i, "at_risk") for i in range(1, 7)]
    (note,) = outbox.notes
    assert note.title == "6 mentions are at risk"
    assert "social-watch claim 3" in note.text and "@user3" in note.text


def test_a_second_loop_on_the_same_database_sends_nothing_twice(tmp_path: Path) -> None:
    """Two watch loops (PostgreSQL, several machines) read the same due reminders. The
    second runs while the first is sending item 2's: it leaves item 2 alone (recorded
    before sending) and sends item 1's; the first, coming to item 1 with what it read
    before, finds it taken (the record is a conditional claim, not an overwrite)."""
    db = open_db(tmp_path)
    # at NOW + 15 min: item 1 (written 9 min before NOW) is urgent, item 2 at risk
    ingest(db, mention("1", handle="bob", minutes_ago=9), mention("2", minutes_ago=0))
    other = open_db(tmp_path)  # the second loop's own connection
    at = NOW + timedelta(minutes=15)
    outbox = Outbox()
    by_other: list[list[tuple[int, str]]] = []

    def send(note: notify.Notification) -> notify.Delivery:
        if not by_other:
            by_other.append(reminders.remind(other, at, sla(), outbox))
        return outbox(note)

    assert reminders.remind(db, at, sla(), send) == [(2, "at_risk")]
    assert by_other == [[(1, "urgent")]]
    assert sorted(outbox.titles()) == [
        "Mention 1 is urgent: x, 24 min old",
        "Mention 2 is at risk: x, 15 min old",
    ]
    assert reminders.remind(other, at + timedelta(minutes=1), sla(), outbox) == []
    assert len(outbox.notes) == 2
    other.close()


def test_a_reminder_no_channel_took_is_retried_a_minute_later(tmp_path: Path) -> None:
    db = open_db(tmp_path)
    ingest(db, mention("1", minutes_ago=0))
    outbox = Outbox()
    outbox.fail = True
    at = NOW + timedelta(minutes=15)
    reminders.remind(db, at, sla(), outbox)
    outbox.fail = False
    assert reminders.remind(db, at + timedelta(seconds=30), sla(), outbox) == []
    assert reminders.remind(db, at + timedelta(seconds=61), sla(), outbox) == [(1, "at_risk")]
    assert len(outbox.notes) == 1


def test_reminders_can_be_switched_off(tmp_path: Path) -> None:
    clock, outbox = Clock(NOW), Outbox()
    ingest(open_db(tmp_path), mention("1", minutes_ago=10))
    w = make_watch(tmp_path, clock, outbox, config(watch={"reminders": False}))
    w.housekeeping(w.db)
    clock.advance(minutes=10)
    w.housekeeping(w.db)
    assert not any(t.startswith("Mention") for t in outbox.titles())
    w.shutdown()
    clock.now = NOW
    on = make_watch(tmp_path, clock, outbox)
    on.housekeeping(on.db)
    clock.advance(minutes=10)  # crosses at risk (15 min) while the loop watches
    on.housekeeping(on.db)
    assert "Mention 1 is at risk: x, 20 min old" in outbox.titles()


# --- the silent-failure guard -------------------------------------------------------------


def test_health_notice_once_when_quiet_and_once_on_recovery(tmp_path: Path) -> None:
    clock, outbox = Clock(), Outbox()
    w = make_watch(tmp_path, clock, outbox)  # interval 60s, quiet_period 1h
    for _ in range(80):  # polls every minute, successfully, but finds nothing
        w.dispatch()
        w.housekeeping(w.db)
        clock.advance(minutes=1)
    assert outbox.titles() == ["social-watch: alpha looks unhealthy"]
    assert "no new mention for 1 h" in outbox.notes[0].text
    (state,) = rows(w.db, "SELECT health_changed_at FROM watch_connectors")
    assert state["health_changed_at"] == iso(NOW + timedelta(hours=1))
    assert len(outbox.notes) == 1
    SCRIPT["alpha"] = [[mention("9", now=clock.now)]]
    w.dispatch()
    w.housekeeping(w.db)
    w.housekeeping(w.db)
    assert outbox.titles()[1:] == ["social-watch: alpha recovered"]
    (state,) = rows(w.db, "SELECT healthy, health_reason FROM watch_connectors")
    assert state == {"healthy": 1, "health_reason": None}


def test_health_notice_after_five_intervals_without_a_successful_poll(tmp_path: Path) -> None:
    clock, outbox = Clock(), Outbox()
    SCRIPT["alpha"] = [TransientError("alpha: GET /search → 503")] * 10
    w = make_watch(tmp_path, clock, outbox)
    w.dispatch()
    clock.advance(minutes=4)
    w.housekeeping(w.db)
    assert outbox.notes == []
    clock.advance(minutes=1)
    w.housekeeping(w.db)
    (note,) = outbox.notes
    assert "no successful poll for 5 min (last error: alpha: GET /search → 503)" in note.text
    # the status check agrees, and a restarted loop does not notify again
    assert watch_state.status(w.db, w.config, clock.now)["problems"][-1].startswith(
        "alpha: no success"
    )
    w.shutdown()
    again = make_watch(tmp_path, clock, outbox)
    again.housekeeping(again.db)
    assert len(outbox.notes) == 1


# --- expired claims -----------------------------------------------------------------------


def test_expired_claim_returns_to_the_queue_and_the_team_is_told(tmp_path: Path) -> None:
    db = open_db(tmp_path)
    ingest(db, mention("1", minutes_ago=0), mention("2", handle="bob", minutes_ago=0))
    queue.claim(db, 1, "jana", now=NOW, ttl=timedelta(minutes=10))
    queue.claim(db, 2, "petr", now=NOW, ttl=timedelta(minutes=10))
    queue.close(db, 2, "petr", now=NOW + timedelta(minutes=5), status="done")
    outbox = Outbox()
    assert reminders.expire_claims(db, NOW + timedelta(minutes=9), outbox) == []
    assert reminders.expire_claims(db, NOW + timedelta(minutes=10), outbox) == [1]
    assert reminders.expire_claims(db, NOW + timedelta(minutes=11), outbox) == []
    (head,) = rows(db, "SELECT status, claimed_by FROM mentions WHERE id = 1")
    assert head == {"status": "open", "claimed_by": None}
    (action,) = rows(db, "SELECT action, details FROM actions WHERE action = 'claim_expired'")
    assert json.loads(action["details"])["was"] == "jana"
    (note,) = outbox.notes
    assert note.title == "Claim expired: mention 1 is back in the queue"
    assert "jana" in note.text and note.fields["Claim"] == "social-watch claim 1"


# --- digest and spike check ---------------------------------------------------------------


def test_daily_digest_once_per_day_retried_after_a_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from social_watch.mailer import MailError

    db = open_db(tmp_path)
    sent: list[datetime] = []
    fail = [True]

    def fake_digest(db: Any, config: Any, env: Any, now: datetime) -> str:
        if fail[0]:
            raise MailError("SMTP down")
        sent.append(now)
        return "digest"

    monkeypatch.setattr(watch, "optional", lambda m, a: fake_digest if m == "digest" else None)
    cfg = config(watch={"digest_at": "08:00"})
    day = datetime(2026, 11, 24, 7, 59, tzinfo=UTC)
    assert not watch.digest_if_due(db, cfg, {}, day)
    assert not watch.digest_if_due(db, cfg, {}, day + timedelta(minutes=1))  # failed
    fail[0] = False
    assert not watch.digest_if_due(db, cfg, {}, day + timedelta(minutes=5))  # waits 10 min
    assert watch.digest_if_due(db, cfg, {}, day + timedelta(minutes=12))
    assert not watch.digest_if_due(db, cfg, {}, day + timedelta(hours=5))
    assert watch.digest_if_due(db, cfg, {}, day + timedelta(days=1, minutes=2))
    assert len(sent) == 2


def test_digest_and_alerts_are_skipped_while_their_modules_are_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    real = importlib.import_module

    def missing(name: str, *a: Any) -> Any:
        if name in ("social_watch.digest", "social_watch.alerts"):
            raise ModuleNotFoundError(name=name)
        return real(name, *a)

    monkeypatch.setattr(importlib, "import_module", missing)
    db = open_db(tmp_path)
    assert watch.optional("digest", "send_daily_digest") is None
    assert not watch.digest_if_due(db, config(watch={"digest_at": "00:00"}), {}, NOW)
    assert watch.alerts_check(db, config(), {}, NOW) is None


@pytest.mark.parametrize(
    ("module", "attr"), [("digest", "send_daily_digest"), ("alerts", "check_and_notify")]
)
def test_the_real_digest_and_alert_functions_take_what_the_loop_passes(
    module: str, attr: str
) -> None:
    import inspect

    pytest.importorskip(f"social_watch.{module}")  # written in parallel; may not be here yet
    fn = watch.optional(module, attr)
    assert fn is not None
    params = list(inspect.signature(fn).parameters)
    assert params[:4] == ["db", "config", "env", "now"]


# --- report rollups kept warm -------------------------------------------------------------

SCOPES = ("stats:all", "stats:business", "stats:off", "digest")


def warm_config() -> Any:
    return config(
        queue={"business_hours": {"timezone": "UTC", "days": "mon-fri"}},
        digest={"competitors": {"othershop": ["othershop"]}},
    )


def rollup_days(db: Any) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for r in rows(db, "SELECT scope, day FROM stats_rollups ORDER BY scope, day"):
        found.setdefault(r["scope"], []).append(r["day"])
    return found


def past_days(end: datetime, n: int) -> list[str]:
    return [(end - timedelta(days=k)).strftime("%Y-%m-%d") for k in range(n, 0, -1)]


def test_rollups_are_warmed_after_start_then_hourly_recomputing_only_changed_days(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from social_watch import digest, stats

    caplog.set_level("INFO", logger="social_watch.watch")
    ingest(
        open_db(tmp_path),
        *[mention(str(k), handle=f"u{k}", now=NOW - timedelta(days=k)) for k in range(1, 8)],
    )
    clock, outbox = Clock(), Outbox()
    w = make_watch(tmp_path, clock, outbox, warm_config())
    assert ("rollups", w.spawn_warm) in [j.job_func.args for j in w.scheduler.jobs]
    w.spawn_warm()
    assert rollup_days(w.db) == {}  # the first polls and reminders go first
    clock.advance(seconds=59)
    w.spawn_warm()
    assert rollup_days(w.db) == {}
    first = clock.advance(seconds=1)
    w.spawn_warm()
    stats_days, digest_days = past_days(NOW, 30), past_days(NOW, 60)
    found = rollup_days(w.db)
    assert {scope: days for scope, days in found.items() if "@" not in scope} == {
        "stats:all": stats_days,
        "stats:business": stats_days,
        "stats:off": stats_days,
        "digest": digest_days,  # a 30-day digest reads the 30 days before, too
    }
    # and the hours of the first day, where today's "last 30 days" start
    hours = {f"stats:{s}@{h:02d}": stats_days[:1] for s in stats.HOURS for h in range(1, 24)}
    assert {scope: days for scope, days in found.items() if "@" in scope} == hours
    assert "report rollups warm in" in caplog.text and "stats:all 30" in caplog.text

    # Every report over those days now reads only rollups (and the partial day of today).
    live: list[Any] = []
    real_live, real_count = stats._compute_live, digest._count_ranges

    def compute_live(conn: Any, hours: Any, select: str, period: Any, ranges: Any, *rest: Any):
        live.extend((select, lo, hi) for lo, hi in ranges)
        return real_live(conn, hours, select, period, ranges, *rest)

    def count_ranges(conn: Any, ranges: Any, voice: Any) -> Any:
        live.extend(("digest", lo, hi) for lo, hi in ranges)
        return real_count(conn, ranges, voice)

    monkeypatch.setattr(stats, "_compute_live", compute_live)
    monkeypatch.setattr(digest, "_count_ranges", count_ranges)
    midnight = NOW.replace(hour=0)
    month = stats.Period(midnight - timedelta(days=30), midnight)
    stats.compute(w.db, period=month, now=first, hours=business_hours_of(w))
    digest.build(w.db, w.config, period=month, now=first)
    assert live == []

    # An hour later nothing changed: no day is computed again.
    clock.advance(minutes=30)
    w.spawn_warm()  # not yet
    clock.advance(minutes=30)
    w.spawn_warm()
    assert live == []
    stamps = {r["computed_now"] for r in rows(w.db, "SELECT computed_now FROM stats_rollups")}
    assert stamps == {iso(first)}
    assert caplog.text.count("report rollups warm in") == 2
    assert "(days computed: none)" in caplog.text

    # One item answered: only its day is computed again, for every scope.
    queue.close(w.db, "x:3", "jana", now=clock.now, status="done")  # written 3 days ago
    second = clock.advance(hours=1)
    w.spawn_warm()
    day = (NOW - timedelta(days=3)).strftime("%Y-%m-%d")
    assert {(s, lo.strftime("%Y-%m-%d"), hi - lo) for s, lo, hi in live} == {
        (s, day, timedelta(days=1)) for s in ("all", "business", "off", "digest")
    }
    again = rows(w.db, "SELECT scope, day FROM stats_rollups WHERE computed_now = ?", iso(second))
    assert sorted((r["scope"], r["day"]) for r in again) == sorted((s, day) for s in SCOPES)
    assert rollup_days(w.db)["stats:all"] == stats_days


def business_hours_of(w: Any) -> Any:
    from social_watch.pipeline import business_hours

    return business_hours(w.config)


def test_a_failing_warm_is_logged_and_the_loop_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    clock, outbox = Clock(), Outbox()
    w = make_watch(tmp_path, clock, outbox)

    def broken(*a: Any) -> Any:
        raise RuntimeError("rollup bug")

    monkeypatch.setattr(watch, "warm_rollups", broken)
    clock.advance(minutes=1)
    w.spawn_warm()
    assert "watch job rollups failed; continuing" in caplog.text and "rollup bug" in caplog.text
    assert not w.warmer.running
    w.dispatch()  # polls go on
    assert CALLS["alpha"] == 1
    monkeypatch.undo()
    clock.advance(minutes=30)
    w.spawn_warm()
    assert rollup_days(w.db) == {}  # retried on the hour, not at every tick
    clock.advance(minutes=30)
    w.spawn_warm()
    assert rollup_days(w.db)["stats:all"] == past_days(clock.now, 30)


def test_a_slow_warm_runs_on_its_own_connection_never_twice_and_blocks_no_poll(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock, outbox = Clock(), Outbox()
    release, inside = threading.Event(), threading.Event()
    calls: list[Any] = []

    def slow(db: Any, config: Any, now: datetime, days: int = 30) -> dict[str, int]:
        calls.append(db)
        inside.set()
        assert release.wait(5)
        return {}

    monkeypatch.setattr(watch, "warm_rollups", slow)
    SCRIPT["alpha"] = [[], []]
    w = make_watch(tmp_path, clock, outbox, threaded=True)
    try:
        clock.advance(minutes=1)
        w.spawn_warm()
        assert inside.wait(5) and w.warmer.running
        clock.advance(hours=2)
        w.spawn_warm()  # still running: not started again
        w.dispatch()  # a poll is not held up
        w._threads[-1].join(5)
        w.spawn_housekeeping()  # nor are reminders
        w._threads[-1].join(5)
        assert CALLS["alpha"] == 1 and not w.housekeeper.running and w.warmer.running
    finally:
        release.set()
        for t in w._threads:
            t.join(5)
        w.shutdown()
    assert len(calls) == 1 and calls[0] is w.warmer.db
    assert calls[0] is not w.db and calls[0] is not w.housekeeper.db


# --- the lock and status ------------------------------------------------------------------


def test_a_second_loop_is_refused_naming_the_first_and_a_dead_one_is_taken_over(
    tmp_path: Path,
) -> None:
    db = open_db(tmp_path)
    watch_state.acquire_lock(db, NOW, token="first")
    with pytest.raises(watch_state.WatchLocked, match=rf"pid {os.getppid()} on .*since {iso(NOW)}"):
        # our own pid counts as dead only when taking over, so fake a live other process
        with db.write():
            db.execute("UPDATE watch_lock SET pid = ?", (os.getppid(),))
        watch_state.acquire_lock(db, NOW + timedelta(seconds=5), token="second")
    # a stale heartbeat (3 heartbeats) is a dead loop, whatever host it ran on
    with db.write():
        db.execute("UPDATE watch_lock SET host = 'elsewhere'")
    with pytest.raises(watch_state.WatchLocked):
        watch_state.acquire_lock(db, NOW + timedelta(seconds=15), token="second")
    previous = watch_state.acquire_lock(db, NOW + timedelta(seconds=16), token="second")
    assert previous is not None and previous.host == "elsewhere"
    assert not watch_state.heartbeat(db, "first", NOW + timedelta(seconds=20))
    assert watch_state.heartbeat(db, "second", NOW + timedelta(seconds=20))
    # same host, process gone: taken over at once
    with db.write():
        db.execute(
            "UPDATE watch_lock SET pid = 999999999, host = ?", (watch_state.socket.gethostname(),)
        )
    assert watch_state.acquire_lock(db, NOW + timedelta(seconds=21), token="third") is not None


def test_status_is_a_monitoring_check(tmp_path: Path, cli: Callable[..., Any]) -> None:
    toml = tmp_path / "social-watch.toml"
    toml.write_text(f'database = "{tmp_path / "sw.db"}"\n', encoding="utf-8")
    db = open_db(tmp_path)
    ingest(db, mention("1", minutes_ago=45))
    result = cli("status", "--config", str(toml), "--json")
    assert result.exit_code == 0  # no connectors: a queue-only setup needs no loop
    data = json.loads(result.output)
    assert data["queue"]["waiting"] == 1 and data["queue"]["past_target"] == 1
    toml.write_text(
        toml.read_text() + '[connectors.alpha]\nclass = "test_watch:Alpha"\n', encoding="utf-8"
    )
    result = cli("status", "--config", str(toml))
    assert result.exit_code == 1 and "no watch loop is running" in result.output
    from social_watch import config as cfgmod

    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    w = make_watch(tmp_path, clock, Outbox(), cfgmod.load(str(toml)))
    w.dispatch()
    result = cli("status", "--config", str(toml), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["loop"]["alive"] and data["loop"]["pid"] == os.getpid()
    (alpha,) = data["connectors"]
    assert alpha["result"] == "ok" and alpha["healthy"] and alpha["next_poll_at"]
    text = cli("status", "--config", str(toml)).output
    assert "watch loop    alive" in text and "alpha" in text and "1 past target" in text
    w.shutdown()
    assert cli("status", "--config", str(toml)).exit_code == 1


def test_status_line_on_a_terminal_is_one_line_rewritten_in_place(tmp_path: Path) -> None:
    import io

    stream = io.StringIO()
    clock, outbox = Clock(), Outbox()
    SCRIPT["alpha"] = [TransientError("alpha: 503")]
    w = make_watch(tmp_path, clock, outbox, status_stream=stream)
    w.status_line()
    w.dispatch()
    w.status_line()
    first, second = stream.getvalue().split("\r\x1b[K")[1:]
    assert "alpha waiting" in first and "queue 0 (0 past target)" in first
    assert "alpha retry in 1 min" in second and "\n" not in second


# --- watch and status tell the truth (issue 11.4) -------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        AuthError("alpha: GET /2/tweets/search/recent → 401", env_var="X_TOKEN"),
        Unreachable(
            "alpha: GET /search failed: cannot connect to 127.0.0.1:9 (connection refused)"
        ),
    ],
)
def test_a_connector_that_cannot_poll_is_unhealthy_at_once(
    tmp_path: Path, error: Exception
) -> None:
    clock, outbox = Clock(), Outbox()
    SCRIPT["alpha"] = [error] * 3
    w = make_watch(tmp_path, clock, outbox)
    w.dispatch()
    data = watch_state.status(w.db, w.config, clock.now)
    (alpha,) = data["connectors"]
    assert not data["ok"] and not alpha["healthy"]
    assert alpha["health_reason"].startswith("cannot poll: the first try since")
    assert str(error) in alpha["health_reason"]
    w.housekeeping(w.db)  # the loop says so at once too, once
    w.housekeeping(w.db)
    assert outbox.titles() == ["social-watch: alpha looks unhealthy"]


def test_a_server_error_on_the_first_poll_is_not_cannot_poll(tmp_path: Path) -> None:
    clock, outbox = Clock(), Outbox()
    SCRIPT["alpha"] = [TransientError("alpha: GET /search → 503")]
    w = make_watch(tmp_path, clock, outbox)
    w.dispatch()
    assert watch_state.status(w.db, w.config, clock.now)["ok"]


def test_status_exits_1_for_a_missing_secret_and_a_refused_connection(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    from conftest import free_port

    from social_watch import config as cfgmod
    from social_watch.clock import utcnow

    port = free_port()  # nothing listens there: connection refused on loopback
    toml = tmp_path / "social-watch.toml"
    toml.write_text(
        f'database = "{tmp_path / "sw.db"}"\n'
        f'[connectors.hackernews]\nbase_url = "http://127.0.0.1:{port}"\nqueries = ["acme"]\n'
        '[connectors.mastodon]\nbase_url = "http://127.0.0.1:9"\n'
        'access_token_env = "SOCIAL_WATCH_MASTODON_TOKEN"\nqueries = ["acme"]\n',
        encoding="utf-8",
    )
    w = watch.Watch(
        tmp_path / "sw.db", cfgmod.load(str(toml)), {}, send=Outbox(), threaded=False, clock=utcnow
    )
    w.start()
    try:
        w.dispatch()
        result = cli("status", "--config", str(toml))
        assert result.exit_code == 1, result.output
        text = result.output
        assert "hackernews" in text and "mastodon" in text and "healthy;" not in text
        assert f"cannot connect to 127.0.0.1:{port} (connection refused)" in text
        assert "SOCIAL_WATCH_MASTODON_TOKEN is not set" in text
        data = json.loads(cli("status", "--config", str(toml), "--json").output)
        assert [c["healthy"] for c in data["connectors"]] == [False, False]
    finally:
        w.shutdown()


def test_a_failed_poll_is_logged_once_without_a_doubled_prefix(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    clock, outbox = Clock(), Outbox()
    SCRIPT["alpha"] = [Unreachable("alpha: GET /search failed: cannot connect to h:1 (x)")]
    w = make_watch(tmp_path, clock, outbox)
    with caplog.at_level(logging.INFO):
        w.dispatch()
    failures = [r.getMessage() for r in caplog.records if "cannot connect" in r.getMessage()]
    warnings = [m for m in failures if m.startswith("alpha")]
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) == 1
    assert warnings[-1].startswith("alpha: GET /search failed: cannot connect to h:1 (x); retry")
    assert "alpha: failed: alpha:" not in caplog.text


def test_log_lines_never_glue_onto_the_live_status_line(tmp_path: Path) -> None:
    import io
    import logging

    from social_watch import logs

    terminal = io.StringIO()
    logs.setup("warning", "text", stream=terminal)
    live = logs.LiveLine(terminal, columns=60)
    previous = logs.route_through(live)
    try:
        live.show("10:00:00 · alpha waiting · queue 3 (1 past target) " + "x" * 40)
        logging.getLogger("social_watch.watch").warning("alpha: boom")
        live.show("10:00:01 · alpha retry in 1 min")
        live.end()
    finally:
        logs.restore(previous)
    screen = terminal.getvalue()
    # what a terminal shows: each \r\x1b[K wipes the line; a line is what is left after it
    shown = [line.split("\r\x1b[K")[-1] for line in screen.split("\n")]
    assert any(line.endswith("alpha: boom") and "queue" not in line for line in shown)
    assert shown[-2] == "10:00:01 · alpha retry in 1 min" and shown[-1] == ""
    assert all(len(line) < 60 for line in shown)  # cut to the width: never wraps


def test_a_backlog_is_one_line_and_reminders_are_for_what_crosses_while_watched(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    db = open_db(tmp_path)
    old = [mention(str(i), handle=f"old{i}", minutes_ago=60 + i) for i in range(1, 39)]
    ingest(db, *old, mention("50", handle="risky", minutes_ago=20))
    ingest(db, mention("60", handle="fresh", minutes_ago=1))
    clock = Clock(NOW)
    no_channel = watch_state.sender(make_config({}), {})
    w = make_watch(tmp_path, clock, no_channel, config(connectors={}))
    with caplog.at_level(logging.WARNING, logger="social_watch.watch"):
        w.housekeeping(w.db)
        w.housekeeping(w.db)
    lines = caplog.text.strip().splitlines()
    assert len(lines) == 1, lines
    assert "38 mentions are past their target, 1 at risk" in lines[0]
    caplog.clear()
    outbox = Outbox()
    w.send = outbox
    clock.advance(minutes=14)  # 'fresh' crosses at risk (15 min), 'risky' its target
    w.housekeeping(w.db)
    assert sorted(outbox.titles()) == [
        "Mention 39 is past its target: x, 34 min old",
        "Mention 40 is at risk: x, 15 min old",
    ]
    # a poll that brings in old mentions (a backfill) is summarised too
    ingest(db, mention("70", handle="late", minutes_ago=90, now=clock.now))
    w.housekeeping(w.db)
    assert outbox.titles()[-1].startswith("1 mention is past its target (already waiting")
