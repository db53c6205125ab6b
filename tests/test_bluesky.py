"""Bluesky: session handling and the session cache, mapping from recorded posts, cursor paging, the contract, replies
(refs, facets, rkey idempotency), secrets, and one end-to-end poll through the CLI."""

from __future__ import annotations

import copy
import json
import logging
import os
import re
import stat
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from connector_contract import NOW, ConnectorContract, Harness
from fixture_server import FixtureServer, Reply, load_recorded, serve_fixtures  # noqa: F401

from connectors.bluesky import BlueskyConnector, build_facets, rkey_for
from social_watch.clock import parse_iso
from social_watch.connector import Source
from social_watch.errors import AuthError, ConfigError, RateLimited

BASE = "https://pds.example"
PASSWORD = "app-pass-wxyz-1234"
ENV = {"SOCIAL_WATCH_BLUESKY_APP_PASSWORD": PASSWORD}
HANDLE = "shopexample.bsky.social"
TID = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")


@pytest.fixture(autouse=True)
def state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The session cache goes under tmp_path: no test reads or writes the real home."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path / "state"


def recorded(rel: str) -> Any:
    return json.loads(load_recorded(rel)[2])


SEARCH = recorded("bluesky/search_posts.json")
NOTIFS = recorded("bluesky/list_notifications.json")
SESSION = recorded("bluesky/create_session.json")
MY_DID = SESSION["did"]


def stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def uri(n: int) -> str:
    return f"at://did:plc:user{n}/app.bsky.feed.post/3lpk{n:09d}"


def post(n: int, *, author: str = "customer") -> dict[str, Any]:
    p = copy.deepcopy(SEARCH["posts"][0])
    handle = author if "." in author else f"{author}.bsky.social"
    t = stamp(NOW - timedelta(minutes=100 - n))
    p.update(uri=uri(n), cid=f"bafycid{n}", indexedAt=t)
    p["author"].update(handle=handle, did=f"did:plc:{handle.split('.')[0]}")
    p["record"].update(text=f"@shopexample where is order {n}?", createdAt=t, langs=["en"])
    p["record"]["facets"] = []
    return p


