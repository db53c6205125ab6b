"""Reddit connector: praw against `responses` serving the recorded fixtures (no internet).

Payloads come from tests/fixtures/reddit/ (search_r_all, message_mentions,
comment_reply, access_token, error_429), renumbered where a test needs many items. Any
``time.sleep`` fails the test: the connector must never wait on its own.
"""

from __future__ import annotations

import copy
import json
import logging
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
import sqlite_utils
from connector_contract import NOW, ConnectorContract, Harness
from fixture_server import FixtureServer, Reply, serve_fixtures  # noqa: F401

from connectors.reddit import RedditConnector
from social_watch import __version__, store
from social_watch import config as cfg
from social_watch import db as dbmod
from social_watch.connector import MENTIONS, SEARCH, Source
from social_watch.errors import AuthError, ConfigError, RateLimited, TransientError
from social_watch.models import Author, Mention
from social_watch.pipeline import Pipeline
from social_watch.runner import poll_source

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "reddit"
API = "https://oauth.reddit.com"
TOKEN_URL = "https://www.reddit.com/api/v1/access_token"
ENV = {
    "SOCIAL_WATCH_REDDIT_CLIENT_ID": "cid-7f3a9",
    "SOCIAL_WATCH_REDDIT_CLIENT_SECRET": "csecret-Qz81xPw",
    "SOCIAL_WATCH_REDDIT_USERNAME": "shopexample",
    "SOCIAL_WATCH_REDDIT_PASSWORD": "pw-hunter2-Xy",
}
ACCESS_TOKEN = "tok-Zr4kLm90"
DROP = {"content-encoding", "content-length", "transfer-encoding"}


# --- fixtures as `responses` replies ----------------------------------------------------
def body(name: str) -> Any:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    text = text.replace("<ACCESS_TOKEN>", ACCESS_TOKEN).replace("<USERNAME>", "shopexample")
    return json.loads(text) if name.endswith(".json") else text


def headers(name: str, **override: str) -> list[tuple[str, str]]:
    recorded = json.loads((FIXTURES / f"{name}.headers.json").read_text(encoding="utf-8"))
    out: list[tuple[str, str]] = []
    for key, value in recorded["headers"].items():
        if key.lower() in DROP or key.lower() in {k.lower() for k in override}:
            continue
        out += [(key, v) for v in (value if isinstance(value, list) else [value])]
    return out + list(override.items())


def reply(name: str, status: int = 200, **override: str) -> tuple[int, list[tuple[str, str]], str]:
    payload = body(name)
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return status, headers(name.rsplit(".", 1)[0], **override), text


def submission(n: int, *, author: str = "customer", minutes_ago: float | None = None) -> dict:
    """Search hit number ``n`` (newer for larger n), built from the recorded search item."""
    child = copy.deepcopy(body("search_r_all.json")["data"]["children"][0])
    d = child["data"]
    d.update(
        id=f"p{n}",
        name=f"t3_p{n}",
        author=author,
        title=f"Shop Example order {n} never arrived",
        selftext="Still waiting after two weeks.",
        permalink=f"/r/learnpython/comments/p{n}/order_{n}/",
        created_utc=NOW.timestamp() - 60 * (minutes_ago if minutes_ago is not None else 100 - n),
    )
    return child


def inbox_mention(n: int, *, author: str = "customer") -> dict:
    child = copy.deepcopy(body("message_mentions.json")["data"]["children"][0])
    d = child["data"]
    d.update(
        id=f"c{n}",
        name=f"t1_c{n}",
        author=author,
        body=f"/u/shopexample my parcel {n} is lost",
        context=f"/r/RemovedByBotter/comments/l{n}/a_title/c{n}/?context=3",
        parent_id=f"t3_l{n}",
        created_utc=NOW.timestamp() - 60 * (100 - n),
    )
    return child


def listing(template: str, children: Sequence[Any], after: str | None) -> dict:
    page = body(template)
    page["data"].update(children=list(children), after=after, dist=len(children))
    return page


