"""Mastodon: mapping from recorded statuses, min_id/Link paging, the contract, replies, secrets,
and one end-to-end poll through the CLI against a local server."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from connector_contract import NOW, ConnectorContract, Harness
from fixture_server import FixtureServer, Reply, load_recorded, serve_fixtures  # noqa: F401

from connectors import mastodon as mod
from connectors.mastodon import MastodonConnector
from social_watch import config as cfg
from social_watch import registry
from social_watch.connector import Source
from social_watch.errors import AuthError, ConfigError, RateLimited
from social_watch.models import Author

BASE = "https://mastodon.example"
TOKEN = "s3cr3t-mastodon-token"
ENV = {"SOCIAL_WATCH_MASTODON_TOKEN": TOKEN}
RECORDED_HOST = "http://localhost:3000"


def recorded(rel: str) -> Any:
    return json.loads(load_recorded(rel)[2])


TAG = recorded("mastodon/timeline_tag.json")
NOTIFICATIONS = recorded("mastodon/notifications_mentions.json")
REPLY = recorded("mastodon/status_reply.json")
ME = recorded("mastodon/verify_credentials.json")


def status_id(n: int) -> str:
    """Snowflake-like ids as Mastodon makes them: milliseconds << 16."""
    return str(int((NOW - timedelta(minutes=100 - n)).timestamp() * 1000) << 16)


def status(
    n: int, *, author: str = "customer", repost: bool = False, reply_to: str | None = None
) -> dict[str, Any]:
    s = copy.deepcopy(TAG[0])
    sid = status_id(n)
    s.update(
        id=sid,
        created_at=(NOW - timedelta(minutes=100 - n)).isoformat().replace("+00:00", "Z"),
        url=f"{BASE}/@{author}/{sid}",
        uri=f"{BASE}/users/{author}/statuses/{sid}",
        content=f"<p>@shopexample my order #{n} never arrived, see "
        f'<a href="https://example.com/o/{n}">example.com/o/{n}</a></p>',
        language="en",
        in_reply_to_id=reply_to,
    )
    s["account"].update(id=f"9{n}", acct=author, username=author.split("@")[0])
    if repost:
        s["reblog"] = status(n + 1000, author="someone")
        s["content"] = ""
    return s


class FakeMastodon:
    """Statuses (or notifications) served with Mastodon's paging: ``max_id``, ``since_id``,
    ``min_id`` (the page immediately newer), ``limit``, and a ``Link`` header.

    Works for respx (``respond``) and the fixture server (``reply``)."""

    def __init__(self, items: Sequence[dict[str, Any]] = (), *, wrap: str | None = None) -> None:
        self.items = list(items)
        self.wrap = wrap  # "notifications" or "search" envelopes; None for timelines
        self.limited_until: datetime | None = None
        self.requests: list[dict[str, Any]] = []

    def answer(self, url: str, params: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        self.requests.append(params)
        if self.limited_until is not None:
            _, headers, body = load_recorded("mastodon/error_429.json")
            stamp = self.limited_until.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            return 429, {**headers, "X-RateLimit-Reset": stamp}, json.loads(body)
        items = sorted(self.items, key=lambda s: -int(s["id"]))
        if "max_id" in params:
            items = [s for s in items if int(s["id"]) < int(params["max_id"])]
        if "since_id" in params:
            items = [s for s in items if int(s["id"]) > int(params["since_id"])]
        limit = int(params.get("limit", 20))
        if "min_id" in params:
            items = [s for s in items if int(s["id"]) > int(params["min_id"])][-limit:]
        page = items[:limit]
        headers = {"Content-Type": "application/json"}
        if page:
            headers["Link"] = (
                f'<{url}?max_id={page[-1]["id"]}>; rel="next", '
                f'<{url}?min_id={page[0]["id"]}>; rel="prev"'
            )
        body: Any = page
        if self.wrap == "notifications":
            body = [{**NOTIFICATIONS[0], "id": s["id"], "status": s} for s in page]
        elif self.wrap == "search":
            body = {"accounts": [], "statuses": page, "hashtags": []}
        return 200, headers, body

    def respond(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url.copy_with(query=None))
        status_code, headers, body = self.answer(url, dict(request.url.params))
        return httpx.Response(status_code, headers=headers, json=body)

    def reply(self, request: Any) -> Reply:
        status_code, headers, body = self.answer(request.path, request.query)
        return Reply.json(body, status=status_code, headers=headers)


# --- the contract ---------------------------------------------------------------------


class MastodonHarness(Harness):
    name = "mastodon"
    page_size = 2
    reposts = True
    brand_handle = "shopexample@mastodon.example"

    def __init__(self, router: respx.MockRouter) -> None:
        self.fake = FakeMastodon()
        router.get(f"{BASE}/api/v1/timelines/tag/shopexample").mock(side_effect=self.fake.respond)

    @property
    def env(self) -> dict[str, str]:
        return dict(ENV)

    def options(self) -> dict[str, Any]:
        return {
            "base_url": BASE,
            "hashtags": ["shopexample"],
            "mentions": False,
            "page_size": self.page_size,
        }

    def item(self, n: int, *, author: str = "customer", repost: bool = False) -> Any:
        # the brand's local account: acct "shopexample" on mastodon.example
        return status(n, author=author.split("@")[0], repost=repost)

    def malformed(self, n: int) -> Any:
        s = status(n)
        del s["account"]
        return s

    def native_id(self, n: int) -> str:
        return status_id(n)

    def serve(self, items: Sequence[Any]) -> None:
        self.fake.items = list(items)
        self.fake.limited_until = None

    def rate_limit(self, reset: datetime) -> None:
        self.fake.limited_until = reset

    def calls(self) -> int:
        return len(self.fake.requests)


class TestMastodonContract(ConnectorContract):
    @pytest.fixture
    def harness(self) -> Iterator[Harness]:
        with respx.mock(assert_all_called=False) as router:
            yield MastodonHarness(router)


# --- unit tests -----------------------------------------------------------------------


def connector(env: dict[str, str] | None = None, **options: Any) -> MastodonConnector:
    opts = {"base_url": BASE, **options}
    MastodonConnector.validate_options(opts, "connectors.mastodon")
    return MastodonConnector(opts, env=ENV if env is None else env, clock=lambda: NOW)


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as r:
        yield r


def test_recorded_notification_maps_to_a_mention(router: respx.MockRouter) -> None:
    _, headers, body = load_recorded("mastodon/notifications_mentions.json")
    route = router.get("/api/v1/notifications").mock(
        return_value=httpx.Response(200, headers=headers, content=body)
    )
    c = connector(lookback="5000d")
    result = c.poll(Source("mastodon", "mentions"), None)
    (m,) = result.mentions
    assert m.native_id == "117020577157693549"
    assert m.text == "@mastodonpy_test hello!"
    assert m.author == Author("admin@mastodon.example", None, 1)  # local acct gets the instance
    assert m.lang == "en" and m.in_reply_to is None and m.conversation_id == m.native_id
    assert m.url == "http://localhost:3000/@admin/117020577157693549" and not m.is_repost
    # a short page on the first poll: read forward from the newest notification id next time
    assert result.cursor == {"min_id": "21"} and not result.more
    request = route.calls.last.request
    assert request.url.params.get_list("types[]") == ["mention"]
    assert request.headers["authorization"] == f"Bearer {TOKEN}"


def test_remote_accounts_keep_their_domain_and_html_keeps_links(router: respx.MockRouter) -> None:
    s = status(5, author="alice@other.social")
    s["spoiler_text"] = "order problem"
    router.get("/api/v1/timelines/tag/shop").mock(return_value=httpx.Response(200, json=[s]))
    (m,) = (
        connector(hashtags=["#shop"], mentions=False)
        .poll(Source("mastodon", "hashtag", "shop"), None)
        .mentions
    )
    assert m.author.handle == "alice@other.social"
    assert (
        m.text
        == "order problem\n\n@shopexample my order #5 never arrived, see https://example.com/o/5"
    )


def test_brand_handle_forms_match_the_configured_one() -> None:
    from social_watch.pipeline import BrandIdentity

    brand = BrandIdentity({"mastodon": {"shopexample@mastodon.social"}})
    c = connector(base_url="https://mastodon.social")
    assert c._handle({"acct": "shopexample"}) == "shopexample@mastodon.social"
    assert brand.is_brand("mastodon", c._handle({"acct": "shopexample"}))
    assert not brand.is_brand("mastodon", c._handle({"acct": "shopexample@evil.example"}))
    # an instance whose accounts live on another domain than its web host
    other = connector(base_url="https://social.shop.example", domain="shop.example")
    assert other._handle({"acct": "help"}) == "help@shop.example"


def test_reply_chain_root_becomes_the_conversation(router: respx.MockRouter) -> None:
    child = status(7, reply_to=status_id(6))
    router.get("/api/v1/timelines/tag/shop").mock(return_value=httpx.Response(200, json=[child]))
    ctx = router.get(f"/api/v1/statuses/{status_id(7)}/context").mock(
        return_value=httpx.Response(
            200, json={"ancestors": [status(3), status(6)], "descendants": []}
        )
    )
    (m,) = connector(hashtags=["shop"]).poll(Source("mastodon", "hashtag", "shop"), None).mentions
    assert m.in_reply_to == status_id(6) and m.conversation_id == status_id(3)
    assert ctx.call_count == 1


def test_forward_paging_follows_min_id_and_stops_on_a_short_page(router: respx.MockRouter) -> None:
    fake = FakeMastodon([status(n) for n in range(1, 6)], wrap="search")
    router.get("/api/v2/search").mock(side_effect=fake.respond)
    c = connector(queries=["shopexample"], page_size=2)
    source = Source("mastodon", "search", "shopexample")
    first = c.poll(source, {"min_id": status_id(1)})
    assert [m.native_id for m in first.mentions] == [status_id(3), status_id(2)]
    assert first.cursor == {"min_id": status_id(3)} and first.more
    second = c.poll(source, first.cursor)
    assert {m.native_id for m in second.mentions} == {status_id(4), status_id(5)} and second.more
    third = c.poll(source, second.cursor)
    assert third.mentions == [] and not third.more and third.cursor == second.cursor
    params = fake.requests[0]
    assert params["type"] == "statuses" and params["q"] == "shopexample"


def test_empty_search_logs_once_about_full_text_search(
    router: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    mod._warned_no_fulltext.clear()
    _, headers, body = load_recorded("mastodon/search_statuses_empty.json")
    router.get("/api/v2/search").mock(
        return_value=httpx.Response(200, headers=headers, content=body)
    )
    c = connector(queries=["a", "b"], mentions=False)
    with caplog.at_level(logging.WARNING, logger="social_watch.connectors.mastodon"):
        for source in c.sources():
            assert c.poll(source, None).mentions == []
    assert caplog.text.count("full-text search") == 1


def test_429_is_rate_limited_with_the_iso_reset(router: respx.MockRouter) -> None:
    _, headers, body = load_recorded("mastodon/error_429.json")
    router.get("/api/v1/notifications").mock(
        return_value=httpx.Response(429, headers=headers, content=body)
    )
    with pytest.raises(RateLimited) as info:
        connector().poll(Source("mastodon", "mentions"), None)
    assert info.value.reset_at == datetime.fromisoformat("2026-08-01T14:00:00.070144+00:00")


def test_reply_sends_reference_idempotency_key_and_mentions_the_author(
    router: respx.MockRouter,
) -> None:
    _, headers, body = load_recorded("mastodon/status_reply.json")
    route = router.post("/api/v1/statuses").mock(
        return_value=httpx.Response(200, headers=headers, content=body)
    )
    mention = connector()._mention(status(4, author="alice"))
    posted = connector(visibility="unlisted").reply(
        mention, "Hi Alice, we're on it. – Sam", "outbox-17"
    )
    assert posted.remote_id == REPLY["id"] and posted.url == REPLY["url"]
    request = route.calls.last.request
    assert request.headers["idempotency-key"] == "outbox-17"
    assert json.loads(request.content) == {
        "status": "@alice Hi Alice, we're on it. – Sam",
        "in_reply_to_id": status_id(4),
        "visibility": "unlisted",
    }
    # already mentioned (full or short form): the text is sent as written
    connector().reply(mention, "@alice@mastodon.example thanks!", "k2")
    assert (
        json.loads(route.calls.last.request.content)["status"] == "@alice@mastodon.example thanks!"
    )


def test_find_reply_finds_the_brand_reply_among_descendants(router: respx.MockRouter) -> None:
    _, headers, body = load_recorded("mastodon/verify_credentials.json")
    router.get("/api/v1/accounts/verify_credentials").mock(
        return_value=httpx.Response(200, headers=headers, content=body)
    )
    mine = status(9, author="mastodonpy_test", reply_to=status_id(4))
    mine["account"]["id"] = ME["id"]
    other = status(8, reply_to=status_id(4))
    ctx = router.get(f"/api/v1/statuses/{status_id(4)}/context")
    ctx.mock(return_value=httpx.Response(200, json={"ancestors": [], "descendants": [other, mine]}))
    c = connector()
    mention = c._mention(status(4))
    found = c.find_reply(mention, "k")
    assert found is not None and found.remote_id == status_id(9)
    ctx.mock(return_value=httpx.Response(200, json={"ancestors": [], "descendants": [other]}))
    assert c.find_reply(mention, "k") is None
    assert c.check() == "authenticated as @mastodonpy_test@mastodon.example on mastodon.example"


def test_missing_token_is_an_auth_error_naming_the_variable() -> None:
    c = connector(env={}, access_token_env="SHOP_MASTODON")
    with pytest.raises(AuthError) as info:
        c.poll(Source("mastodon", "mentions"), None)
    assert info.value.env_var == "SHOP_MASTODON" and "SHOP_MASTODON" in str(info.value)
    assert c.missing_secrets() == ["SHOP_MASTODON"]


def test_token_never_appears_in_errors_or_logs(
    router: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    _, headers, body = load_recorded("mastodon/error_401_invalid_token.json")
    router.get("/api/v1/accounts/verify_credentials").mock(
        return_value=httpx.Response(401, headers=headers, content=body)
    )
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthError) as info:
        connector().check()
    assert "SOCIAL_WATCH_MASTODON_TOKEN" in str(info.value)
    assert TOKEN not in str(info.value) and TOKEN not in caplog.text
    assert TOKEN not in repr(connector().opts)


def test_options_are_validated_with_key_paths() -> None:
    with pytest.raises(ConfigError, match=r"connectors\.mastodon\.base_url"):
        MastodonConnector.validate_options({"queries": ["x"]}, "connectors.mastodon")
    with pytest.raises(ConfigError, match=r"connectors\.mastodon\.hashtags\[1\]"):
        MastodonConnector.validate_options(
            {"base_url": BASE, "hashtags": ["ok", ""]}, "connectors.mastodon"
        )
    with pytest.raises(ConfigError, match="visibility"):
        MastodonConnector.validate_options(
            {"base_url": BASE, "visibility": "direct"}, "connectors.mastodon"
        )
    config = cfg.validate({"connectors": {"mastodon": {"base_url": BASE, "queries": ["a"]}}})
    built = registry.build(config, "mastodon", env=ENV)
    assert [s.key for s in built.sources()] == ["mastodon:mentions:", "mastodon:search:a"]


def test_brand_boost_and_own_post_are_not_queued(tmp_path: Path, router: respx.MockRouter) -> None:
    from helpers import open_db

    from social_watch.pipeline import Pipeline
    from social_watch.runner import poll_source

    items = [
        status(1, author="shopexample", repost=True),
        status(2, author="shopexample"),
        status(3),
    ]
    router.get("/api/v1/timelines/tag/shop").mock(side_effect=FakeMastodon(items).respond)
    config = cfg.validate(
        {
            "brand": {"handles": {"mastodon": "shopexample@mastodon.example"}},
            "connectors": {"mastodon": {"base_url": BASE, "hashtags": ["shop"]}},
        }
    )
    db = open_db(tmp_path)
    c = registry.build(config, "mastodon", env=ENV, clock=lambda: NOW)
    summary = poll_source(
        db, Pipeline(config, lambda: NOW), c, Source("mastodon", "hashtag", "shop")
    )
    assert summary.ok and summary.ignored == 1
    kinds = dict(db.conn.execute("SELECT native_id, kind FROM mentions").fetchall())
    assert kinds == {status_id(2): "brand", status_id(3): "mention"}


# --- end to end -----------------------------------------------------------------------


def test_poll_end_to_end_over_a_real_socket(
    fixture_server: FixtureServer,
    tmp_path: Path,
    cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    subs = {RECORDED_HOST: fixture_server.url}
    fixture_server.get(
        "/api/v1/notifications",
        Reply.fixture("mastodon/notifications_mentions.json", subs=subs),
        when={"min_id": None},
    )
    fixture_server.get("/api/v1/notifications", Reply.json([]))
    tag = FakeMastodon([status(n) for n in range(1, 6)])
    fixture_server.get("/api/v1/timelines/tag/shopexample", tag.reply)
    monkeypatch.setenv("SOCIAL_WATCH_MASTODON_TOKEN", TOKEN)
    config = tmp_path / "social-watch.toml"
    config.write_text(
        f'database = "{tmp_path / "sw.db"}"\n[brand]\nname = "Shop Example"\n'
        f'[connectors.mastodon]\nbase_url = "{fixture_server.url}"\n'
        'hashtags = ["shopexample"]\npage_size = 2\nlookback = "5000d"\n',
        encoding="utf-8",
    )
    result = cli("poll", "--config", str(config), "--json")
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.output)
    assert report["status"] == "ok" and report["new"] == 6
    tag_source = next(s for s in report["sources"] if s["source"].startswith("mastodon:hashtag"))
    assert tag_source["pages"] == 3  # 2 + 2 + 1, walking back with max_id from the Link header
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in fixture_server.requests)

    tag.items.append(status(6))
    again = cli("poll", "--config", str(config), "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)[0]["new"] == 1
    # the next poll read forward from the newest id it had stored
    assert tag.requests[-1]["min_id"] == status_id(5)
    assert TOKEN not in result.output + again.output
