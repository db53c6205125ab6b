"""YouTube: comment threads with replies, quota exhaustion as a rate limit until midnight
Pacific, the contract, a reply found again, and an end-to-end poll."""

from __future__ import annotations

import copy
import email.utils
import json
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from connector_contract import NOW, ConnectorContract, Harness
from fixture_server import FixtureServer, Reply, load_recorded, serve_fixtures  # noqa: F401

from connectors.youtube import YouTubeConnector, next_quota_reset
from social_watch.connector import Source
from social_watch.errors import (
    AuthError,
    ConfigError,
    ConnectorError,
    RateLimited,
    TransientError,
    UsageError,
)

BASE = "https://youtube.example/youtube/v3"
CHANNEL = "UC_x5XG1OV2P6uZZ5FSM9Ttw"
KEY = "AIza-s3cr3t-key"
ENV = {"SOCIAL_WATCH_YOUTUBE_API_KEY": KEY, "YT_OAUTH": "ya29.oauth-token"}
THREADS = json.loads(load_recorded("youtube/comment_threads.json")[2])


def thread(n: int, *, author: str = "@customer") -> dict[str, Any]:
    t = copy.deepcopy(THREADS["items"][0])
    t.pop("replies")
    tid = f"Ugz{1000 + n}AaABAg"
    t["id"] = t["snippet"]["topLevelComment"]["id"] = tid
    s = t["snippet"]["topLevelComment"]["snippet"]
    s.update(
        authorDisplayName=author,
        textOriginal=f"order {n} never arrived",
        publishedAt=(NOW - timedelta(minutes=100 - n)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    return t


class FakeYouTube:
    def __init__(self, items: Sequence[dict[str, Any]] = ()) -> None:
        self.items = list(items)
        self.limited_until: datetime | None = None
        self.requests: list[dict[str, str]] = []

    def answer(self, params: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        self.requests.append(params)
        if self.limited_until is not None:
            stamp = email.utils.format_datetime(self.limited_until, usegmt=True)
            error = {"code": 429, "errors": [{"reason": "rateLimitExceeded"}]}
            return 429, {"Retry-After": stamp}, {"error": error}
        items = sorted(
            self.items,
            key=lambda t: t["snippet"]["topLevelComment"]["snippet"]["publishedAt"],
            reverse=True,
        )
        start, size = int(params.get("pageToken") or 0), int(params.get("maxResults", 20))
        body: dict[str, Any] = {"items": items[start : start + size]}
        if start + size < len(items):
            body["nextPageToken"] = str(start + size)
        return 200, {}, body

    def respond(self, request: httpx.Request) -> httpx.Response:
        status, headers, body = self.answer(dict(request.url.params))
        return httpx.Response(status, headers=headers, json=body)

    def reply(self, request: Any) -> Reply:
        status, headers, body = self.answer(request.query)
        return Reply.json(body, status=status, headers=headers)


class YouTubeHarness(Harness):
    name = "youtube"
    page_size = 2
    brand_handle = "@shopexample"

    def __init__(self, router: respx.MockRouter) -> None:
        self.fake = FakeYouTube()
        router.get(f"{BASE}/commentThreads").mock(side_effect=self.fake.respond)

    @property
    def env(self) -> dict[str, str]:
        return dict(ENV)

    def options(self) -> dict[str, Any]:
        return {"channel_id": CHANNEL, "base_url": BASE, "page_size": self.page_size}

    def item(self, n: int, *, author: str = "@customer", repost: bool = False) -> Any:
        return thread(n, author=author)

    def malformed(self, n: int) -> Any:
        t = thread(n)
        del t["snippet"]["topLevelComment"]["snippet"]["authorDisplayName"]
        return t

    def native_id(self, n: int) -> str:
        return f"Ugz{1000 + n}AaABAg"

    def serve(self, items: Sequence[Any]) -> None:
        self.fake.items = list(items)
        self.fake.limited_until = None

    def rate_limit(self, reset: datetime) -> None:
        self.fake.limited_until = reset

    def calls(self) -> int:
        return len(self.fake.requests)


class TestYouTubeContract(ConnectorContract):
    @pytest.fixture
    def harness(self) -> Iterator[Harness]:
        with respx.mock(assert_all_called=False) as router:
            yield YouTubeHarness(router)


def connector(env: dict[str, str] | None = None, **options: Any) -> YouTubeConnector:
    opts = {"channel_id": CHANNEL, "base_url": BASE, **options}
    YouTubeConnector.validate_options(opts, "connectors.youtube")
    return YouTubeConnector(opts, env=ENV if env is None else env, clock=lambda: NOW)


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as r:
        yield r


def test_documented_threads_map_with_their_replies(router: respx.MockRouter) -> None:
    status, headers, body = load_recorded("youtube/comment_threads.json")
    route = router.get("/commentThreads").mock(
        return_value=httpx.Response(status, headers=headers, content=body)
    )
    result = connector().poll(Source("youtube", "comments"), None)
    top, reply = result.mentions
    assert top.author.handle == "@jananovak" and top.text.startswith("Ordered the jacket")
    assert top.url == "https://www.youtube.com/watch?v=wtLJPvx7-ys&lc=UgzDE2tasfmrYLyNkGt4AaABAg"
    assert reply.in_reply_to == top.native_id and reply.conversation_id == top.native_id
    assert result.more and result.cursor["page"] == "QURTSl9pM0J4ZktKbUpHd1dVZ0ZtY3FCc2pMN0lqbE1"
    params = route.calls.last.request.url.params
    assert params["allThreadsRelatedToChannelId"] == CHANNEL and params["order"] == "time"


def test_quota_exhaustion_waits_until_midnight_pacific(router: respx.MockRouter) -> None:
    status, headers, body = load_recorded("youtube/error_quota_exceeded.json")
    router.get("/commentThreads").mock(
        return_value=httpx.Response(status, headers=headers, content=body)
    )
    with pytest.raises(RateLimited) as info:
        connector().poll(Source("youtube", "comments"), None)
    # NOW is 10:00 UTC on 24 Nov = 02:00 PST; the quota resets at 00:00 PST on the 25th
    assert info.value.reset_at == datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    assert KEY not in str(info.value)
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert next_quota_reset(summer) == datetime(2026, 7, 2, 7, 0, tzinfo=UTC)  # PDT


def test_reply_with_oauth_and_find_reply(router: respx.MockRouter) -> None:
    post = router.post("/comments").mock(
        return_value=httpx.Response(200, json={"kind": "youtube#comment", "id": "UgzX.reply1"})
    )
    c = connector(oauth_token_env="YT_OAUTH")
    top = c._thread(THREADS["items"][0])[0]
    posted = c.reply(top, "Hi Jana, we're checking it now – Sam", "k")
    assert posted.remote_id == "UgzX.reply1"
    sent = post.calls.last.request
    assert sent.headers["authorization"] == "Bearer ya29.oauth-token"
    assert json.loads(sent.content) == {
        "snippet": {
            "parentId": top.native_id,
            "textOriginal": "Hi Jana, we're checking it now – Sam",
        }
    }
    mine = {"id": "UgzX.reply1", "snippet": {"authorChannelId": {"value": CHANNEL}}}
    lookup = router.get("/comments")
    lookup.mock(return_value=httpx.Response(200, json={"items": [mine]}))
    found = c.find_reply(top, "k")
    assert found is not None and found.remote_id == "UgzX.reply1"
    lookup.mock(return_value=httpx.Response(200, json={"items": []}))
    assert c.find_reply(top, "k") is None
    with pytest.raises(UsageError, match="OAuth token"):
        connector().reply(top, "hi", "k")


def test_check_says_what_searches_cost_and_errors_name_the_variable(
    router: respx.MockRouter,
) -> None:
    router.get("/channels").mock(
        return_value=httpx.Response(200, json={"items": [{"snippet": {"title": "Shop Example"}}]})
    )
    line = connector(queries=["shop example", "shopexample"]).check()
    assert "2 search queries cost 100 quota units per poll each" in line
    router.get("/commentThreads").mock(
        return_value=httpx.Response(
            400, json={"error": {"code": 400, "errors": [{"reason": "keyInvalid"}]}}
        )
    )
    with pytest.raises(AuthError, match="SOCIAL_WATCH_YOUTUBE_API_KEY"):
        connector().poll(Source("youtube", "comments"), None)
    with pytest.raises(ConfigError, match="channel_id"):
        YouTubeConnector.validate_options({"channel_id": "shop"}, "connectors.youtube")


def test_poll_end_to_end_over_a_real_socket(
    fixture_server: FixtureServer,
    tmp_path: Path,
    cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeYouTube([thread(n) for n in range(1, 6)])
    fixture_server.get("/youtube/v3/commentThreads", fake.reply)
    monkeypatch.setenv("SOCIAL_WATCH_YOUTUBE_API_KEY", KEY)
    config = tmp_path / "social-watch.toml"
    config.write_text(
        f'database = "{tmp_path / "sw.db"}"\n[brand]\nname = "Shop Example"\n'
        f'[connectors.youtube]\nchannel_id = "{CHANNEL}"\n'
        f'base_url = "{fixture_server.url}/youtube/v3"\npage_size = 2\nlookback = "5000d"\n',
        encoding="utf-8",
    )
    result = cli("poll", "--config", str(config), "--json")
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.output)
    assert report["new"] == 5 and report["sources"][0]["pages"] == 3
    assert KEY not in result.output


# --- the error shapes of the Data API's error reference ---------------------------------


def serve(route: respx.Route, rel: str) -> respx.Route:
    status, headers, body = load_recorded(rel)
    return route.mock(return_value=httpx.Response(status, headers=headers, content=body))


def test_a_video_with_comments_disabled_is_skipped_with_a_log_line(
    router: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    threads = router.get("/commentThreads")
    disabled = httpx.Response(
        403, json=json.loads(load_recorded("youtube/error_comments_disabled.json")[2])
    )
    ok = httpx.Response(200, json={"items": [thread(1)]})
    threads.mock(
        side_effect=lambda r: disabled if r.url.params.get("videoId") == "off-video" else ok
    )
    c = connector(videos=["off-video", "wtLJPvx7-ys"], lookback="5000d")
    kinds = [(s.kind, s.query) for s in c.sources()]
    assert kinds == [("comments", None), ("video", "off-video"), ("video", "wtLJPvx7-ys")]
    with caplog.at_level("INFO", logger="social_watch.connectors.youtube"):
        off = c.poll(Source("youtube", "video", "off-video"), None)
        again = c.poll(Source("youtube", "video", "off-video"), off.cursor)
    assert off.mentions == [] and not off.more and again.mentions == []
    lines = [r.getMessage() for r in caplog.records if "comments disabled" in r.getMessage()]
    assert lines == ["youtube: video off-video has comments disabled; skipped until they are on"]
    on = c.poll(Source("youtube", "video", "wtLJPvx7-ys"), None)
    assert len(on.mentions) == 1
    assert threads.calls.last.request.url.params["videoId"] == "wtLJPvx7-ys"


def test_comments_disabled_does_not_stop_a_whole_poll(
    router: respx.MockRouter,
    tmp_path: Path,
    cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    disabled = httpx.Response(
        403, json=json.loads(load_recorded("youtube/error_comments_disabled.json")[2])
    )
    router.get("/commentThreads").mock(
        side_effect=lambda r: (
            disabled
            if r.url.params.get("videoId") == "off-video"
            else httpx.Response(200, json={"items": [thread(1)]})
        )
    )
    monkeypatch.setenv("SOCIAL_WATCH_YOUTUBE_API_KEY", KEY)
    config = tmp_path / "social-watch.toml"
    config.write_text(
        f'database = "{tmp_path / "sw.db"}"\n[brand]\nname = "Shop Example"\n'
        f'[connectors.youtube]\nchannel_id = "{CHANNEL}"\nbase_url = "{BASE}"\n'
        'videos = ["off-video"]\nlookback = "5000d"\n',
        encoding="utf-8",
    )
    result = cli("poll", "--config", str(config), "--json")
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.output)
    assert report["status"] == "ok" and report["new"] == 1
    assert all(not s.get("error") for s in report["sources"]), report


@pytest.mark.parametrize(
    "body",
    [
        json.loads(load_recorded("youtube/error_api_key_invalid.json")[2]),  # today's shape
        {"error": {"code": 400, "errors": [{"domain": "usageLimits", "reason": "keyInvalid"}]}},
    ],
)
def test_an_invalid_api_key_is_an_auth_error_naming_the_variable(
    router: respx.MockRouter, body: dict[str, Any]
) -> None:
    router.get("/commentThreads").mock(return_value=httpx.Response(400, json=body))
    with pytest.raises(AuthError) as info:
        connector().poll(Source("youtube", "comments"), None)
    assert info.value.env_var == "SOCIAL_WATCH_YOUTUBE_API_KEY"
    assert "SOCIAL_WATCH_YOUTUBE_API_KEY" in str(info.value) and KEY not in str(info.value)


def test_an_error_object_in_a_200_body_is_an_error_not_a_traceback(
    router: respx.MockRouter,
) -> None:
    threads = serve(router.get("/commentThreads"), "youtube/error_envelope_200.json")
    with pytest.raises(RateLimited):  # quotaExceeded, whatever the status line said
        connector().poll(Source("youtube", "comments"), None)
    threads.mock(return_value=httpx.Response(200, json={"error": {"code": 500, "message": "x"}}))
    with pytest.raises(TransientError):
        connector().poll(Source("youtube", "comments"), None)
    threads.mock(return_value=httpx.Response(200, json=["not", "an", "object"]))
    with pytest.raises(ConnectorError, match="not a JSON object"):
        connector().poll(Source("youtube", "comments"), None)
    # find_reply must not read an error as "no reply yet" (that would post twice)
    serve(router.get("/comments"), "youtube/error_envelope_200.json")
    c = connector()
    top = c._thread(THREADS["items"][0])[0]
    with pytest.raises(RateLimited):
        c.find_reply(top, "k")