class FakeReddit:
    """oauth.reddit.com and the token endpoint, as `responses` routes over the fixtures."""

    def __init__(self, rsps: responses.RequestsMock, page_size: int = 2):
        self.rsps = rsps
        self.page_size = page_size
        self.items: dict[str, list[Any]] = {"search": [], "mentions": []}
        self.limited: list[tuple[str, str]] | None = None
        rsps.add_callback(responses.POST, TOKEN_URL, callback=lambda r: reply("access_token.json"))
        for path, kind, template in (
            ("/r/all/search/", "search", "search_r_all"),
            ("/message/mentions", "mentions", "message_mentions"),
        ):
            rsps.add_callback(responses.GET, API + path, callback=self._pager(kind, template))

    def _pager(self, kind: str, template: str) -> Callable[[Any], tuple[int, Any, str]]:
        def answer(request: Any) -> tuple[int, Any, str]:
            if self.limited is not None:
                return 429, self.limited, body("error_429.html")
            after = parse_qs(urlsplit(request.url).query).get("after", [None])[0]
            items = sorted(self.items[kind], key=lambda c: -c["data"].get("created_utc", 0))
            names = [c["data"].get("name") for c in items]
            start = names.index(after) + 1 if after in names else 0
            page = items[start : start + self.page_size]
            more = start + self.page_size < len(items)
            nxt = page[-1]["data"]["name"] if more and page else None
            return 200, headers(template), json.dumps(listing(f"{template}.json", page, nxt))

        return answer

    def api_calls(self, path: str) -> list[Any]:
        return [c for c in self.rsps.calls if urlsplit(c.request.url).path == path]


@pytest.fixture(autouse=True)
def never_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(seconds: float) -> None:
        raise AssertionError(f"slept {seconds}s")

    monkeypatch.setattr(time, "sleep", fail)


@pytest.fixture
def fake() -> Iterator[FakeReddit]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeReddit(rsps)


def make(options: dict[str, Any] | None = None, env: dict[str, str] | None = None):
    opts = options if options is not None else {"queries": ["shopexample"]}
    RedditConnector.validate_options(opts, "connectors.reddit")
    return RedditConnector(
        opts,
        env=ENV if env is None else env,
        brand_handles={"reddit": "shopexample"},
        clock=lambda: NOW,
    )


SEARCH_SRC = Source("reddit", SEARCH, "shopexample")


# --- the shared contract, for both sources ----------------------------------------------
class RedditHarness(Harness):
    name = "reddit"
    page_size = 2
    kind = "search"

    def __init__(self, fake: FakeReddit):
        self.fake = fake

    @property
    def env(self) -> dict[str, str]:
        return dict(ENV)

    def options(self) -> dict[str, Any]:
        return {"queries": ["shopexample"]}

    def item(self, n: int, *, author: str = "customer", repost: bool = False) -> Any:
        return submission(n, author=author)

    def malformed(self, n: int) -> Any:
        child = self.item(n)
        del child["data"]["created_utc"], child["data"]["title"]
        return child

    def native_id(self, n: int) -> str:
        return f"t3_p{n}"

    def serve(self, items: Sequence[Any]) -> None:
        self.fake.limited = None
        self.fake.items[self.kind] = list(items)

    def rate_limit(self, reset: Any) -> None:
        seconds = int((reset - self.now).total_seconds())
        self.fake.limited = headers("error_429", **{"retry-after": str(seconds)})

    def calls(self) -> int:
        return len(self.fake.rsps.calls)


class InboxHarness(RedditHarness):
    kind = "mentions"

    def options(self) -> dict[str, Any]:
        return {"mentions": True}

    def item(self, n: int, *, author: str = "customer", repost: bool = False) -> Any:
        return inbox_mention(n, author=author)

    def malformed(self, n: int) -> Any:
        child = self.item(n)
        del child["data"]["created_utc"], child["data"]["body"]
        return child

    def native_id(self, n: int) -> str:
        return f"t1_c{n}"


