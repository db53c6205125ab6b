"""Hacker News (Algolia search_by_date): mapping from recorded hits, cursor paging, the contract,
and one end-to-end poll through the CLI against a local server."""

from __future__ import annotations

import copy
import email.utils
import json
import math
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from connector_contract import NOW, ConnectorContract, Harness
from fixture_server import FixtureServer, Reply, load_recorded, serve_fixtures  # noqa: F401

from connectors.hackernews import HackerNewsConnector
from social_watch import config as cfg
from social_watch.connector import Source
from social_watch.errors import ConfigError

BASE = "https://hn.example.test"
SEARCH = f"{BASE}/api/v1/search_by_date"


def recorded(rel: str) -> dict[str, Any]:
    return json.loads(load_recorded(rel)[2])


COMMENTS = recorded("hackernews/search_by_date_comments.json")
COMMENTS_PAGE2 = recorded("hackernews/search_by_date_comments_page2.json")
STORIES = recorded("hackernews/search_by_date_stories.json")


class FakeAlgolia:
    """search_by_date over a list of hits: numericFilters on created_at_i, hitsPerPage, page.

    The response envelope is the recorded one; only hits and the counters describing them
    change. Works for respx (``respond``) and the fixture server (``reply``).
    """

    def __init__(self, hits: Sequence[dict[str, Any]] = ()) -> None:
        self.hits = list(hits)
        self.limited_until: datetime | None = None
        self.requests: list[dict[str, str]] = []

    def answer(self, params: dict[str, str]) -> tuple[int, dict[str, str], dict[str, Any]]:
        self.requests.append(params)
        if self.limited_until is not None:
            when = email.utils.format_datetime(self.limited_until, usegmt=True)
            return 429, {"Retry-After": when}, {"message": "Too many requests"}
        hits = sorted(self.hits, key=lambda h: -h["created_at_i"])
        for clause in filter(None, params.get("numericFilters", "").split(",")):
            hits = [h for h in hits if _numeric(clause, h)]
        per_page = int(params.get("hitsPerPage", 20))
        page = int(params.get("page", 0))
        body = {k: v for k, v in COMMENTS.items() if k != "hits"}
        body.update(
            hits=hits[page * per_page : (page + 1) * per_page],
            nbHits=len(hits),
            nbPages=math.ceil(len(hits) / per_page) if per_page else 0,
            page=page,
            hitsPerPage=per_page,
            query=params.get("query", ""),
        )
        return 200, {"Content-Type": "application/json"}, body

    def respond(self, request: httpx.Request) -> httpx.Response:
        status, headers, body = self.answer(dict(request.url.params))
        return httpx.Response(status, headers=headers, json=body)

    def reply(self, request: Any) -> Reply:
        status, headers, body = self.answer(request.query)
        return Reply.json(body, status=status, headers=headers)


def _numeric(clause: str, hit: dict[str, Any]) -> bool:
    for op, test in (
        (">=", lambda a, b: a >= b),
        ("<=", lambda a, b: a <= b),
        (">", lambda a, b: a > b),
        ("<", lambda a, b: a < b),
        ("=", lambda a, b: a == b),
    ):
        name, sep, value = clause.partition(op)
        if sep:
            return bool(test(hit[name.strip()], int(value)))
    raise AssertionError(f"unsupported numericFilters clause {clause!r}")


def comment_hit(n: int, *, author: str = "customer", at: datetime = NOW) -> dict[str, Any]:
    """A recorded comment hit renumbered: id 9000+n, n*7 seconds after an hour before ``at``."""
    hit = copy.deepcopy(COMMENTS["hits"][0])
    stamp = int((at - timedelta(hours=1)).timestamp()) + 7 * n
    hit.update(
        objectID=str(9000 + n),
        author=author,
        created_at_i=stamp,
        created_at=datetime.fromtimestamp(stamp, UTC).isoformat().replace("+00:00", ".000Z"),
        comment_text=f"Ordered from Shop Example&#x27;s site #{n}.<p>Still no parcel &amp; no answer.",
        parent_id=8000 + n,
    )
    hit["_tags"] = ["comment", f"author_{author}", f"story_{hit['story_id']}"]
    return hit


class HackerNewsHarness(Harness):
    name = "hackernews"
    page_size = 2

    def __init__(self, router: respx.MockRouter) -> None:
        self.fake = FakeAlgolia()
        router.get(SEARCH).mock(side_effect=self.fake.respond)

    def options(self) -> dict[str, Any]:
        return {"base_url": BASE, "queries": ["shop example"], "hits_per_page": self.page_size}

    def item(self, n: int, *, author: str = "customer", repost: bool = False) -> Any:
        return comment_hit(n, author=author)

    def malformed(self, n: int) -> Any:
        hit = comment_hit(n)
        del hit["author"]
        return hit

    def native_id(self, n: int) -> str:
        return str(9000 + n)

    def serve(self, items: Sequence[Any]) -> None:
        self.fake.hits = list(items)
        self.fake.limited_until = None

    def rate_limit(self, reset: datetime) -> None:
        self.fake.limited_until = reset

    def calls(self) -> int:
        return len(self.fake.requests)


