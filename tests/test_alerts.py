"""Negative-spike alerts on synthetic timelines with known answers.

Rows go straight into a real SQLite file built by ``db.connect``; the clock is always
passed in. Webhooks are mocked with respx, e-mail goes to a real aiosmtpd server on
127.0.0.1; nothing touches the internet and nothing sleeps.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from conftest import SmtpSink
from helpers import make_config, open_db, rows

from social_watch import alert_report, alerts
from social_watch.alerts import Counts, Rule, decide, detect

pytestmark = pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # a Tuesday morning
HOOK = "https://hooks.example.test/services/T000/B000/s3cretWebhookToken"
HOOK_ENV = "SOCIAL_WATCH_WEBHOOK_URL"
GROUPS = {"checkout": ["Checkout", "payment page"], "rival": ["othershop"]}
CALM_NEGATIVE = ["where is my parcel?", "still waiting for my refund", "no answer from support"]
CALM_OTHER = ["love the new jacket", "thanks for the quick delivery", "nice sale this week"]


# --- timelines ----------------------------------------------------------------------------


class Timeline:
    """Inserts mentions directly, one transaction per batch."""

    def __init__(self, db: Any) -> None:
        self.db, self.n = db, 0

    def row(self, at: datetime, label: str, text: str, network: str = "x") -> tuple[Any, ...]:
        self.n += 1
        stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
        compound = -0.6 if label == "negative" else 0.4 if label == "positive" else 0.0
        return (
            f"{network}:{self.n}",
            network,
            str(self.n),
            f"https://{network}.example/{self.n}",
            f"user{self.n % 97}",
            self.n % 500,
            text,
            stamp,
            stamp,
            label,
            compound,
        )

    def insert(self, batch: Sequence[tuple[Any, ...]]) -> None:
        with self.db.write():
            self.db.executemany(
                "INSERT INTO mentions (global_id, network, native_id, url, author_handle, "
                "author_followers, text, created_at, fetched_at, sentiment_label, "
                "sentiment_compound) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                batch,
            )

    def add(
        self,
        when: datetime,
        label: str = "neutral",
        text: str = "ok",
        network: str = "x",
        count: int = 1,
        spread: timedelta = timedelta(0),
    ) -> None:
        """``count`` mentions spaced evenly over ``spread`` from ``when``."""
        self.insert(
            [self.row(when + spread * i / count, label, text, network) for i in range(count)]
        )


def rhythm(hour: int) -> int:
    """Mentions per hour by UTC hour of day: quiet nights, a busy shop day."""
    if hour < 6 or hour >= 23:
        return 3
    if hour < 9 or hour >= 19:
        return 15
    return 40


def calm_week(tl: Timeline, until: datetime = NOW, days: int = 8, seed: int = 7) -> None:
    """A noisy week with a daily rhythm and a steady 20 % negative share."""
    rng = random.Random(seed)
    hour = (until - timedelta(days=days)).replace(minute=0, second=0)
    batch = []
    while hour < until:
        expected = rhythm(hour.hour)
        for _ in range(rng.randint(int(expected * 0.75), int(expected * 1.25) + 1)):
            at = hour + timedelta(seconds=rng.randrange(3600))
            if at >= until:
                continue
            if rng.random() < 0.2:
                row = tl.row(at, "negative", rng.choice(CALM_NEGATIVE), rng.choice(["x", "reddit"]))
            else:
                row = tl.row(at, rng.choice(["neutral", "positive"]), rng.choice(CALM_OTHER))
            batch.append(row)
        hour += timedelta(hours=1)
    tl.insert(batch)


def flat_history(tl: Timeline, until: datetime, negatives: Sequence[int], total: int = 40) -> None:
    """Hour by hour for len(negatives) days: negatives[d] per hour on day d (0 = oldest)."""
    start = until - timedelta(days=len(negatives))
    batch = []
    for d, neg in enumerate(negatives):
        for h in range(24):
            hour = start + timedelta(days=d, hours=h)
            batch += [
                tl.row(hour + timedelta(minutes=1 + i), "negative", "late again")
                for i in range(neg)
            ]
            batch += [
                tl.row(hour + timedelta(minutes=1, seconds=30 + i * 60), "neutral", "hello")
                for i in range(total - neg)
            ]
    tl.insert(batch)


@pytest.fixture
def db(tmp_path: Path) -> Any:
    return open_db(tmp_path)


@pytest.fixture
def tl(db: Any) -> Timeline:
    return Timeline(db)


def config(**alerts_: Any) -> Any:
    data: dict[str, Any] = {"alerts": {"groups": GROUPS, **alerts_}}
    return make_config(data)


def hook_config(**alerts_: Any) -> Any:
    return make_config(
        {"alerts": {"groups": GROUPS, **alerts_}, "notify": {"webhook_url_env": HOOK_ENV}}
    )


def by_scope(run: alerts.AlertRun) -> dict[str, alerts.ScopeResult]:
    return {s.scope: s for s in run.scopes}


def spike(tl: Timeline, end: datetime = NOW, n: int = 30) -> None:
    tl.add(
        end - timedelta(minutes=15),
        "negative",
        "Checkout broken, charged twice! @shopexample",
        network="x",
        count=n // 2,
        spread=timedelta(minutes=9),
    )
    tl.add(
        end - timedelta(minutes=14),
        "negative",
        "payment page error, charged twice",
        network="reddit",
        count=n - n // 2,
        spread=timedelta(minutes=8),
    )


# --- the pure rule ---------------------------------------------------------------------


def test_readme_worked_example() -> None:
    """The numbers the README quotes: median 5, MAD 1, spread √5, 23 negatives fire."""
    base = [Counts(n, 40) for n in (4, 6, 3, 5, 7, 4, 5)]
    v = detect(Counts(23, 50), base, Rule())
    assert (v.median, v.mad) == (5, 1)
    assert v.spread == pytest.approx(5**0.5)
    assert v.z == pytest.approx(0.6745 * 18 / 5**0.5)
    assert round(v.z, 2) == 5.43 and v.ratio == pytest.approx(4.6)
    assert v.baseline_share == pytest.approx(34 / 280)
    assert v.share == pytest.approx(0.46)
    assert v.rules == ("volume", "share")
    # 14 meets neither z (2.71) nor the factor (3 × 5 = 15)
    assert not detect(Counts(14, 50), base, Rule()).fired


def test_sparse_counts_use_the_mad_floor() -> None:
    """All-zero history: MAD 0 would make one complaint infinitely unusual; the floor is 1."""
    base = [Counts(0, 3)] * 7
    assert detect(Counts(4, 4), base, Rule()).reason.startswith("calm: 4 < min_count 5")
    v = detect(Counts(6, 8), base, Rule())
    assert v.spread == 1 and v.z == pytest.approx(0.6745 * 6) and v.rules == ("volume",)


def test_not_enough_history_never_fires_and_says_so() -> None:
    v = detect(Counts(50, 50), [Counts(0, 10)] * 2, Rule())
    assert not v.fired and "not enough history" in v.reason
    scope = alerts.ScopeResult("*", (), "calm", v)
    text = "\n".join(alert_report.describe_scope(scope, timedelta(minutes=60)))
    assert "not enough history: 2 baseline sample(s), 3 needed" in text


@pytest.mark.parametrize(
    ("state", "fired", "minutes_since_alert", "event"),
    [
        (None, True, None, "fired"),
        (None, False, None, "calm"),
        ("calm", True, 500, "fired"),
        ("active", True, 30, "ongoing"),
        ("active", False, 30, "settling"),
        ("active", True, 120, "reminder"),
        ("active", False, 121, "recovered"),
        ("active", True, None, "fired"),  # the last page reached nobody
    ],
)
def test_cooldown_state_machine(
    state: str | None, fired: bool, minutes_since_alert: int | None, event: str
) -> None:
    row = None
    if state:
        alerted = NOW - timedelta(minutes=minutes_since_alert) if minutes_since_alert else None
        row = {"status": state, "alerted_at": alerted and alerted.strftime("%Y-%m-%dT%H:%M:%SZ")}
    assert decide(row, fired, NOW, timedelta(hours=2)) == event


def test_samples_are_the_same_clock_window_on_previous_days() -> None:
    ends = alerts.sample_ends(NOW, timedelta(minutes=60), timedelta(days=7))
    assert ends == [NOW - timedelta(days=k) for k in range(1, 8)]
    short = alerts.sample_ends(NOW, timedelta(minutes=60), timedelta(hours=6))
    assert short == [NOW - timedelta(hours=k) for k in range(1, 7)]


# --- timelines with known answers ------------------------------------------------------------


def test_a_calm_noisy_week_with_daily_rhythm_never_fires(db: Any, tl: Timeline) -> None:
    calm_week(tl)
    cfg = config()
    for hours_back in range(24):  # every hour of the last day, nights and mornings included
        run = alerts.check(db, cfg, NOW - timedelta(hours=hours_back))
        assert not run.fired, alert_report.describe(run)
        assert {s.event for s in run.scopes} == {"calm"}
    assert rows(db, "SELECT * FROM alert_state") == []
    assert rows(db, "SELECT * FROM alert_events") == []


def test_a_sharp_spike_fires_within_its_first_window_and_explains_itself(
    db: Any, tl: Timeline
) -> None:
    calm_week(tl)
    spike(tl)  # 30 negatives between 09:45 and 09:54
    assert not alerts.check(db, config(), NOW - timedelta(minutes=16), record=False).fired
    run = alerts.check(db, config(), NOW - timedelta(minutes=5))  # 10 minutes into the spike
    assert run.fired and run.exit_code == 1
    overall = by_scope(run)["*"]
    v = overall.verdict
    assert overall.event == "fired" and "volume" in v.rules
    assert v.observed >= 30 and v.z is not None and v.z >= 3.5 and len(v.samples) == 7
    assert v.observed >= 3 * v.median
    assert by_scope(run)["checkout"].event == "fired"
    assert by_scope(run)["rival"].event == "calm"
    summary = overall.summary
    assert summary is not None
    assert dict(summary.networks)["x"] >= 15 and dict(summary.networks)["reddit"] >= 15
    assert summary.terms[0] == ("charged", 30)
    assert "checkout" in dict(summary.terms) and "shopexample" not in dict(summary.terms)
    assert summary.top[0]["url"].startswith("https://")
    text = alert_report.describe(run)
    assert "ALERT: all mentions" in text and "rule fired: volume" in text
    assert "baseline: median" in text and "modified z-score" in text and "networks: " in text


def test_a_slow_rise_through_the_day_fires_when_it_crosses_the_threshold(
    db: Any, tl: Timeline
) -> None:
    """Baseline 7, 8 or 9 negatives an hour (median 8, MAD 1, spread √8); today +2 an hour.

    z ≥ 3.5 needs x ≥ 8 + 3.5·√8/0.6745 = 22.7 and the factor needs x ≥ 24: the hour
    08:00–09:00 (8 + 2·8 = 24) is the first to fire, so the 09:00 run pages and 08:00 does not.
    """
    midnight = NOW.replace(hour=0)
    flat_history(tl, midnight, [7, 8, 9, 7, 8, 9, 8])
    for k in range(10):
        hour = midnight + timedelta(hours=k)
        tl.add(
            hour + timedelta(minutes=1),
            "negative",
            "late again",
            count=8 + 2 * k,
            spread=timedelta(minutes=58),
        )
        tl.add(
            hour + timedelta(minutes=2), "neutral", "hello", count=32, spread=timedelta(minutes=57)
        )
    first = None
    for k in range(1, 11):
        run = alerts.check(db, config(), midnight + timedelta(hours=k), record=False)
        if run.fired and first is None:
            first = k
            assert by_scope(run)["*"].verdict.rules == ("volume",)
    assert first == 9


def test_a_slow_rise_over_the_week_is_followed_by_the_baseline(db: Any, tl: Timeline) -> None:
    midnight = NOW.replace(hour=0)
    flat_history(tl, midnight + timedelta(days=1), [6, 7, 8, 9, 10, 11, 12, 13])
    run = alerts.check(db, config(), NOW, record=False)
    assert not run.fired
    assert by_scope(run)["*"].verdict.median == 9  # days -7..-1 hold 6..12; today 13


def test_a_spike_in_one_keyword_group_only(db: Any, tl: Timeline) -> None:
    calm_week(tl)
    tl.add(
        NOW - timedelta(minutes=30),
        "negative",
        "CHECKOUT keeps failing",
        count=10,
        spread=timedelta(minutes=20),
    )
    run = alerts.check(db, config(), NOW)
    scopes = by_scope(run)
    assert scopes["checkout"].event == "fired"
    assert scopes["checkout"].verdict.median == 0 and scopes["checkout"].verdict.observed == 10
    assert scopes["*"].event == "calm" and scopes["rival"].event == "calm"
    assert run.fired
    assert [r["scope"] for r in rows(db, "SELECT scope FROM alert_events")] == ["checkout"]


def test_two_negatives_after_a_quiet_night_do_not_fire(db: Any, tl: Timeline) -> None:
    night = NOW.replace(hour=4)
    calm_week(tl, until=night)
    tl.add(night - timedelta(minutes=10), "negative", "checkout down??", count=2)
    run = alerts.check(db, config(), night)
    assert not run.fired
    for s in run.scopes:
        assert s.event == "calm"
    assert "min_count 5" in by_scope(run)["*"].verdict.reason
    assert "min_count 5" in by_scope(run)["checkout"].verdict.reason


def test_a_shift_in_tone_fires_the_share_signal_before_volume(db: Any, tl: Timeline) -> None:
    """Same volume (40 an hour), but half negative instead of a fifth."""
    flat_history(tl, NOW - timedelta(hours=1), [8, 7, 8, 9, 7, 8, 9, 8])
    flat_history(tl, NOW, [20], total=40)  # fills the last day; only its last hour matters
    run = alerts.check(db, config(), NOW)
    v = by_scope(run)["*"].verdict
    assert v.rules == ("share",)
    assert v.share == pytest.approx(0.5) and v.baseline_share == pytest.approx(0.2)
    assert "share: 50% negative vs 20% baseline (+30 points" in v.reason


def test_a_repeat_run_during_the_same_spike_alerts_once(db: Any, tl: Timeline) -> None:
    calm_week(tl)
    spike(tl)
    cfg = hook_config()
    env = {HOOK_ENV: HOOK}
    with respx.mock(assert_all_called=True) as mock:
        hook = mock.post(HOOK).mock(return_value=httpx.Response(200, text="ok"))
        first = alerts.check_and_notify(db, cfg, env, NOW)
        second = alerts.check_and_notify(db, cfg, env, NOW + timedelta(minutes=10))
        third = alerts.check_and_notify(db, cfg, env, NOW + timedelta(minutes=20))
    assert (first.exit_code, second.exit_code, third.exit_code) == (1, 0, 0)
    assert hook.call_count == 1
    assert by_scope(second)["*"].event == "ongoing"
    assert "still going on" in alert_report.describe(second)
    assert "no new alert before 2026-11-24 12:00 UTC" in alert_report.describe(second)
    events = rows(db, "SELECT scope, event, delivered FROM alert_events ORDER BY scope")
    assert events == [
        {"scope": "*", "event": "fired", "delivered": '["webhook"]'},
        {"scope": "checkout", "event": "fired", "delivered": '["webhook"]'},
    ]
    body = json.loads(hook.calls[0].request.content)
    assert "negative spike (all mentions, group checkout)" in body["text"]
    assert "rule fired: volume" in body["text"]


def test_recovery_notice_when_the_spike_is_over(db: Any, tl: Timeline) -> None:
    calm_week(tl)
    spike(tl)
    cfg, env = hook_config(), {HOOK_ENV: HOOK}
    with respx.mock(assert_all_called=True) as mock:
        hook = mock.post(HOOK).mock(return_value=httpx.Response(200))
        alerts.check_and_notify(db, cfg, env, NOW)
        settling = alerts.check_and_notify(db, cfg, env, NOW + timedelta(minutes=90))
        over = alerts.check_and_notify(db, cfg, env, NOW + timedelta(hours=2, minutes=10))
        after = alerts.check_and_notify(db, cfg, env, NOW + timedelta(hours=2, minutes=20))
    assert by_scope(settling)["*"].event == "settling" and settling.exit_code == 0
    assert by_scope(over)["*"].event == "recovered" and over.exit_code == 0
    assert by_scope(after)["*"].event == "calm"
    assert hook.call_count == 2
    assert (
        "negative spike over (all mentions, group checkout)"
        in json.loads(hook.calls[1].request.content)["text"]
    )
    state = rows(db, "SELECT scope, status, recovered_at FROM alert_state ORDER BY scope")
    assert state == [
        {"scope": "*", "status": "calm", "recovered_at": "2026-11-24T12:10:00Z"},
        {"scope": "checkout", "status": "calm", "recovered_at": "2026-11-24T12:10:00Z"},
    ]


def test_recovery_without_a_notice_when_switched_off(db: Any, tl: Timeline) -> None:
    calm_week(tl)
    spike(tl)
    cfg, env = hook_config(recovery_notice=False), {HOOK_ENV: HOOK}
    with respx.mock() as mock:
        hook = mock.post(HOOK).mock(return_value=httpx.Response(200))
        alerts.check_and_notify(db, cfg, env, NOW)
        over = alerts.check_and_notify(db, cfg, env, NOW + timedelta(hours=3))
    assert by_scope(over)["*"].event == "recovered"
    assert hook.call_count == 1
    assert [r["event"] for r in rows(db, "SELECT event FROM alert_events WHERE scope = '*'")] == [
        "fired",
        "recovered",
    ]


def test_a_page_that_reached_nobody_is_retried_on_the_next_run(db: Any, tl: Timeline) -> None:
    calm_week(tl)
    spike(tl)
    cfg, env = hook_config(), {HOOK_ENV: HOOK}
    with respx.mock() as mock:
        hook = mock.post(HOOK).mock(
            side_effect=[httpx.Response(503), httpx.Response(200), httpx.Response(200)]
        )
        failed = alerts.check_and_notify(db, cfg, env, NOW)
        retried = alerts.check_and_notify(db, cfg, env, NOW + timedelta(minutes=10))
        quiet = alerts.check_and_notify(db, cfg, env, NOW + timedelta(minutes=20))
    assert failed.failed == {"webhook": "webhook POST answered 503"} and failed.exit_code == 1
    assert retried.delivered == ["webhook"] and retried.exit_code == 1
    assert quiet.exit_code == 0 and hook.call_count == 2
    started = rows(db, "SELECT started_at FROM alert_state WHERE scope = '*'")
    assert started == [{"started_at": "2026-11-24T10:00:00Z"}]


# --- e-mail against a real SMTP server ---------------------------------------------------


def test_alert_by_email_through_a_real_smtp_server(
    db: Any, tl: Timeline, smtp: tuple[SmtpSink, int]
) -> None:
    sink, port = smtp
    calm_week(tl)
    spike(tl)
    cfg = make_config(
        {
            "alerts": {"groups": GROUPS},
            "email": {
                "host": "127.0.0.1",
                "port": port,
                "security": "none",
                "from": "social-watch@shop.example",
            },
            "notify": {"email_to": ["care-leads@shop.example"]},
        }
    )
    run = alerts.check_and_notify(db, cfg, {}, NOW)
    assert run.delivered == ["email"] and run.exit_code == 1
    (msg,) = sink.messages
    assert msg["To"] == "care-leads@shop.example"
    assert msg["Subject"] == "Shop Example: negative spike (all mentions, group checkout)"
    body = msg.get_content()
    assert "ALERT: all mentions" in body and "top negative mentions:" in body
    assert "https://reddit.example/" in body


# --- the command -------------------------------------------------------------------------


@pytest.fixture
def at_now(monkeypatch: pytest.MonkeyPatch) -> None:
    from social_watch.cli import App

    monkeypatch.setattr(App, "now", lambda self: NOW)


def write_config(tmp_path: Path, notify: bool = True) -> str:
    path = tmp_path / "sw.toml"
    text = '[alerts.groups]\ncheckout = ["checkout"]\n'
    if notify:
        text += f'[notify]\nwebhook_url_env = "{HOOK_ENV}"\n'
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_cli_exit_codes_json_and_the_secret_never_shown(
    tmp_path: Path, db: Any, tl: Timeline, cli: Any, at_now: None
) -> None:
    calm_week(tl)
    args = ["alert", "--db", str(tmp_path / "sw.db"), "--config", write_config(tmp_path)]
    calm = cli(*args, "--json")
    assert calm.exit_code == 0 and json.loads(calm.stdout)["status"] == "calm"
    spike(tl)
    env = {HOOK_ENV: HOOK}
    with respx.mock() as mock:
        mock.post(HOOK).mock(return_value=httpx.Response(500, text=f"bad {HOOK}"))
        fired = cli(*args, "--notify", env=env)
    assert fired.exit_code == 1
    assert "ALERT: all mentions" in fired.stdout
    assert "webhook notification failed: webhook POST answered 500" in fired.stderr
    assert fired.stderr.count("notification failed") == 1  # said once, not twice
    with respx.mock() as mock:
        mock.post(HOOK).mock(side_effect=httpx.ConnectError(f"cannot reach {HOOK}"))
        again = cli(*args, "--notify", "--json", env=env)
    assert again.exit_code == 1  # nobody was reached: the page is tried again
    data = json.loads(again.stdout)
    assert data["failed"] == {"webhook": "webhook POST failed: ConnectError"}
    assert data["scopes"][0]["baseline"]["median"] >= 0
    for result in (calm, fired, again):
        assert HOOK not in result.output and "s3cretWebhookToken" not in result.output
        assert "s3cretWebhookToken" not in result.stderr


def test_cli_repeat_run_exits_0_and_dry_run_records_nothing(
    tmp_path: Path, db: Any, tl: Timeline, cli: Any, at_now: None
) -> None:
    calm_week(tl)
    spike(tl)
    args = ["alert", "--db", str(tmp_path / "sw.db"), "--config", write_config(tmp_path, False)]
    dry = cli(*args, "--dry-run")
    assert dry.exit_code == 1 and rows(db, "SELECT * FROM alert_events") == []
    assert cli(*args).exit_code == 1
    repeat = cli(*args)
    assert repeat.exit_code == 0 and "still going on" in repeat.stdout


def test_cli_errors_exit_2(tmp_path: Path, cli: Any, at_now: None) -> None:
    db_path = str(tmp_path / "sw.db")
    bad = cli("alert", "--db", db_path, "--window", "soon")
    assert bad.exit_code == 2 and "Error: --window: expected a duration" in bad.stderr
    no_channel = cli("alert", "--db", db_path, "--notify")
    assert no_channel.exit_code == 2 and "webhook_url_env" in no_channel.stderr
    missing = cli("alert", "--db", db_path)  # cron pointed at a wrong path must not be "calm"
    assert missing.exit_code == 2 and "no database at" in missing.stderr
    open_db(tmp_path).close()
    empty = cli("alert", "--db", db_path)
    assert empty.exit_code == 0 and "not enough history" in empty.stdout


# --- first impressions (issue 11.6) -------------------------------------------------------------


def test_a_fresh_inbox_says_not_enough_history_not_calm(
    tmp_path: Path, db: Any, tl: Timeline, cli: Any, at_now: None
) -> None:
    tl.add(NOW - timedelta(minutes=30), "negative", "where is my parcel", count=4)
    args = ["alert", "--db", str(tmp_path / "sw.db"), "--config", write_config(tmp_path, False)]
    result = cli(*args)
    assert result.exit_code == 0, result.output
    assert "not enough history: all mentions" in result.output
    assert "calm" not in result.output.replace("calm:", "")
    data = json.loads(cli(*args, "--json").output)
    assert data["status"] == "not_enough_history" and not data["fired"]
    assert [s["judged"] for s in data["scopes"]] == [False, False]


def test_the_brand_is_never_a_term_of_its_own_alert_nor_are_filler_words(
    db: Any, tl: Timeline
) -> None:
    calm_week(tl)
    texts = [
        "Shop Example checkout broken again, charged twice",
        "shopexample die Zahlung ist schon wieder kaputt und das nicht zum ersten Mal",
        "Shop Example platba zase nefunguje a to je už potřetí",
    ]
    for i, text in enumerate(texts * 10):
        tl.add(NOW - timedelta(minutes=14, seconds=-20 * i), "negative", text)
    run = alerts.check(db, config(), NOW - timedelta(minutes=2), record=False)
    overall = by_scope(run)["*"]
    assert overall.event == "fired" and overall.summary is not None
    terms = dict(overall.summary.terms)
    for word in ("shop", "example", "shopexample", "die", "ist", "und", "das", "nicht", "je"):
        assert word not in terms, (word, terms)
    assert {"charged", "kaputt", "nefunguje"} & set(terms)


def test_digest_rising_terms_skip_filler_words_in_the_shop_languages(tmp_path: Path) -> None:
    from social_watch import digest
    from social_watch.stopwords import stopwords

    assert {"und", "nicht", "jsem", "jest", "что", "це", "alebo"} <= stopwords()
    assert not digest._terms("und nicht aber kaputt", frozenset()) - {"kaputt"}
