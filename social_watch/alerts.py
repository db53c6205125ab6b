"""Negative-spike alerts: wake someone when complaints pile up, stay quiet otherwise.

Cron (`social-watch alert`) and the watch loop call the same ``check_and_notify``. The rule
is ``detect``, a pure function over counts, so it is tested without a database; the SQL
(counting, examples, state) is in ``store.alerts``. The rule, as the README ("Spike
alerts") documents it:

- **Samples.** The window (default 60 min, ending now) is compared with the same clock
  window on each of the previous days of the baseline (default 7 days: 7 samples), so
  Monday 09:00 meets 09:00 on other days, never Sunday night. A baseline shorter than a day,
  or a window of a day or more, uses the consecutive windows before this one instead.
  Windows that start before the first stored mention are not samples (no invented zeros);
  with fewer than ``MIN_SAMPLES`` the rule says "not enough history" and never fires.
- **Volume.** ``z = 0.6745 · (x − median) / spread`` with ``spread = max(MAD, 1, √median)``.
  The floor matters for sparse counts, where MAD is often 0 (any single extra complaint
  would be infinitely unusual); √median is the spread of a Poisson count, 1 keeps quiet
  hours sane. Fires when ``x ≥ min_count`` and ``z ≥ z_threshold`` and
  ``x ≥ factor · median``.
- **Share.** Fires when the window's negative share exceeds the pooled baseline share by
  ``share_delta``, the window holds ``≥ share_min_total`` mentions and ``x ≥ min_count``:
  a crisis can show as a shift in tone before volume grows.
- **Scopes.** All mentions (scope ``*``) and each ``[alerts.groups]`` keyword group
  (case-insensitive substring of the text), each with its own state.
- **Cool-down.** State per scope lives in ``alert_state``. The first firing run pages
  (exit 1). While the spike lasts, runs within ``cooldown`` of the last page say it is still
  going on (exit 0); after it, a still-firing spike pages again as a reminder. The first calm
  run after the cool-down is the all-clear (a recovery notice if ``recovery_notice``). A page
  that reached no channel does not start the cool-down, so the next run tries again.
"""

from __future__ import annotations

import contextlib
import json
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from social_watch.clock import from_db, iso
from social_watch.config import Config
from social_watch.store import alerts as alert_store
from social_watch.store.base import Store

if TYPE_CHECKING:
    from social_watch.alert_report import Summary

OVERALL = "*"
MIN_SAMPLES = 3
MAD_K = 0.6745  # makes MAD comparable with a standard deviation (normal data)
DAY = timedelta(days=1)
EVENTS_THAT_PAGE = ("fired", "reminder")


# --- the rule (pure) --------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    """Negative and all mentions (kind 'mention') in one window."""

    negative: int
    total: int

    @property
    def share(self) -> float | None:
        return self.negative / self.total if self.total else None


@dataclass(frozen=True)
class Rule:
    min_count: int = 5
    factor: float = 3.0
    z_threshold: float = 3.5
    share_delta: float = 0.25
    share_min_total: int = 20

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> Rule:
        return cls(
            min_count=section["min_count"],
            factor=section["factor"],
            z_threshold=section["z_threshold"],
            share_delta=section["share_delta"],
            share_min_total=section["share_min_total"],
        )


