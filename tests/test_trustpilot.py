"""Trustpilot: the documented review shape with its stars and company reply, the contract,
a reply through the private API found again by find_reply, and an end-to-end poll."""

from __future__ import annotations

import copy
import email.utils
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

from connectors.trustpilot import TrustpilotConnector
from social_watch.connector import Source
from social_watch.errors import AuthError, ConfigError, UsageError

BASE = "https://trustpilot.example"
UNIT = "46d6a890ffa235a75b00021d"
KEY = "tp-s3cr3t-key"
ENV = {"SOCIAL_WATCH_TRUSTPILOT_API_KEY": KEY, "TP_REPLY": "tp-oauth-token"}
REVIEWS = json.loads(load_recorded("trustpilot/business_unit_reviews.json")[2])["reviews"]


def tp_review(n: int, *, author: str = "Jana N.", stars: int = 4) -> dict[str, Any]:
    r = copy.deepcopy(REVIEWS[1])
    r.update(
        id=f"5e3de1b45fb06f00017{9000 + n}",
        stars=stars,
        title=f"Order {n}",
        createdAt=(NOW - timedelta(minutes=100 - n)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    r["consumer"]["displayName"] = author
    return r


class FakeTrustpilot:
    def __init__(self, reviews: Sequence[dict[str, Any]] = ()) -> None:
        self.reviews = list(reviews)
        self.limited_until: datetime | None = None
        self.requests: list[dict[str, str]] = []

    def answer(self, params: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        self.requests.append(params)
        if self.limited_until is not None:
            stamp = email.utils.format_datetime(self.limited_until, usegmt=True)
            return 429, {"Retry-After": stamp}, {"message": "Too many requests"}
        items = sorted(self.reviews, key=lambda r: r["createdAt"], reverse=True)
        page, size = int(params.get("page", 1)), int(params.get("perPage", 20))
        chunk = items[(page - 1) * size : page * size]
        links = []
        if page * size < len(items):
            links.append({"href": f"{BASE}/x?page={page + 1}", "method": "GET", "rel": "next-page"})
        return 200, {}, {"reviews": chunk, "links": links}

    def respond(self, request: httpx.Request) -> httpx.Response:
        status, headers, body = self.answer(dict(request.url.params))
        return httpx.Response(status, headers=headers, json=body)

    def reply(self, request: Any) -> Reply:
        status, headers, body = self.answer(request.query)
        return Reply.json(body, status=status, headers=headers)


class TrustpilotHarness(Harness):
    name = "trustpilot"
    page_size = 2
    brand_handle = "Shop Example"

    def __init__(self, router: respx.MockRouter) -> None:
        self.fake = FakeTrustpilot()
        router.get(f"{BASE}/v1/business-units/{UNIT}/reviews").mock(side_effect=self.fake.respond)

    @property
    def env(self) -> dict[str, str]:
        return dict(ENV)

    def options(self) -> dict[str, Any]:
        return {"business_unit_id": UNIT, "base_url": BASE, "page_size": self.page_size}

    def item(self, n: int, *, author: str = "Jana N.", repost: bool = False) -> Any:
        return tp_review(n, author=author)

    def malformed(self, n: int) -> Any:
        return {**tp_review(n), "stars": 0}

    def native_id(self, n: int) -> str:
        return f"5e3de1b45fb06f00017{9000 + n}"

    def serve(self, items: Sequence[Any]) -> None:
        self.fake.reviews = list(items)
        self.fake.limited_until = None

    def rate_limit(self, reset: datetime) -> None:
        self.fake.limited_until = reset

    def calls(self) -> int:
        return len(self.fake.requests)


class TestTrustpilotContract(ConnectorContract):
    @pytest.fixture
    def harness(self) -> Iterator[Harness]:
        with respx.mock(assert_all_called=False) as router:
            yield TrustpilotHarness(router)


def connector(env: dict[str, str] | None = None, **options: Any) -> TrustpilotConnector:
    opts = {"business_unit_id": UNIT, "base_url": BASE, **options}
    TrustpilotConnector.validate_options(opts, "connectors.trustpilot")
    return TrustpilotConnector(
        opts,
        env=ENV if env is None else env,
        brand_handles={"trustpilot": "Shop Example"},
        clock=lambda: NOW,
    )


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as r:
        yield r


def test_documented_reviews_map_with_stars_and_the_company_reply(router: respx.MockRouter) -> None:
    status, headers, body = load_recorded("trustpilot/business_unit_reviews.json")
    route = router.get(f"/v1/business-units/{UNIT}/reviews").mock(
        return_value=httpx.Response(status, headers=headers, content=body)
    )
    result = connector(lookback="5000d").poll(Source("trustpilot", "reviews"), None)
    by_id = {m.native_id: m for m in result.mentions}
    good = by_id["5e3de1b45fb06f0001790b51"]
    assert good.rating == 5.0 and good.author.handle == "John D." and good.lang == "en"
    assert good.text.startswith("Excellent customer service\nI had a great experience")
    answer = by_id["5e3de1b45fb06f0001790b51-reply"]
    assert answer.author.handle == "Shop Example" and answer.in_reply_to == good.native_id
    assert answer.created_at.isoformat() == "2026-04-28T12:02:00+00:00"
    assert by_id["5e3de1b45fb06f0001790b47"].rating == 1.0
    # a `next-page` link: the walk continues with page 2
    assert result.more and result.cursor["page"] == 2
    request = route.calls.last.request
    assert request.headers["apikey"] == KEY and KEY not in str(request.url)
    assert request.url.params["orderBy"] == "createdat.desc"


def test_reply_through_the_private_api_and_find_reply(router: respx.MockRouter) -> None:
    post = router.post("/v1/private/reviews/5e3de1b45fb06f0001790b47/reply").mock(
        return_value=httpx.Response(201)
    )
    c = connector(reply_token_env="TP_REPLY", business_user_id="507f191e810c19729de860ea")
    (review,) = c._mentions(REVIEWS[1])
    posted = c.reply(review, "We're so sorry, Maria: we've sent a replacement. – Sam", "k1")
    assert posted.remote_id == "5e3de1b45fb06f0001790b47-reply"
    sent = post.calls.last.request
    assert sent.headers["authorization"] == "Bearer tp-oauth-token"
    assert json.loads(sent.content) == {
        "authorBusinessUserId": "507f191e810c19729de860ea",
        "message": "We're so sorry, Maria: we've sent a replacement. – Sam",
    }
    lookup = router.get("/v1/reviews/5e3de1b45fb06f0001790b47")
    lookup.mock(
        return_value=httpx.Response(200, json={**REVIEWS[1], "companyReply": {"text": "x"}})
    )
    found = c.find_reply(review, "k1")
    assert found is not None and found.remote_id == posted.remote_id
    lookup.mock(return_value=httpx.Response(200, json=REVIEWS[1]))
    assert c.find_reply(review, "k1") is None
    with pytest.raises(UsageError, match="replies are off"):
        connector().reply(review, "hi", "k2")


def test_auth_errors_and_options(router: respx.MockRouter) -> None:
    router.get(f"/v1/business-units/{UNIT}/reviews").mock(
        return_value=httpx.Response(401, json={"message": "Invalid ApiKey"})
    )
    with pytest.raises(AuthError) as info:
        connector().poll(Source("trustpilot", "reviews"), None)
    assert info.value.env_var == "SOCIAL_WATCH_TRUSTPILOT_API_KEY" and KEY not in str(info.value)
    assert connector(env={}).missing_secrets() == ["SOCIAL_WATCH_TRUSTPILOT_API_KEY"]
    with pytest.raises(ConfigError, match="business_unit_id"):
        TrustpilotConnector.validate_options({}, "connectors.trustpilot")
    with pytest.raises(ConfigError, match="both reply_token_env and business_user_id"):
        TrustpilotConnector.validate_options(
            {"business_unit_id": UNIT, "reply_token_env": "X"}, "connectors.trustpilot"
        )


def test_poll_end_to_end_over_a_real_socket(
    fixture_server: FixtureServer,
    tmp_path: Path,
    cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeTrustpilot([tp_review(n, stars=1 if n == 1 else 5) for n in range(1, 6)])
    fixture_server.get(f"/v1/business-units/{UNIT}/reviews", fake.reply)
    monkeypatch.setenv("SOCIAL_WATCH_TRUSTPILOT_API_KEY", KEY)
    config = tmp_path / "social-watch.toml"
    config.write_text(
        f'database = "{tmp_path / "sw.db"}"\n[brand]\nname = "Shop Example"\n'
        f'[connectors.trustpilot]\nbusiness_unit_id = "{UNIT}"\n'
        f'base_url = "{fixture_server.url}"\npage_size = 2\nlookback = "5000d"\n',
        encoding="utf-8",
    )
    result = cli("poll", "--config", str(config), "--json")
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.output)
    assert report["new"] == 5 and report["sources"][0]["pages"] == 3
    assert all(r.headers["apikey"] == KEY for r in fixture_server.requests)
    queue = json.loads(cli("queue", "--config", str(config), "--json").output)
    one_star = next(i for i in queue if i["rating"] == 1.0)
    assert one_star["sentiment"]["label"] == "negative"
    assert KEY not in result.output