class TestHackerNewsContract(ConnectorContract):
    @pytest.fixture
    def harness(self) -> Iterator[Harness]:
        with respx.mock(assert_all_called=False) as router:
            yield HackerNewsHarness(router)


def connector(clock: Callable[[], datetime] = lambda: NOW, **opts: Any) -> HackerNewsConnector:
    options = {"base_url": BASE, "queries": ["AI"], **opts}
    HackerNewsConnector.validate_options(options, "connectors.hackernews")
    return HackerNewsConnector(options, env={}, clock=clock)


SOURCE = Source("hackernews", "search", "AI")


@respx.mock
def test_recorded_comments_map_to_mentions() -> None:
    route = respx.get(SEARCH).respond(json=COMMENTS)
    result = connector(hits_per_page=20).poll(SOURCE, None)
    first = result.mentions[0]
    assert first.native_id == "18463371"
    assert first.url == "https://news.ycombinator.com/item?id=18463371"
    assert first.conversation_id == "18445714" and first.in_reply_to == "18453018"
    assert first.author.handle == "komali2"
    assert first.created_at == datetime(2018, 11, 15, 21, 10, 34, tzinfo=UTC)
    assert "one quick left/right check when my signal comes on.\n\nI don't have to" in first.text
    assert "&#x27;" not in first.text and "<p>" not in first.text
    assert first.raw is not None and "_highlightResult" not in first.raw
    params = route.calls.last.request.url.params
    assert params["tags"] == "(story,comment)" and params["query"] == "AI"
    assert (
        params["numericFilters"] == f"created_at_i>={int((NOW - timedelta(hours=24)).timestamp())}"
    )


@respx.mock
def test_recorded_stories_keep_title_text_and_link() -> None:
    respx.get(SEARCH).respond(json=STORIES)
    result = connector(lambda: datetime(2026, 8, 10, tzinfo=UTC), hits_per_page=20).poll(
        SOURCE, None
    )
    by_id = {m.native_id: m for m in result.mentions}
    ask = by_id["49232797"]
    assert ask.text.startswith("Ask HN: Anything as Fast as Google's AI Mode in the CLI?\n\n")
    assert "Google's AI mode is the fastest" in ask.text and ask.in_reply_to is None
    assert ask.conversation_id == "49232797"
    link = by_id["49232944"]
    assert link.text.endswith(
        "\n\nhttps://www.cbc.ca/news/canada/toronto/porter-airlines-flight-to-toronto-cancelled-child-standing-on-seat-9.7300786"
    )
    assert result.cursor == {"since": 1786293200, "seen": ["49232944"]}


@respx.mock
def test_recorded_pages_are_followed_by_time_and_the_cursor_absorbs_overlap() -> None:
    """Page 1, then created_at_i<= the last hit (the recorded page 2), then an empty page."""
    clock = lambda: datetime(2018, 11, 16, tzinfo=UTC)  # noqa: E731
    since = int(datetime(2018, 11, 15, tzinfo=UTC).timestamp())
    empty = {**COMMENTS_PAGE2, "hits": [], "nbHits": 0, "nbPages": 0}

    def pages(request: httpx.Request) -> httpx.Response:
        filters = request.url.params["numericFilters"]
        body = {
            f"created_at_i>={since}": COMMENTS,
            f"created_at_i>={since},created_at_i<=1542316220": COMMENTS_PAGE2,
            f"created_at_i>={since},created_at_i<=1542316215": empty,
        }[filters]
        return httpx.Response(200, json=body)

    respx.get(SEARCH).mock(side_effect=pages)
    hn = connector(clock, hits_per_page=2)
    cursor: Any = None
    ids: list[str] = []
    for _ in range(3):
        result = hn.poll(SOURCE, cursor)
        ids += [m.native_id for m in result.mentions]
        cursor = result.cursor
        if not result.more:
            break
    assert ids == ["18463371", "18463370", "18463369", "18463367"]
    assert cursor == {"since": 1542316234, "seen": ["18463371"]}