class TestRedditSearchContract(ConnectorContract):
    @pytest.fixture
    def harness(self, fake: FakeReddit) -> Iterator[Harness]:
        yield RedditHarness(fake)


class TestRedditInboxContract(ConnectorContract):
    @pytest.fixture
    def harness(self, fake: FakeReddit) -> Iterator[Harness]:
        yield InboxHarness(fake)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    database = dbmod.connect(tmp_path / "reddit.db")
    yield database
    database.close()


def pipeline() -> Pipeline:
    config = cfg.validate({"brand": {"handles": {"reddit": "shopexample"}}})
    return Pipeline(config, lambda: NOW)


# --- importing and configuring ----------------------------------------------------------
def test_importing_the_module_does_not_import_praw() -> None:
    code = (
        "import sys, connectors.reddit, social_watch.registry as r; r.load_class('reddit'); "
        "print(sorted(m for m in ('praw', 'prawcore') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path.cwd()
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("options", "key", "says"),
    [
        ({"queries": ["x"], "subreddit": ["a"]}, "connectors.reddit.subreddit", "subreddits"),
        ({"queries": ["x"], "subreddits": ["no spaces"]}, "subreddits[0]", "subreddit name"),
        ({"queries": [""]}, "connectors.reddit.queries[0]", "non-empty"),
        ({}, "connectors.reddit.queries", "nothing to poll"),
        ({"mentions": "yes"}, "connectors.reddit.mentions", "true or false"),
        ({"queries": ["x"], "base_url": "localhost"}, "base_url", "http"),
    ],
)
def test_options_are_validated_with_the_key_path(
    options: dict[str, Any], key: str, says: str
) -> None:
    with pytest.raises(ConfigError) as info:
        RedditConnector.validate_options(options, "connectors.reddit")
    assert key in str(info.value) and says in str(info.value)


def test_sources_are_one_per_query_plus_the_inbox() -> None:
    c = make({"queries": ["shopexample", '"shop example"'], "mentions": True})
    assert [s.key for s in c.sources()] == [
        "reddit:search:shopexample",
        'reddit:search:"shop example"',
        "reddit:mentions:",
    ]


# --- requests that go out ----------------------------------------------------------------
def test_search_asks_for_new_posts_in_all_of_reddit(fake: FakeReddit) -> None:
    fake.items["search"] = [submission(1)]
    make().poll(SEARCH_SRC, None)
    token, search = fake.rsps.calls[0].request, fake.rsps.calls[1].request
    assert token.url == TOKEN_URL
    assert parse_qs(token.body) == {
        "grant_type": ["password"],
        "username": ["shopexample"],
        "password": [ENV["SOCIAL_WATCH_REDDIT_PASSWORD"]],
    }
    query = parse_qs(urlsplit(search.url).query)
    assert urlsplit(search.url).path == "/r/all/search/"
    assert query == {
        "q": ["shopexample"],
        "sort": ["new"],
        "t": ["all"],
        "limit": ["100"],
        "raw_json": ["1"],
    }
    assert search.headers["Authorization"] == f"bearer {ACCESS_TOKEN}"
    assert f"social-watch:{__version__}" in search.headers["User-Agent"]


def test_search_is_restricted_to_the_configured_subreddits(fake: FakeReddit) -> None:
    fake.rsps.add(
        responses.GET,
        API + "/r/shopexample+onlineshopping/search/",
        json=listing("search_r_all_empty.json", [], None),
    )
    c = make({"queries": ["shopexample"], "subreddits": ["r/shopexample", "onlineshopping"]})
    result = c.poll(SEARCH_SRC, None)
    call = fake.api_calls("/r/shopexample+onlineshopping/search/")[0].request
    assert parse_qs(urlsplit(call.url).query)["restrict_sr"] == ["true"]
    assert result.mentions == [] and not result.more