class FakeBluesky:
    """A PDS: sessions, searchPosts (since, offset cursor, limit, newest first),
    listNotifications, and the repo calls replies use. For respx and the fixture server."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.notifications: list[dict[str, Any]] = []
        self.records: dict[str, dict[str, Any]] = {}
        self.limited_until: datetime | None = None
        self.expired: set[str] = set()  # access tokens that now answer ExpiredToken
        self.logins = 0
        self.refused: set[str] = set()  # refresh tokens that are expired or revoked
        self.rejected: set[str] = set()  # access tokens this PDS never issued (InvalidToken)
        self.requests: list[tuple[str, dict[str, Any], dict[str, str]]] = []

    def answer(
        self, method: str, nsid: str, params: dict[str, Any], headers: dict[str, str], body: Any
    ) -> tuple[int, dict[str, str], Any]:
        self.requests.append((nsid, params, headers))
        if self.limited_until is not None:
            _, h, b = load_recorded("bluesky/error_429.json")
            reset = str(int(self.limited_until.timestamp()))
            return 429, {**h, "ratelimit-reset": reset}, json.loads(b)
        token = headers.get("authorization", "").removeprefix("Bearer ")
        if nsid == "com.atproto.server.createSession":
            if body.get("password") != PASSWORD:
                return 401, {}, recorded("bluesky/create_session_401.json")
            self.logins += 1
            return (
                200,
                {},
                {**SESSION, "accessJwt": f"access-{self.logins}", "refreshJwt": "refresh-1"},
            )
        if nsid == "com.atproto.server.refreshSession":
            if token in self.refused:
                return 400, {}, recorded("bluesky/error_400_expired_token.json")
            return 200, {}, {**SESSION, "accessJwt": "access-refreshed", "refreshJwt": "refresh-2"}
        if not token.startswith("access-"):
            return 401, {}, {"error": "AuthenticationRequired", "message": "no token"}
        if token in self.rejected:
            return 401, {}, {"error": "InvalidToken", "message": "Token could not be verified"}
        if token in self.expired:
            return 400, {}, recorded("bluesky/error_400_expired_token.json")
        if nsid == "com.atproto.server.getSession":
            return 200, {}, {"did": SESSION["did"], "handle": SESSION["handle"]}
        if nsid == "app.bsky.feed.searchPosts":
            items = sorted(self.posts, key=lambda p: p["indexedAt"], reverse=True)
            if params.get("since"):
                items = [p for p in items if p["indexedAt"] >= params["since"]]
            return 200, {}, self._page(items, params, "posts")
        if nsid == "app.bsky.notification.listNotifications":
            items = sorted(self.notifications, key=lambda p: p["indexedAt"], reverse=True)
            return 200, {}, self._page(items, params, "notifications")
        if nsid == "com.atproto.repo.createRecord":
            if body["rkey"] in self.records:
                return 400, {}, {"error": "InvalidRequest", "message": "Record already exists"}
            self.records[body["rkey"]] = body["record"]
            created = recorded("bluesky/create_record_reply.json")
            return 200, {}, {**created, "uri": f"at://{MY_DID}/app.bsky.feed.post/{body['rkey']}"}
        if nsid == "com.atproto.repo.getRecord":
            if params["rkey"] not in self.records:
                return 400, {}, {"error": "RecordNotFound", "message": "Could not locate record"}
            rkey = params["rkey"]
            return 200, {}, {"uri": f"at://{MY_DID}/app.bsky.feed.post/{rkey}", "value": {}}
        if nsid == "com.atproto.identity.resolveHandle":
            if params["handle"] == "alice.example.com":
                return 200, {}, {"did": "did:plc:alice"}
            return 400, {}, {"error": "InvalidRequest", "message": "Unable to resolve handle"}
        return 404, {}, {"error": "MethodNotImplemented"}

    @staticmethod
    def _page(items: list[Any], params: dict[str, Any], key: str) -> dict[str, Any]:
        limit = int(params.get("limit", 25))
        offset = int(params.get("cursor") or 0)
        page = items[offset : offset + limit]
        out: dict[str, Any] = {key: page}
        if offset + limit < len(items):
            out["cursor"] = str(offset + limit)
        return out

    def respond(self, request: httpx.Request) -> httpx.Response:
        nsid = request.url.path.rsplit("/", 1)[-1]
        params: dict[str, Any] = dict(request.url.params)
        params["reasons"] = request.url.params.get_list("reasons")
        body = json.loads(request.content) if request.content else {}
        status, headers, out = self.answer(
            request.method, nsid, params, dict(request.headers), body
        )
        return httpx.Response(status, headers=headers, json=out)

    def reply(self, request: Any) -> Reply:
        nsid = request.path.rsplit("/", 1)[-1]
        body = request.json() if request.body else {}
        status, headers, out = self.answer(
            request.method, nsid, request.query, request.headers, body
        )
        return Reply.json(out, status=status, headers=headers)


# --- the contract ---------------------------------------------------------------------


class BlueskyHarness(Harness):
    name = "bluesky"
    page_size = 2
    brand_handle = HANDLE

    def __init__(self, router: respx.MockRouter) -> None:
        self.fake = FakeBluesky()
        router.route(url__startswith=f"{BASE}/xrpc/").mock(side_effect=self.fake.respond)

    @property
    def env(self) -> dict[str, str]:
        return dict(ENV)

    def options(self) -> dict[str, Any]:
        return {
            "base_url": BASE,
            "handle": HANDLE,
            "queries": ["shopexample"],
            "mentions": False,
            "page_size": self.page_size,
        }

    def item(self, n: int, *, author: str = "customer", repost: bool = False) -> Any:
        return post(n, author=author)

    def malformed(self, n: int) -> Any:
        p = post(n)
        del p["author"]
        return p

    def native_id(self, n: int) -> str:
        return uri(n)

    def serve(self, items: Sequence[Any]) -> None:
        self.fake.posts = list(items)
        self.fake.limited_until = None

    def rate_limit(self, reset: datetime) -> None:
        self.fake.limited_until = reset

    def calls(self) -> int:
        return len(self.fake.requests)


class TestBlueskyContract(ConnectorContract):
    @pytest.fixture
    def harness(self) -> Iterator[Harness]:
        with respx.mock(assert_all_called=False) as router:
            yield BlueskyHarness(router)


# --- unit tests -----------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeBluesky]:
    f = FakeBluesky()
    with respx.mock(assert_all_called=False) as router:
        router.route(url__startswith=f"{BASE}/xrpc/").mock(side_effect=f.respond)
        yield f


def connector(env: dict[str, str] | None = None, **options: Any) -> BlueskyConnector:
    opts = {"base_url": BASE, "handle": HANDLE, **options}
    BlueskyConnector.validate_options(opts, "connectors.bluesky")
    return BlueskyConnector(opts, env=ENV if env is None else env, clock=lambda: NOW)


def test_recorded_search_post_maps_to_a_mention() -> None:
    c = connector()
    reply = c._mention(SEARCH["posts"][2])
    assert (
        reply.native_id == "at://did:plc:7nagdvjqrzaquzk7mueohne5/app.bsky.feed.post/3lpjzka2pzc2l"
    )
    assert reply.url == "https://bsky.app/profile/mcpli.bsky.social/post/3lpjzka2pzc2l"
    assert reply.conversation_id.endswith("/3lpjy3eabqs2l")  # reply.root
    assert reply.in_reply_to and reply.in_reply_to.endswith("/3lpjzgltpa22l")  # reply.parent
    assert reply.lang == "en" and reply.author.name == "Michael Li (李之樸)"
    # the shortened link text is replaced by the facet's full URL
    assert (
        "https://drive.google.com/file/d/1rporOuFeT8tvgIITtUCWAw6W_iM_RgfH/view?usp=sharing"
        in reply.text
    )
    first = c._mention(SEARCH["posts"][0])
    assert first.conversation_id == first.native_id and first.in_reply_to is None
    assert first.lang is None  # no langs in that record
    assert first.created_at == parse_iso("2025-05-19T17:10:09.561858Z")


def test_notifications_keep_mentions_and_replies_only(fake: FakeBluesky) -> None:
    fake.notifications = NOTIFS["notifications"]
    result = connector(lookback="5000d").poll(Source("bluesky", "mentions"), None)
    reasons = {m.raw["reason"] for m in result.mentions if m.raw}
    assert reasons <= {"mention", "reply"} and len(result.mentions) == 2
    nsid, params, headers = fake.requests[-1]
    assert nsid == "app.bsky.notification.listNotifications"
    assert params["reasons"] == ["mention", "reply"]
    assert headers["authorization"] == "Bearer access-1"


def test_session_is_kept_and_refreshed_once_on_expired_token(fake: FakeBluesky) -> None:
    fake.posts = [post(1)]
    c = connector()
    source = Source("bluesky", "search", "shopexample")
    c.poll(source, None)
    c.poll(source, None)
    assert fake.logins == 1  # 10 logins a day: one session per connector instance
    fake.expired.add("access-1")
    assert len(c.poll(source, None).mentions) == 1
    calls = [nsid for nsid, _, _ in fake.requests]
    assert calls.count("com.atproto.server.refreshSession") == 1 and fake.logins == 1
    assert fake.requests[-1][2]["authorization"] == "Bearer access-refreshed"
    refresh = next(r for r in fake.requests if r[0] == "com.atproto.server.refreshSession")
    assert refresh[2]["authorization"] == "Bearer refresh-1"


def test_since_overlaps_and_seen_uris_absorb_it(fake: FakeBluesky) -> None:
    fake.posts = [post(n) for n in range(1, 4)]
    c = connector(queries=["shopexample"], mentions=False)
    source = Source("bluesky", "search", "shopexample")
    first = c.poll(source, None)
    assert len(first.mentions) == 3
    assert first.cursor["since"] == stamp(NOW - timedelta(minutes=97))
    second = c.poll(source, first.cursor)
    assert second.mentions == []
    _, params, _ = fake.requests[-1]
    assert params["since"] == stamp(NOW - timedelta(minutes=107)) and params["sort"] == "latest"


def test_429_is_rate_limited_with_the_epoch_reset(fake: FakeBluesky) -> None:
    fake.limited_until = datetime.fromtimestamp(1726684000).astimezone()
    with pytest.raises(RateLimited) as info:
        connector().poll(Source("bluesky", "search", "x"), None)
    assert int(info.value.reset_at.timestamp()) == 1726684000


def test_reply_record_refs_rkey_and_facets(fake: FakeBluesky) -> None:
    c = connector()
    mention = c._mention(SEARCH["posts"][2])  # a reply: root and parent differ
    text = "日本語 🙂 @alice.example.com see https://shop.example/help?o=1. @nobody.example ok"
    posted = c.reply(mention, text, "outbox-42")
    rkey = rkey_for("outbox-42", mention.created_at)
    assert TID.match(rkey)
    assert posted.remote_id == f"at://{MY_DID}/app.bsky.feed.post/{rkey}"
    assert posted.url == f"https://bsky.app/profile/{HANDLE}/post/{rkey}"
    sent = fake.records[rkey]
    assert sent["reply"] == {
        "root": SEARCH["posts"][2]["record"]["reply"]["root"],
        "parent": {"uri": mention.native_id, "cid": SEARCH["posts"][2]["cid"]},
    }
    assert sent["$type"] == "app.bsky.feed.post" and sent["createdAt"].endswith("Z")
    data = text.encode()
    mention_facet, link_facet = sent["facets"]  # the unresolvable handle has no facet
    m, link = mention_facet["index"], link_facet["index"]
    assert data[m["byteStart"] : m["byteEnd"]] == b"@alice.example.com"
    assert m["byteStart"] == len("日本語 🙂 ".encode()) == 15
    assert mention_facet["features"] == [
        {"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:alice"}
    ]
    assert data[link["byteStart"] : link["byteEnd"]] == b"https://shop.example/help?o=1"
    assert link_facet["features"][0]["uri"] == "https://shop.example/help?o=1"


def test_reply_to_a_root_post_uses_it_as_root_and_parent(fake: FakeBluesky) -> None:
    c = connector()
    mention = c._mention(SEARCH["posts"][0])
    c.reply(mention, "Thanks!", "k1")
    (record,) = fake.records.values()
    ref = {"uri": mention.native_id, "cid": SEARCH["posts"][0]["cid"]}
    assert record["reply"] == {"root": ref, "parent": ref} and "facets" not in record


def test_a_repeated_reply_with_the_same_key_is_already_posted(fake: FakeBluesky) -> None:
    c = connector()
    mention = c._mention(SEARCH["posts"][0])
    first = c.reply(mention, "Thanks!", "k1")
    again = c.reply(mention, "Thanks!", "k1")  # e.g. after a crash before marking it sent
    assert again == first and len(fake.records) == 1
    assert c.find_reply(mention, "k1") == first  # by the key's rkey, no thread lookup


def test_find_reply_looks_for_the_brand_did_in_the_thread(fake: FakeBluesky) -> None:
    thread = recorded("bluesky/get_post_thread.json")
    target = thread["thread"]["post"]["uri"]
    mine = copy.deepcopy(thread["thread"]["post"])
    mine.update(uri=f"at://{MY_DID}/app.bsky.feed.post/3mine")
    mine["author"]["did"] = MY_DID
    mine["record"]["reply"] = {
        "root": {"uri": target, "cid": "x"},
        "parent": {"uri": target, "cid": "x"},
    }
    thread["thread"]["replies"] = [{"$type": "app.bsky.feed.defs#threadViewPost", "post": mine}]
    original = fake.answer

    def with_thread(method: str, nsid: str, params: Any, headers: Any, body: Any) -> Any:
        if nsid == "app.bsky.feed.getPostThread":
            return 200, {}, thread
        return original(method, nsid, params, headers, body)

    fake.answer = with_thread  # type: ignore[method-assign]
    c = connector()
    mention = c._mention(thread["thread"]["post"])
    found = c.find_reply(mention, "never-sent")
    assert found is not None and found.remote_id.endswith("/3mine")
    # and a mention without a stored cid gets it from the thread for a reply
    bare = type(mention)(**{**mention.__dict__, "raw": None})
    c.reply(bare, "Hello", "k9")
    (record,) = fake.records.values()
    assert record["reply"]["parent"] == {"uri": target, "cid": thread["thread"]["post"]["cid"]}


def test_reply_to_a_stored_mention_uses_its_stored_refs(tmp_path: Path, fake: FakeBluesky) -> None:
    from helpers import make_config, open_db, pipeline

    from social_watch.replies import to_mention
    from social_watch.runner import poll_source

    fake.posts = [post(3)]
    db = open_db(tmp_path)
    c = connector(queries=["shopexample"], mentions=False)
    poll_source(db, pipeline(make_config()), c, c.sources()[0])
    (row,) = db.conn.execute("SELECT * FROM mentions").fetchall()
    cols = [d[0] for d in db.conn.execute("SELECT * FROM mentions").description]
    stored = to_mention(dict(zip(cols, row, strict=True)))
    posted = c.reply(stored, "On it!", "sw-1-reply-abc")
    (record,) = fake.records.values()
    assert record["reply"]["parent"] == {"uri": uri(3), "cid": "bafycid3"}
    assert c.find_reply(stored, "sw-1-reply-abc") == posted
    assert not any(r[0] == "app.bsky.feed.getPostThread" for r in fake.requests)


def test_facets_byte_offsets_after_emoji_and_cjk() -> None:
    text = "🙂🙂 注文 (https://example.com/a) and @bob.test!"
    facets = build_facets(text, lambda h: "did:plc:bob" if h == "bob.test" else None)
    data = text.encode()
    spans = [data[f["index"]["byteStart"] : f["index"]["byteEnd"]] for f in facets]
    assert spans == [b"https://example.com/a", b"@bob.test"]


def test_rkey_is_a_deterministic_valid_tid() -> None:
    at = NOW
    keys = {rkey_for(f"outbox-{i}", at) for i in range(200)}
    assert len(keys) == 200 and all(TID.match(k) for k in keys)
    assert rkey_for("outbox-1", at) == rkey_for("outbox-1", at + timedelta(microseconds=999))


def test_missing_password_is_an_auth_error_naming_the_variable() -> None:
    c = connector(env={}, app_password_env="SHOP_BSKY")
    with pytest.raises(AuthError) as info:
        c.poll(Source("bluesky", "search", "x"), None)
    assert info.value.env_var == "SHOP_BSKY" and "SHOP_BSKY" in str(info.value)


def test_wrong_password_and_secrets_never_leak(
    fake: FakeBluesky, caplog: pytest.LogCaptureFixture
) -> None:
    c = connector(env={"SOCIAL_WATCH_BLUESKY_APP_PASSWORD": "wrong-password-123"})
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthError) as info:
        c.check()
    assert "SOCIAL_WATCH_BLUESKY_APP_PASSWORD" in str(info.value)
    assert "wrong-password-123" not in str(info.value) + caplog.text
    ok = connector()
    assert ok.check() == f"logged in as bskyr.bsky.social ({MY_DID})"
    assert "access-1" not in repr(ok._session) and PASSWORD not in caplog.text


def test_options_are_validated_with_key_paths() -> None:
    with pytest.raises(ConfigError, match=r"connectors\.bluesky\.queries\[0\]"):
        BlueskyConnector.validate_options({"queries": [""]}, "connectors.bluesky")
    with pytest.raises(ConfigError, match=r"connectors\.bluesky\.page_size"):
        BlueskyConnector.validate_options({"page_size": 500}, "connectors.bluesky")
    c = BlueskyConnector({}, env=ENV, brand_handles={"bluesky": HANDLE})
    assert c.handle == HANDLE and [s.key for s in c.sources()] == ["bluesky:mentions:"]


# --- the session cache: one login serves many cron runs ---------------------------------

SEARCH_SOURCE = Source("bluesky", "search", "shopexample")


def cache_file(state_home: Path) -> Path:
    return state_home / "social-watch" / f"bluesky-{HANDLE}.json"


def run(**options: Any) -> BlueskyConnector:
    """One `social-watch poll` from cron: a new connector, one poll, closed."""
    c = connector(**options)
    try:
        c.poll(SEARCH_SOURCE, None)
    finally:
        c.close()
    return c


def nsids(fake: FakeBluesky) -> list[str]:
    return [nsid for nsid, _, _ in fake.requests]


def write_cache(path: Path, mode: int = 0o600, **fields: Any) -> None:
    data = {
        "version": 1,
        "handle": HANDLE,
        "base_url": BASE,
        "did": MY_DID,
        "account": SESSION["handle"],
        "pds": None,
        "accessJwt": "access-cached",
        "refreshJwt": "refresh-cached",
        **fields,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    path.chmod(mode)


def test_two_cron_runs_log_in_once(fake: FakeBluesky, state_home: Path) -> None:
    fake.posts = [post(1)]
    run()
    run()
    assert nsids(fake).count("com.atproto.server.createSession") == 1 and fake.logins == 1
    assert fake.requests[-1][2]["authorization"] == "Bearer access-1"  # the cached token
    path = cache_file(state_home)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left
    cached = json.loads(path.read_text(encoding="utf-8"))
    assert cached["handle"] == HANDLE and cached["did"] == MY_DID
    assert cached["accessJwt"] == "access-1" and cached["refreshJwt"] == "refresh-1"
    assert cached["pds"] == "https://puffball.us-east.host.bsky.network"  # from the didDoc
    assert PASSWORD not in path.read_text(encoding="utf-8")


def test_expired_cached_token_is_refreshed_and_the_cache_updated(
    fake: FakeBluesky, state_home: Path
) -> None:
    run()
    fake.expired.add("access-1")
    run()
    assert nsids(fake).count("com.atproto.server.refreshSession") == 1 and fake.logins == 1
    refresh = next(r for r in fake.requests if r[0] == "com.atproto.server.refreshSession")
    assert refresh[2]["authorization"] == "Bearer refresh-1"
    cached = json.loads(cache_file(state_home).read_text(encoding="utf-8"))
    assert (cached["accessJwt"], cached["refreshJwt"]) == ("access-refreshed", "refresh-2")
    assert cached["pds"] == "https://puffball.us-east.host.bsky.network"
    assert stat.S_IMODE(cache_file(state_home).stat().st_mode) == 0o600
    fake.requests.clear()
    run()  # the third run starts from the refreshed session
    assert nsids(fake) == ["app.bsky.feed.searchPosts"]
    assert fake.requests[0][2]["authorization"] == "Bearer access-refreshed"


def test_refused_refresh_logs_in_again_and_rewrites_the_cache(
    fake: FakeBluesky, state_home: Path
) -> None:
    run()
    fake.expired.add("access-1")
    fake.refused.add("refresh-1")
    run()
    assert nsids(fake).count("com.atproto.server.refreshSession") == 1 and fake.logins == 2
    assert fake.requests[-1][2]["authorization"] == "Bearer access-2"
    cached = json.loads(cache_file(state_home).read_text(encoding="utf-8"))
    assert cached["accessJwt"] == "access-2"


def test_a_rejected_cached_token_is_renewed_once(fake: FakeBluesky, state_home: Path) -> None:
    write_cache(cache_file(state_home))  # e.g. revoked, or from a PDS the account left
    fake.rejected.add("access-cached")
    fake.refused.add("refresh-cached")
    run()
    assert nsids(fake) == [
        "app.bsky.feed.searchPosts",
        "com.atproto.server.refreshSession",
        "com.atproto.server.createSession",
        "app.bsky.feed.searchPosts",
    ]
    # a session proven in this run is not renewed on a rejection: that is an error
    c = connector()
    c.poll(SEARCH_SOURCE, None)
    fake.rejected.add("access-1")
    with pytest.raises(AuthError):
        c.poll(SEARCH_SOURCE, None)
    assert fake.logins == 1


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[]",
        '{"handle": "shopexample.bsky.social"}',
        "\xff\xfe",
        json.dumps({"handle": HANDLE, "base_url": BASE, "did": 1, "accessJwt": "a" * 9}),
    ],
)
def test_a_corrupt_cache_is_ignored_with_one_warning(
    fake: FakeBluesky, state_home: Path, caplog: pytest.LogCaptureFixture, content: str
) -> None:
    path = cache_file(state_home)
    path.parent.mkdir(parents=True)
    path.write_bytes(content.encode("utf-8", "surrogateescape"))
    path.chmod(0o600)
    with caplog.at_level(logging.WARNING, logger="social_watch.connectors.bluesky"):
        c = connector()
        c.poll(SEARCH_SOURCE, None)
        connector().check()  # another connector in the same process: no second warning
    assert fake.logins == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "corrupt" in warnings[0] and str(path) in warnings[0]
    assert json.loads(path.read_text(encoding="utf-8"))["accessJwt"] == "access-1"


@pytest.mark.parametrize(
    "other", [{"handle": "someone-else.bsky.social"}, {"base_url": "https://other.example"}]
)
def test_a_cache_for_another_handle_or_server_is_ignored(
    fake: FakeBluesky, state_home: Path, other: dict[str, Any]
) -> None:
    path = cache_file(state_home)
    write_cache(path, **other)
    run()
    assert fake.logins == 1
    assert all(h.get("authorization") != "Bearer access-cached" for _, _, h in fake.requests)
    cached = json.loads(path.read_text(encoding="utf-8"))  # now this handle's, and only it
    assert (cached["handle"], cached["base_url"], cached["accessJwt"]) == (HANDLE, BASE, "access-1")


def test_a_cache_others_can_read_is_not_used(
    fake: FakeBluesky, state_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = cache_file(state_home)
    write_cache(path, mode=0o644)
    with caplog.at_level(logging.WARNING, logger="social_watch.connectors.bluesky"):
        run()
        run()
    assert fake.logins == 1
    assert all("cached" not in h.get("authorization", "") for _, _, h in fake.requests)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "644" in warnings[0] and str(path) in warnings[0]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # replaced by a private file


def test_a_cached_session_is_registered_for_redaction_and_never_logged(
    fake: FakeBluesky,
    state_home: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from social_watch import redact

    with caplog.at_level(logging.DEBUG):
        run()  # login, cache written
        monkeypatch.setattr(redact, "_secrets", set())  # as a fresh process starts
        c = connector()
        assert c.check() == f"logged in as {SESSION['handle']} ({MY_DID})"  # from the cache
        assert redact.redact("Bearer access-1 / refresh-1") == "Bearer *** / ***"
        fake.expired.add("access-1")
        run()  # refreshed, cache rewritten
        fake.expired.add("access-refreshed")
        fake.refused.add("refresh-2")
        run()  # refresh refused, logged in again
    assert fake.logins == 2 and nsids(fake).count("com.atproto.server.getSession") == 1
    tokens = ["access-1", "refresh-1", "access-refreshed", "refresh-2", "access-2", PASSWORD]
    assert not [t for t in tokens if t in caplog.text], caplog.text
    assert str(cache_file(state_home)) in caplog.text  # the path is fine to log
    assert "access-1" not in repr(c._session)


def test_session_file_option_and_default_location(
    fake: FakeBluesky, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "a" / "b" / "bsky.json"
    run(session_file=str(target))
    run(session_file=str(target))
    assert fake.logins == 1 and stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    assert connector(session_file="~/s.json").session_file == tmp_path / "home" / "s.json"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/state")  # not absolute: ignored, per XDG
    expected = tmp_path / "home" / ".local" / "state" / "social-watch" / f"bluesky-{HANDLE}.json"
    assert connector().session_file == expected
    monkeypatch.delenv("XDG_STATE_HOME")
    assert connector().session_file == expected
    assert "session_file" in BlueskyConnector.options
    with pytest.raises(ConfigError, match=r"connectors\.bluesky\.session_file"):
        BlueskyConnector.validate_options({"session_file": 5}, "connectors.bluesky")


def test_an_unwritable_cache_warns_once_and_polling_goes_on(
    fake: FakeBluesky, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "not-a-dir").write_text("", encoding="utf-8")
    target = tmp_path / "not-a-dir" / "bsky.json"
    fake.posts = [post(1)]
    with caplog.at_level(logging.WARNING, logger="social_watch.connectors.bluesky"):
        c = connector(session_file=str(target))
        assert len(c.poll(SEARCH_SOURCE, None).mentions) == 1
        fake.expired.add("access-1")
        c.poll(SEARCH_SOURCE, None)  # refreshed: the write fails again, no second warning
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "cannot write" in warnings[0]
    assert not os.path.exists(target)
    folder = tmp_path / "a-folder"  # session_file naming a folder: warned about, no crash
    folder.mkdir(mode=0o700)
    assert len(connector(session_file=str(folder)).poll(SEARCH_SOURCE, None).mentions) == 1


# --- end to end -----------------------------------------------------------------------


def test_poll_end_to_end_over_a_real_socket(
    fixture_server: FixtureServer,
    tmp_path: Path,
    cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    state_home: Path,
) -> None:
    fixture_server.post(
        "/xrpc/com.atproto.server.createSession", Reply.fixture("bluesky/create_session.json")
    )
    fixture_server.get(
        "/xrpc/app.bsky.feed.searchPosts",
        Reply.fixture("bluesky/search_posts.json"),
        when={"cursor": None},
    )
    fixture_server.get(
        "/xrpc/app.bsky.feed.searchPosts", Reply.json({"posts": []}), when={"cursor": "25"}
    )
    fixture_server.get(
        "/xrpc/app.bsky.notification.listNotifications",
        Reply.fixture("bluesky/list_notifications.json"),
    )
    monkeypatch.setenv("SOCIAL_WATCH_BLUESKY_APP_PASSWORD", PASSWORD)
    config = tmp_path / "social-watch.toml"
    config.write_text(
        f'database = "{tmp_path / "sw.db"}"\n[brand]\nname = "Shop Example"\n'
        f'handles = {{ bluesky = "{HANDLE}" }}\n'
        f'[connectors.bluesky]\nbase_url = "{fixture_server.url}"\n'
        'queries = ["redistricting"]\npage_size = 3\nlookback = "5000d"\n',
        encoding="utf-8",
    )
    result = cli("poll", "--config", str(config), "--json")
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.output)
    assert report["status"] == "ok" and report["new"] == 5, report
    search = next(s for s in report["sources"] if s["source"] == "bluesky:search:redistricting")
    assert search["pages"] == 2  # followed the recorded cursor "25" to an empty page
    login = fixture_server.requests[0]
    assert login.json() == {"identifier": HANDLE, "password": PASSWORD}
    searches = [r for r in fixture_server.requests if r.path.endswith("searchPosts")]
    assert searches[0].query["sort"] == "latest" and searches[1].query["cursor"] == "25"
    assert state_home.joinpath("social-watch").is_dir()  # the session cache, under tmp_path
    assert all(
        r.headers.get("authorization") == "Bearer REDACTED" for r in fixture_server.requests[1:]
    )

    again = cli("poll", "--config", str(config), "--json")
    assert again.exit_code == 0 and json.loads(again.output)[0]["new"] == 0
    logins = [r for r in fixture_server.requests if r.path.endswith("createSession")]
    assert len(logins) == 1  # the second run used the cached session
    assert PASSWORD not in result.output + again.output
