"""RSS/Atom (Google Alerts and any feed): recorded feeds, conditional GET, the contract, and one
end-to-end poll through the CLI against a local server."""

from __future__ import annotations

import email.utils
import json
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from connector_contract import NOW, ConnectorContract, Harness
from fixture_server import FixtureServer, Reply, load_recorded, serve_fixtures  # noqa: F401

from connectors.rss import RssConnector, _native_id, unwrap_google
from social_watch.connector import Source
from social_watch.errors import ConfigError

FEED = "https://www.google.com/alerts/feeds/04175468913983673025/4428013283581841004"
SOURCE = Source("rss", "feed", FEED)


def body(rel: str) -> bytes:
    return load_recorded(rel)[2]


ALERTS = body("rss/google_alerts.xml").decode()
HEAD, FIRST_ENTRY = ALERTS.split("<entry>", 1)[0], "<entry>" + ALERTS.split("<entry>")[1]
FIRST_ENTRY = FIRST_ENTRY.split("</entry>")[0] + "</entry>"


def alert_entry(n: int, *, author: str = "", link: bool = True) -> str:
    """The recorded first Google Alerts entry, renumbered (newer for larger n)."""
    at = (NOW - timedelta(hours=1) + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%SZ")
    entry = re.sub(
        r"<id>[^<]*</id>", f"<id>tag:google.com,2013:googlealerts/feed:{n}</id>", FIRST_ENTRY
    )
    entry = entry.replace(
        "aglobalmarketresearch.com/report-offers", f"news.example/{n}/report-offers"
    )
    entry = re.sub(r"<published>[^<]*</published>", f"<published>{at}</published>", entry)
    entry = re.sub(r"<updated>[^<]*</updated>", f"<updated>{at}</updated>", entry)
    entry = entry.replace("<name></name>", f"<name>{author}</name>")
    entry = entry.replace("Automotive &lt;b&gt;Slack", f"Item {n}: Automotive &lt;b&gt;Slack", 1)
    if not link:
        entry = re.sub(r"<link [^>]*></link>", "", entry)
        entry = re.sub(r"<id>[^<]*</id>", "", entry)
    return entry


def alert_link(n: int) -> str:
    return unwrap_google(
        re.search(r'<link href="([^"]+)"', alert_entry(n)).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    )


def feed(entries: Sequence[str]) -> bytes:
    return (HEAD + " ".join(entries) + " </feed>").encode()


class FakeFeed:
    """One feed URL: serves the current entries, honours If-None-Match, or answers 429."""

    def __init__(self) -> None:
        self.entries: list[str] = []
        self.version = 0
        self.limited_until: datetime | None = None
        self.requests: list[dict[str, str]] = []

    def answer(self, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        self.requests.append(headers)
        if self.limited_until is not None:
            when = email.utils.format_datetime(self.limited_until, usegmt=True)
            return 429, {"Retry-After": when}, b"Too Many Requests"
        etag = f'"v{self.version}"'
        if headers.get("if-none-match") == etag:
            return 304, {"ETag": etag}, b""
        return 200, {"ETag": etag, "Content-Type": "application/atom+xml"}, feed(self.entries)

    def respond(self, request: httpx.Request) -> httpx.Response:
        status, headers, content = self.answer({k.lower(): v for k, v in request.headers.items()})
        return httpx.Response(status, headers=headers, content=content)

    def reply(self, request: Any) -> Reply:
        status, headers, content = self.answer(request.headers)
        return Reply(status, content, headers)


class RssHarness(Harness):
    name = "rss"
    paged = False  # a feed is one document
    page_size = 20  # what Google Alerts puts in one feed
    brand_handle = "shopexample.com"

    def __init__(self, router: respx.MockRouter) -> None:
        self.fake = FakeFeed()
        router.get(FEED).mock(side_effect=self.fake.respond)

    def options(self) -> dict[str, Any]:
        return {"feeds": [FEED]}

    def item(self, n: int, *, author: str = "", repost: bool = False) -> Any:
        return alert_entry(n, author="" if author == "customer" else author)

    def malformed(self, n: int) -> Any:
        return alert_entry(n, link=False)

    def native_id(self, n: int) -> str:
        return _native_id(alert_link(n))

    def serve(self, items: Sequence[Any]) -> None:
        self.fake.entries = list(items)
        self.fake.version += 1
        self.fake.limited_until = None

    def rate_limit(self, reset: datetime) -> None:
        self.fake.limited_until = reset

    def calls(self) -> int:
        return len(self.fake.requests)


class TestRssContract(ConnectorContract):
    @pytest.fixture
    def harness(self) -> Iterator[Harness]:
        with respx.mock(assert_all_called=False) as router:
            yield RssHarness(router)


def rss(**opts: Any) -> RssConnector:
    options = {"feeds": [FEED], **opts}
    RssConnector.validate_options(options, "connectors.rss")
    return RssConnector(options, env={}, clock=lambda: NOW)


@respx.mock
def test_google_alerts_feed_unwraps_links_and_strips_html() -> None:
    respx.get(FEED).respond(
        content=body("rss/google_alerts.xml"), headers={"Content-Type": "application/atom+xml"}
    )
    result = rss().poll(SOURCE, None)
    first = result.mentions[0]
    assert first.url == (
        "https://www.aglobalmarketresearch.com/report-offers-prediction-of-automotive-slack-"
        "market-by-top-key-players-like-haldex-meritor-bendix-mei-wabco-accuride-stemco-tbk-"
        "febi-aydinsan/"
    )
    assert first.text.startswith(
        "Report offers Prediction of Automotive Slack Market by Top key players"
    )
    assert (
        "<b>" not in first.text
        and "&nbsp;" not in first.text
        and "&#39;" not in result.mentions[1].text
    )
    assert "Company's decision" in result.mentions[1].text
    assert first.author.handle == "aglobalmarketresearch.com"  # the empty <author> falls back
    assert first.created_at == datetime(2019, 7, 10, 11, 53, 37, tzinfo=UTC)
    assert len(result.mentions) == 3 and not result.skipped


@pytest.mark.parametrize(
    ("rel", "count", "author", "url"),
    [
        (
            "rss/rss2_wordpress.xml",
            2,
            "Aaron Patterson",
            "http://tenderlovemaking.com/2008/12/04/nokogiris-slop-feature/",
        ),
        (
            "rss/rss2_hackernews.xml",
            3,
            "aws.amazon.com",
            "https://aws.amazon.com/blogs/aws/announcing-aws-lambda-function-urls-built-in-https-endpoints-for-single-function-microservices/",
        ),
        (
            "rss/atom_html_content.xml",
            2,
            "Paul Dix",
            "http://www.pauldix.net/2009/01/making-a-ruby-c-library-even-faster.html",
        ),
    ],
)
def test_recorded_feeds(rel: str, count: int, author: str, url: str) -> None:
    with respx.mock:
        respx.get(FEED).respond(content=body(rel))
        result = rss().poll(SOURCE, None)
    assert len(result.mentions) == count and not result.skipped
    first = result.mentions[0]
    assert (first.author.handle, first.url) == (author, url)
    assert first.text and "<p>" not in first.text and "<a " not in first.text


@respx.mock
def test_conditional_get_304_means_nothing_new_and_keeps_the_cursor() -> None:
    fake = FakeFeed()
    fake.entries = [alert_entry(1), alert_entry(2)]
    route = respx.get(FEED).mock(side_effect=fake.respond)
    first = rss().poll(SOURCE, None)
    assert len(first.mentions) == 2 and first.cursor["etag"] == '"v0"'
    second = rss().poll(SOURCE, first.cursor)
    assert second.mentions == [] and second.cursor == first.cursor
    assert route.calls.last.request.headers["If-None-Match"] == '"v0"'


@respx.mock
def test_last_modified_is_sent_back() -> None:
    stamp = "Wed, 10 Jul 2019 11:53:37 GMT"
    route = respx.get(FEED).respond(
        content=feed([alert_entry(1)]), headers={"Last-Modified": stamp}
    )
    first = rss().poll(SOURCE, None)
    rss().poll(SOURCE, first.cursor)
    assert route.calls.last.request.headers["If-Modified-Since"] == stamp


@respx.mock
def test_same_article_in_two_alerts_is_one_mention() -> None:
    other = FEED + "2"
    respx.get(FEED).respond(content=feed([alert_entry(1)]))
    twin = (
        alert_entry(1)
        .replace("googlealerts/feed:1<", "googlealerts/feed:777<")
        .replace("usg=", "usg=X")
    )
    respx.get(other).respond(content=feed([twin]))
    a = rss(feeds=[FEED, other]).poll(SOURCE, None)
    b = rss(feeds=[FEED, other]).poll(Source("rss", "feed", other), None)
    assert a.mentions[0].native_id == b.mentions[0].native_id


def test_seen_keys_are_bounded() -> None:
    from connectors import rss as mod

    entries = [alert_entry(n) for n in range(1, 6)]
    with respx.mock:
        respx.get(FEED).respond(content=feed(entries))
        old = {"seen": [f"old{i}" for i in range(mod.MAX_SEEN)]}
        result = rss().poll(SOURCE, old)
    assert len(result.cursor["seen"]) == mod.MAX_SEEN
    assert result.cursor["seen"][:5] == [m.native_id for m in result.mentions]


def test_unwrap_google_redirect() -> None:
    assert (
        unwrap_google("https://www.google.com/url?rct=j&sa=t&url=https://ex.com/a?b=1&ct=ga")
        == "https://ex.com/a?b=1"
    )
    assert (
        unwrap_google("https://ex.com/url?url=https://evil")
        == "https://ex.com/url?url=https://evil"
    )


def test_bad_options_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"connectors\.rss\.feeds"):
        RssConnector.validate_options({"feeds": []}, "connectors.rss")
    with pytest.raises(ConfigError, match=r"connectors\.rss\.feeds\[1\]"):
        RssConnector.validate_options({"feeds": ["https://a", "ftp://b"]}, "connectors.rss")


@respx.mock
def test_not_a_feed_is_a_connector_error() -> None:
    from social_watch.errors import ConnectorError

    respx.get(FEED).respond(content=b"<html><body>Sign in</body></html>")
    with pytest.raises(ConnectorError, match="not an RSS or Atom feed"):
        rss().poll(SOURCE, None)


# --- end to end through the CLI, against a local server ---------------------------------


def test_poll_end_to_end_with_conditional_get(
    fixture_server: FixtureServer, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    etag = '"alerts-1"'

    def alerts(request: Any) -> Reply:
        if request.headers.get("if-none-match") == etag:
            return Reply(304, headers={"ETag": etag})
        return Reply.fixture("rss/google_alerts.xml", headers={"ETag": etag})

    fixture_server.get("/alerts/feeds/1/2", alerts)
    fixture_server.get("/wordpress.xml", Reply.fixture("rss/rss2_wordpress.xml"))
    config = tmp_path / "social-watch.toml"
    config.write_text(
        f'database = "{tmp_path / "sw.db"}"\n'
        '[brand]\nhandles = { rss = "aglobalmarketresearch.com" }\n'
        f'[connectors.rss]\nfeeds = ["{fixture_server.url}/alerts/feeds/1/2", '
        f'"{fixture_server.url}/wordpress.xml"]\n',
        encoding="utf-8",
    )
    first = cli("poll", "--config", str(config), "--json")
    assert first.exit_code == 0, first.output
    (report,) = json.loads(first.output)
    assert (report["status"], report["fetched"], report["new"]) == ("ok", 5, 5)
    second = cli("poll", "--config", str(config))
    assert second.exit_code == 0, second.output
    assert "rss         ok" in second.output and "new 0" in second.output
    alert_requests = [r for r in fixture_server.requests if r.path == "/alerts/feeds/1/2"]
    assert "if-none-match" not in alert_requests[0].headers
    assert alert_requests[1].headers["if-none-match"] == etag

    from social_watch import db as dbmod

    db = dbmod.connect(tmp_path / "sw.db")
    kinds = dict(db.conn.execute("SELECT author_handle, kind FROM mentions").fetchall())
    assert kinds["aglobalmarketresearch.com"] == "brand"  # the brand's own site is not queued
    assert kinds["investorplace.com"] == "mention"


def test_poll_reports_failures_and_missing_secrets_with_exit_1(
    fixture_server: FixtureServer, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    fixture_server.get("/gone.xml", Reply(500, b"oops"))
    config = tmp_path / "social-watch.toml"
    config.write_text(
        f'database = "{tmp_path / "sw.db"}"\n'
        f'[connectors.rss]\nfeeds = ["{fixture_server.url}/gone.xml"]\n',
        encoding="utf-8",
    )
    result = cli("poll", "--config", str(config))
    assert result.exit_code == 1
    assert "rss         failed" in result.output and "GET /gone.xml → 500" in result.output
    checked = cli("check", "--config", str(config), "--json")
    assert checked.exit_code == 1
    assert json.loads(checked.output)[0]["kind"] == "transient"


def test_a_relative_feed_path_is_read_against_base_url_and_refused_without_one(
    tmp_path: Path,
) -> None:
    from social_watch import config as cfgmod
    from social_watch import registry

    toml = tmp_path / "social-watch.toml"
    toml.write_text(
        '[connectors.rss]\nbase_url = "https://alerts.example"\nfeeds = ["/feeds/1"]\n',
        encoding="utf-8",
    )
    connector = registry.build(cfgmod.load(str(toml)), "rss", env={})
    fake = FakeFeed()
    fake.entries = [alert_entry(1)]
    with respx.mock(assert_all_called=True) as router:
        router.get("https://alerts.example/feeds/1").mock(side_effect=fake.respond)
        (source,) = connector.sources()
        assert len(connector.poll(source, None).mentions) == 1
    toml.write_text('[connectors.rss]\nfeeds = ["/feeds/1"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"connectors\.rss\.feeds\[0\].*base_url"):
        registry.build(cfgmod.load(str(toml)), "rss", env={})
