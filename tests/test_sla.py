"""SLA clock: due times, business-time arithmetic and states, all with fixed datetimes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from social_watch.sla import SLA_STATES, BusinessHours, business_seconds, due_at, sla_state

PRAGUE = ZoneInfo("Europe/Prague")
THIRTY = timedelta(minutes=30)

OFFICE = BusinessHours.parse(timezone="Europe/Prague", days="mon-fri", start="09:00", end="17:00")
# Czech public holidays that touch the DST weekends of 2024, plus Christmas.
OFFICE_CZ = BusinessHours.parse(
    timezone="Europe/Prague",
    days="mon-fri",
    start="09:00",
    end="17:00",
    holidays=["2024-03-29", "2024-04-01", "2024-10-28", "2024-12-24", "2024-12-25", "2024-12-26"],
)
# A window that contains the 02:00/03:00 DST switch: 2 h long in March, 4 h in October.
NIGHT_SHIFT = BusinessHours.parse(
    timezone="Europe/Prague", days="mon-sun", start="01:00", end="04:00"
)


def prague(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, us: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, us, tzinfo=PRAGUE)


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, us: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, us, tzinfo=UTC)


def assert_utc_equal(actual: datetime, expected: datetime) -> None:
    assert actual.tzinfo is UTC
    assert actual == expected


# --- due_at -------------------------------------------------------------------------------


def test_no_hours_is_plain_addition_in_utc() -> None:
    created = prague(2024, 6, 14, 16, 45)
    assert_utc_equal(due_at(created, THIRTY), utc(2024, 6, 14, 15, 15))
    assert_utc_equal(due_at(created, timedelta(0)), utc(2024, 6, 14, 14, 45))


def test_friday_afternoon_rolls_to_monday() -> None:
    assert_utc_equal(
        due_at(prague(2024, 6, 14, 16, 45), THIRTY, OFFICE), prague(2024, 6, 17, 9, 15)
    )


@pytest.mark.parametrize(
    ("created", "expected"),
    [
        (prague(2024, 6, 15, 11, 0), prague(2024, 6, 17, 9, 30)),  # Saturday
        (prague(2024, 6, 16, 23, 59), prague(2024, 6, 17, 9, 30)),  # Sunday night
        (prague(2024, 6, 14, 17, 0), prague(2024, 6, 17, 9, 30)),  # Friday exactly at close
        (prague(2024, 6, 17, 7, 0), prague(2024, 6, 17, 9, 30)),  # before opening
        (prague(2024, 6, 17, 9, 0), prague(2024, 6, 17, 9, 30)),  # exactly at opening
        (prague(2024, 6, 17, 18, 0), prague(2024, 6, 18, 9, 30)),  # after close
        (prague(2024, 6, 19, 10, 0), prague(2024, 6, 19, 10, 30)),  # plain inside hours
        (prague(2024, 6, 19, 16, 30), prague(2024, 6, 19, 17, 0)),  # ends exactly at close
    ],
)
def test_created_inside_and_outside_hours(created: datetime, expected: datetime) -> None:
    assert_utc_equal(due_at(created, THIRTY, OFFICE), expected)


def test_created_in_another_zone_is_read_as_the_same_instant() -> None:
    # 15:45 UTC is 17:45 in Prague in summer: after close.
    assert_utc_equal(due_at(utc(2024, 6, 17, 15, 45), THIRTY, OFFICE), prague(2024, 6, 18, 9, 30))


def test_zero_target_is_due_immediately() -> None:
    created = prague(2024, 6, 15, 11, 0)
    assert due_at(created, timedelta(0), OFFICE) == created


def test_holidays_are_skipped() -> None:
    # Monday 28 Oct 2024 is a Czech holiday.
    assert_utc_equal(
        due_at(prague(2024, 10, 25, 16, 45), THIRTY, OFFICE_CZ), prague(2024, 10, 29, 9, 15)
    )
    # Three holidays in a row.
    assert_utc_equal(
        due_at(prague(2024, 12, 23, 16, 50), THIRTY, OFFICE_CZ), prague(2024, 12, 27, 9, 20)
    )
    # Created on a holiday.
    assert_utc_equal(
        due_at(prague(2024, 12, 25, 10, 0), THIRTY, OFFICE_CZ), prague(2024, 12, 27, 9, 30)
    )


def test_dst_spring_forward_weekend() -> None:
    # Friday 29 Mar 2024 16:45 CET (+01:00) → Monday 1 Apr 09:15 CEST (+02:00).
    created = prague(2024, 3, 29, 16, 45)
    assert created == utc(2024, 3, 29, 15, 45)
    due = due_at(created, THIRTY, OFFICE)
    assert_utc_equal(due, utc(2024, 4, 1, 7, 15))
    assert business_seconds(created, due, OFFICE) == 1800
    # With the Easter holidays (Good Friday and Easter Monday) it is Tuesday.
    assert_utc_equal(due_at(created, THIRTY, OFFICE_CZ), utc(2024, 4, 2, 7, 30))


def test_dst_fall_back_weekend() -> None:
    # Friday 25 Oct 2024 16:45 CEST (+02:00) → Monday 28 Oct 09:15 CET (+01:00).
    created = prague(2024, 10, 25, 16, 45)
    assert created == utc(2024, 10, 25, 14, 45)
    assert_utc_equal(due_at(created, THIRTY, OFFICE), utc(2024, 10, 28, 8, 15))


def test_dst_switch_inside_business_hours() -> None:
    # 31 Mar 2024: 01:00 CET → 04:00 CEST is only two real hours.
    day_start = prague(2024, 3, 31, 1, 0)
    assert business_seconds(day_start, prague(2024, 3, 31, 4, 0), NIGHT_SHIFT) == 2 * 3600
    assert_utc_equal(due_at(day_start, timedelta(hours=2), NIGHT_SHIFT), utc(2024, 3, 31, 2, 0))
    assert_utc_equal(
        due_at(day_start, timedelta(hours=2, minutes=30), NIGHT_SHIFT), prague(2024, 4, 1, 1, 30)
    )
    # 27 Oct 2024: 01:00 CEST → 04:00 CET is four real hours.
    day_start = prague(2024, 10, 27, 1, 0)
    assert business_seconds(day_start, prague(2024, 10, 27, 4, 0), NIGHT_SHIFT) == 4 * 3600
    assert_utc_equal(
        due_at(day_start, timedelta(hours=3, minutes=30), NIGHT_SHIFT), utc(2024, 10, 27, 2, 30)
    )


def test_target_longer_than_a_business_day() -> None:
    # 24 business hours = three 8-hour days.
    assert_utc_equal(
        due_at(prague(2024, 6, 17, 10, 0), timedelta(hours=24), OFFICE), prague(2024, 6, 20, 10, 0)
    )
    # Fri 15 min + Mon 8 h + Tue 8 h + Wed 3 h 45 min.
    assert_utc_equal(
        due_at(prague(2024, 6, 14, 16, 45), timedelta(hours=20), OFFICE),
        prague(2024, 6, 19, 12, 45),
    )
    # A year of business time finishes quickly (day-by-day, not minute-by-minute).
    long_due = due_at(prague(2024, 1, 1, 0, 0), timedelta(hours=8 * 260), OFFICE)
    assert long_due.year == 2024 and long_due.month == 12


def test_negative_target_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        due_at(utc(2024, 6, 17), timedelta(minutes=-1))
    with pytest.raises(ValueError, match="negative"):
        due_at(utc(2024, 6, 17), timedelta(minutes=-1), OFFICE)


@pytest.mark.parametrize("hours", [None, OFFICE])
def test_naive_datetimes_are_refused(hours: BusinessHours | None) -> None:
    naive = datetime(2024, 6, 17, 10, 0)
    aware = utc(2024, 6, 17, 10, 0)
    with pytest.raises(ValueError, match="naive"):
        due_at(naive, THIRTY, hours)
    with pytest.raises(ValueError, match="naive"):
        business_seconds(naive, aware, hours)
    with pytest.raises(ValueError, match="naive"):
        business_seconds(aware, naive, hours)
    for args in ((naive, aware, aware), (aware, naive, aware), (aware, aware, naive)):
        with pytest.raises(ValueError, match="naive"):
            sla_state(*args, hours)
    with pytest.raises(ValueError, match="naive"):
        OFFICE.contains(naive)


# --- business_seconds ---------------------------------------------------------------------


def test_business_seconds() -> None:
    monday = prague(2024, 6, 17, 10, 0)
    assert business_seconds(monday, monday + THIRTY) == 1800
    assert business_seconds(monday, monday + THIRTY, OFFICE) == 1800
    assert business_seconds(monday + THIRTY, monday) == 0
    assert business_seconds(monday + THIRTY, monday, OFFICE) == 0
    assert business_seconds(monday, monday, OFFICE) == 0
    # Friday 16:00 → Monday 10:00 is two business hours.
    assert business_seconds(prague(2024, 6, 14, 16, 0), monday, OFFICE) == 2 * 3600
    # A whole weekend is nothing.
    assert business_seconds(prague(2024, 6, 14, 17, 0), prague(2024, 6, 17, 9, 0), OFFICE) == 0
    # A full week is five days of eight hours.
    assert business_seconds(monday, monday + timedelta(days=7), OFFICE) == 5 * 8 * 3600
    # Microseconds survive.
    assert business_seconds(monday, monday + timedelta(microseconds=1), OFFICE) == 1e-6


# --- BusinessHours ------------------------------------------------------------------------


def test_parse_variants() -> None:
    expected_week = frozenset(range(5))
    for days in (
        "mon-fri",
        "Mon - Fri",
        ["mon", "tue", "wed", "thu", "fri"],
        ["mon-wed", "thu,fri"],
    ):
        assert (
            BusinessHours.parse(
                timezone="Europe/Prague", days=days, start="09:00", end="17:00"
            ).days
            == expected_week
        )
    assert BusinessHours.parse(
        timezone="UTC", days="mon,wed,fri", start="9:00", end="17:30:15"
    ) == BusinessHours(
        tz=ZoneInfo("UTC"),
        days=frozenset({0, 2, 4}),
        start=time(9, 0),
        end=time(17, 30, 15),
    )
    weekend = BusinessHours.parse(timezone="UTC", days="fri-mon", start="10:00", end="12:00")
    assert weekend.days == frozenset({4, 5, 6, 0})
    assert OFFICE_CZ.holidays == frozenset(
        date.fromisoformat(d)
        for d in (
            "2024-03-29",
            "2024-04-01",
            "2024-10-28",
            "2024-12-24",
            "2024-12-25",
            "2024-12-26",
        )
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "Mars/Olympus"),
        ({"timezone": ""}, "time zone"),
        ({"days": "mon-funday"}, "mon-funday"),
        ({"days": "caturday"}, "caturday"),
        ({"days": ""}, "no working day"),
        ({"days": []}, "no working day"),
        ({"start": "9am"}, "9am"),
        ({"start": "25:00"}, "25:00"),
        ({"end": "17:60"}, "17:60"),
        ({"start": "17:00", "end": "09:00"}, "after start"),
        ({"start": "09:00", "end": "09:00"}, "after start"),
        ({"holidays": ["2024-02-30"]}, "2024-02-30"),
        ({"holidays": ["christmas"]}, "christmas"),
    ],
)
def test_parse_errors_name_the_bad_value(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {
        "timezone": "Europe/Prague",
        "days": "mon-fri",
        "start": "09:00",
        "end": "17:00",
    }
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        BusinessHours.parse(**arguments)  # type: ignore[arg-type]


def test_direct_construction_is_validated() -> None:
    with pytest.raises(ValueError, match="empty"):
        BusinessHours(tz=PRAGUE, days=frozenset(), start=time(9), end=time(17))
    with pytest.raises(ValueError, match="out of range"):
        BusinessHours(tz=PRAGUE, days=frozenset({7}), start=time(9), end=time(17))
    with pytest.raises(ValueError, match="after start"):
        BusinessHours(tz=PRAGUE, days=frozenset({0}), start=time(17), end=time(9))


@pytest.mark.parametrize(
    ("when", "inside"),
    [
        (prague(2024, 6, 17, 9, 0), True),
        (prague(2024, 6, 17, 16, 59, 59, 999999), True),
        (prague(2024, 6, 17, 17, 0), False),
        (prague(2024, 6, 17, 8, 59, 59), False),
        (prague(2024, 6, 15, 12, 0), False),  # Saturday
        (utc(2024, 6, 17, 7, 0), True),  # 09:00 in Prague
        (utc(2024, 6, 17, 6, 59), False),
    ],
)
def test_contains(when: datetime, inside: bool) -> None:
    assert OFFICE.contains(when) is inside


def test_contains_holiday() -> None:
    assert OFFICE.contains(prague(2024, 12, 24, 10, 0))
    assert not OFFICE_CZ.contains(prague(2024, 12, 24, 10, 0))


# --- sla_state ----------------------------------------------------------------------------

US = timedelta(microseconds=1)


def test_states_at_exact_boundaries_without_hours() -> None:
    created = utc(2024, 6, 17, 10, 0)
    due = created + THIRTY
    cases = [
        (created - timedelta(minutes=5), "ok"),
        (created, "ok"),
        (created + timedelta(minutes=15) - US, "ok"),
        (created + timedelta(minutes=15), "at_risk"),
        (created + timedelta(minutes=24) - US, "at_risk"),
        (created + timedelta(minutes=24), "urgent"),
        (due - US, "urgent"),
        (due, "breached"),
        (due + timedelta(days=3), "breached"),
    ]
    for now, expected in cases:
        assert sla_state(created, due, now) == expected, now
    assert set(SLA_STATES) == {"ok", "at_risk", "urgent", "breached"}


def test_states_pause_outside_business_hours() -> None:
    created = prague(2024, 6, 14, 16, 45)
    due = due_at(created, THIRTY, OFFICE)
    cases = [
        (prague(2024, 6, 14, 16, 59, 59), "ok"),
        (prague(2024, 6, 14, 17, 0), "at_risk"),  # 15 of 30 business minutes
        (prague(2024, 6, 16, 23, 0), "at_risk"),  # still 15 on Sunday night
        (prague(2024, 6, 17, 9, 8, 59), "at_risk"),
        (prague(2024, 6, 17, 9, 9), "urgent"),  # 24 of 30
        (prague(2024, 6, 17, 9, 14, 59, 999999), "urgent"),
        (prague(2024, 6, 17, 9, 15), "breached"),
    ]
    for now, expected in cases:
        assert sla_state(created, due, now, OFFICE) == expected, now


def test_custom_thresholds() -> None:
    created = utc(2024, 6, 17, 10, 0)
    due = created + timedelta(minutes=60)

    def state(minutes: float) -> str:
        now = created + timedelta(minutes=minutes)
        return sla_state(created, due, now, at_risk=0.25, urgent=0.75)

    assert state(15) == "at_risk"
    assert state(15 - 1e-8) == "ok"
    assert state(45) == "urgent"
    assert state(45 - 1e-8) == "at_risk"
    # urgent == at_risk is allowed; urgent wins.
    assert sla_state(created, due, created + timedelta(minutes=30), at_risk=0.5, urgent=0.5) == (
        "urgent"
    )


@pytest.mark.parametrize(("at_risk", "urgent"), [(0.9, 0.8), (-0.1, 0.5), (0.5, 1.5)])
def test_bad_thresholds(at_risk: float, urgent: float) -> None:
    created = utc(2024, 6, 17, 10, 0)
    with pytest.raises(ValueError, match="thresholds"):
        sla_state(created, created + THIRTY, created, at_risk=at_risk, urgent=urgent)


def test_due_without_business_time_falls_back_to_wall_clock() -> None:
    # A hand-set due time on a Saturday: no business time in between.
    created = prague(2024, 6, 15, 10, 0)
    due = prague(2024, 6, 15, 12, 0)
    assert sla_state(created, due, prague(2024, 6, 15, 10, 59), OFFICE) == "ok"
    assert sla_state(created, due, prague(2024, 6, 15, 11, 0), OFFICE) == "at_risk"
    assert sla_state(created, due, due, OFFICE) == "breached"
    # A zero target is breached at once.
    assert sla_state(created, created, created, OFFICE) == "breached"
    assert sla_state(created, created, created) == "breached"
    # due before created: breached once now reaches it, "ok" before.
    assert sla_state(created, created - THIRTY, created, OFFICE) == "breached"
    assert sla_state(created, created - THIRTY, created - timedelta(hours=1), OFFICE) == "ok"


def test_business_time_used_up_before_due_is_breached() -> None:
    # Due on Saturday: the last business minute was Friday 17:00, so that is the breach.
    created = prague(2024, 6, 14, 16, 45)
    due = prague(2024, 6, 15, 12, 0)
    assert sla_state(created, due, prague(2024, 6, 14, 18, 0), OFFICE) == "breached"


# --- properties ---------------------------------------------------------------------------

HOURS_CHOICES = [
    OFFICE,
    OFFICE_CZ,
    NIGHT_SHIFT,
    BusinessHours.parse(timezone="America/New_York", days="sat,sun", start="08:30", end="12:15"),
    BusinessHours.parse(timezone="Asia/Kathmandu", days="sun-thu", start="10:00", end="18:00"),
    # Lord Howe Island shifts its clocks by 30 minutes.
    BusinessHours.parse(timezone="Australia/Lord_Howe", days="mon-sun", start="01:00", end="03:00"),
]

instants = st.datetimes(
    min_value=datetime(2023, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
)
targets = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=5))
hours_or_none = st.sampled_from([None, *HOURS_CHOICES])


@given(a=instants, b=instants, target=targets, hours=hours_or_none)
def test_due_at_is_monotonic_in_created(
    a: datetime, b: datetime, target: timedelta, hours: BusinessHours | None
) -> None:
    early, late = sorted((a, b))
    assert due_at(early, target, hours) <= due_at(late, target, hours)


@given(created=instants, target=targets, hours=hours_or_none)
def test_business_time_until_due_is_the_target(
    created: datetime, target: timedelta, hours: BusinessHours | None
) -> None:
    due = due_at(created, target, hours)
    assert due.tzinfo is UTC
    assert due - created >= target
    assert business_seconds(created, due, hours) == target.total_seconds()
    if hours is not None and target:
        assert hours.contains(due - US)  # the deadline lands on business time


@given(a=instants, b=instants, c=instants, hours=hours_or_none)
def test_business_seconds_is_additive(
    a: datetime, b: datetime, c: datetime, hours: BusinessHours | None
) -> None:
    a, b, c = sorted((a, b, c))
    whole = business_seconds(a, c, hours)
    assert whole == pytest.approx(business_seconds(a, b, hours) + business_seconds(b, c, hours))
    assert 0 <= whole <= (c - a).total_seconds()


def _wall_clock_minutes(start: datetime, end: datetime, hours: BusinessHours) -> int:
    """Independent oracle: step minute by minute and look at the local wall clock."""
    count = 0
    moment = start
    while moment < end:
        local = moment.astimezone(hours.tz)
        if (
            local.weekday() in hours.days
            and local.date() not in hours.holidays
            and hours.start <= local.time() < hours.end
        ):
            count += 1
        moment += timedelta(minutes=1)
    return count


@settings(max_examples=40, deadline=None)
@given(
    start=instants.map(lambda d: d.replace(second=0, microsecond=0)),
    minutes=st.integers(min_value=0, max_value=3 * 24 * 60),
    hours=st.sampled_from(HOURS_CHOICES),
)
def test_business_seconds_matches_minute_stepping(
    start: datetime, minutes: int, hours: BusinessHours
) -> None:
    end = start + timedelta(minutes=minutes)
    assert business_seconds(start, end, hours) == 60 * _wall_clock_minutes(start, end, hours)


@pytest.mark.parametrize("hours", [OFFICE, NIGHT_SHIFT])
@pytest.mark.parametrize(
    "when",
    [
        # Every minute-aligned instant across both 2024 Prague DST switches.
        *(utc(2024, 3, 30, 22, 0) + timedelta(minutes=m) for m in range(0, 6 * 60, 7)),
        *(utc(2024, 10, 26, 22, 0) + timedelta(minutes=m) for m in range(0, 6 * 60, 7)),
    ],
)
def test_contains_agrees_with_wall_clock_across_dst(when: datetime, hours: BusinessHours) -> None:
    assert hours.contains(when) is bool(
        _wall_clock_minutes(when, when + timedelta(minutes=1), hours)
    )


@given(
    created=instants,
    minutes=st.integers(min_value=1, max_value=3 * 24 * 60),
    hours=hours_or_none,
)
def test_states_switch_exactly_at_the_thresholds(
    created: datetime, minutes: int, hours: BusinessHours | None
) -> None:
    target = timedelta(minutes=minutes)
    due = due_at(created, target, hours)

    def at(fraction_of_target: timedelta) -> datetime:
        # The moment when this much business time has elapsed.
        return due_at(created, fraction_of_target, hours)

    half, four_fifths = target / 2, target * 4 / 5
    assert sla_state(created, due, at(half - US), hours) == "ok"
    assert sla_state(created, due, at(half), hours) == "at_risk"
    assert sla_state(created, due, at(four_fifths - US), hours) == "at_risk"
    assert sla_state(created, due, at(four_fifths), hours) == "urgent"
    assert sla_state(created, due, due - US, hours) == "urgent"
    assert sla_state(created, due, due, hours) == "breached"
