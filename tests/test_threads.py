"""Threads: keyword search and mentions in the documented shape, the contract, the
two-step reply (container, then publish) found again by find_reply, an end-to-end poll."""

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

from connectors.threads import ThreadsConnector
from social_watch.connector import Source
from social_watch.errors import AuthError, ConfigError, RateLimited

BASE = "https://threads.example"
API = f"{BASE}/v1.0"
USER = "17841400008460056"
TOKEN = "THQ-s3cr3t"
ENV = {"SOCIAL_WATCH_THREADS_TOKEN": TOKEN}
POSTS = json.loads(load_recorded("threads/keyword_search.json")[2])["data"]


def post(n: int, *, author: str = "customer") -> dict[str, Any]:
    p = copy.deepcopy(POSTS[0])
    p.update(
        id=f"1802832247614{1000 + n}",
        text=f"shop example order {n} never came",
        username=author,
        timestamp=(NOW - timedelta(minutes=100 - n)).strftime("%Y-%m-%dT%H:%M:%S+0000"),
    )
    return p


class FakeThreads:
    def __init__(self, posts: Sequence[dict[str, Any]] = ()) -> None:
        self.posts = list(posts)
        self.limited_until: datetime | None = None
        self.requests: list[dict[str, str]] = []

    def answer(self, params: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        self.requests.append(params)
        if self.limited_until is not None:
            minutes = int((self.limited_until - NOW).total_seconds() // 60)
            usage = {
                USER: [
                    {
                        "type": "threads",
                        "call_count": 100,
                        "estimated_time_to_regain_access": minutes,
                    }
                ]
            }
            error = {"message": "Application request limit reached", "code": 4}
            return 400, {"x-business-use-case-usage": json.dumps(usage)}, {"error": error}
        items = sorted(self.posts, key=lambda p: p["timestamp"], reverse=True)
        if "since" in params:
            since = int(params["since"])
            items = [
                p
                for p in items
                if datetime.strptime(p["timestamp"], "%Y-%m-%dT%H:%M:%S%z").timestamp() >= since
            ]
        start, size = int(params.get("after") or 0), int(params.get("limit", 25))
        body: dict[str, Any] = {"data": items[start : start + size]}
        if start + size < len(items):
            body["paging"] = {
                "cursors": {"after": str(start + size)},
                "next": f"{API}/keyword_search?after={start + size}",
            }
        return 200, {}, body

    def respond(self, request: httpx.Request) -> httpx.Response:
        status, headers, body = self.answer(dict(request.url.params))
        return httpx.Response(status, headers=headers, json=body)

    def reply(self, request: Any) -> Reply:
        status, headers, body = self.answer(request.query)
        return Reply.json(body, status=status, headers=headers)


class ThreadsHarness(Harness):
    name = "threads"
    page_size = 2

    def __init__(self, router: respx.MockRouter) -> None:
        self.fake = FakeThreads()
        router.get(f"{API}/keyword_search").mock(side_effect=self.fake.respond)

    @property
    def env(self) -> dict[str, str]:
        return dict(ENV)

    def options(self) -> dict[str, Any]:
        return {
            "user_id": USER,
            "base_url": BASE,
            "mentions": False,
            "queries": ["shop example"],
            "page_size": self.page_size,
        }

    def item(self, n: int, *, author: str = "customer", repost: bool = False) -> Any:
        return post(n, author=author)

    def malformed(self, n: int) -> Any:
        return {k: v for k, v in post(n).items() if k != "username"}

    def native_id(self, n: int) -> str:
        return f"1802832247614{1000 + n}"

    def serve(self, items: Sequence[Any]) -> None:
        self.fake.posts = list(items)
        self.fake.limited_until = None

    def rate_limit(self, reset: datetime) -> None:
        self.fake.limited_until = reset

    def calls(self) -> int:
        return len(self.fake.requests)


class TestThreadsContract(ConnectorContract):
    @pytest.fixture
    def harness(self) -> Iterator[Harness]:
        with respx.mock(assert_all_called=False) as router:
            yield ThreadsHarness(router)


def connector(env: dict[str, str] | None = None, **options: Any) -> ThreadsConnector:
    opts = {"user_id": USER, "base_url": BASE, **options}
    ThreadsConnector.validate_options(opts, "connectors.threads")
    return ThreadsConnector(
        opts,
        env=ENV if env is None else env,
        brand_handles={"threads": "shopexample"},
        clock=lambda: NOW,
    )


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=API, assert_all_called=False) as r:
        yield r


def test_documented_search_results_map(router: respx.MockRouter) -> None:
    status, headers, body = load_recorded("threads/keyword_search.json")
    route = router.get("/keyword_search").mock(
        return_value=httpx.Response(status, headers=headers, content=body)
    )
    c = connector(queries=["shop example"], mentions=False, lookback="5000d")
    result = c.poll(c.sources()[0], None)
    text, image = result.mentions
    assert text.author.handle == "lucie.h" and text.text.startswith("anyone else waiting")
    assert image.text == "[IMAGE]" and not result.more  # cursors without next: last page
    params = route.calls.last.request.url.params
    assert params["search_type"] == "RECENT" and params["q"] == "shop example"
    assert route.calls.last.request.headers["authorization"] == f"Bearer {TOKEN}"


def test_two_step_reply_and_find_reply(router: respx.MockRouter) -> None:
    create = router.post(f"/{USER}/threads").mock(
        return_value=httpx.Response(200, content=load_recorded("threads/reply_container.json")[2])
    )
    publish = router.post(f"/{USER}/threads_publish").mock(
        return_value=httpx.Response(200, content=load_recorded("threads/threads_publish.json")[2])
    )
    c = connector()
    (m,) = c.mentions(Source("threads", "search", "x"), None, POSTS[0])
    posted = c.reply(m, "So sorry Lucie, DM us your order number – Sam", "k")
    assert posted.remote_id == "1789000000000002"
    body = create.calls.last.request.content.decode()
    assert "reply_to_id=18028322476146374" in body and "media_type=TEXT" in body
    assert publish.calls.last.request.content.decode() == "creation_id=1789000000000001"
    replies = router.get("/18028322476146374/replies")
    listed = json.loads(load_recorded("threads/media_replies.json")[2])
    replies.mock(return_value=httpx.Response(200, json=listed))
    found = c.find_reply(m, "k")
    assert found is not None and found.remote_id == "1789000000000002"
    assert found.url == "https://www.threads.net/@shopexample/post/C_mCq1xJ0aB"
    others = {**listed, "data": [r for r in listed["data"] if r["username"] != "shopexample"]}
    replies.mock(return_value=httpx.Response(200, json=others))
    assert c.find_reply(m, "k") is None
    assert ThreadsConnector.reply_rule is not None and ThreadsConnector.reply_rule.limit == 500


def test_errors_are_typed(router: respx.MockRouter) -> None:
    router.get(f"/{USER}/mentions").mock(
        return_value=httpx.Response(400, json={"error": {"message": "expired", "code": 190}})
    )
    with pytest.raises(AuthError, match="SOCIAL_WATCH_THREADS_TOKEN"):
        connector().poll(Source("threads", "mentions"), None)
    router.get("/keyword_search").mock(
        return_value=httpx.Response(400, json={"error": {"message": "limit", "code": 613}})
    )
    with pytest.raises(RateLimited):
        connector(queries=["a"]).poll(Source("threads", "search", "a"), None)
    with pytest.raises(ConfigError, match=r"threads\.user_id"):
        ThreadsConnector.validate_options({}, "connectors.threads")


def test_poll_end_to_end_over_a_real_socket(
    fixture_server: FixtureServer,
    tmp_path: Path,
    cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeThreads([post(n) for n in range(1, 6)])
    fixture_server.get("/v1.0/keyword_search", fake.reply)
    monkeypatch.setenv("SOCIAL_WATCH_THREADS_TOKEN", TOKEN)
    config = tmp_path / "social-watch.toml"
    config.write_text(
        f'database = "{tmp_path / "sw.db"}"\n[brand]\nname = "Shop Example"\n'
        f'[connectors.threads]\nuser_id = "{USER}"\nbase_url = "{fixture_server.url}"\n'
        'mentions = false\nqueries = ["shop example"]\npage_size = 2\nlookback = "5000d"\n',
        encoding="utf-8",
    )
    result = cli("poll", "--config", str(config), "--json")
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.output)
    assert report["new"] == 5 and report["sources"][0]["pages"] == 3
    assert TOKEN not in result.output
