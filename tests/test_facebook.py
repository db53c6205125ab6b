"""Facebook: mapping from the documented comment shapes (no ``from``, deleted, sticker-only,
nested replies), Graph error codes and usage headers, the contract, replies found again, and
an end-to-end ``social-watch poll`` over a real socket."""

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

from connectors.facebook import FacebookConnector
from social_watch import config as cfg
from social_watch import registry
from social_watch.connector import Source
from social_watch.errors import AuthError, ConfigError, ConnectorError, RateLimited

BASE = "https://graph.example"
API = f"{BASE}/v21.0"
PAGE = "1353269864728879"
POST = "1353269864728879_1353269864728880"
TOKEN = "EAAG-s3cr3t-page-token"
ENV = {"SOCIAL_WATCH_FACEBOOK_PAGE_TOKEN": TOKEN}


def recorded(rel: str) -> Any:
    return json.loads(load_recorded(rel)[2])


COMMENTS = recorded("facebook/post_comments.json")


def fb_time(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S+0000")


def comment(n: int, *, author: str = "customer", reply_to: int | None = None) -> dict[str, Any]:
    c = copy.deepcopy(COMMENTS["data"][0])
    at = NOW - timedelta(minutes=100 - n)
    author_id = PAGE if author in ("shopexample", PAGE) else f"9000{n}"
    c.update(
        id=f"1353269864728880_{3000 + n}",
        created_time=fb_time(at),
        message=f"Order #{n} never arrived, please help",
        permalink_url=f"https://www.facebook.com/{PAGE}/posts/1/?comment_id={3000 + n}",
    )
    c["from"] = {"id": author_id, "name": "Shop Example" if author_id == PAGE else author}
    if reply_to is not None:
        c["parent"] = {"id": f"1353269864728880_{3000 + reply_to}"}
    return c


class FakeGraph:
    """One Page with one post; its comments served newest first with ``since``, ``limit``,
    ``after`` and a ``paging.next`` URL (no ``cursors``: the 'next only' shape)."""

    def __init__(self, comments: Sequence[dict[str, Any]] = ()) -> None:
        self.comments = list(comments)
        self.limited_until: datetime | None = None
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.usage: dict[str, str] = {}

    def answer(self, path: str, params: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        self.requests.append((path, params))
        if self.limited_until is not None:
            status, headers, body = load_recorded("facebook/error_32_page_limit.json")
            minutes = int((self.limited_until - NOW).total_seconds() // 60)
            usage = json.loads(headers["x-business-use-case-usage"])
            usage[PAGE][0]["estimated_time_to_regain_access"] = minutes
            headers["x-business-use-case-usage"] = json.dumps(usage)
            return status, headers, json.loads(body)
        headers = {"Content-Type": "application/json", **self.usage}
        if path.endswith("/feed"):
            return 200, headers, {"data": [{"id": POST, "created_time": fb_time(NOW)}]}
        items = sorted(self.comments, key=lambda c: c["created_time"], reverse=True)
        if "since" in params:
            since = int(params["since"])
            items = [
                c
                for c in items
                if datetime.strptime(c["created_time"], "%Y-%m-%dT%H:%M:%S%z").timestamp() >= since
            ]
        offset = int(params.get("after", 0))
        limit = int(params.get("limit", 25))
        page = items[offset : offset + limit]
        body: dict[str, Any] = {"data": page}
        if offset + limit < len(items):
            body["paging"] = {"next": f"{API}{path}?limit={limit}&after={offset + limit}"}
        return 200, headers, body

    def respond(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/v21.0")
        status, headers, body = self.answer(path, dict(request.url.params))
        return httpx.Response(status, headers=headers, json=body)

    def reply(self, request: Any) -> Reply:
        status, headers, body = self.answer(request.path.removeprefix("/v21.0"), request.query)
        return Reply.json(body, status=status, headers=headers)


# --- the contract ---------------------------------------------------------------------


class FacebookHarness(Harness):
    name = "facebook"
    page_size = 2
    brand_handle = PAGE

    def __init__(self, router: respx.MockRouter) -> None:
        self.fake = FakeGraph()
        router.get(url__startswith=API).mock(side_effect=self.fake.respond)

    @property
    def env(self) -> dict[str, str]:
        return dict(ENV)

    def options(self) -> dict[str, Any]:
        return {"page_id": PAGE, "base_url": BASE, "tagged": False, "page_size": self.page_size}

    def item(self, n: int, *, author: str = "customer", repost: bool = False) -> Any:
        return comment(n, author=author)

    def malformed(self, n: int) -> Any:
        c = comment(n)
        c["from"] = "Someone"  # an object in every documented shape
        return c

    def native_id(self, n: int) -> str:
        return f"1353269864728880_{3000 + n}"

    def serve(self, items: Sequence[Any]) -> None:
        self.fake.comments = list(items)
        self.fake.limited_until = None

    def rate_limit(self, reset: datetime) -> None:
        self.fake.limited_until = reset

    def calls(self) -> int:
        return len(self.fake.requests)


class TestFacebookContract(ConnectorContract):
    @pytest.fixture
    def harness(self) -> Iterator[Harness]:
        with respx.mock(assert_all_called=False) as router:
            yield FacebookHarness(router)


# --- unit tests -----------------------------------------------------------------------


def connector(env: dict[str, str] | None = None, **options: Any) -> FacebookConnector:
    opts = {"page_id": PAGE, "base_url": BASE, **options}
    FacebookConnector.validate_options(opts, "connectors.facebook")
    return FacebookConnector(
        opts, env=ENV if env is None else env, brand_handles={"facebook": PAGE}, clock=lambda: NOW
    )


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=API, assert_all_called=False) as r:
        yield r


def serve_recorded(router: respx.MockRouter, path: str, rel: str) -> respx.Route:
    status, headers, body = load_recorded(rel)
    return router.get(path).mock(return_value=httpx.Response(status, headers=headers, content=body))


def test_documented_comments_map_including_the_odd_ones(
    router: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    router.get(f"/{PAGE}/feed").mock(
        return_value=httpx.Response(200, json={"data": [{"id": "1353269864728880"}]})
    )
    route = serve_recorded(router, "/1353269864728880/comments", "facebook/post_comments.json")
    c = connector(lookback="5000d", tagged=False)
    result = c.poll(Source("facebook", "comments"), None)
    by_id = {m.native_id: m for m in result.mentions}
    first = by_id["1353269864728880_2001"]
    assert first.author.handle == "2315682678452791" and first.author.name == "Jana Nováková"
    assert first.text.startswith("Objednávka 4471") and first.in_reply_to is None
    assert first.created_at.isoformat() == "2019-05-17T18:02:41+00:00"
    assert first.url and "comment_id=1353269864728880_2001" in first.url
    # no `from` (the person restricts their data): kept, by an anonymous author
    hidden = by_id["1353269864728880_2002"]
    assert hidden.author.handle == "anonymous" and hidden.author.name is None
    # a nested reply keeps its parent and joins the parent's conversation
    assert hidden.in_reply_to == "1353269864728880_2003"
    assert hidden.conversation_id == "1353269864728880_2003"
    assert by_id["1353269864728880_2004"].text == "[sticker]"
    # the emptied (deleted) comment is skipped, named by id
    assert [s.item_id for s in result.skipped] == ["1353269864728880_2005"]
    assert len(result.mentions) == 4
    # paging with `next` only (no cursors): the next page's `after` comes from the URL
    assert result.more and result.cursor["after"]["after"].startswith("WTI5dGJXVnV")
    assert "access_token" not in json.dumps(result.cursor)
    request = route.calls.last.request
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert "access_token" not in str(request.url)
    assert request.url.params["filter"] == "stream"
    assert request.url.params["order"] == "reverse_chronological"


def test_tagged_posts_are_a_source(router: respx.MockRouter) -> None:
    serve_recorded(router, f"/{PAGE}/tagged", "facebook/tagged.json")
    c = connector(lookback="5000d", comments=False)
    (source,) = c.sources()
    result = c.poll(source, None)
    (m,) = result.mentions
    assert m.native_id == "2450011223344556_2450011223344999" and m.author.name == "Lucie Horáková"
    # cursors.after without `next`: the last page; the next poll starts at the newest time
    assert not result.more and result.cursor == {"since": "2019-05-16T08:12:30Z"}


def test_expired_token_190_is_an_auth_error_naming_the_variable(router: respx.MockRouter) -> None:
    serve_recorded(router, f"/{PAGE}/feed", "facebook/error_190_expired.json")
    c = connector(env={"SHOP_FB": TOKEN}, access_token_env="SHOP_FB")
    with pytest.raises(AuthError) as info:
        c.poll(Source("facebook", "comments"), None)
    assert info.value.env_var == "SHOP_FB" and "SHOP_FB" in str(info.value)
    assert "code 190/463" in str(info.value) and TOKEN not in str(info.value)


def test_throttling_codes_are_rate_limits_with_the_regain_time(router: respx.MockRouter) -> None:
    serve_recorded(router, f"/{PAGE}/feed", "facebook/error_32_page_limit.json")
    with pytest.raises(RateLimited) as info:
        connector().poll(Source("facebook", "comments"), None)
    assert info.value.reset_at == NOW + timedelta(minutes=15)
    for code in (4, 17, 613):
        router.get(f"/{PAGE}/tagged").mock(
            return_value=httpx.Response(
                400, json={"error": {"message": "limit", "type": "OAuthException", "code": code}}
            )
        )
        with pytest.raises(RateLimited) as again:
            connector(comments=False).poll(Source("facebook", "tagged"), None)
        assert again.value.reset_at == NOW + timedelta(hours=1)  # no estimate: the window


def test_an_error_envelope_with_status_200_is_an_error(router: respx.MockRouter) -> None:
    serve_recorded(router, f"/{PAGE}/tagged", "facebook/error_envelope_200.json")
    with pytest.raises(ConnectorError, match="code 100") as info:
        connector(comments=False).poll(Source("facebook", "tagged"), None)
    assert not isinstance(info.value, AuthError | RateLimited)


def test_usage_headers_pause_the_source_before_meta_throttles(
    router: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeGraph([comment(n) for n in range(1, 6)])
    fake.usage = {
        "X-Business-Use-Case-Usage": json.dumps(
            {PAGE: [{"type": "pages", "call_count": 93, "estimated_time_to_regain_access": 7}]}
        )
    }
    router.get(url__startswith=API).mock(side_effect=fake.respond)
    c = connector(page_size=2, tagged=False)
    with caplog.at_level(logging.WARNING):
        first = c.poll(Source("facebook", "comments"), None)
    # the page read is kept, the walk stops, and the cursor carries the pause
    assert len(first.mentions) == 2 and not first.more
    assert first.rate_limit_reset == NOW + timedelta(minutes=7)
    assert first.cursor["pause_until"] == "2026-11-24T10:07:00Z" and "93%" in caplog.text
    before = len(fake.requests)
    fresh = connector(page_size=2, tagged=False)
    with pytest.raises(RateLimited) as info:
        fresh.poll(Source("facebook", "comments"), first.cursor)
    assert info.value.reset_at == NOW + timedelta(minutes=7) and len(fake.requests) == before
    # X-App-Usage counts too (percentages of the rolling hour, no regain estimate)
    fake.usage = {"X-App-Usage": json.dumps({"call_count": 95, "total_time": 3})}
    assert connector(tagged=False).poll(Source("facebook", "comments"), None).rate_limit_reset == (
        NOW + timedelta(hours=1)
    )


def test_reply_posts_under_the_comment_and_find_reply_sees_it(router: respx.MockRouter) -> None:
    status, headers, body = load_recorded("facebook/comment_reply.json")
    post = router.post("/1353269864728880_2001/comments").mock(
        return_value=httpx.Response(status, headers=headers, content=body)
    )
    c = connector()
    (mention,) = c.mentions(Source("facebook", "comments"), POST, COMMENTS["data"][0])
    posted = c.reply(mention, "Dobrý den Jano, hned to prověříme. – Sam", "outbox-3")
    assert posted.remote_id == "1353269864728880_2099"
    sent = post.calls.last.request
    assert "message=Dobr%C3%BD+den+Jano" in sent.content.decode()
    assert TOKEN not in str(sent.url)
    replies = router.get("/1353269864728880_2001/comments")
    other = {"id": "1353269864728880_2098", "from": {"id": "42"}, "message": "+1"}
    mine = {"id": "1353269864728880_2099", "from": {"id": PAGE}, "message": "Dobrý den"}
    replies.mock(return_value=httpx.Response(200, json={"data": [other, mine]}))
    found = c.find_reply(mention, "outbox-3")
    assert found is not None and found.remote_id == "1353269864728880_2099"
    replies.mock(return_value=httpx.Response(200, json={"data": [other]}))
    assert c.find_reply(mention, "outbox-3") is None


def test_check_names_the_page_and_the_missing_brand_handle(router: respx.MockRouter) -> None:
    serve_recorded(router, f"/{PAGE}", "facebook/page.json")
    assert connector().check() == f"Page Shop Example ({PAGE})"
    bare = FacebookConnector({"page_id": PAGE, "base_url": BASE}, env=ENV, clock=lambda: NOW)
    assert f'[brand.handles] facebook = "{PAGE}"' in bare.check()
    missing = connector(env={})
    assert missing.missing_secrets() == ["SOCIAL_WATCH_FACEBOOK_PAGE_TOKEN"]
    with pytest.raises(AuthError, match="SOCIAL_WATCH_FACEBOOK_PAGE_TOKEN"):
        missing.check()


def test_options_are_validated_with_key_paths() -> None:
    with pytest.raises(ConfigError, match=r"connectors\.facebook\.page_id"):
        FacebookConnector.validate_options({}, "connectors.facebook")
    with pytest.raises(ConfigError, match=r"connectors\.facebook\.page_id: expected a numeric"):
        FacebookConnector.validate_options({"page_id": "shopexample"}, "connectors.facebook")
    with pytest.raises(ConfigError, match=r"connectors\.facebook\.usage_threshold"):
        FacebookConnector.validate_options(
            {"page_id": PAGE, "usage_threshold": 0}, "connectors.facebook"
        )
    with pytest.raises(ConfigError, match="did you mean 'page_id'"):
        FacebookConnector.validate_options({"page_idd": PAGE}, "connectors.facebook")
    config = cfg.validate({"connectors": {"facebook": {"page_id": PAGE}}})
    built = registry.build(config, "facebook", env=ENV)
    assert [s.key for s in built.sources()] == ["facebook:comments:", "facebook:tagged:"]


def test_brand_reply_answers_the_customer_comment(tmp_path: Path, router: respx.MockRouter) -> None:
    from helpers import open_db

    from social_watch.pipeline import Pipeline
    from social_watch.runner import poll_source

    items = [comment(1), comment(2, author="shopexample", reply_to=1), comment(3)]
    router.get(url__startswith=API).mock(side_effect=FakeGraph(items).respond)
    config = cfg.validate(
        {
            "brand": {"handles": {"facebook": PAGE}},
            "connectors": {"facebook": {"page_id": PAGE, "base_url": BASE, "tagged": False}},
        }
    )
    db = open_db(tmp_path)
    c = registry.build(config, "facebook", env=ENV, clock=lambda: NOW)
    summary = poll_source(db, Pipeline(config, lambda: NOW), c, Source("facebook", "comments"))
    assert summary.ok and summary.new == 3
    rows = {
        r[0]: (r[1], r[2])
        for r in db.conn.execute("SELECT native_id, kind, status FROM mentions").fetchall()
    }
    assert rows["1353269864728880_3002"][0] == "brand"
    assert rows["1353269864728880_3001"] == ("mention", "answered")
    assert rows["1353269864728880_3003"] == ("mention", "open")


# --- end to end -----------------------------------------------------------------------


def test_poll_end_to_end_over_a_real_socket(
    fixture_server: FixtureServer,
    tmp_path: Path,
    cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeGraph([comment(n) for n in range(1, 6)])
    fixture_server.get(f"/v21.0/{PAGE}/feed", fake.reply)
    fixture_server.get(f"/v21.0/{POST}/comments", fake.reply)
    fixture_server.get(f"/v21.0/{PAGE}/tagged", Reply.fixture("facebook/tagged.json"))
    monkeypatch.setenv("SOCIAL_WATCH_FACEBOOK_PAGE_TOKEN", TOKEN)
    config = tmp_path / "social-watch.toml"
    config.write_text(
        f'database = "{tmp_path / "sw.db"}"\n[brand]\nname = "Shop Example"\n'
        f'[brand.handles]\nfacebook = "{PAGE}"\n'
        f'[connectors.facebook]\npage_id = "{PAGE}"\nbase_url = "{fixture_server.url}"\n'
        'page_size = 2\nlookback = "5000d"\n',
        encoding="utf-8",
    )
    result = cli("poll", "--config", str(config), "--json")
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.output)
    assert report["status"] == "ok" and report["new"] == 6  # 5 comments + 1 tagged post
    comments = next(s for s in report["sources"] if s["source"] == "facebook:comments:")
    assert comments["pages"] == 3  # 2 + 2 + 1, following paging.next
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in fixture_server.requests)

    fake.comments.append(comment(6))
    again = cli("poll", "--config", str(config), "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)[0]["new"] == 1
    # the next poll asked only for comments since the newest one it had stored
    since = int((NOW - timedelta(minutes=95)).timestamp())
    assert fake.requests[-1][1]["since"] == str(since)
    assert TOKEN not in result.output + again.output


def test_connectors_json_lists_the_new_connectors_and_their_models(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    config = tmp_path / "social-watch.toml"
    config.write_text(
        f'database = "{tmp_path / "sw.db"}"\n[connectors.facebook]\npage_id = "{PAGE}"\n',
        encoding="utf-8",
    )
    result = cli("connectors", "--config", str(config), "--json")
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.output)}
    fb = rows["facebook"]
    assert fb["configured"] and fb["capabilities"] == ["mentions", "reply"]
    assert not fb["read_only"] and "X-Business-Use-Case-Usage" in fb["rate_limit"]
    assert fb["missing_secrets"] == ["SOCIAL_WATCH_FACEBOOK_PAGE_TOKEN"]
    assert rows["instagram"]["capabilities"] == ["mentions", "reply", "search"]
    assert "30 unique hashtags" in rows["instagram"]["rate_limit"]
    assert rows["heureka"]["read_only"] and rows["heureka"]["secrets"] == {
        "key_env": "SOCIAL_WATCH_HEUREKA_KEY"
    }
    check = cli("check", "--config", str(config), "--connector", "facebook")
    assert check.exit_code == 1 and "SOCIAL_WATCH_FACEBOOK_PAGE_TOKEN" in check.output


def test_queue_and_thread_name_the_commenter_not_the_numeric_id(
    router: respx.MockRouter,
    tmp_path: Path,
    cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Graph API ids mean nothing to an agent: the queue shows ``from.name``; a comment
    whose ``from`` the API withheld (privacy) shows as anonymous, never an empty cell."""
    router.get(f"/{PAGE}/feed").mock(
        return_value=httpx.Response(200, json={"data": [{"id": "1353269864728880"}]})
    )
    status, headers, body = load_recorded("facebook/post_comments.json")
    route = router.get("/1353269864728880/comments").mock(
        side_effect=[
            httpx.Response(status, headers=headers, content=body),
            httpx.Response(200, json={"data": []}),  # the page `next` points to
        ]
    )
    monkeypatch.setenv("SOCIAL_WATCH_FACEBOOK_PAGE_TOKEN", TOKEN)
    monkeypatch.setenv("COLUMNS", "132")
    config = tmp_path / "social-watch.toml"
    config.write_text(
        f'database = "{tmp_path / "sw.db"}"\n[brand]\nname = "Shop Example"\n'
        f'[brand.handles]\nfacebook = "{PAGE}"\n'
        f'[connectors.facebook]\npage_id = "{PAGE}"\nbase_url = "{BASE}"\n'
        'tagged = false\nlookback = "5000d"\n',
        encoding="utf-8",
    )
    polled = cli("poll", "--config", str(config))
    assert polled.exit_code == 0, polled.output
    # the name is asked for explicitly: a bare `from` may come back as the id alone
    assert "from{id,name}" in route.calls[0].request.url.params["fields"]
    out = cli("queue", "--config", str(config)).output
    assert "Jana Nováková" in out and "Eva Černá" in out
    assert "2315682678452791" not in out and "@3040506070809011" not in out
    items = json.loads(cli("queue", "--config", str(config), "--json").output)
    jana = next(i for i in items if i["author"]["handle"] == "2315682678452791")
    shown = cli("show", str(jana["id"]), "--config", str(config)).output
    assert "Jana Nováková · facebook" in shown and "@2315682678452791" not in shown
    anonymous = next(i for i in items if i["author"]["handle"] == "anonymous")
    assert (
        "anonymous · facebook" in cli("show", str(anonymous["id"]), "--config", str(config)).output
    )