def test_inbox_mentions_are_read_without_marking_them(fake: FakeReddit) -> None:
    fake.items["mentions"] = [inbox_mention(1)]
    make({"mentions": True}).poll(Source("reddit", MENTIONS), None)
    call = fake.api_calls("/message/mentions")[0].request
    assert parse_qs(urlsplit(call.url).query)["mark"] == ["false"]


# --- normalizing the recorded payloads -------------------------------------------------
def test_a_recorded_search_hit_becomes_a_mention() -> None:
    hit = body("search_r_all.json")["data"]["children"][0]
    m = make().to_mention(hit)
    assert isinstance(m, Mention)
    assert m.native_id == "t3_6ganxe" and m.network == "reddit"
    assert m.text.startswith("How to check if a username is available on Reddit?\n\nI need")
    assert m.url == (
        "https://www.reddit.com/r/learnpython/comments/6ganxe/"
        "how_to_check_if_a_username_is_available_on_reddit/"
    )
    assert m.author == Author("cheesycow5")
    assert m.created_at.timestamp() == 1497036556.0 and m.created_at.tzinfo is not None
    assert (m.conversation_id, m.in_reply_to, m.lang) == ("t3_6ganxe", None, None)
    assert m.raw is not None and m.raw["subreddit"] == "learnpython"


def test_a_recorded_inbox_mention_becomes_a_comment_mention() -> None:
    item = body("message_mentions.json")["data"]["children"][0]
    m = make().to_mention(item)
    assert isinstance(m, Mention)
    assert m.native_id == "t1_ekftbox" and m.text.startswith("Hello /u/shopexample,")
    # inbox items carry no permalink: the context path, without ?context=3
    assert m.url == (
        "https://www.reddit.com/r/RemovedByBotter/comments/bb24k7/"
        "just_a_normal_girl_going_for_her_10th_class_exam/ekftbox/"
    )
    assert (m.conversation_id, m.in_reply_to) == ("t3_bb24k7", "t3_bb24k7")


def test_a_recorded_subreddit_comment_keeps_its_thread() -> None:
    item = body("subreddit_comments.json")["data"]["children"][0]
    m = make().to_mention(item)
    assert isinstance(m, Mention)
    assert m.conversation_id == item["data"]["link_id"]
    assert m.in_reply_to == item["data"]["parent_id"]
    assert m.url == "https://www.reddit.com" + item["data"]["permalink"]


@pytest.mark.parametrize("author", [None, "[deleted]", ""])
def test_deleted_authors_are_skipped(author: str | None) -> None:
    skipped = make().to_mention(submission(1, author=author))  # type: ignore[arg-type]
    assert not isinstance(skipped, Mention)
    assert skipped.item_id == "t3_p1" and "deleted" in skipped.reason


# --- cursors ----------------------------------------------------------------------------
def test_a_burst_beyond_the_runner_page_limit_resumes_from_the_marker(
    fake: FakeReddit, db: sqlite_utils.Database
) -> None:
    fake.items["search"] = [submission(n) for n in range(1, 8)]  # 4 pages of 2
    c = make()
    first = poll_source(db, pipeline(), c, SEARCH_SRC, max_pages=2)
    cursor = store.load_cursor(db, SEARCH_SRC.key)
    assert first.more and first.new == 4
    assert cursor["resume"]["after"] == "t3_p4"
    second = poll_source(db, pipeline(), c, SEARCH_SRC, max_pages=2)
    assert second.new == 3 and not second.more
    cursor = store.load_cursor(db, SEARCH_SRC.key)
    assert "resume" not in cursor
    assert cursor["since"] == submission(7)["data"]["created_utc"]
    # the mark only moves when the burst is read to the end
    assert db.conn.execute("SELECT COUNT(*) FROM mentions").fetchone()[0] == 7


