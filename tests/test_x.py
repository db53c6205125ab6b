"""X (tweepy Client, API v2): mapping from recorded responses, since_id/next_token cursors,
errors, replies and reconciliation, redacted debug logs, and the shared connector contract.

tweepy talks through requests, so the network is faked with ``responses``; bodies and headers
come from tests/fixtures/x (see its README). Nothing here sleeps or touches the internet.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from connector_contract import NOW, ConnectorContract, Harness
from fixture_server import load_recorded

from connectors.x import XConnector
from social_watch import config as cfg
from social_watch import db as dbmod
from social_watch import polling, registry, store
from social_watch.connector import MENTIONS, SEARCH, Source
from social_watch.errors import (
    AuthError,
    ConfigError,
    ConnectorError,
    RateLimited,
    Rejected,
    TransientError,
)
from social_watch.models import Author, Mention
from social_watch.pipeline import Pipeline
from social_watch.runner import poll_source

API = "https://api.twitter.com"
SEARCH_URL = f"{API}/2/tweets/search/recent"
BEARER_VAR = "SOCIAL_WATCH_X_BEARER_TOKEN"
USER_VARS = (
    "SOCIAL_WATCH_X_CONSUMER_KEY",
    "SOCIAL_WATCH_X_CONSUMER_SECRET",
    "SOCIAL_WATCH_X_ACCESS_TOKEN",
    "SOCIAL_WATCH_X_ACCESS_TOKEN_SECRET",
)
BEARER_ENV = {BEARER_VAR: "AAAAbearer-SECRET-0001%2Fxyz"}
USER_ENV = {
    "SOCIAL_WATCH_X_CONSUMER_KEY": "ck-SECRET-0002",
    "SOCIAL_WATCH_X_CONSUMER_SECRET": "cs-SECRET-0003",
    "SOCIAL_WATCH_X_ACCESS_TOKEN": "783214-at-SECRET-0004",
    "SOCIAL_WATCH_X_ACCESS_TOKEN_SECRET": "ats-SECRET-0005",
}
ALL_ENV = {**BEARER_ENV, **USER_ENV}


def recorded(name: str) -> tuple[int, dict[str, str], dict[str, Any]]:
    """(status, replayable headers, parsed body) of fixtures/x/<name>."""
    status, headers, body = load_recorded(f"x/{name}")
    return status, headers, json.loads(body)


def body(name: str) -> dict[str, Any]:
    return recorded(name)[2]


def add(
    rsps: responses.RequestsMock,
    method: str,
    url: str,
    name: str,
    *,
    payload: dict[str, Any] | None = None,
    status: int | None = None,
    match: Sequence[Any] = (),
) -> None:
    """Serve a recorded fixture (optionally with an edited body) at ``url``."""
    rec_status, headers, rec_body = recorded(name)
    headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
    rsps.add(
        method,
        url,
        json=payload if payload is not None else rec_body,
        status=status or rec_status,
        headers=headers,
        match=list(match),
    )


def serve_pages(
    rsps: responses.RequestsMock, url: str, pages: dict[str | None, dict[str, Any]]
) -> None:
    """GET ``url`` answers with ``pages[token]``: the page for its next_token or
    pagination_token (None: the first page), with the recorded search headers."""
    _, headers, _ = recorded("search_recent.json")

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        params = parse_qs(urlsplit(request.url).query)
        token = (params.get("next_token") or params.get("pagination_token") or [None])[0]
        return 200, headers, json.dumps(pages[token])

    rsps.add_callback("GET", url, callback=answer)


def query(call: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


def make_config(**options: Any) -> cfg.Config:
    section = {"mentions": False, "queries": ["shopexample"], **options}
    return cfg.validate({"brand": {"handles": {"x": "shopexample"}}, "connectors": {"x": section}})


def connector(env: dict[str, str] | None = None, **options: Any) -> XConnector:
    built = registry.build(
        make_config(**options), "x", env=ALL_ENV if env is None else env, clock=lambda: NOW
    )
    assert isinstance(built, XConnector)
    return built


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Any]:
    database = dbmod.connect(tmp_path / "x.db")
    yield database
    database.close()


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """A connector never sleeps (tweepy would, with wait_on_rate_limit on)."""

    def refuse(seconds: float) -> None:
        raise AssertionError(f"slept {seconds}s")

    monkeypatch.setattr(time, "sleep", refuse)


def run(db: Any, conn: XConnector, source: Source | None = None) -> Any:
    pipeline = Pipeline(make_config(), lambda: NOW)  # the brand handle; options don't matter
    return poll_source(db, pipeline, conn, source or conn.sources()[0])


# --- the module and its mapping -----------------------------------------------------------


def test_importing_the_module_does_not_import_tweepy() -> None:
    code = "import sys, connectors.x; assert 'tweepy' not in sys.modules, 'tweepy imported'"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_recorded_search_maps_authors_replies_and_retweets() -> None:
    mentions, skipped = connector().parse_page(body("search_recent_expansions.json"))
    assert skipped == []
    by_id = {m.native_id: m for m in mentions}
    reply = by_id["1332344843360677888"]
    assert reply.author.handle and reply.url == (
        f"https://x.com/{reply.author.handle}/status/1332344843360677888"
    )
    assert reply.in_reply_to == "1332344473620189185"
    assert reply.conversation_id == "1332275234037182464"
    assert reply.lang == "en" and not reply.is_repost
    assert reply.created_at == datetime(2020, 11, 27, 15, 25, 39, tzinfo=UTC)
    assert by_id["1332344846833639425"].is_repost and by_id["1332344839682158592"].is_repost
    assert by_id["1332344846833639425"].author.handle == "stmanfr"


def test_recorded_user_metrics_give_followers() -> None:
    mentions, _ = connector().parse_page(body("search_recent_user_metrics.json"))
    first = mentions[0]
    assert first.author == Author("jeitoapp", "Ryan DeLongpre 🇺🇸", 1838)
    assert first.lang is None and first.in_reply_to is None


def test_default_fields_without_author_expansion_are_skipped_by_id() -> None:
    # users_mentions.json was recorded without expansions: no author, no created_at
    mentions, skipped = connector().parse_page(body("users_mentions.json"))
    assert mentions == []
    assert len(skipped) == 5 and skipped[0].item_id == "1578516295611748353"
    assert "author" in skipped[0].reason


def test_quote_tweets_are_mentions_and_long_posts_use_the_note_text() -> None:
    page = copy.deepcopy(body("search_recent_user_metrics.json"))
    page["data"][0]["referenced_tweets"] = [{"type": "quoted", "id": "1"}]
    page["data"][1]["note_tweet"] = {"text": "the whole long post"}
    page["data"][2]["lang"] = "und"
    mentions, _ = connector().parse_page(page)
    assert not mentions[0].is_repost and mentions[0].in_reply_to is None
    assert mentions[1].text == "the whole long post"
    assert mentions[2].lang is None


# --- polling -------------------------------------------------------------------------------


def test_search_request_excludes_retweets_and_the_brand_and_uses_the_bearer(
    rsps: responses.RequestsMock, db: Any
) -> None:
    add(rsps, "GET", SEARCH_URL, "search_recent_user_metrics.json")
    summary = run(db, connector())
    assert summary.ok and summary.new == 3
    (call,) = rsps.calls
    params = query(call)
    assert params["query"] == "(shopexample) -is:retweet -from:shopexample"
    assert params["expansions"] == "author_id"
    assert set(params["tweet.fields"].split(",")) >= {
        "created_at",
        "lang",
        "conversation_id",
        "in_reply_to_user_id",
        "referenced_tweets",
        "public_metrics",
        "author_id",
    }
    assert params["user.fields"] == "username,name,public_metrics"
    assert "since_id" not in params
    assert call.request.headers["Authorization"] == f"Bearer {BEARER_ENV[BEARER_VAR]}"
    assert "social-watch/" in call.request.headers["User-Agent"]
    assert store.load_cursor(db, "x:search:shopexample") == {"since_id": "1380581922200424449"}


def test_burst_of_two_pages_is_read_to_the_end_and_since_id_moves_after_it(
    rsps: responses.RequestsMock, db: Any
) -> None:
    page1 = copy.deepcopy(body("search_recent_user_metrics.json"))
    page1["meta"]["next_token"] = "b26v89c19zqg8o3fpzbn1e0ffhxjiofzw6po136rvbnul"
    page2 = copy.deepcopy(body("search_recent_expansions.json"))  # older tweets
    del page2["meta"]["next_token"]  # the end of the burst
    serve_pages(rsps, SEARCH_URL, {None: page1, page1["meta"]["next_token"]: page2})

    cursors: list[Any] = []
    real = store.ingest

    def spy(*args: Any, **kwargs: Any) -> Any:
        cursors.append(kwargs.get("cursor"))
        return real(*args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(store, "ingest", spy)
        summary = run(db, connector())

    assert summary.ok and summary.pages == 2 and not summary.more
    assert summary.new == 4 and summary.ignored == 2  # two retweets on page 2
    assert [query(c).get("next_token") for c in rsps.calls] == [
        None,
        page1["meta"]["next_token"],
    ]
    assert "since_id" not in query(rsps.calls[1])
    # page 1 committed with the progress marker, since_id unchanged; moved after page 2
    assert cursors[0]["since_id"] is None
    assert cursors[0]["pending_since_id"] == "1380581922200424449"
    assert cursors[0]["until_id"] == page1["meta"]["oldest_id"]
    assert cursors[1] == {"since_id": "1380581922200424449"}


def test_two_overlapping_polls_store_nothing_twice(rsps: responses.RequestsMock, db: Any) -> None:
    add(rsps, "GET", SEARCH_URL, "search_recent_user_metrics.json")
    conn = connector()
    run(db, conn)
    again = run(db, conn)  # the fake ignores since_id: the same three tweets again
    assert again.ok and again.new == 0 and again.duplicates == 3
    assert query(rsps.calls[1])["since_id"] == "1380581922200424449"
    assert db.conn.execute("SELECT COUNT(*) FROM mentions").fetchone()[0] == 3


def test_a_crash_after_fetching_and_before_committing_loses_nothing(
    rsps: responses.RequestsMock, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    add(rsps, "GET", SEARCH_URL, "search_recent_user_metrics.json")
    real = store.ingest

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("killed between fetch and commit")

    monkeypatch.setattr(store, "ingest", crash)
    with pytest.raises(RuntimeError):
        run(db, connector())
    assert store.load_cursor(db, "x:search:shopexample") is None
    monkeypatch.setattr(store, "ingest", real)
    summary = run(db, connector())
    assert "since_id" not in query(rsps.calls[1])  # asked for the same window again
    assert summary.new == 3


def test_first_poll_reads_at_most_max_pages_of_history(
    rsps: responses.RequestsMock, db: Any
) -> None:
    page = copy.deepcopy(body("search_recent_user_metrics.json"))
    page["meta"]["next_token"] = "more-history"
    add(rsps, "GET", SEARCH_URL, "search_recent.json", payload=page)
    summary = run(db, connector(max_pages=1))
    assert summary.pages == 1 and not summary.more
    assert store.load_cursor(db, "x:search:shopexample") == {"since_id": "1380581922200424449"}


def test_an_expired_pagination_token_continues_the_burst_with_until_id(
    rsps: responses.RequestsMock,
) -> None:
    refused = {"errors": [{"message": "Invalid next_token"}]}
    rsps.add("GET", SEARCH_URL, status=400, json=refused)
    last = copy.deepcopy(body("search_recent_expansions.json"))
    del last["meta"]["next_token"]
    add(rsps, "GET", SEARCH_URL, "search_recent.json", payload=last)  # answered in order
    cursor = {
        "since_id": "1",
        "pending_since_id": "1380581922200424449",
        "next_token": "old",
        "until_id": "1380581522881789957",
        "pages": 1,
    }
    conn = connector()
    result = conn.poll(conn.sources()[0], cursor)
    retry = query(rsps.calls[1])
    assert "next_token" not in retry
    assert (retry["until_id"], retry["since_id"]) == ("1380581522881789957", "1")
    assert result.cursor == {"since_id": "1380581922200424449"} and not result.more


def test_a_since_id_older_than_the_search_window_restarts_the_search(
    rsps: responses.RequestsMock,
) -> None:
    detail = "Invalid 'since_id':'1'. 'since_id' must be a tweet id created after 2026-11-17."
    rsps.add("GET", SEARCH_URL, status=400, json={"errors": [{"message": detail}]})
    add(rsps, "GET", SEARCH_URL, "search_recent_user_metrics.json")
    conn = connector()
    result = conn.poll(conn.sources()[0], {"since_id": "1"})
    assert "since_id" not in query(rsps.calls[1])
    assert len(result.mentions) == 3


def test_mentions_look_up_the_account_once_and_page_with_pagination_token(
    rsps: responses.RequestsMock, db: Any
) -> None:
    add(rsps, "GET", f"{API}/2/users/me", "users_me.json")
    me = "1072250532645998596"
    page = copy.deepcopy(body("search_recent_user_metrics.json"))
    page["meta"]["next_token"] = "7140dibdnow9c7btw423i3sy3u5zupmkcpofxcsmxj48j"
    last = copy.deepcopy(body("search_recent_expansions.json"))
    del last["meta"]["next_token"]
    url = f"{API}/2/users/{me}/mentions"
    serve_pages(rsps, url, {None: page, page["meta"]["next_token"]: last})
    conn = connector(mentions=True, queries=[])
    assert conn.sources() == [Source("x", MENTIONS)]
    summary = run(db, conn)
    assert summary.ok and summary.pages == 2, summary.error
    paths = [urlsplit(c.request.url).path for c in rsps.calls]
    assert paths == ["/2/users/me", f"/2/users/{me}/mentions", f"/2/users/{me}/mentions"]
    assert rsps.calls[1].request.headers["Authorization"].startswith("OAuth ")
    assert store.load_cursor(db, "x:mentions:") == {
        "user_id": me,
        "since_id": "1380581922200424449",
    }
    run(db, connector(mentions=True, queries=[]))  # a new process: the id is in the cursor
    later = [urlsplit(c.request.url).path for c in rsps.calls][3:]
    assert later and "/2/users/me" not in later


def test_mentions_with_only_a_bearer_look_up_the_brand_handle(
    rsps: responses.RequestsMock,
) -> None:
    add(rsps, "GET", f"{API}/2/users/by/username/shopexample", "users_by_username.json")
    add(rsps, "GET", f"{API}/2/users/783214/mentions", "search_recent_empty.json")
    conn = connector(env=BEARER_ENV, mentions=True, queries=[])
    result = conn.poll(conn.sources()[0], None)
    assert result.mentions == [] and result.cursor == {"user_id": "783214", "since_id": None}
    assert rsps.calls[1].request.headers["Authorization"].startswith("Bearer ")


# --- errors -------------------------------------------------------------------------------


def test_429_is_rate_limited_until_the_header_reset_and_the_runner_records_it(
    rsps: responses.RequestsMock, db: Any
) -> None:
    add(rsps, "GET", SEARCH_URL, "error_429.json")
    conn = connector()
    with pytest.raises(RateLimited) as info:
        conn.poll(conn.sources()[0], None)
    reset = datetime.fromtimestamp(1665183229, UTC)
    assert info.value.reset_at == reset
    summary = run(db, conn)
    assert summary.error_kind == "rate_limited" and summary.rate_limit_reset == reset
    row = db.conn.execute("SELECT error, rate_limit_reset FROM polls").fetchone()
    assert "429" in row[0] and row[1] == "2022-10-07T22:53:49Z"


def test_401_is_an_auth_error_naming_the_variable(rsps: responses.RequestsMock) -> None:
    add(rsps, "GET", SEARCH_URL, "error_401.json", status=401)
    conn = connector()
    with pytest.raises(AuthError) as info:
        conn.poll(conn.sources()[0], None)
    assert info.value.env_var == BEARER_VAR
    assert BEARER_VAR in str(info.value) and "GET /2/tweets/search/recent → 401" in str(info.value)
    assert "query=" not in str(info.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"status": 503, "json": {"title": "Service Unavailable"}},
        {"body": requests.ConnectionError("connection reset")},
        {"body": requests.Timeout("read timed out")},
    ],
)
def test_server_errors_and_network_failures_are_transient(
    rsps: responses.RequestsMock, kwargs: dict[str, Any]
) -> None:
    rsps.add("GET", SEARCH_URL, **kwargs)
    conn = connector()
    with pytest.raises(TransientError):
        conn.poll(conn.sources()[0], None)


def test_missing_secrets_are_named_exactly(rsps: responses.RequestsMock) -> None:
    with pytest.raises(AuthError) as info:
        connector(env={}).check()
    assert info.value.env_var == BEARER_VAR and BEARER_VAR in str(info.value)

    half = {k: v for k, v in USER_ENV.items() if k != "SOCIAL_WATCH_X_ACCESS_TOKEN_SECRET"}
    assert connector(env=half).missing_secrets() == ["SOCIAL_WATCH_X_ACCESS_TOKEN_SECRET"]
    assert connector(env={}, mentions=True, queries=[]).missing_secrets() == list(USER_VARS)

    custom = connector(env=BEARER_ENV, consumer_key_env="SHOP_X_KEY")
    with pytest.raises(AuthError) as info:
        custom.reply(mention(), "Hi!", "k1")
    assert info.value.env_var == "SHOP_X_KEY" and "SHOP_X_KEY" in str(info.value)
    assert len(rsps.calls) == 0

    reports = polling.check_all(make_config(), {})
    assert reports[0].env_var == BEARER_VAR and not reports[0].ok


def test_check_uses_the_user_context_or_a_cheap_search(rsps: responses.RequestsMock) -> None:
    add(rsps, "GET", f"{API}/2/users/me", "users_me.json")
    assert connector().check().startswith("authenticated as @TweepyDev (id 1072250532645998596)")
    add(rsps, "GET", SEARCH_URL, "search_recent_empty.json")
    message = connector(env=BEARER_ENV).check()
    assert "bearer" in message and "SOCIAL_WATCH_X_CONSUMER_KEY" in message
    assert query(rsps.calls[1])["max_results"] == "10"


@pytest.mark.parametrize(
    "options, key",
    [
        ({"quries": ["a"]}, "connectors.x.quries"),
        ({"queries": "shopexample"}, "connectors.x.queries"),
        ({"queries": ["ok", ""]}, "connectors.x.queries[1]"),
        ({"user_id": "@shopexample"}, "connectors.x.user_id"),
        ({"max_pages": 0}, "connectors.x.max_pages"),
        ({"mentions": False, "queries": []}, "connectors.x"),
    ],
)
def test_bad_options_name_the_key(options: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        connector(**options)
    assert str(info.value).startswith(key + ":")


# --- replies ------------------------------------------------------------------------------


def mention(native_id: str = "1578516295611748353") -> Mention:
    return Mention(
        network="x",
        native_id=native_id,
        text="@shopexample where is my order?",
        created_at=NOW,
        author=Author("alice"),
        conversation_id=native_id,
    )


def test_reply_posts_once_in_reply_to_the_mention_under_user_context(
    rsps: responses.RequestsMock,
) -> None:
    add(rsps, "POST", f"{API}/2/tweets", "create_tweet.json")
    posted = connector().reply(mention(), "Hi Alice, checking now. – Jana", "outbox-1")
    assert posted.remote_id == "1456012973835788293"
    assert posted.url == "https://x.com/shopexample/status/1456012973835788293"
    (call,) = rsps.calls
    assert json.loads(call.request.body) == {
        "text": "Hi Alice, checking now. – Jana",
        "reply": {"in_reply_to_tweet_id": "1578516295611748353"},
    }
    assert call.request.headers["Authorization"].startswith("OAuth ")
    assert XConnector.reply_rule is not None and XConnector.reply_rule.limit == 280


@pytest.mark.parametrize(
    "detail, kind",
    [
        ("You are not allowed to create a Tweet with duplicate content.", Rejected),
        (
            "Your client app is not configured with the appropriate oauth1 app permissions "
            "for this endpoint.",
            AuthError,
        ),
    ],
)
def test_a_403_is_an_auth_error_only_when_it_is_about_the_credentials(
    rsps: responses.RequestsMock, detail: str, kind: type[Exception]
) -> None:
    problem = {"title": "Forbidden", "type": "about:blank", "status": 403, "detail": detail}
    rsps.add("POST", f"{API}/2/tweets", status=403, json=problem)
    with pytest.raises(ConnectorError) as info:
        connector().reply(mention(), "Hi!", "k")
    assert type(info.value) is kind and detail[:30] in str(info.value)
    if kind is AuthError:
        assert "SOCIAL_WATCH_X_CONSUMER_KEY" in str(info.value)


def test_find_reply_reads_the_brand_timeline_since_the_mention(
    rsps: responses.RequestsMock,
) -> None:
    add(rsps, "GET", f"{API}/2/users/me", "users_me.json")
    timeline = {
        "data": [
            {
                "id": "1578516999999999999",
                "text": "@bob other thread",
                "referenced_tweets": [{"type": "replied_to", "id": "1578516000000000000"}],
            },
            {
                "id": "1578516400000000000",
                "text": "@alice checking now",
                "referenced_tweets": [{"type": "replied_to", "id": "1578516295611748353"}],
            },
        ],
        "meta": {"result_count": 2},
    }
    add(rsps, "GET", f"{API}/2/users/1072250532645998596/tweets", "users_me.json", payload=timeline)
    found = connector().find_reply(mention(), "outbox-1")
    assert found is not None and found.remote_id == "1578516400000000000"
    params = query(rsps.calls[1])
    assert params["since_id"] == "1578516295611748353" and params["exclude"] == "retweets"


def test_find_reply_with_only_a_bearer_searches_the_conversation(
    rsps: responses.RequestsMock,
) -> None:
    add(rsps, "GET", SEARCH_URL, "search_recent_empty.json")
    assert connector(env=BEARER_ENV).find_reply(mention(), "outbox-1") is None
    assert query(rsps.calls[0])["query"] == ("conversation_id:1578516295611748353 from:shopexample")


# --- logs ---------------------------------------------------------------------------------


def test_no_token_reaches_the_logs_even_at_debug(
    rsps: responses.RequestsMock,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in ALL_ENV.items():
        monkeypatch.setenv(name, value)
    caplog.set_level(logging.DEBUG)
    for name in ("tweepy", "requests_oauthlib", "oauthlib", "urllib3"):
        caplog.set_level(logging.DEBUG, logger=name)
    add(rsps, "GET", SEARCH_URL, "search_recent_user_metrics.json")
    add(rsps, "POST", f"{API}/2/tweets", "create_tweet.json")
    add(rsps, "GET", f"{API}/2/users/me", "error_401.json", status=401)
    conn = registry.build(make_config(), "x", env=dict(__import__("os").environ))
    conn.poll(conn.sources()[0], None)
    conn.reply(mention(), "Hi!", "k")
    with pytest.raises(AuthError):
        conn.check()
    text = caplog.text
    assert "Making API request" in text and "Authorization" in text  # the debug lines ran
    for secret in ALL_ENV.values():
        assert secret not in text
        assert secret.replace("%2F", "/") not in text
    assert not re.search(r"Bearer (?!\*\*\*)", text)
    assert not re.search(r'oauth_(token|consumer_key|signature)="(?!\*\*\*)', text)
    assert not re.search(r"Signature: (?!\*\*\*)", text)


# --- the shared contract ------------------------------------------------------------------

BASE_ID = 1_860_000_000_000_000_000


class FakeX:
    """Recent search and the mentions timeline over a list of tweets, newest first, with
    since_id/until_id filtering and opaque page tokens, like the real API."""

    def __init__(self, rsps: responses.RequestsMock, page_size: int) -> None:
        self.page_size = page_size
        self.items: list[dict[str, Any]] = []
        self.reset: datetime | None = None
        self.count = 0
        pattern = re.compile(rf"{re.escape(API)}/2/.*")
        rsps.add_callback("GET", pattern, callback=self.answer)

    def answer(self, request: Any) -> tuple[int, dict[str, str], str]:
        self.count += 1
        if self.reset is not None:
            status, headers, payload = recorded("error_429.json")
            headers["x-rate-limit-reset"] = str(int(self.reset.timestamp()))
            return status, headers, json.dumps(payload)
        path = urlsplit(request.url).path
        status, headers, _ = recorded("search_recent.json")
        if path == "/2/users/me":
            return 200, headers, json.dumps(body("users_me.json"))
        params = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
        since, until = int(params.get("since_id", 0)), int(params.get("until_id", 1 << 80))
        window = [i for i in self.items if since < int(i["tweet"]["id"]) < until]
        window.sort(key=lambda i: -int(i["tweet"]["id"]))
        token = params.get("next_token") or params.get("pagination_token")
        start = int(token[1:]) if token else 0
        page = window[start : start + self.page_size]
        out: dict[str, Any] = {"meta": {"result_count": len(page)}}
        if page:
            out["data"] = [i["tweet"] for i in page]
            out["includes"] = {"users": [i["user"] for i in page if i["user"]]}
            out["meta"].update(newest_id=page[0]["tweet"]["id"], oldest_id=page[-1]["tweet"]["id"])
        if start + self.page_size < len(window):
            out["meta"]["next_token"] = f"p{start + self.page_size}"
        return 200, headers, json.dumps(out)


class XSearchHarness(Harness):
    name = "x"
    page_size = 2
    reposts = True
    query_options: dict[str, Any] = {"mentions": False, "queries": ["shopexample"]}  # noqa: RUF012

    def __init__(self, rsps: responses.RequestsMock) -> None:
        self.fake = FakeX(rsps, self.page_size)

    @property
    def env(self) -> dict[str, str]:
        return dict(BEARER_ENV)

    def options(self) -> dict[str, Any]:
        return dict(self.query_options)

    def item(self, n: int, *, author: str = "customer", repost: bool = False) -> Any:
        template = body("search_recent_expansions.json")["data"][1]  # a reply, every field
        user_id = str(abs(hash(author)) % 10**9)
        tweet = {
            **template,
            "id": self.native_id(n),
            "author_id": user_id,
            "conversation_id": self.native_id(n),
            "created_at": (self.now - timedelta(minutes=60 - n)).isoformat(),
        }
        tweet["text"] = f"@shopexample order {n} is late"
        tweet.pop("referenced_tweets")
        if repost:
            tweet["text"] = "RT @someone: " + tweet["text"]
            tweet["referenced_tweets"] = [{"type": "retweeted", "id": str(BASE_ID)}]
        user = {
            "id": user_id,
            "username": author,
            "name": author.title(),
            "public_metrics": {"followers_count": 10},
        }
        return {"tweet": tweet, "user": user}

    def malformed(self, n: int) -> Any:
        item = self.item(n, author="ghost")
        return {"tweet": item["tweet"], "user": None}  # the author expansion is missing

    def native_id(self, n: int) -> str:
        return str(BASE_ID + n)

    def serve(self, items: Sequence[Any]) -> None:
        self.fake.items = list(items)
        self.fake.reset = None

    def rate_limit(self, reset: datetime) -> None:
        self.fake.reset = reset

    def calls(self) -> int:
        return self.fake.count


class XMentionsHarness(XSearchHarness):
    query_options = {"mentions": True}  # noqa: RUF012

    @property
    def env(self) -> dict[str, str]:
        return dict(USER_ENV)


class TestXSearchContract(ConnectorContract):
    @pytest.fixture
    def harness(self, rsps: responses.RequestsMock) -> Iterator[Harness]:
        yield XSearchHarness(rsps)


class TestXMentionsContract(ConnectorContract):
    @pytest.fixture
    def harness(self, rsps: responses.RequestsMock) -> Iterator[Harness]:
        yield XMentionsHarness(rsps)


def test_sources_and_capabilities() -> None:
    conn = connector(mentions=True, queries=["shopexample", '"shop example"'])
    assert [s.key for s in conn.sources()] == [
        "x:mentions:",
        "x:search:shopexample",
        'x:search:"shop example"',
    ]
    assert {MENTIONS, SEARCH} <= conn.capabilities


def test_a_4xx_on_a_reply_is_a_refusal_not_an_unknown_outcome(rsps: responses.RequestsMock) -> None:
    """A 4xx was not applied: the outbox may say "not posted" (issue 17); a 5xx may not."""
    problem = {"title": "Not Found Error", "type": "about:blank", "status": 404, "detail": "gone"}
    rsps.add("POST", f"{API}/2/tweets", status=404, json=problem)
    with pytest.raises(Rejected):
        connector().reply(mention(), "Hi!", "k")
