"""The contract every polling connector passes, written once and reused per network.

A connector test module describes its network with a ``Harness`` (how to make an item, how
to serve a set of items in pages, how to answer 429) and subclasses ``ConnectorContract``;
pytest then runs every contract test against it::

    from connector_contract import ConnectorContract, Harness

    class MastodonHarness(Harness):
        name = "mastodon"
        page_size = 2
        reposts = True
        ...  # options(), item(), malformed(), native_id(), serve(), rate_limit(), calls()

    class TestMastodonContract(ConnectorContract):
        @pytest.fixture
        def harness(self) -> Iterator[Harness]:
            with respx.mock(assert_all_called=False) as router:
                yield MastodonHarness(router)

The checks (each also a plain function taking ``(harness, db)`` for one-off use):
a burst larger than one page is read to the end; two overlapping polls store nothing twice;
a crash after fetching and before committing loses nothing on the next poll; a 429 becomes
``RateLimited`` with its reset, the runner records it, honours it until the reset, and other
connectors keep polling; a malformed item is skipped and the rest stored; the brand's own
posts (and reposts, where the network has them) are never queued.

Items are numbered: a larger number is a newer item. Every check polls through
``runner.poll_source`` or ``polling.poll_all``, as the CLI does, against a real database.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
import sqlite_utils

from social_watch import config as cfg
from social_watch import polling, registry, store
from social_watch.clock import iso
from social_watch.connector import Connector, Source
from social_watch.errors import RateLimited
from social_watch.pipeline import Pipeline
from social_watch.runner import PollSummary, poll_source

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


class Harness(ABC):
    """One network's fake: items in its own wire format, served the way it paginates."""

    name: ClassVar[str]  # the connector's registry name (and config section)
    network: ClassVar[str] = ""  # the mentions' network; defaults to ``name``
    page_size: ClassVar[int] = 2  # items per page the fake serves (options must agree)
    paged: ClassVar[bool] = True  # False for a network that returns everything at once
    reposts: ClassVar[bool] = False  # the network has reposts/boosts/retweets
    brand_handle: ClassVar[str] = "shopexample"  # put in [brand.handles] for the network
    now: datetime = NOW

    @property
    def env(self) -> dict[str, str]:
        """Environment the connector sees (its secrets)."""
        return {}

    @abstractmethod
    def options(self) -> dict[str, Any]:
        """The ``[connectors.<name>]`` section; exactly one source is expected."""

    @abstractmethod
    def item(self, n: int, *, author: str = "customer", repost: bool = False) -> Any:
        """Item number ``n`` in the network's wire format (newer for larger ``n``)."""

    @abstractmethod
    def malformed(self, n: int) -> Any:
        """Item ``n`` broken so the connector must skip it (e.g. no author)."""

    @abstractmethod
    def native_id(self, n: int) -> str:
        """The ``native_id`` the connector gives item ``n``."""

    @abstractmethod
    def serve(self, items: Sequence[Any]) -> None:
        """From now on the network holds exactly ``items`` (and serves them in pages)."""

    @abstractmethod
    def rate_limit(self, reset: datetime) -> None:
        """Every request gets a 429 saying the window resets at ``reset``, until ``serve``."""

    @abstractmethod
    def calls(self) -> int:
        """How many HTTP requests the fake has answered so far."""

    # --- helpers the checks share ---
    def config(self, **extra_connectors: dict[str, Any]) -> cfg.Config:
        return cfg.validate(
            {
                "brand": {"handles": {self.network or self.name: self.brand_handle}},
                "connectors": {self.name: self.options(), **extra_connectors},
            }
        )

    def connector(self, config: cfg.Config | None = None) -> Connector:
        config = config or self.config()
        return registry.build(config, self.name, env=self.env, clock=lambda: self.now)

    def poll(self, db: sqlite_utils.Database) -> PollSummary:
        config = self.config()
        connector = self.connector(config)
        try:
            source: Source = connector.sources()[0]
            return poll_source(db, Pipeline(config, lambda: self.now), connector, source)
        finally:
            connector.close()

    def stored(self, db: sqlite_utils.Database) -> dict[str, dict[str, Any]]:
        rows = store.iter_rows(
            db, "SELECT * FROM mentions WHERE network = ?", [self.network or self.name]
        )
        return {r["native_id"]: r for r in rows}

    def ids(self, numbers: Sequence[int] | range) -> set[str]:
        return {self.native_id(n) for n in numbers}


# --- the checks -------------------------------------------------------------------------


def check_burst_read_to_the_end(h: Harness, db: sqlite_utils.Database) -> None:
    count = 2 * h.page_size + 1
    h.serve([h.item(n) for n in range(1, count + 1)])
    summary = h.poll(db)
    assert summary.ok, summary.error
    assert set(h.stored(db)) == h.ids(range(1, count + 1))
    assert summary.new == count and not summary.more
    if h.paged:
        assert summary.pages >= 3, "a burst of 2 pages + 1 item needs at least 3 requests"


def check_overlapping_polls_store_nothing_twice(h: Harness, db: sqlite_utils.Database) -> None:
    h.serve([h.item(n) for n in range(1, 5)])
    first = h.poll(db)
    h.serve([h.item(n) for n in range(3, 8)])  # 3 and 4 again, 5-7 new
    second = h.poll(db)
    third = h.poll(db)
    assert (first.new, second.new, third.new) == (4, 3, 0)
    assert set(h.stored(db)) == h.ids(range(1, 8))
    assert db.conn.execute("SELECT COUNT(*) FROM mentions").fetchone()[0] == 7


