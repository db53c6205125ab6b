"""Two alert checks at once on PostgreSQL, where transactions run at READ COMMITTED.

Only PostgreSQL: on SQLite, BEGIN IMMEDIATE makes the second check wait for the first's
commit, so there is nothing to interleave (tests/test_alerts.py runs the rest on both).
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

from helpers import rows
from test_alerts import NOW, Timeline, by_scope, calm_week, config, spike

from social_watch import alerts
from social_watch.store.postgres import PostgresStore


def test_two_checks_at_once_record_one_alert(pg_database: Any) -> None:
    """Cron and a watch loop (or two workers) check at once: the second waits for the
    first's lock, then reads the state it committed, and pages nobody a second time."""
    url = pg_database()
    db, other, watcher = PostgresStore(url), PostgresStore(url), PostgresStore(url)
    tl = Timeline(db)
    calm_week(tl)
    spike(tl)
    cfg = config()
    later: dict[str, alerts.AlertRun] = {}
    second = threading.Thread(
        target=lambda: later.setdefault("run", alerts.check(other, cfg, NOW + timedelta(minutes=1)))
    )
    with db.write():  # the first check's transaction, held open while the second starts
        first = alerts.check(db, cfg, NOW)
        second.start()
        deadline = time.monotonic() + 30
        while second.is_alive() and not watcher.scalar(
            "SELECT COUNT(*) FROM pg_locks WHERE NOT granted AND pid IN "
            "(SELECT pid FROM pg_stat_activity WHERE datname = current_database())"
        ):
            assert time.monotonic() < deadline, "the second check neither waited nor finished"
    second.join()
    assert by_scope(first)["*"].event == "fired"
    assert by_scope(later["run"])["*"].event == "ongoing"
    events = rows(db, "SELECT scope, event FROM alert_events ORDER BY scope")
    assert events == [{"scope": "*", "event": "fired"}, {"scope": "checkout", "event": "fired"}]
    for store in (db, other, watcher):
        store.close()
