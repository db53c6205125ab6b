"""Reminders and expired claims where two watch loops share one database: nothing is sent
twice (tests/test_watch.py covers each threshold and restarts, on both backends too)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import NOW, mention, open_db, pipeline, rows

from social_watch import notify, queue, reminders

pytestmark = pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL


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


def sla() -> queue.SlaSettings:
    return queue.SlaSettings(at_risk=0.5, urgent=0.8)


def ingest(db: Any, *mentions: Any) -> None:
    pipeline().ingest(db, list(mentions))


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


def test_an_expired_claim_returns_to_the_queue_once(tmp_path: Path) -> None:
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