def check_crash_before_commit_loses_nothing(
    h: Harness, db: sqlite_utils.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    count = 2 * h.page_size + 1
    h.serve([h.item(n) for n in range(1, count + 1)])
    real = store.ingest
    calls = {"n": 0}
    crash_on = 2 if h.paged else 1  # after a page was committed, when there is one

    def crashing(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == crash_on:
            raise RuntimeError("simulated crash between fetch and commit")
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "ingest", crashing)
    with pytest.raises(RuntimeError):
        h.poll(db)
    monkeypatch.setattr(store, "ingest", real)
    assert len(h.stored(db)) < count
    h.poll(db)
    assert set(h.stored(db)) == h.ids(range(1, count + 1))
    assert h.poll(db).new == 0


def check_rate_limit_recorded_and_others_keep_polling(
    h: Harness, db: sqlite_utils.Database, tmp_path: Path
) -> None:
    reset = (h.now + timedelta(minutes=15)).replace(microsecond=0)
    h.rate_limit(reset)
    # the connector itself: RateLimited with the reset, never a sleep
    connector = h.connector()
    try:
        with pytest.raises(RateLimited) as info:
            connector.poll(connector.sources()[0], None)
    finally:
        connector.close()
    assert info.value.reset_at == reset

    replay = tmp_path / "other.jsonl"
    replay.write_text(
        json.dumps(
            {
                "network": "x",
                "id": "900",
                "text": "@shopexample my parcel never arrived",
                "created_at": iso(h.now - timedelta(minutes=3)),
                "author": {"handle": "bob"},
            }
        )
        + "\n",
        encoding="utf-8",
    )
    config = h.config(replay={"path": str(replay)})
    reports = {r.name: r for r in polling.poll_all(db, config, h.env, clock=lambda: h.now)}
    assert reports[h.name].status == polling.RATE_LIMITED
    assert reports[h.name].rate_limit_reset == reset
    assert reports["replay"].ok and reports["replay"].total("new") == 1
    row = db.conn.execute(
        "SELECT error, rate_limit_reset FROM polls WHERE source LIKE ? ORDER BY id DESC",
        (f"{h.name}:%",),
    ).fetchone()
    assert row[0] and row[1] == iso(reset)

    # honoured until the reset: no request at all, then polling resumes after it
    before = h.calls()
    again = polling.poll_all(db, config, h.env, [h.name], clock=lambda: h.now)
    assert again[0].status == polling.RATE_LIMITED and h.calls() == before
    h.serve([h.item(1)])
    h.now = reset + timedelta(seconds=1)
    later = polling.poll_all(db, config, h.env, [h.name], clock=lambda: h.now)
    assert later[0].ok, later[0].reason
    assert h.calls() > before


def check_malformed_item_skipped(h: Harness, db: sqlite_utils.Database) -> None:
    h.serve([h.item(1), h.malformed(2), h.item(3)])
    summary = h.poll(db)
    assert summary.ok, summary.error
    assert summary.skipped == 1 and len(summary.skipped_ids) == 1
    assert set(h.stored(db)) == h.ids([1, 3])


def check_brand_posts_and_reposts_not_queued(h: Harness, db: sqlite_utils.Database) -> None:
    items = [h.item(1, author=h.brand_handle), h.item(2)]
    if h.reposts:
        items.append(h.item(3, repost=True))
    h.serve(items)
    summary = h.poll(db)
    assert summary.ok, summary.error
    rows = h.stored(db)
    brand, customer = rows[h.native_id(1)], rows[h.native_id(2)]
    assert brand["kind"] == "brand" and brand["status"] not in ("open", "claimed")
    assert customer["kind"] == "mention" and customer["status"] == "open"
    if h.reposts:
        assert h.native_id(3) not in rows
        assert summary.ignored >= 1


class ConnectorContract:
    """Subclass in a test module and provide a ``harness`` fixture (see module docstring)."""

    @pytest.fixture
    def db(self, tmp_path: Path) -> Iterator[sqlite_utils.Database]:
        from social_watch import db as dbmod

        database = dbmod.connect(tmp_path / "contract.db")
        yield database
        database.close()

    def test_burst_larger_than_a_page_is_read_to_the_end(
        self, harness: Harness, db: sqlite_utils.Database
    ) -> None:
        check_burst_read_to_the_end(harness, db)

    def test_overlapping_polls_store_nothing_twice(
        self, harness: Harness, db: sqlite_utils.Database
    ) -> None:
        check_overlapping_polls_store_nothing_twice(harness, db)

    def test_crash_before_commit_loses_nothing(
        self, harness: Harness, db: sqlite_utils.Database, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        check_crash_before_commit_loses_nothing(harness, db, monkeypatch)

    def test_rate_limit_is_recorded_and_other_connectors_keep_polling(
        self, harness: Harness, db: sqlite_utils.Database, tmp_path: Path
    ) -> None:
        check_rate_limit_recorded_and_others_keep_polling(harness, db, tmp_path)

    def test_malformed_item_is_skipped_and_the_rest_stored(
        self, harness: Harness, db: sqlite_utils.Database
    ) -> None:
        check_malformed_item_skipped(harness, db)

    def test_brand_posts_and_reposts_are_not_queued(
        self, harness: Harness, db: sqlite_utils.Database
    ) -> None:
        check_brand_posts_and_reposts_not_queued(harness, db)
