"""Defects found in review, each pinned by the test that first showed it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from helpers import NOW, make_config, mention, open_db, pipeline, rows

from social_watch.connector import MENTIONS, Connector, PollResult, Source
from social_watch.models import Author
from social_watch.runner import poll_source


class _Hostile(Connector):
    """A page from a server that controls its own accounts' fields (a Mastodon instance)."""

    name = "hostile"
    network = "mastodon"
    capabilities = frozenset({MENTIONS})
    options: ClassVar[dict[str, str]] = {}
    page: ClassVar[list[Any]] = []

    def sources(self) -> list[Source]:
        return [Source(self.name, MENTIONS)]

    def poll(self, source: Source, cursor: Any) -> PollResult:
        return PollResult(list(self.page), {"min_id": "100"})


def test_one_unstorable_item_is_skipped_and_the_rest_of_the_page_and_its_cursor_stored(tmp_path):
    """A follower count beyond SQLite's INTEGER, a lone surrogate, a date at the end of time:
    each raised out of the page's transaction, so the cursor never advanced and every later
    poll failed on the same item: one hostile account stopped the connector for good."""
    good = mention("1", network="mastodon", handle="alice@example.social")
    _Hostile.page = [
        good,
        mention("2", network="mastodon", followers=10**30),
        mention("3", "lone \ud800", network="mastodon"),
        mention("4", network="mastodon", handle="\udfff"),
        mention("5", network="mastodon", raw={"content": "\ud800"}),
        mention("6", network="mastodon").__class__(
            network="mastodon",
            native_id="6",
            text="from the far future",
            created_at=datetime(9999, 12, 31, 23, 59, tzinfo=UTC),
            author=Author("mallory"),
        ),
    ]
    db = open_db(tmp_path)
    connector = _Hostile({}, env={}, clock=lambda: NOW)
    summary = poll_source(db, pipeline(make_config()), connector, connector.sources()[0])
    assert summary.ok, summary.error
    assert summary.new == 1 and summary.skipped == 5
    assert sorted(summary.skipped_ids) == ["2", "3", "4", "5", "6"]
    assert [r["global_id"] for r in rows(db, "SELECT global_id FROM mentions")] == ["mastodon:1"]
    assert rows(db, "SELECT cursor FROM cursors") == [{"cursor": '{"min_id":"100"}'}]


def test_odd_ids_and_huge_limits_are_one_line_errors_not_tracebacks(cli, write_jsonl):
    from conftest import mention_line

    assert cli("import", str(write_jsonl([mention_line(id="1")]))).exit_code == 0
    for ref in ("²", "٣", "99999999999999999999"):  # str.isdigit() is true for all three
        result = cli("show", ref)
        assert result.exit_code == 2 and "no mention with id" in result.output, ref
        assert cli("claim", ref, "--as", "jana").exit_code == 2
    for command in (["queue"], ["outbox"]):
        result = cli(*command, "--limit", "99999999999999999999", "--json")
        assert result.exit_code == 0, result.output