def test_first_poll_reads_back_the_lookback_only(fake: FakeReddit) -> None:
    fake.page_size = 10
    fake.items["search"] = [submission(1, minutes_ago=60 * 30), submission(2, minutes_ago=5)]
    result = make().poll(SEARCH_SRC, None)
    assert [m.native_id for m in result.mentions] == ["t3_p2"]


def test_late_indexed_posts_just_below_the_mark_are_still_read(fake: FakeReddit) -> None:
    fake.page_size = 10
    c = make()
    fake.items["search"] = [submission(10, minutes_ago=1)]
    cursor = c.poll(SEARCH_SRC, None).cursor
    # a post from 4 minutes ago shows up in search only now
    fake.items["search"].append(submission(9, minutes_ago=4))
    again = c.poll(SEARCH_SRC, cursor)
    assert [m.native_id for m in again.mentions] == ["t3_p9"]
    assert set(again.cursor["seen"]) == {"t3_p10", "t3_p9"}


def test_seen_ids_are_bounded(monkeypatch: pytest.MonkeyPatch, fake: FakeReddit) -> None:
    import connectors.reddit as mod

    monkeypatch.setattr(mod, "SEEN_MAX", 3)
    fake.page_size = 10
    fake.items["search"] = [submission(n, minutes_ago=n / 10) for n in range(1, 7)]
    cursor = make().poll(SEARCH_SRC, None).cursor
    assert len(cursor["seen"]) == 3


# --- rate limits and errors -------------------------------------------------------------
def test_recorded_429_html_becomes_rate_limited_with_retry_after(fake: FakeReddit) -> None:
    fake.rsps.add_callback(
        responses.GET, API + "/api/v1/me", callback=lambda r: reply("error_429.html", 429)
    )
    with pytest.raises(RateLimited) as info:
        make().check()
    assert info.value.reset_at == NOW + timedelta(seconds=4)  # retry-after: 4
    assert "<html" not in str(info.value).lower()


def test_an_exhausted_window_is_rate_limited_without_sleeping_or_asking(
    fake: FakeReddit,
) -> None:
    fake.rsps.replace(
        responses.GET,
        API + "/r/all/search/",
        json=listing("search_r_all.json", [submission(1)], None),
        headers={
            "x-ratelimit-remaining": "0.0",
            "x-ratelimit-used": "600",
            "x-ratelimit-reset": "300",
        },
    )
    c = make()
    c.poll(SEARCH_SRC, None)
    before = len(fake.rsps.calls)
    with pytest.raises(RateLimited) as info:
        c.poll(SEARCH_SRC, None)
    assert len(fake.rsps.calls) == before
    assert info.value.reset_at is not None
    assert NOW + timedelta(seconds=290) < info.value.reset_at <= NOW + timedelta(seconds=300)


def test_a_rate_limited_reply_is_not_slept_on(fake: FakeReddit) -> None:
    errors = {
        "json": {
            "errors": [
                [
                    "RATELIMIT",
                    "Looks like you've been doing that a lot. Take a break for 9 minutes "
                    "before trying again.",
                    "ratelimit",
                ]
            ]
        }
    }
    fake.rsps.add(responses.POST, API + "/api/comment/", json=errors)
    with pytest.raises(RateLimited) as info:
        make().reply(comment_mention(), "Hi!", "k1")
    assert info.value.reset_at == NOW + timedelta(minutes=9)
    assert len(fake.api_calls("/api/comment/")) == 1


def test_server_errors_are_transient_and_retried_without_sleeping(fake: FakeReddit) -> None:
    fake.rsps.replace(responses.GET, API + "/r/all/search/", status=503, body="busy")
    with pytest.raises(TransientError) as info:
        make().poll(SEARCH_SRC, None)
    assert "GET /r/all/search/ → 503" in str(info.value)
    assert len(fake.api_calls("/r/all/search/")) == 3  # prawcore's two retries, no waits


