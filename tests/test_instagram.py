"""Instagram: comments with nested replies, tags and hashtag media from the documented shapes,
the 30-hashtag limit, the contract, replies found again, and an end-to-end poll."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from connector_contract import NOW, ConnectorContract, Harness
from fixture_server import FixtureServer, Reply, load_recorded, serve_fixtures  # noqa: F401

from connectors.instagram import InstagramConnector
from social_watch import config as cfg
from social_watch import registry
from social_watch.connector import Source
from social_watch.errors import AuthError, ConfigError, RateLimited, UsageError

BASE = "https://graph.example"
API = f"{BASE}/v21.0"
IG = "17841405822304914"
MEDIA = "17895695668004550"
TOKEN = "IGQ-s3cr3t-token"
ENV = {"SOCIAL_WATCH_INSTAGRAM_TOKEN": TOKEN}


def recorded(rel: str) -> Any:
    return json.loads(load_recorded(rel)[2])


COMMENTS = recorded("instagram/media_comments.json")


def ig_comment(n: int, *, author: str = "customer") -> dict[str, Any]:
    c = copy.deepcopy(COMMENTS["data"][1])
    at = NOW - timedelta(minutes=100 - n)
    c.update(
        id=f"1787344045914{1000 + n}",
        timestamp=at.strftime("%Y-%m-%dT%H:%M:%S+0000"),
        text=f"@shopexample order #{n} never arrived",
        username=author,
    )
    return c


class FakeInstagram:
    """One media; its comments served in pages by ``after`` (an offset) with ``paging.next``,
    in no particular order (the API does not document one)."""

    def __init__(self, comments: Sequence[dict[str, Any]] = ()) -> None:
        self.comments = list(comments)
        self.limited_until: datetime | None = None
        self.requests: list[tuple[str, dict[str, str]]] = []

    def answer(self, path: str, params: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        self.requests.append((path, params))
        if self.limited_until is not None:
            minutes = int((self.limited_until - NOW).total_seconds() // 60)
            usage = {IG: [{"type": "instagram", "call_count": 100}]}
            usage[IG][0]["estimated_time_to_regain_access"] = minutes
            error = {"message": "Application request limit reached", "code": 4}
            return 400, {"x-business-use-case-usage": json.dumps(usage)}, {"error": error}
        if path.endswith("/media"):
            return 200, {}, {"data": [{"id": MEDIA, "permalink": "https://www.instagram.com/p/X/"}]}
        items = sorted(self.comments, key=lambda c: c["id"])  # by id, not by time
        offset, limit = int(params.get("after", 0)), int(params.get("limit", 25))
        body: dict[str, Any] = {"data": items[offset : offset + limit]}
        if offset + limit < len(items):
            body["paging"] = {
                "cursors": {"after": str(offset + limit)},
                "next": f"{API}{path}?limit={limit}&after={offset + limit}",
            }
        return 200, {}, body

    def respond(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/v21.0")
        status, headers, body = self.answer(path, dict(request.url.params))
        return httpx.Response(status, headers=headers, json=body)

    def reply(self, request: Any) -> Reply:
        status, headers, body = self.answer(request.path.removeprefix("/v21.0"), request.query)
        return Reply.json(body, status=status, headers=headers)


class InstagramHarness(Harness):
    name = "instagram"
    page_size = 2

    def __init__(self, router: respx.MockRouter) -> None:
        self.fake = FakeInstagram()
        router.get(url__startswith=API).mock(side_effect=self.fake.respond)

    @property
    def env(self) -> dict[str, str]:
        return dict(ENV)

    def options(self) -> dict[str, Any]:
        return {"ig_user_id": IG, "base_url": BASE, "tags": False, "page_size": self.page_size}

    def item(self, n: int, *, author: str = "customer", repost: bool = False) -> Any:
        return ig_comment(n, author=author)

    def malformed(self, n: int) -> Any:
        c = ig_comment(n)
        c["timestamp"] = "yesterday"
        return c

    def native_id(self, n: int) -> str:
        return f"1787344045914{1000 + n}"

    def serve(self, items: Sequence[Any]) -> None:
        self.fake.comments = list(items)
        self.fake.limited_until = None

    def rate_limit(self, reset: datetime) -> None:
        self.fake.limited_until = reset

    def calls(self) -> int:
        return len(self.fake.requests)


class TestInstagramContract(ConnectorContract):
    @pytest.fixture
    def harness(self) -> Iterator[Harness]:
        with respx.mock(assert_all_called=False) as router:
            yield InstagramHarness(router)


# --- unit tests -----------------------------------------------------------------------


def connector(env: dict[str, str] | None = None, **options: Any) -> InstagramConnector:
    opts = {"ig_user_id": IG, "base_url": BASE, **options}
    InstagramConnector.validate_options(opts, "connectors.instagram")
    return InstagramConnector(
        opts,
        env=ENV if env is None else env,
        brand_handles={"instagram": "shopexample"},
        clock=lambda: NOW,
    )


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=API, assert_all_called=False) as r:
        yield r


def serve_recorded(router: respx.MockRouter, path: str, rel: str) -> respx.Route:
    status, headers, body = load_recorded(rel)
    return router.get(path).mock(return_value=httpx.Response(status, headers=headers, content=body))


def test_comments_and_nested_replies_map_to_mentions(router: respx.MockRouter) -> None:
    media = serve_recorded(router, f"/{IG}/media", "instagram/user_media.json")
    serve_recorded(router, f"/{MEDIA}/comments", "instagram/media_comments.json")
    router.get("/17899305451014820/comments").mock(
        return_value=httpx.Response(200, json={"data": []})
    )
    c = connector(lookback="5000d", tags=False, parents=2)
    source = Source("instagram", "comments")
    result = c.poll(source, None)
    by_id = {m.native_id: m for m in result.mentions}
    top = by_id["17870913679156914"]
    assert top.author.handle == "jana.novak" and top.in_reply_to is None
    assert top.url == "https://www.instagram.com/p/BfBpSjVH2Mm/"
    brand = by_id["17881770991003328"]
    assert brand.author.handle == "shopexample" and brand.in_reply_to == top.native_id
    # a reply without `from` keeps its username and joins the comment's conversation
    follow = by_id["17881770991003329"]
    assert follow.author.handle == "jana.novak" and follow.conversation_id == top.native_id
    # the comment without text (deleted) is skipped, by id
    assert [s.item_id for s in result.skipped] == ["17873440459141022"]
    assert len(result.mentions) == 4
    # the first media is done (cursors.after without next); the second is next
    assert result.more and result.cursor["parents"] == ["17899305451014820"]
    assert media.calls.last.request.headers["authorization"] == f"Bearer {TOKEN}"
    rest = c.poll(source, result.cursor)
    assert not rest.more and rest.cursor == {"since": "2017-08-31T19:41:10Z"}


def test_tags_and_hashtag_media(router: respx.MockRouter) -> None:
    serve_recorded(router, f"/{IG}/tags", "instagram/user_tags.json")
    search = serve_recorded(router, "/ig_hashtag_search", "instagram/hashtag_search.json")
    recent = serve_recorded(
        router, "/17843853986012965/recent_media", "instagram/hashtag_recent_media.json"
    )
    c = connector(lookback="5000d", comments=False, hashtags=["#shopexample"])
    tags, hashtag = c.sources()
    (tagged,) = c.poll(tags, None).mentions
    assert tagged.author.handle == "lucie.h" and tagged.text.startswith("New dress")
    result = c.poll(hashtag, None)
    (m,) = result.mentions
    assert m.author.handle == "anonymous" and m.query == "#shopexample"  # no username given
    assert search.calls.last.request.url.params["q"] == "shopexample"
    assert recent.calls.last.request.url.params["user_id"] == IG
    # `next` with cursors: the next page asks with `after`, and never with a token in the URL
    assert result.more and result.cursor["after"]["after"] == "NTAyYmZAiZAjZAm"
    assert "access_token" not in json.dumps(result.cursor)
    with pytest.raises(UsageError, match="only reply to comments"):
        c.reply(m, "Thanks!", "k")


def test_more_than_thirty_hashtags_is_refused_and_25_warned(router: respx.MockRouter) -> None:
    many = [f"tag{i}" for i in range(31)]
    with pytest.raises(ConfigError, match=r"instagram\.hashtags: 31 hashtags; Instagram allows 30"):
        InstagramConnector.validate_options(
            {"ig_user_id": IG, "hashtags": many}, "connectors.instagram"
        )
    serve_recorded(router, f"/{IG}", "instagram/user.json")
    line = connector(hashtags=many[:26]).check()
    assert line.startswith("Instagram @shopexample") and "26 of the 30 unique hashtags" in line
    assert "3 of 30 hashtags" in connector(hashtags=["a", "b", "#A", "c"]).check()


def test_reply_and_find_reply(router: respx.MockRouter) -> None:
    status, headers, body = load_recorded("instagram/comment_reply.json")
    post = router.post("/17870913679156914/replies").mock(
        return_value=httpx.Response(status, headers=headers, content=body)
    )
    c = connector()
    mention = c._comment(COMMENTS["data"][0], MEDIA, None)
    posted = c.reply(mention, "@jana.novak we're on it – Sam", "outbox-9")
    assert posted.remote_id == "17873440459141099"
    assert "message=%40jana.novak" in post.calls.last.request.content.decode()
    replies = router.get("/17870913679156914/replies")
    data = COMMENTS["data"][0]["replies"]["data"]
    replies.mock(return_value=httpx.Response(200, json={"data": data}))
    found = c.find_reply(mention, "outbox-9")
    assert found is not None and found.remote_id == "17881770991003328"
    replies.mock(return_value=httpx.Response(200, json={"data": data[1:]}))
    assert c.find_reply(mention, "outbox-9") is None


def test_auth_and_rate_limit_errors_are_typed(router: respx.MockRouter) -> None:
    serve_recorded(router, f"/{IG}/media", "facebook/error_190_expired.json")
    with pytest.raises(AuthError) as info:
        connector().poll(Source("instagram", "comments"), None)
    assert info.value.env_var == "SOCIAL_WATCH_INSTAGRAM_TOKEN"
    router.get(f"/{IG}/tags").mock(
        return_value=httpx.Response(
            400, json={"error": {"message": "(#4) Application request limit reached", "code": 4}}
        )
    )
    with pytest.raises(RateLimited):
        connector(comments=False).poll(Source("instagram", "tags"), None)
    missing = connector(env={})
    assert missing.missing_secrets() == ["SOCIAL_WATCH_INSTAGRAM_TOKEN"]
    with pytest.raises(ConfigError, match=r"instagram\.ig_user_id"):
        InstagramConnector.validate_options({}, "connectors.instagram")
    built = registry.build(
        cfg.validate({"connectors": {"instagram": {"ig_user_id": IG, "hashtags": ["a"]}}}),
        "instagram",
        env=ENV,
    )
    assert [s.key for s in built.sources()] == [
        "instagram:comments:",
        "instagram:tags:",
        "instagram:search:a",
    ]


def test_poll_end_to_end_over_a_real_socket(
    fixture_server: FixtureServer,
    tmp_path: Path,
    cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeInstagram([ig_comment(n) for n in range(1, 6)])
    fake.comments[0]["replies"] = {
        "data": [
            {
                **ig_comment(7, author="shopexample"),
                "id": "17881770991009999",
                "parent_id": fake.comments[0]["id"],
            }
        ]
    }
    fixture_server.get(f"/v21.0/{IG}/media", fake.reply)
    fixture_server.get(f"/v21.0/{MEDIA}/comments", fake.reply)
    monkeypatch.setenv("SOCIAL_WATCH_INSTAGRAM_TOKEN", TOKEN)
    config = tmp_path / "social-watch.toml"
    config.write_text(
        f'database = "{tmp_path / "sw.db"}"\n[brand]\nname = "Shop Example"\n'
        '[brand.handles]\ninstagram = "shopexample"\n'
        f'[connectors.instagram]\nig_user_id = "{IG}"\nbase_url = "{fixture_server.url}"\n'
        'tags = false\npage_size = 2\nlookback = "5000d"\n',
        encoding="utf-8",
    )
    result = cli("poll", "--config", str(config), "--json")
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.output)
    assert report["status"] == "ok" and report["new"] == 6
    assert report["sources"][0]["pages"] == 3
    queue = cli("queue", "--config", str(config), "--json")
    assert queue.exit_code == 0, queue.output
    ids = {item["global_id"] for item in json.loads(queue.output)}
    # the brand's reply answered the first comment; the other four wait
    assert f"instagram:{fake.comments[0]['id']}" not in ids and len(ids) == 4
    assert TOKEN not in result.output
