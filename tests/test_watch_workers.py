"""Several watch loops on one PostgreSQL database share the work (issue 13).

Two ``Watch`` objects in this process, each with its own connections, stand for two machines;
the clock is frozen and advanced by hand, and a "dead" worker is one that stops beating. The
real-process version (kill -9 of one of two `social-watch watch` processes) is in
tests/test_watch_workers_e2e.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from helpers import NOW, mention
from test_watch import CALLS, INSIDE, SCRIPT, Clock, Outbox, config, ingest

from social_watch import db as dbmod
from social_watch import watch, watch_state, watch_workers

TWO = {
    "alpha": {"class": "test_watch:Alpha", "interval": "60s", "quiet_period": "1h"},
    "beta": {"class": "test_watch:Beta", "interval": "60s", "quiet_period": "1h"},
}


def worker(url: str, clock: Clock, outbox: Outbox | None = None, **kw: Any) -> watch.Watch:
    w = watch.Watch(
        url,
        config(connectors=TWO),
        {},
        clock=clock,
        rand=lambda: 0.0,
        send=outbox or Outbox(),
        threaded=False,
        **kw,
    )
    w.start()
    return w


def owners(url: str) -> dict[str, str | None]:
    db = dbmod.connect(url)
    try:
        return dict(db.execute("SELECT connector, lease_owner FROM watch_connectors").fetchall())
    finally:
        db.close()


def step(clock: Clock, *loops: watch.Watch, seconds: float = 5) -> None:
    """One heartbeat of time: each loop beats, then polls what is due."""
    clock.advance(seconds=seconds)
    for w in loops:
        w.beat()
    for w in loops:
        w.dispatch()


@pytest.fixture(autouse=True)
def _reset_script() -> None:
    SCRIPT.clear()
    CALLS.clear()
    INSIDE.clear()


@pytest.fixture
def url(pg_database: Callable[[], str]) -> str:
    return pg_database()


def test_two_workers_split_the_connectors_and_never_poll_the_same_one(url: str) -> None:
    clock = Clock()
    a = worker(url, clock)
    assert a.held == {"alpha", "beta"} and a.leader  # alone: everything, and the daily jobs
    b = worker(url, clock)
    assert b.held == set() and not b.leader  # a second loop is welcome on PostgreSQL
    step(clock, a, b)  # a hands one back ...
    step(clock, a, b)  # ... b takes it
    assert a.held | b.held == {"alpha", "beta"} and not a.held & b.held
    assert len(a.held) == len(b.held) == 1
    held = owners(url)
    assert {held["alpha"], held["beta"]} == {a.token, b.token}
    polls = dict(CALLS)
    for _ in range(5):
        step(clock, a, b, seconds=60)
    # each connector polled once a minute: by one worker, not twice
    assert CALLS["alpha"] - polls.get("alpha", 0) == 5
    assert CALLS["beta"] - polls.get("beta", 0) == 5
    a.shutdown()
    b.shutdown()
    assert owners(url) == {"alpha": None, "beta": None}


def test_a_dead_workers_connectors_and_daily_jobs_move_to_a_live_one(url: str) -> None:
    clock = Clock()
    out_a, out_b = Outbox(), Outbox()
    a = worker(url, clock, out_a)
    b = worker(url, clock, out_b)
    step(clock, a, b)
    step(clock, a, b)
    assert len(b.held) == 1
    db = dbmod.connect(url)
    ingest(db, mention("1", minutes_ago=45))  # past target: the leader reminds
    b.spawn_housekeeping()  # not the leader: runs nothing
    assert out_b.notes == []
    a.spawn_housekeeping()
    assert out_a.notes  # the leader's reminder
    # a dies: no more beats. Three heartbeats (15 s) of silence are not yet death ...
    for _ in range(3):
        step(clock, b)
    assert len(b.held) == 1 and not b.leader
    step(clock, b)  # ... one more is: b polls everything and runs the daily jobs
    assert b.held == {"alpha", "beta"} and b.leader
    before = dict(CALLS)
    step(clock, b, seconds=60)
    assert CALLS["alpha"] > before.get("alpha", 0) and CALLS["beta"] > before.get("beta", 0)
    assert [w.token for w in watch_workers.workers(db)] == [b.token]  # a's row is cleared
    # a comes back from a long pause: it learns it was taken for dead and polls nothing
    a.beat()
    a.dispatch()
    assert not a.held & b.held and not a.leader
    db.close()
    a.shutdown()
    b.shutdown()


def test_a_worker_that_lost_its_lease_mid_pause_does_not_poll(url: str) -> None:
    clock = Clock()
    a = worker(url, clock)
    b = worker(url, clock)
    SCRIPT["alpha"] = [[mention("7")]]
    # b takes alpha behind a's back (as after a's heartbeat went stale)
    db = dbmod.connect(url)
    with db.write():
        db.execute("UPDATE watch_connectors SET lease_owner = ?", (b.token,))
    db.close()
    a.dispatch()  # a still thinks it holds alpha: the check right before the poll says no
    assert "alpha" not in a.held and CALLS.get("alpha", 0) == 0
    a.shutdown()
    b.shutdown()


def test_status_lists_every_worker_and_what_it_polls(url: str) -> None:
    clock = Clock(NOW)
    a = worker(url, clock)
    clock.advance(seconds=1)
    b = worker(url, clock)
    step(clock, a, b)
    data = watch_state.status(a.db, config(connectors=TWO), clock())
    team = data["workers"]
    assert len(team) == 2 and all(w["alive"] for w in team)
    assert sorted(c for w in team for c in w["connectors"]) == ["alpha", "beta"]
    assert [w["runs_daily_jobs"] for w in team] == [True, False]
    assert data["loop"]["alive"]
    json.dumps(data)
    from social_watch.cli_watch import _describe

    text = _describe(data)
    assert text.count("worker        alive") == 2 and "runs the daily jobs; polls" in text
    # both dead: status says so and exits 1 in the CLI (a problem is listed)
    clock.advance(seconds=16)
    data = watch_state.status(a.db, config(connectors=TWO), clock())
    assert not data["ok"] and not data["loop"]["alive"]
    assert "DEAD" in _describe(data)
    a.shutdown()
    b.shutdown()