def test_connection_failures_are_transient(fake: FakeReddit) -> None:
    fake.rsps.remove(responses.GET, API + "/r/all/search/")  # unmatched: ConnectionError
    with pytest.raises(TransientError, match="GET /r/all/search/ failed"):
        make().poll(SEARCH_SRC, None)


def test_refused_app_credentials_name_the_client_variables(fake: FakeReddit) -> None:
    fake.rsps.replace(
        responses.POST, TOKEN_URL, status=401, json={"message": "Unauthorized", "error": 401}
    )
    with pytest.raises(AuthError) as info:
        make().check()
    assert info.value.env_var == "SOCIAL_WATCH_REDDIT_CLIENT_SECRET"
    assert "SOCIAL_WATCH_REDDIT_CLIENT_ID" in str(info.value)
    assert ENV["SOCIAL_WATCH_REDDIT_CLIENT_SECRET"] not in str(info.value)


def test_a_refused_login_names_the_username_and_password_variables(fake: FakeReddit) -> None:
    fake.rsps.replace(responses.POST, TOKEN_URL, json={"error": "invalid_grant"})
    with pytest.raises(AuthError) as info:
        make().check()
    assert info.value.env_var == "SOCIAL_WATCH_REDDIT_PASSWORD"
    assert "SOCIAL_WATCH_REDDIT_USERNAME" in str(info.value)


def test_a_forbidden_subreddit_is_an_auth_error(fake: FakeReddit) -> None:
    fake.rsps.replace(
        responses.GET,
        API + "/r/all/search/",
        status=403,
        json={"message": "Forbidden", "error": 403},
        headers={"www-authenticate": 'Bearer realm="reddit", error="insufficient_scope"'},
    )
    with pytest.raises(AuthError, match="403"):
        make().poll(SEARCH_SRC, None)


def test_check_says_who_we_are(fake: FakeReddit) -> None:
    fake.rsps.add(responses.GET, API + "/api/v1/me", json={"name": "shopexample", "id": "x1"})
    assert make().check() == "authenticated as u/shopexample"


@pytest.mark.parametrize("missing", sorted(ENV))
def test_a_missing_secret_names_its_variable(missing: str) -> None:
    env = {k: v for k, v in ENV.items() if k != missing}
    for call in (lambda c: c.check(), lambda c: c.poll(SEARCH_SRC, None)):
        with pytest.raises(AuthError) as info:
            call(make(env=env))
        assert info.value.env_var == missing and missing in str(info.value)


def test_secret_variable_names_can_be_configured() -> None:
    env = {**ENV, "MY_REDDIT_SECRET": ""}
    c = make({"queries": ["x"], "client_secret_env": "MY_REDDIT_SECRET"}, env=env)
    with pytest.raises(AuthError) as info:
        c.check()
    assert info.value.env_var == "MY_REDDIT_SECRET"


# --- replies ----------------------------------------------------------------------------
def comment_mention() -> Mention:
    return Mention(
        network="reddit",
        native_id="t1_fx1ec2p",
        text="u/shopexample where is my order?",
        created_at=NOW,
        author=Author("customer"),
        conversation_id="t3_gx8r8z",
        in_reply_to="t3_gx8r8z",
    )


def test_reply_posts_to_the_comment_once(fake: FakeReddit) -> None:
    fake.rsps.add_callback(
        responses.POST, API + "/api/comment/", callback=lambda r: reply("comment_reply.json")
    )
    posted = make().reply(comment_mention(), "Hi! We're on it. – Ana", "outbox-1")
    assert posted.remote_id == "t1_fx1ie8s"
    assert posted.url == "https://www.reddit.com/r/Lil_SpazJoekp/comments/gx8r8z/test/fx1ie8s/"
    (call,) = fake.api_calls("/api/comment/")
    assert parse_qs(call.request.body) == {
        "api_type": ["json"],
        "text": ["Hi! We're on it. – Ana"],
        "thing_id": ["t1_fx1ec2p"],
    }


