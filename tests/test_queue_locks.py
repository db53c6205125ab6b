"""Read-then-write queue actions on PostgreSQL: the state they check is the state they write.

SQLite's write transaction excludes every other writer, so the check and the write can never
be split there; on PostgreSQL another agent's commit can land between them unless the item's
rows are locked first. Each test holds that lock from a second connection, starts the action
in a thread, waits (on pg_stat_activity, not on time) until it is blocked on the lock, then
commits a change that makes the action wrong and checks that it refuses.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from helpers import NOW, mention
from test_watch import ingest

from social_watch import db as dbmod
from social_watch import queue
from social_watch.errors import Conflict


def blocked_on_a_lock(db: Any) -> bool:
    return bool(
        db.scalar(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()"
        )
    )


def race(url: str, action: Callable[[Any], Any], meanwhile: str) -> Any:
    """Run ``action`` while another connection holds item 1 and then commits ``meanwhile``."""
    holder, actor = dbmod.connect(url), dbmod.connect(url)
    outcome: dict[str, Any] = {}

    def act() -> None:
        try:
            outcome["result"] = action(actor)
        except Exception as exc:  # the outcome is what the test checks
            outcome["error"] = exc

    try:
        with holder.write():
            holder.execute("SELECT id FROM mentions WHERE item_id = 1 FOR UPDATE")
            t = threading.Thread(target=act)
            t.start()
            deadline = time.monotonic() + 10
            while not blocked_on_a_lock(dbmod.connect(url)) and time.monotonic() < deadline:
                t.join(0.02)
            assert t.is_alive(), outcome
            holder.execute(meanwhile)
        t.join(10)
        assert not t.is_alive()
        return outcome
    finally:
        holder.close()
        actor.close()


@pytest.fixture
def url(pg_database: Callable[[], str]) -> str:
    url = pg_database()
    db = dbmod.connect(url)
    ingest(db, mention("1", minutes_ago=10))
    db.close()
    return url


ANSWERED = "UPDATE mentions SET status = 'answered' WHERE item_id = 1"
CLAIMED_BY_JANA = (
    "UPDATE mentions SET status = 'claimed', claimed_by = 'jana', "
    "claimed_at = '2026-01-01T00:00:00Z', claim_expires_at = '2999-01-01T00:00:00Z' "
    "WHERE item_id = 1"
)


def test_a_dismiss_that_waited_for_a_reply_is_refused(url: str) -> None:
    outcome = race(
        url,
        lambda db: queue.close(db, 1, "tom", now=NOW, status="dismissed", reason="spam"),
        ANSWERED,
    )
    assert isinstance(outcome.get("error"), Conflict), outcome
    assert "answered" in str(outcome["error"])


def test_an_assign_that_waited_for_a_colleagues_claim_is_refused(url: str) -> None:
    outcome = race(
        url,
        lambda db: queue.assign(db, 1, "tom", "lea", now=NOW, ttl=timedelta(minutes=30)),
        CLAIMED_BY_JANA,
    )
    assert "claimed by jana" in str(outcome.get("error")), outcome


def test_a_release_that_waited_for_an_answer_is_refused(url: str) -> None:
    db = dbmod.connect(url)
    queue.claim(db, 1, "tom", now=NOW, ttl=timedelta(minutes=30))
    db.close()
    outcome = race(url, lambda db: queue.release(db, 1, "tom", now=NOW), ANSWERED)
    assert isinstance(outcome.get("error"), Conflict), outcome
    assert "not claimed" in str(outcome["error"])