@dataclass(frozen=True)
class Verdict:
    """What the rule saw and why it did or did not fire: every number an alert quotes."""

    observed: int
    total: int
    samples: tuple[int, ...]
    median: float
    mad: float
    spread: float  # the MAD after its floor: what z divides by
    z: float | None
    ratio: float | None  # observed / median; None when the median is 0
    share: float | None
    baseline_share: float | None
    rules: tuple[str, ...]  # 'volume', 'share': the ones that fired
    reason: str

    @property
    def fired(self) -> bool:
        return bool(self.rules)

    @property
    def judged(self) -> bool:
        """Enough baseline samples to say spike or calm (else "not enough history")."""
        return len(self.samples) >= MIN_SAMPLES

    def as_dict(self) -> dict[str, Any]:
        return {
            "fired": self.fired,
            "judged": self.judged,
            "rules": list(self.rules),
            "reason": self.reason,
            "observed": self.observed,
            "total": self.total,
            "baseline": {
                "samples": list(self.samples),
                "median": self.median,
                "mad": self.mad,
                "spread": round(self.spread, 4),
            },
            "z": _round(self.z),
            "ratio": _round(self.ratio),
            "share": _round(self.share),
            "baseline_share": _round(self.baseline_share),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def spread(median: float, mad: float) -> float:
    """MAD with its floor for sparse counts: max(MAD, 1, √median)."""
    return max(mad, 1.0, math.sqrt(max(median, 0.0)))


def detect(window: Counts, baseline: Sequence[Counts], rule: Rule) -> Verdict:
    """Does this window stand clearly above its baseline samples? Pure: counts in, verdict out."""
    x = window.negative
    samples = tuple(c.negative for c in baseline)
    base_total = sum(c.total for c in baseline)
    baseline_share = sum(samples) / base_total if base_total else None
    if len(samples) < MIN_SAMPLES:
        return Verdict(
            x,
            window.total,
            samples,
            0.0,
            0.0,
            1.0,
            None,
            None,
            window.share,
            baseline_share,
            (),
            f"not enough history: {len(samples)} baseline sample(s), {MIN_SAMPLES} needed",
        )
    median = float(statistics.median(samples))
    mad = float(statistics.median(abs(s - median) for s in samples))
    s = spread(median, mad)
    z = MAD_K * (x - median) / s
    ratio = x / median if median else None
    volume_misses = []
    if x < rule.min_count:
        volume_misses.append(f"{x} < min_count {rule.min_count}")
    if z < rule.z_threshold:
        volume_misses.append(f"z {z:.2f} < {rule.z_threshold:g}")
    if x < rule.factor * median:
        volume_misses.append(f"{x} < {rule.factor:g} × median {median:g}")
    rules: list[str] = []
    reasons: list[str] = []
    if not volume_misses:
        rules.append("volume")
        factor = f"{ratio:.1f}× the median" if ratio is not None else "median 0"
        reasons.append(
            f"volume: {x} ≥ min_count {rule.min_count}, z {z:.2f} ≥ {rule.z_threshold:g}, "
            f"{factor} (≥ {rule.factor:g}×)"
        )
    share = window.share
    share_fired = (
        share is not None
        and baseline_share is not None
        and window.total >= rule.share_min_total
        and x >= rule.min_count
        and share - baseline_share >= rule.share_delta
    )
    if share_fired:
        assert share is not None and baseline_share is not None
        rules.append("share")
        reasons.append(
            f"share: {share:.0%} negative vs {baseline_share:.0%} baseline "
            f"(+{(share - baseline_share) * 100:.0f} points ≥ {rule.share_delta * 100:g}) "
            f"over {window.total} mentions"
        )
    reason = "; ".join(reasons) if rules else "calm: " + ", ".join(volume_misses)
    return Verdict(
        x,
        window.total,
        samples,
        median,
        mad,
        s,
        z,
        ratio,
        share,
        baseline_share,
        tuple(rules),
        reason,
    )


def sample_ends(now: datetime, window: timedelta, baseline: timedelta) -> list[datetime]:
    """Ends of the baseline windows: same clock time on previous days, else the windows before."""
    step = DAY if baseline >= DAY and window < DAY else window
    n = int(baseline / step)
    return [now - k * step for k in range(1, n + 1)]


def decide(state: Mapping[str, Any] | None, fired: bool, now: datetime, cooldown: timedelta) -> str:
    """The cool-down state machine, pure: fired, reminder, ongoing, settling, recovered, calm."""
    if not state or state.get("status") != "active":
        return "fired" if fired else "calm"
    alerted = from_db(state.get("alerted_at"))
    if alerted is None:  # the last page reached nobody: try again
        return "fired" if fired else "recovered"
    cooled = now - alerted >= cooldown
    if fired:
        return "reminder" if cooled else "ongoing"
    return "recovered" if cooled else "settling"


# --- counting (the SQL is in store.alerts) ---------------------------------------------


def count_windows(
    db: Store, groups: Mapping[str, Sequence[str]], ends: Sequence[datetime], window: timedelta
) -> list[dict[str, Counts]]:
    """Counts per scope for each window (start, end]; one indexed range query per window."""
    sql, params = alert_store.window_counts_sql(groups)
    out = []
    with db.snapshot():  # every window counted on the same committed state
        for end in ends:
            row = alert_store.window_counts(db, sql, params, end - window, end)
            counts = {OVERALL: Counts(negative=row[1], total=row[0])}
            for i, name in enumerate(groups):
                counts[name] = Counts(negative=row[3 + 2 * i], total=row[2 + 2 * i])
            out.append(counts)
    return out


def first_mention_at(db: Store) -> datetime | None:
    return from_db(alert_store.first_mention_at(db))


# --- one run ----------------------------------------------------------------------------


@dataclass
class ScopeResult:
    scope: str  # '*' or the group name
    keywords: tuple[str, ...]
    event: str  # fired, reminder, ongoing, settling, recovered, calm
    verdict: Verdict
    summary: Summary | None = None
    started_at: datetime | None = None
    next_alert_at: datetime | None = None

    @property
    def label(self) -> str:
        return "all mentions" if self.scope == OVERALL else f"group {self.scope}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "keywords": list(self.keywords),
            "event": self.event,
            **self.verdict.as_dict(),
            "started_at": iso(self.started_at),
            "next_alert_at": iso(self.next_alert_at),
            "summary": self.summary.as_dict() if self.summary else None,
        }


