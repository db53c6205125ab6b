"""When a mention is due, and how close it is to breaking the first-answer promise.

The product promises a first public answer within a target (30 minutes by default). Some
teams only staff the queue during business hours; for them the SLA clock must pause at
night, at weekends and on holidays, or every Monday would start with a wall of "breached"
items nobody could have answered. This module is the single place that turns
"created at X, target T" into a due time and "now" into an SLA state, so the queue, the
reminders and the reports all agree.

Design notes:

* Every datetime must be timezone-aware; naive ones raise ``ValueError`` because guessing a
  zone silently shifts deadlines by hours. Results are always UTC.
* ``due_at`` runs once per ingested mention, so the no-hours path is a single addition and
  the business-hours path walks whole days (skipping nights, weekends and holidays
  arithmetically) instead of stepping minute by minute.
* Business hours are wall-clock times in ``hours.tz``; each working day's window is turned
  into a UTC interval ``[start, end)`` with ``zoneinfo``, so DST changes are honoured (a
  window that contains a DST switch is one hour shorter or longer that day). A window
  boundary that falls into a DST gap or overlap resolves as ``zoneinfo`` does with
  ``fold=0`` (the offset in force before the switch).
* Durations are summed as ``timedelta`` (exact microseconds), so
  ``business_seconds(c, due_at(c, t), h) == t.total_seconds()`` holds exactly.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "SLA_STATES",
    "BusinessHours",
    "business_seconds",
    "due_at",
    "sla_state",
]

SLA_STATES = ("ok", "at_risk", "urgent", "breached")

_ZERO = timedelta(0)
_ONE_DAY = timedelta(days=1)

_DAY_NAMES: dict[str, int] = {}
for _index, _names in enumerate(
    (
        ("mon", "monday"),
        ("tue", "tues", "tuesday"),
        ("wed", "wednesday"),
        ("thu", "thur", "thurs", "thursday"),
        ("fri", "friday"),
        ("sat", "saturday"),
        ("sun", "sunday"),
    )
):
    for _name in _names:
        _DAY_NAMES[_name] = _index

_TIME_RE = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


def _require_aware(value: datetime, name: str) -> datetime:
    """Return ``value`` in UTC; refuse naive datetimes."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError(
            f"{name} is a naive datetime ({value.isoformat()}); a time zone is required"
        )
    return value.astimezone(UTC)


def _parse_day(text: str) -> int:
    key = text.strip().lower()
    if key not in _DAY_NAMES:
        raise ValueError(f"unknown day {text!r}; use mon, tue, wed, thu, fri, sat or sun")
    return _DAY_NAMES[key]


def _parse_days(days: str | Sequence[str]) -> frozenset[int]:
    """'mon-fri', 'mon,wed,fri', 'sat-mon' (wraps), or a list of such items."""
    items: list[str] = []
    if isinstance(days, str):
        items = days.split(",")
    else:
        for item in days:
            if not isinstance(item, str):
                raise ValueError(f"day {item!r} must be a string like 'mon'")
            items.extend(item.split(","))
    result: set[int] = set()
    for raw in items:
        item = raw.strip()
        if not item:
            continue
        if "-" in item:
            first_text, _, last_text = item.partition("-")
            try:
                first, last = _parse_day(first_text), _parse_day(last_text)
            except ValueError:
                raise ValueError(
                    f"bad day range {item!r}; expected e.g. 'mon-fri' with mon … sun"
                ) from None
            day = first
            result.add(day)
            while day != last:
                day = (day + 1) % 7
                result.add(day)
        else:
            result.add(_parse_day(item))
    if not result:
        raise ValueError(f"days {days!r} names no working day; the SLA clock would never run")
    return frozenset(result)


def _parse_time(text: str, name: str) -> time:
    if not isinstance(text, str):
        raise ValueError(f"{name} time {text!r} must be a string like '09:00'")
    match = _TIME_RE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"bad {name} time {text!r}; expected HH:MM, e.g. '09:00'")
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"bad {name} time {text!r}; hours 00-23, minutes 00-59")
    return time(hour, minute, second)


