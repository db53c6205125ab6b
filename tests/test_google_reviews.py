"""Google Business Profile reviews: the documented review shape (starRating enum, anonymous
reviewer, stars-only, an existing reply), the contract, updateReply found again, and an
end-to-end poll."""

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

from connectors.google_reviews import GoogleReviewsConnector
from social_watch.connector import Source
from social_watch.errors import AuthError, ConfigError

BASE = "https://business.example/v4"
LOC = "accounts/102775396358730453512/locations/12345678901234567890"
TOKEN = "ya29.google-s3cr3t"
ENV = {"SOCIAL_WATCH_GOOGLE_BUSINESS_TOKEN": TOKEN}
REVIEWS = json.loads(load_recorded("google_reviews/location_reviews.json")[2])["reviews"]
OPTS = {"account_id": "102775396358730453512", "location_id": "12345678901234567890"}


def g_review(n: int, *, author: str = "Jana Nováková") -> dict[str, Any]:
    r = copy.deepcopy(REVIEWS[0])
    at = (NOW - timedelta(minutes=100 - n)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    r.update(reviewId=f"AbFvOq{1000 + n}", createTime=at, updateTime=at, starRating="FOUR")
    r["reviewer"]["displayName"] = author
    return r


class FakeGoogle:
    def __init__(self, reviews: Sequence[dict[str, Any]] = ()) -> None:
        self.reviews = list(reviews)
        self.limited_until: datetime | None = None
        self.requests: list[dict[str, str]] = []

    def answer(self, params: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        self.requests.append(params)
        if self.limited_until is not None:
            stamp = email.utils.format_datetime(self.limited_until, usegmt=True)
            error = {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "Quota exceeded"}
            return 429, {"Retry-After": stamp}, {"error": error}
        items = sorted(self.reviews, key=lambda r: r["updateTime"], reverse=True)
        start, size = int(params.get("pageToken") or 0), int(params.get("pageSize", 50))
        body: dict[str, Any] = {
            "reviews": items[start : start + size],
            "totalReviewCount": len(items),
        }
        if start + size < len(items):
            body["nextPageToken"] = str(start + size)
        return 200, {}, body

    def respond(self, request: httpx.Request) -> httpx.Response:
        status, headers, body = self.answer(dict(request.url.params))
        return httpx.Response(status, headers=headers, json=body)

    def reply(self, request: Any) -> Reply:
        status, headers, body = self.answer(request.query)
        return Reply.json(body, status=status, headers=headers)


class GoogleHarness(Harness):
    name = "google_reviews"
    page_size = 2
    brand_handle = "Shop Example"

    def __init__(self, router: respx.MockRouter) -> None:
        self.fake = FakeGoogle()
        router.get(f"{BASE}/{LOC}/reviews").mock(side_effect=self.fake.respond)

    @property
    def env(self) -> dict[str, str]:
        return dict(ENV)

    def options(self) -> dict[str, Any]:
        return {**OPTS, "base_url": BASE, "page_size": self.page_size}

    def item(self, n: int, *, author: str = "Jana Nováková", repost: bool = False) -> Any:
        return g_review(n, author=author)

    def malformed(self, n: int) -> Any:
        return {**g_review(n), "starRating": "STAR_RATING_UNSPECIFIED"}

    def native_id(self, n: int) -> str:
        return f"AbFvOq{1000 + n}"

    def serve(self, items: Sequence[Any]) -> None:
        self.fake.reviews = list(items)
        self.fake.limited_until = None

    def rate_limit(self, reset: datetime) -> None:
        self.fake.limited_until = reset

    def calls(self) -> int:
        return len(self.fake.requests)


class TestGoogleReviewsContract(ConnectorContract):
    @pytest.fixture
    def harness(self) -> Iterator[Harness]:
        with respx.mock(assert_all_called=False) as router:
            yield GoogleHarness(router)


def connector(env: dict[str, str] | None = None, **options: Any) -> GoogleReviewsConnector:
    opts = {**OPTS, "base_url": BASE, **options}
    GoogleReviewsConnector.validate_options(opts, "connectors.google_reviews")
    return GoogleReviewsConnector(
        opts,
        env=ENV if env is None else env,
        brand_handles={"google_reviews": "Shop Example"},
        clock=lambda: NOW,
    )


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as r:
        yield r


def test_documented_reviews_map_with_their_stars(router: respx.MockRouter) -> None:
    status, headers, body = load_recorded("google_reviews/location_reviews.json")
    route = router.get(f"/{LOC}/reviews").mock(
        return_value=httpx.Response(status, headers=headers, content=body)
    )
    result = connector(lookback="5000d").poll(Source("google_reviews", "reviews"), None)
    by_id = {m.native_id: m for m in result.mentions}
    low = by_id["AbFvOqm8R1TuEdg3Hr2W"]
    assert low.rating == 2.0 and low.author.handle == "Tereza Malá"
    assert low.text.startswith("Vrácení peněz trvalo měsíc")
    five = by_id["AbFvOqnXc5vY7PpQ0sKd"]
    assert five.author.handle == "anonymous" and five.text == "(stars only)"
    answer = by_id["AbFvOqnXc5vY7PpQ0sKd-reply"]
    assert answer.author.handle == "Shop Example" and answer.in_reply_to == five.native_id
    assert result.more and result.cursor["page"] == "CiAKHAoSCgwIqurvwQYQgJjQpwMSBgjwnN3BBhoAEAE"
    request = route.calls.last.request
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.url.params["orderBy"] == "updateTime desc"


def test_update_reply_and_find_reply(router: respx.MockRouter) -> None:
    put = router.put(f"/{LOC}/reviews/AbFvOqm8R1TuEdg3Hr2W/reply").mock(
        return_value=httpx.Response(
            200, json={"comment": "x", "updateTime": "2026-11-24T10:00:00Z"}
        )
    )
    c = connector()
    (review,) = c._mentions(REVIEWS[0])[0]
    posted = c.reply(review, "Omlouváme se, Terezo, hned to řešíme. – Sam", "k")
    assert posted.remote_id == "AbFvOqm8R1TuEdg3Hr2W-reply"
    assert json.loads(put.calls.last.request.content) == {
        "comment": "Omlouváme se, Terezo, hned to řešíme. – Sam"
    }
    lookup = router.get(f"/{LOC}/reviews/AbFvOqm8R1TuEdg3Hr2W")
    lookup.mock(
        return_value=httpx.Response(200, json={**REVIEWS[0], "reviewReply": {"comment": "x"}})
    )
    assert c.find_reply(review, "k") is not None
    lookup.mock(return_value=httpx.Response(200, json=REVIEWS[0]))
    assert c.find_reply(review, "k") is None


def test_expired_token_and_options(router: respx.MockRouter) -> None:
    router.get(f"/{LOC}/reviews").mock(
        return_value=httpx.Response(401, json={"error": {"code": 401, "status": "UNAUTHENTICATED"}})
    )
    with pytest.raises(AuthError) as info:
        connector().poll(Source("google_reviews", "reviews"), None)
    assert info.value.env_var == "SOCIAL_WATCH_GOOGLE_BUSINESS_TOKEN" and TOKEN not in str(
        info.value
    )
    with pytest.raises(ConfigError, match=r"google_reviews\.location_id"):
        GoogleReviewsConnector.validate_options({"account_id": "1"}, "connectors.google_reviews")


def test_poll_end_to_end_over_a_real_socket(
    fixture_server: FixtureServer,
    tmp_path: Path,
    cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeGoogle([g_review(n) for n in range(1, 6)])
    fixture_server.get(f"/v4/{LOC}/reviews", fake.reply)
    monkeypatch.setenv("SOCIAL_WATCH_GOOGLE_BUSINESS_TOKEN", TOKEN)
    config = tmp_path / "social-watch.toml"
    config.write_text(
        f'database = "{tmp_path / "sw.db"}"\n[brand]\nname = "Shop Example"\n'
        f'[connectors.google_reviews]\naccount_id = "{OPTS["account_id"]}"\n'
        f'location_id = "{OPTS["location_id"]}"\nbase_url = "{fixture_server.url}/v4"\n'
        'page_size = 2\nlookback = "5000d"\n',
        encoding="utf-8",
    )
    result = cli("poll", "--config", str(config), "--json")
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.output)
    assert report["new"] == 5 and report["sources"][0]["pages"] == 3
    assert TOKEN not in result.output


# --- OAuth: the refresh-token grant -----------------------------------------------------

TOKEN_URL = "https://oauth.example/token"
GRANT_ENV = {
    "SOCIAL_WATCH_GOOGLE_CLIENT_ID": "1234-app.apps.googleusercontent.com",
    "SOCIAL_WATCH_GOOGLE_CLIENT_SECRET": "GOCSPX-client-s3cr3t",
    "SOCIAL_WATCH_GOOGLE_REFRESH_TOKEN": "1//refresh-s3cr3t",
}
FRESH = json.loads(load_recorded("google_reviews/oauth_token.json")[2])["access_token"]


@pytest.fixture
def fresh_cache() -> Iterator[None]:
    from connectors import _google_oauth

    _google_oauth.forget_all()
    yield
    _google_oauth.forget_all()


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def granted(clock: Callable[[], datetime], env: dict[str, str] | None = None) -> Any:
    opts = {**OPTS, "base_url": BASE, "token_url": TOKEN_URL, "lookback": "5000d"}
    GoogleReviewsConnector.validate_options(opts, "connectors.google_reviews")
    return GoogleReviewsConnector(
        opts, env=GRANT_ENV if env is None else env, brand_handles={}, clock=clock
    )


def token_route(router: respx.MockRouter, *names: str) -> respx.Route:
    replies = []
    for name in names or ("oauth_token.json",):
        status, headers, body = load_recorded(f"google_reviews/{name}")
        replies.append(httpx.Response(status, headers=headers, content=body))
    route = router.post(TOKEN_URL)
    return route.mock(side_effect=replies) if len(replies) > 1 else route.mock(replies[0])


def test_refresh_token_grant_fetches_and_caches_the_access_token(
    router: respx.MockRouter, fresh_cache: None
) -> None:
    token = token_route(router)
    api = router.get(f"/{LOC}/reviews").mock(
        return_value=httpx.Response(200, json={"reviews": REVIEWS})
    )
    clock = Clock()
    source = Source("google_reviews", "reviews")
    granted(clock).poll(source, None)
    granted(clock).poll(source, None)  # a new connector (the next `poll`): the cached token
    assert token.call_count == 1 and api.call_count == 2
    form = dict(httpx.QueryParams(token.calls[0].request.content.decode()))
    assert form == {
        "client_id": GRANT_ENV["SOCIAL_WATCH_GOOGLE_CLIENT_ID"],
        "client_secret": GRANT_ENV["SOCIAL_WATCH_GOOGLE_CLIENT_SECRET"],
        "refresh_token": GRANT_ENV["SOCIAL_WATCH_GOOGLE_REFRESH_TOKEN"],
        "grant_type": "refresh_token",
    }
    assert all(c.request.headers["authorization"] == f"Bearer {FRESH}" for c in api.calls)
    # expires_in 3920 s: still valid a minute and a bit before that, refreshed after
    clock.now = NOW + timedelta(seconds=3920 - 120)
    granted(clock).poll(source, None)
    assert token.call_count == 1
    clock.now = NOW + timedelta(seconds=3920)
    granted(clock).poll(source, None)
    assert token.call_count == 2


def test_a_401_refreshes_once_then_names_the_refresh_token_variable(
    router: respx.MockRouter, fresh_cache: None
) -> None:
    token = token_route(router)
    unauthenticated = httpx.Response(
        401, json={"error": {"code": 401, "status": "UNAUTHENTICATED"}}
    )
    api = router.get(f"/{LOC}/reviews").mock(
        side_effect=[unauthenticated, httpx.Response(200, json={"reviews": REVIEWS})]
    )
    source = Source("google_reviews", "reviews")
    result = granted(Clock()).poll(source, None)  # revoked early: refreshed, retried, fine
    assert result.mentions and token.call_count == 2 and api.call_count == 2

    api.side_effect = None
    api.return_value = unauthenticated
    with pytest.raises(AuthError) as info:
        granted(Clock()).poll(source, None)
    assert api.call_count == 4 and token.call_count == 3  # one refresh, one retry, no loop
    assert info.value.env_var == "SOCIAL_WATCH_GOOGLE_REFRESH_TOKEN"
    assert "SOCIAL_WATCH_GOOGLE_REFRESH_TOKEN" in str(info.value)
    assert not any(secret in str(info.value) for secret in (*GRANT_ENV.values(), FRESH))


def test_a_refused_refresh_token_or_client_names_its_variable(
    router: respx.MockRouter, fresh_cache: None
) -> None:
    token_route(router, "oauth_invalid_grant.json")
    source = Source("google_reviews", "reviews")
    with pytest.raises(AuthError, match="invalid_grant") as info:
        granted(Clock()).poll(source, None)
    assert info.value.env_var == "SOCIAL_WATCH_GOOGLE_REFRESH_TOKEN"
    router.post(TOKEN_URL).mock(
        return_value=httpx.Response(
            401,
            json={
                "error": "invalid_client",
                "error_description": "The OAuth client was not found.",
            },
        )
    )
    with pytest.raises(AuthError, match="invalid_client") as info:
        granted(Clock()).poll(source, None)
    assert info.value.env_var == "SOCIAL_WATCH_GOOGLE_CLIENT_ID"
    assert not any(secret in str(info.value) for secret in GRANT_ENV.values())


def test_missing_grant_variables_are_named() -> None:
    partial = {k: v for k, v in GRANT_ENV.items() if not k.endswith("CLIENT_SECRET")}
    assert granted(Clock(), partial).missing_secrets() == ["SOCIAL_WATCH_GOOGLE_CLIENT_SECRET"]
    # no refresh token anywhere: the plain access token is what is missing
    assert granted(Clock(), {}).missing_secrets() == ["SOCIAL_WATCH_GOOGLE_BUSINESS_TOKEN"]
    assert granted(Clock(), ENV).missing_secrets() == []