@dataclass
class AlertRun:
    """The outcome of one check: per scope what happened, and where the news went."""

    now: datetime
    window: timedelta
    baseline: timedelta
    scopes: list[ScopeResult]
    recorded: bool = True
    delivered: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def fired(self) -> bool:
        return any(s.event in EVENTS_THAT_PAGE for s in self.scopes)

    @property
    def exit_code(self) -> int:
        return 1 if self.fired else 0

    @property
    def status(self) -> str:
        events = {s.event for s in self.scopes}
        for status in ("fired", "reminder", "ongoing", "settling", "recovered"):
            if status in events:
                return status
        if self.scopes and not any(s.verdict.judged for s in self.scopes):
            return "not_enough_history"  # exit 0, but not "calm": nothing could be judged
        return "calm"

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "fired": self.fired,
            "now": iso(self.now),
            "window": {
                "start": iso(self.now - self.window),
                "end": iso(self.now),
                "minutes": self.window.total_seconds() / 60,
            },
            "baseline_days": self.baseline.total_seconds() / 86400,
            "recorded": self.recorded,
            "delivered": self.delivered,
            "failed": self.failed,
            "scopes": [s.as_dict() for s in self.scopes],
        }


def evaluate(
    db: Any,
    config: Config,
    now: datetime,
    *,
    window: timedelta | None = None,
    baseline: timedelta | None = None,
) -> tuple[list[tuple[str, tuple[str, ...], Verdict]], timedelta, timedelta]:
    """The verdict for every scope at ``now``, without reading or writing any state."""
    section = config.section("alerts")
    window = window or section["window"]
    baseline = baseline or section["baseline"]
    groups = {name: tuple(words) for name, words in section["groups"].items()}
    first = first_mention_at(db)
    ends = [e for e in sample_ends(now, window, baseline) if first and e - window >= first]
    counted = count_windows(db, groups, [now, *ends], window)
    rule = Rule.from_config(section)
    scopes: list[tuple[str, tuple[str, ...]]] = [(OVERALL, ()), *groups.items()]
    verdicts = [
        (scope, words, detect(counted[0][scope], [c[scope] for c in counted[1:]], rule))
        for scope, words in scopes
    ]
    return verdicts, window, baseline