def _parse_holiday(text: str) -> date:
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        raise ValueError(f"bad holiday {text!r}; expected a date YYYY-MM-DD") from None


@dataclass(frozen=True)
class BusinessHours:
    """Working hours in one time zone: the SLA clock runs only inside them.

    ``days`` uses ``date.weekday()`` numbers (0 = Monday … 6 = Sunday). ``start``/``end``
    are local wall-clock times with ``end > start`` (no overnight shifts). ``holidays``
    are local dates on which the clock does not run at all.
    """

    tz: ZoneInfo
    days: frozenset[int]
    start: time
    end: time
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        # Validated here too (not only in parse) so a hand-built instance with no working
        # days can never make due_at loop forever.
        if not isinstance(self.tz, tzinfo):
            raise ValueError(f"tz {self.tz!r} must be a zoneinfo.ZoneInfo")
        if not self.days:
            raise ValueError("days is empty; at least one working day is required")
        bad_days = sorted(repr(d) for d in self.days if not isinstance(d, int) or not 0 <= d <= 6)
        if bad_days:
            raise ValueError(
                f"days {', '.join(bad_days)} out of range; use 0 (Monday) … 6 (Sunday)"
            )
        for name, value in (("start", self.start), ("end", self.end)):
            if not isinstance(value, time) or value.tzinfo is not None:
                raise ValueError(
                    f"{name} {value!r} must be a naive datetime.time (local wall time)"
                )
        if self.end <= self.start:
            raise ValueError(
                f"end {self.end.isoformat()} must be after start {self.start.isoformat()}"
                " (overnight shifts are not supported)"
            )
        for holiday in self.holidays:
            if isinstance(holiday, datetime) or not isinstance(holiday, date):
                raise ValueError(f"holiday {holiday!r} must be a datetime.date")
        if not isinstance(self.days, frozenset):
            object.__setattr__(self, "days", frozenset(self.days))
        if not isinstance(self.holidays, frozenset):
            object.__setattr__(self, "holidays", frozenset(self.holidays))

    @classmethod
    def parse(
        cls,
        *,
        timezone: str,
        days: str | Sequence[str],
        start: str,
        end: str,
        holidays: Sequence[str] = (),
    ) -> BusinessHours:
        """Build from config text; raise ``ValueError`` naming the bad value."""
        try:
            tz = ZoneInfo(str(timezone).strip())
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise ValueError(
                f"unknown time zone {timezone!r}; use an IANA name like 'Europe/Prague'"
            ) from None
        if isinstance(holidays, str):
            holidays = [holidays]
        return cls(
            tz=tz,
            days=_parse_days(days),
            start=_parse_time(start, "start"),
            end=_parse_time(end, "end"),
            holidays=frozenset(_parse_holiday(h) for h in holidays),
        )

    def _window(self, day: date) -> tuple[datetime, datetime] | None:
        """The UTC interval ``[start, end)`` worked on local ``day``, or None if not worked."""
        if day.weekday() not in self.days or day in self.holidays:
            return None
        opens = datetime.combine(day, self.start, self.tz).astimezone(UTC)
        closes = datetime.combine(day, self.end, self.tz).astimezone(UTC)
        if closes <= opens:  # only possible when a boundary sits in a DST gap
            return None
        return opens, closes

    def contains(self, when: datetime) -> bool:
        """True when ``when`` lies inside business hours (start inclusive, end exclusive)."""
        moment = _require_aware(when, "when")
        window = self._window(moment.astimezone(self.tz).date())
        return window is not None and window[0] <= moment < window[1]

    def _windows_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working windows that end after ``moment`` (UTC), in order, forever."""
        day = moment.astimezone(self.tz).date()
        while True:
            window = self._window(day)
            if window is not None and window[1] > moment:
                yield window
            day += _ONE_DAY


def due_at(created: datetime, target: timedelta, hours: BusinessHours | None = None) -> datetime:
    """The UTC moment by which ``target`` of (business) time has passed since ``created``.

    Without ``hours`` this is ``created + target``. With ``hours`` the clock only runs
    inside business hours: Friday 16:45 + 30 min (Mon–Fri 09–17) is Monday 09:15, and a
    mention created on Saturday is due Monday 09:30. The result is the earliest such moment,
    so a target that ends exactly at closing time is due at closing time.
    """
    if hours is None:
        if created.tzinfo is None:
            raise ValueError(
                f"created is a naive datetime ({created.isoformat()}); a time zone is required"
            )
        if target < _ZERO:
            raise ValueError(f"target {target} must not be negative")
        return created.astimezone(UTC) + target
    moment = _require_aware(created, "created")
    if target < _ZERO:
        raise ValueError(f"target {target} must not be negative")
    if not target:
        return moment
    remaining = target
    for opens, closes in hours._windows_from(moment):
        begin = max(opens, moment)
        available = closes - begin
        if remaining <= available:
            return begin + remaining
        remaining -= available
    raise AssertionError("unreachable: _windows_from never ends")  # pragma: no cover


def _business_time(start: datetime, end: datetime, hours: BusinessHours | None) -> timedelta:
    start = _require_aware(start, "start")
    end = _require_aware(end, "end")
    if end <= start:
        return _ZERO
    if hours is None:
        return end - start
    total = _ZERO
    for opens, closes in hours._windows_from(start):
        if opens >= end:
            break
        total += min(closes, end) - max(opens, start)
    return total


def business_seconds(start: datetime, end: datetime, hours: BusinessHours | None = None) -> float:
    """Seconds from ``start`` to ``end`` counted only inside business hours.

    Without ``hours`` this is the plain difference; 0 when ``end <= start``.
    """
    return _business_time(start, end, hours).total_seconds()


def sla_state(
    created: datetime,
    due: datetime,
    now: datetime,
    hours: BusinessHours | None = None,
    *,
    at_risk: float = 0.5,
    urgent: float = 0.8,
) -> str:
    """One of ``SLA_STATES`` for an unanswered mention at ``now``.

    fraction = business time elapsed since ``created`` / business time from ``created`` to
    ``due``. ``now >= due`` or fraction >= 1 → "breached"; >= ``urgent`` → "urgent";
    >= ``at_risk`` → "at_risk"; else "ok". If there is no business time at all between
    ``created`` and ``due`` (a hand-set due date over a weekend), wall-clock time is used.
    """
    if not 0 <= at_risk <= urgent <= 1:
        raise ValueError(
            f"thresholds at_risk={at_risk!r}, urgent={urgent!r} must satisfy"
            " 0 <= at_risk <= urgent <= 1"
        )
    created = _require_aware(created, "created")
    due = _require_aware(due, "due")
    now = _require_aware(now, "now")
    if now >= due:
        return "breached"
    budget = _business_time(created, due, hours)
    if budget > _ZERO:
        elapsed = _business_time(created, min(now, due), hours)
    else:
        budget = due - created
        if budget <= _ZERO:  # due <= created and now < due
            return "ok"
        elapsed = max(now - created, _ZERO)
    fraction = elapsed / budget
    if fraction >= 1:
        return "breached"
    if fraction >= urgent:
        return "urgent"
    if fraction >= at_risk:
        return "at_risk"
    return "ok"


def from_config(section: Mapping[str, Any] | None) -> BusinessHours | None:
    """The ``[queue.business_hours]`` table (already validated) as BusinessHours, or None."""
    if not section:
        return None
    return BusinessHours.parse(
        timezone=section["timezone"],
        days=section["days"],
        start=section["start"],
        end=section["end"],
        holidays=section["holidays"],
    )