def test_reply_to_a_submission_uses_its_fullname(fake: FakeReddit) -> None:
    fake.rsps.add_callback(
        responses.POST, API + "/api/comment/", callback=lambda r: reply("comment_reply.json")
    )
    m = make().to_mention(submission(3))
    assert isinstance(m, Mention)
    make().reply(m, "Hello", "k")
    (call,) = fake.api_calls("/api/comment/")
    assert parse_qs(call.request.body)["thing_id"] == ["t3_p3"]


def test_a_reply_post_is_never_retried(fake: FakeReddit) -> None:
    fake.rsps.add(responses.POST, API + "/api/comment/", status=502, body="bad gateway")
    with pytest.raises(TransientError):
        make().reply(comment_mention(), "Hi", "k")
    assert len(fake.api_calls("/api/comment/")) == 1


def thread_with_replies(*replies: dict) -> list[dict]:
    """GET /comments/{link}/_/{comment}/: [submission listing, comment listing]."""
    post = listing("search_r_all.json", [submission(1)], None)
    target = copy.deepcopy(body("subreddit_comments.json")["data"]["children"][0])
    target["data"].update(id="fx1ec2p", name="t1_fx1ec2p", link_id="t3_gx8r8z")
    target["data"]["replies"] = (
        {"kind": "Listing", "data": {"children": list(replies), "after": None}} if replies else ""
    )
    return [post, {"kind": "Listing", "data": {"children": [target], "after": None}}]


def test_find_reply_finds_the_brand_reply_so_it_is_posted_once(fake: FakeReddit) -> None:
    fake.rsps.add_callback(
        responses.POST, API + "/api/comment/", callback=lambda r: reply("comment_reply.json")
    )
    c = make()
    posted = c.reply(comment_mention(), "Comment reply", "outbox-1")
    # the process dies before marking the outbox row sent; on restart it looks first
    ours = body("comment_reply.json")["json"]["data"]["things"][0]
    other = copy.deepcopy(ours)
    other["data"].update(author="someone_else", name="t1_zzz", id="zzz")
    fake.rsps.add(
        responses.GET,
        API + "/comments/gx8r8z/_/fx1ec2p/",
        json=thread_with_replies(other, ours),
    )
    found = make().find_reply(comment_mention(), "outbox-1")
    assert found == posted
    assert len(fake.api_calls("/api/comment/")) == 1
    call = fake.api_calls("/comments/gx8r8z/_/fx1ec2p/")[0].request
    assert parse_qs(urlsplit(call.url).query)["sort"] == ["new"]


def test_find_reply_returns_none_without_a_brand_reply(fake: FakeReddit) -> None:
    fake.rsps.add(responses.GET, API + "/comments/gx8r8z/_/fx1ec2p/", json=thread_with_replies())
    assert make().find_reply(comment_mention(), "k") is None


def test_find_reply_on_a_submission_reads_its_top_level_comments(fake: FakeReddit) -> None:
    ours = body("comment_reply.json")["json"]["data"]["things"][0]
    fake.rsps.add(
        responses.GET,
        API + "/comments/p3/",
        json=[
            listing("search_r_all.json", [submission(3)], None),
            listing("search_r_all.json", [ours], None),
        ],
    )
    m = make().to_mention(submission(3))
    assert isinstance(m, Mention)
    found = make().find_reply(m, "k")
    assert found is not None and found.remote_id == "t1_fx1ie8s"