def check(
    db: Any,
    config: Config,
    now: datetime,
    *,
    window: timedelta | None = None,
    baseline: timedelta | None = None,
    record: bool = True,
) -> AlertRun:
    """Evaluate every scope, apply the cool-down, record state and events (unless ``record``)."""
    from social_watch import db as dbmod
    from social_watch.alert_report import summarize
    from social_watch.stopwords import brand_words

    verdicts, window, baseline = evaluate(db, config, now, window=window, baseline=baseline)
    cooldown: timedelta = config.section("alerts")["cooldown"]
    skip = brand_words(config)  # the brand's own name is never a term of its alert
    results: list[ScopeResult] = []
    with dbmod.write(db) if record else contextlib.nullcontext():
        if record:
            # Two checks at once (cron and a watch loop, or two workers on PostgreSQL) take
            # turns, so the second reads the state the first committed and pages nobody twice.
            db.lock("alerts")
        for scope, words, verdict in verdicts:
            state = _state(db, scope)
            event = decide(state, verdict.fired, now, cooldown)
            result = ScopeResult(scope, words, event, verdict)
            if event in ("fired", "reminder", "ongoing"):
                result.summary = summarize(
                    db, words if scope != OVERALL else None, now - window, now, skip=skip
                )
            if record:
                _record(db, state, result, now)
            started = from_db(state.get("started_at")) if state else None
            result.started_at = now if event == "fired" else started
            alerted = now if event in EVENTS_THAT_PAGE else from_db((state or {}).get("alerted_at"))
            if event in ("fired", "reminder", "ongoing", "settling") and alerted:
                result.next_alert_at = alerted + cooldown
            results.append(result)
    return AlertRun(now, window, baseline, results, recorded=record)


def _state(db: Store, scope: str) -> dict[str, Any] | None:
    return alert_store.state(db, scope)


def _record(db: Store, state: Mapping[str, Any] | None, result: ScopeResult, now: datetime) -> None:
    event = result.event
    details = json.dumps(result.as_dict(), ensure_ascii=False, default=str)
    if event == "calm":
        return  # nothing changed; calm runs leave no rows behind
    if event == "fired":
        alert_store.start_alert(db, result.scope, now, details)
    elif event == "reminder":
        alert_store.remind(db, result.scope, now, details)
    elif event == "ongoing":
        alert_store.still_firing(db, result.scope, now, details)
    elif event == "settling":
        alert_store.set_details(db, result.scope, details)
    elif event == "recovered":
        alert_store.recover(db, result.scope, now, details)
    if event in ("fired", "reminder", "recovered"):
        alert_store.add_event(db, result.scope, event, now, details)


def check_and_notify(
    db: Any,
    config: Config,
    env: Mapping[str, str],
    now: datetime,
    *,
    window: timedelta | None = None,
    baseline: timedelta | None = None,
    notify: bool = True,
    record: bool = True,
    transport: Any = None,
) -> AlertRun:
    """What cron and the watch loop call: check, record, then tell the configured channels.

    State is committed before anything is sent (a crash can lose a page, never send two);
    a page that reached no channel clears ``alerted_at`` so the next run pages again.
    """
    from social_watch import notify as notifier
    from social_watch.alert_report import notification, recovery_notification

    run = check(db, config, now, window=window, baseline=baseline, record=record)
    if not notify or not notifier.channels(config):
        return run
    paged = [s for s in run.scopes if s.event in EVENTS_THAT_PAGE]
    recovered = [s for s in run.scopes if s.event == "recovered"]
    notes: list[tuple[list[ScopeResult], notifier.Notification]] = []
    if paged:
        notes.append((paged, notification(config, run, paged)))
    if recovered and config.section("alerts")["recovery_notice"]:
        notes.append((recovered, recovery_notification(config, run, recovered)))
    for scopes, note in notes:
        delivery = notifier.send(config, env, note, transport=transport)
        run.delivered += [c for c in delivery.delivered if c not in run.delivered]
        run.failed.update(delivery.failed)
        if record:
            _record_delivery(db, scopes, now, delivery.delivered, delivery.failed)
    return run


def _record_delivery(
    db: Any,
    scopes: Sequence[ScopeResult],
    now: datetime,
    delivered: list[str],
    failed: Mapping[str, str],
) -> None:
    from social_watch import db as dbmod

    with dbmod.write(db):
        for s in scopes:
            alert_store.record_delivery(db, s.scope, s.event, now, delivered, failed)
            if not delivered and s.event in EVENTS_THAT_PAGE:
                alert_store.clear_alerted(db, s.scope)