@respx.mock
def test_a_hit_in_the_same_second_as_the_cursor_is_not_lost() -> None:
    respx.get(SEARCH).mock(side_effect=FakeAlgolia([comment_hit(1), comment_hit(2)]).respond)
    first = connector(hits_per_page=10).poll(SOURCE, None)
    late = comment_hit(2)
    late["objectID"] = "9999"  # indexed later, stamped with the same second
    respx.get(SEARCH).mock(side_effect=FakeAlgolia([comment_hit(1), comment_hit(2), late]).respond)
    second = connector(hits_per_page=10).poll(SOURCE, first.cursor)
    assert [m.native_id for m in second.mentions] == ["9999"]
    assert sorted(second.cursor["seen"]) == ["9002", "9999"]


def test_bad_options_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"connectors\.hackernews\.queries"):
        HackerNewsConnector.validate_options({"queries": []}, "connectors.hackernews")
    with pytest.raises(ConfigError, match=r"connectors\.hackernews\.hits_per_page"):
        HackerNewsConnector.validate_options(
            {"queries": ["a"], "hits_per_page": 0}, "connectors.hackernews"
        )
    with pytest.raises(ConfigError, match=r"connectors\.hackernews\.quries: unknown option"):
        HackerNewsConnector.validate_options({"quries": ["a"]}, "connectors.hackernews")


def test_reply_is_refused_with_a_clear_message() -> None:
    from social_watch.errors import UsageError

    with pytest.raises(UsageError, match=r"read-only.*to-email"):
        connector().reply(None, "hi", "k")  # type: ignore[arg-type]


# --- end to end through the CLI, against a local server ---------------------------------


def write_config(tmp_path: Path, section: str) -> Path:
    path = tmp_path / "social-watch.toml"
    path.write_text(
        f'database = "{tmp_path / "sw.db"}"\n[brand]\nname = "Shop Example"\n{section}',
        encoding="utf-8",
    )
    return path


def test_poll_end_to_end_over_a_real_socket(
    fixture_server: FixtureServer, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    hits = COMMENTS["hits"] + COMMENTS_PAGE2["hits"] + STORIES["hits"]
    fixture_server.get("/api/v1/search_by_date", FakeAlgolia(hits).reply)
    config = write_config(
        tmp_path,
        f'[connectors.hackernews]\nbase_url = "{fixture_server.url}"\nqueries = ["AI"]\n'
        'hits_per_page = 2\nlookback = "5000d"\n',
    )
    result = cli("poll", "--config", str(config), "--json")
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.output)
    assert report["connector"] == "hackernews" and report["status"] == "ok"
    # each next page asks for created_at_i <= the oldest second read (its ids are filtered)
    assert report["new"] == 7 and report["duplicates"] == 0 and report["sources"][0]["pages"] > 3
    filters = [r.query["numericFilters"] for r in fixture_server.requests]
    assert filters[1].endswith(",created_at_i<=1786292456")
    assert all(r.headers["user-agent"].startswith("social-watch/") for r in fixture_server.requests)

    again = cli("poll", "--config", str(config))
    assert again.exit_code == 0, again.output
    assert "hackernews  ok" in again.output and "new 0" in again.output

    from social_watch import db as dbmod

    db = dbmod.connect(tmp_path / "sw.db")
    rows = db.conn.execute("SELECT native_id, url FROM mentions ORDER BY created_at").fetchall()
    assert len(rows) == 7 and rows[0] == (
        "18463367",
        "https://news.ycombinator.com/item?id=18463367",
    )


def test_check_and_connectors_commands(
    fixture_server: FixtureServer, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    fixture_server.get("/api/v1/search_by_date", FakeAlgolia(STORIES["hits"]).reply)
    config = write_config(
        tmp_path, f'[connectors.hackernews]\nbase_url = "{fixture_server.url}"\nqueries = ["AI"]\n'
    )
    result = cli("check", "--config", str(config))
    assert result.exit_code == 0, result.output
    assert "hackernews  ok" in result.output and "3 hits for 'AI'" in result.output
    listed = cli("connectors", "--config", str(config), "--json")
    rows = {r["name"]: r for r in json.loads(listed.output)}
    assert rows["hackernews"]["configured"] and rows["hackernews"]["read_only"]
    assert rows["hackernews"]["sources"] == [
        {"key": "hackernews:search:AI", "kind": "search", "query": "AI"}
    ]


def test_unknown_option_is_a_config_error_with_exit_2(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    config = write_config(tmp_path, '[connectors.hackernews]\nqueries = ["a"]\nquries = ["b"]\n')
    for command in ("poll", "check"):
        result = cli(command, "--config", str(config))
        assert result.exit_code == 2
        assert "connectors.hackernews.quries" in result.output
        assert "Traceback" not in result.output


def test_config_is_loadable() -> None:
    cfg.validate({"connectors": {"hackernews": {"queries": ["x"], "lookback": "2h"}}})