# --- secrets never reach the logs -------------------------------------------------------
def test_no_secret_in_debug_logs(fake: FakeReddit, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake.rsps.add(responses.GET, API + "/api/v1/me", json={"name": "shopexample"})
    fake.rsps.add_callback(
        responses.POST, API + "/api/comment/", callback=lambda r: reply("comment_reply.json")
    )
    fake.items["search"] = [submission(1)]
    c = make()
    c.check()
    c.poll(SEARCH_SRC, None)
    c.reply(comment_mention(), "Hi", "k")
    fake.rsps.replace(responses.POST, TOKEN_URL, status=401, json={"error": 401})
    with pytest.raises(AuthError) as info:
        make().check()
    assert caplog.records, "expected praw/prawcore debug logging to be captured"
    logged = caplog.text + str(info.value)
    for secret in [*ENV.values(), ACCESS_TOKEN]:
        if secret != ENV["SOCIAL_WATCH_REDDIT_USERNAME"]:
            assert secret not in logged


# --- end to end through the CLI, over a real socket -------------------------------------
def test_poll_and_check_end_to_end_against_a_local_server(
    fixture_server: FixtureServer, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """base_url points praw's token and API hosts at 127.0.0.1; the CLI polls twice."""
    fixture_server.post("/api/v1/access_token", Reply.fixture("reddit/access_token.json"))
    fixture_server.get("/r/all/search/", Reply.fixture("reddit/search_r_all.json"))
    fixture_server.get("/api/v1/me", Reply.json({"name": "shopexample"}))
    config = tmp_path / "social-watch.toml"
    config.write_text(
        f'database = "{tmp_path / "sw.db"}"\n'
        '[brand]\nname = "Shop Example"\nhandles = { reddit = "shopexample" }\n'
        f'[connectors.reddit]\nbase_url = "{fixture_server.url}"\n'
        'queries = ["praw oauth search"]\nlookback = "5000d"\n',
        encoding="utf-8",
    )
    result = cli("poll", "--config", str(config), "--json", env=ENV)
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.output)
    assert (report["connector"], report["status"], report["new"]) == ("reddit", "ok", 2)
    token, search = fixture_server.requests[:2]
    assert (token.method, token.path, search.path) == (
        "POST",
        "/api/v1/access_token",
        "/r/all/search/",
    )
    assert search.query["sort"] == "new" and search.query["q"] == "praw oauth search"
    assert search.headers["authorization"] == "bearer <ACCESS_TOKEN>"

    again = cli("poll", "--config", str(config), env=ENV)
    assert again.exit_code == 0 and "new 0" in again.output, again.output
    checked = cli("check", "--config", str(config), env=ENV)
    assert checked.exit_code == 0 and "authenticated as u/shopexample" in checked.output

    db = dbmod.connect(tmp_path / "sw.db")
    rows = db.conn.execute("SELECT native_id, url FROM mentions ORDER BY created_at").fetchall()
    assert rows == [
        (
            "t3_6ganxe",
            "https://www.reddit.com/r/learnpython/comments/6ganxe/"
            "how_to_check_if_a_username_is_available_on_reddit/",
        ),
        (
            "t3_b6b9uf",
            "https://www.reddit.com/r/redditdev/comments/b6b9uf/"
            "im_trying_to_identify_users_from_a_list_that_have/",
        ),
    ]
    db.close()


def test_missing_secret_is_a_one_line_skip_in_the_cli(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    config = tmp_path / "social-watch.toml"
    config.write_text(
        f'database = "{tmp_path / "sw.db"}"\n[brand]\nname = "Shop Example"\n'
        '[connectors.reddit]\nqueries = ["shopexample"]\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in ENV.items() if k != "SOCIAL_WATCH_REDDIT_PASSWORD"}
    for command in ("poll", "check"):
        result = cli(command, "--config", str(config), env=env)
        assert result.exit_code == 1, result.output
        assert "SOCIAL_WATCH_REDDIT_PASSWORD" in result.output
        assert "Traceback" not in result.output


def test_a_malformed_item_is_reported_once_not_on_every_poll(fake: FakeReddit) -> None:
    fake.page_size = 10
    broken = submission(2)
    del broken["data"]["created_utc"]
    fake.items["search"] = [submission(1), broken]
    c = make()
    first = c.poll(SEARCH_SRC, None)
    assert [s.item_id for s in first.skipped] == ["t3_p2"]
    assert c.poll(SEARCH_SRC, first.cursor).skipped == []
