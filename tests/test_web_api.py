"""The web inbox over HTTP (httpx's ASGI transport): every API route, the auth rules, CSRF,
throttling, the guards as 409s and a reply posted exactly once (issue 12)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser import CONFIG, TOKEN, TOKEN_ENV, Inbox
from mastodon_late import LateMastodon, late_mastodon

from social_watch import accounts
from social_watch import db as dbmod
from social_watch.web.app import CSP, create_app

pytestmark = pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (serve on a URL)


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def network() -> Iterator[LateMastodon]:
    with late_mastodon() as server:
        yield server


@pytest.fixture
def inbox(tmp_path: Path, network: LateMastodon) -> Inbox:
    config_path = tmp_path / "social-watch.toml"
    config_path.write_text(CONFIG.format(url=network.url), encoding="utf-8")
    box = Inbox(tmp_path, tmp_path / "inbox.db", config_path, network)
    db = dbmod.connect(box.db_path)
    for agent_id, name, role in (
        ("jana", "Jana Nováková", "agent"),
        ("petr", "Petr Svoboda", "agent"),
        ("lea", "Lea Dvořák", "lead"),
    ):
        accounts.add(
            db,
            agent_id,
            name=name,
            signature=f"^{name[0]}",
            role=role,
            password=f"{agent_id}-pass-1234",
            now=datetime.now(UTC),
        )
    db.close()
    return box


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(inbox: Inbox, clock: Clock) -> Any:
    env = {TOKEN_ENV: TOKEN, "SOCIAL_WATCH_SESSION_KEY": "a-test-session-key-0123456789"}
    return create_app(str(inbox.db_path), str(inbox.config_path), clock=clock, env=env)


class Client:
    """One browser's worth of cookies against the app, with the CSRF token it was given."""

    def __init__(self, app: Any) -> None:
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://inbox.test"
        )
        self.csrf = ""

    def run(self, coro: Any) -> Any:
        return asyncio.run(coro)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.run(self.http.get(path, **kw))

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.run(self.http.post(path, **kw))

    def login(self, agent: str, password: str | None = None, next_url: str = "") -> httpx.Response:
        form = self.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token, form.text
        data = {"agent": agent, "password": password or f"{agent}-pass-1234", "csrf": token[1]}
        if next_url:
            data["next"] = next_url
        answer = self.post("/login", data=data)
        if answer.status_code == 303:
            page = self.get("/inbox")
            self.csrf = re.search(r'name="csrf-token" content="([^"]*)"', page.text)[1]  # type: ignore[index]
        return answer

    def act(
        self, item: int, action: str, body: dict[str, Any] | None = None, **kw: Any
    ) -> httpx.Response:
        headers = {"X-CSRF-Token": self.csrf, **kw.pop("headers", {})}
        return self.post(f"/api/items/{item}/{action}", json=body or {}, headers=headers, **kw)


def as_agent(app: Any, agent: str) -> Client:
    client = Client(app)
    assert client.login(agent).status_code == 303
    return client


def test_health_and_security_headers_on_every_kind_of_response(app: Any) -> None:
    c = Client(app)
    for path in ("/healthz", "/login", "/static/app.js", "/nope", "/api/queue"):
        r = c.get(path)
        assert r.headers["content-security-policy"] == CSP, path
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
    assert c.get("/healthz").json() == {"ok": True}
    assert "unsafe-inline" not in CSP
    assert c.get("/nope").status_code == 404


def test_without_login_pages_redirect_and_the_api_says_401(app: Any, inbox: Inbox) -> None:
    item = inbox.add_mention("@shopexample hello")
    c = Client(app)
    r = c.get("/inbox?unclaimed=1")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Finbox%3Funclaimed%3D1"
    assert c.get("/api/queue").status_code == 401
    assert c.post(f"/api/items/{item}/claim", json={}).status_code == 401
    assert c.get("/events").status_code == 401


def test_login_wrong_password_stale_form_and_no_open_redirect(app: Any) -> None:
    c = Client(app)
    r = c.login("jana", "wrong-password")
    assert r.status_code == 200 and "Wrong agent or password" in r.text
    assert "wrong-password" not in r.text
    r = c.post("/login", data={"agent": "jana", "password": "jana-pass-1234", "csrf": "forged"})
    assert r.status_code == 403 and "expired" in r.text
    r = c.login("jana", next_url="//evil.example/x")
    assert r.status_code == 303 and r.headers["location"] == "/inbox"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert c.get("/inbox").status_code == 200


def test_logins_are_throttled_per_account_until_the_window_passes(app: Any, clock: Clock) -> None:
    c = Client(app)
    for _ in range(5):
        assert c.login("petr", "guess-guess").status_code == 200
    blocked = c.login("petr")  # the right password, but too late
    assert blocked.status_code == 429 and "Too many failed logins" in blocked.text
    clock.now += timedelta(minutes=16)
    assert c.login("petr").status_code == 303


def test_wrong_passwords_sent_at_once_are_throttled_as_if_sent_one_by_one(app: Any) -> None:
    c = Client(app)
    token = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text)[1]  # type: ignore[index]

    cookies = dict(c.http.cookies)  # one login form, replayed by every request at once

    async def burst() -> list[httpx.Response]:
        clients = [
            httpx.AsyncClient(
                transport=c.http._transport, base_url="http://inbox.test", cookies=cookies
            )
            for _ in range(15)
        ]
        data = [{"agent": "petr", "password": f"guess-{i}", "csrf": token} for i in range(15)]
        try:
            return await asyncio.gather(
                *(h.post("/login", data=d) for h, d in zip(clients, data, strict=True))
            )
        finally:
            for h in clients:
                await h.aclose()

    codes = [r.status_code for r in c.run(burst())]
    assert codes.count(200) == 5 and codes.count(429) == 10  # five guesses, not fifteen
    assert c.login("petr").status_code == 429  # and the right password waits too


def test_a_body_nested_too_deeply_is_a_json_400_and_a_strangers_is_never_read(app: Any) -> None:
    deep = "[" * 20_000 + "]" * 20_000
    stranger = Client(app).post("/api/items/1/note", content=deep)
    assert stranger.status_code == 401 and stranger.json()["error"].startswith("log in")
    jana = as_agent(app, "jana")
    answer = jana.post("/api/items/1/note", content=deep, headers={"X-CSRF-Token": jana.csrf})
    assert answer.status_code == 400 and answer.json() == {"error": "the body must be JSON"}


def test_logging_out_ends_the_session_even_for_a_copy_of_its_cookie(app: Any) -> None:
    jana = as_agent(app, "jana")
    copied = dict(jana.http.cookies)
    out = jana.post("/logout", data={"csrf": jana.csrf})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    thief = httpx.AsyncClient(
        transport=jana.http._transport, base_url="http://inbox.test", cookies=copied
    )
    answer = jana.run(thief.get("/api/queue"))
    assert answer.status_code == 401
    assert as_agent(app, "jana").get("/api/queue").status_code == 200  # a new login works


def test_disabling_an_agent_or_a_new_password_ends_their_sessions(
    app: Any, inbox: Inbox, clock: Clock
) -> None:
    jana, petr = as_agent(app, "jana"), as_agent(app, "petr")
    db = dbmod.connect(inbox.db_path)
    accounts.disable(db, "jana", now=clock())
    accounts.set_password(db, "petr", "a-brand-new-password")
    db.close()
    assert jana.get("/inbox").status_code == 303
    assert jana.get("/api/queue").status_code == 401
    assert petr.get("/api/queue").status_code == 401
    assert Client(app).login("jana").status_code == 200  # a disabled agent cannot log in


def test_csrf_is_required_with_a_session_and_not_with_an_api_token(
    app: Any, inbox: Inbox, clock: Clock
) -> None:
    item = inbox.add_mention("@shopexample where is my parcel")
    jana = as_agent(app, "jana")
    assert jana.post(f"/api/items/{item}/claim", json={}).status_code == 403
    assert jana.act(item, "claim", headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert inbox.holder(item) is None
    db = dbmod.connect(inbox.db_path)
    token = accounts.new_token(db, "petr", now=clock())
    db.close()
    bot = Client(app)
    r = bot.post(f"/api/items/{item}/claim", json={}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and inbox.holder(item) == "petr"
    bad = bot.get("/api/queue", headers={"Authorization": "Bearer swt_not-a-token"})
    assert bad.status_code == 401


def test_the_lead_page_is_for_leads(app: Any) -> None:
    assert as_agent(app, "jana").get("/lead").status_code == 403
    page = as_agent(app, "lea").get("/lead")
    assert (
        page.status_code == 200 and "<svg" in page.text and 'data-testid="lead-stats"' in page.text
    )


def test_unknown_items_and_bad_bodies_get_one_line_answers(app: Any) -> None:
    jana = as_agent(app, "jana")
    assert jana.get("/api/items/999999").status_code == 404
    assert jana.act(999999, "claim").json() == {"error": "no mention with id '999999'"}
    assert jana.get("/api/items/abc").status_code == 400
    r = jana.post("/api/items/1/claim", content=b"{not json", headers={"X-CSRF-Token": jana.csrf})
    assert r.status_code == 400 and r.json()["error"] == "the body must be JSON"
    assert jana.get("/api/queue?sentiment=furious").status_code == 400


def test_two_claims_one_wins_and_the_other_is_told_who_by_name(app: Any, inbox: Inbox) -> None:
    item = inbox.add_mention("@shopexample the app crashes")
    jana, petr = as_agent(app, "jana"), as_agent(app, "petr")

    async def both() -> list[httpx.Response]:
        return list(
            await asyncio.gather(
                jana.http.post(
                    f"/api/items/{item}/claim", json={}, headers={"X-CSRF-Token": jana.csrf}
                ),
                petr.http.post(
                    f"/api/items/{item}/claim", json={}, headers={"X-CSRF-Token": petr.csrf}
                ),
            )
        )

    answers = asyncio.run(both())
    assert sorted(r.status_code for r in answers) == [200, 409]
    holder = inbox.holder(item)
    lost = next(r for r in answers if r.status_code == 409).json()
    assert lost["holder"] == holder
    assert lost["holder_name"] in lost["error"]


def test_api_queue_is_the_queue_json_and_item_is_show_json(app: Any, inbox: Inbox) -> None:
    from click.testing import CliRunner

    from social_watch.cli import cli

    item = inbox.add_mention("@shopexample hi there", minutes_ago=5)
    jana = as_agent(app, "jana")
    api = jana.get("/api/queue").json()
    cli_out = CliRunner().invoke(
        cli, ["queue", "--json", "--db", str(inbox.db_path), "--config", str(inbox.config_path)]
    )
    import json

    assert [i["id"] for i in api] == [i["id"] for i in json.loads(cli_out.output)]
    assert set(api[0]) == set(json.loads(cli_out.output)[0])
    shown = jana.get(f"/api/items/{item}").json()
    assert shown["item_id"] == item and shown["thread"][0]["text"] == "@shopexample hi there"
    found = jana.get("/api/queue?q=HI+THERE").json()
    assert [i["id"] for i in found] == [item]
    assert jana.get("/api/queue?q=100%25").json() == []  # wildcards are literal


def test_a_reply_is_accepted_at_once_posted_once_and_a_resend_is_the_same(
    app: Any, inbox: Inbox, network: LateMastodon
) -> None:
    item = inbox.add_mention("@shopexample is my parcel late?")
    jana = as_agent(app, "jana")
    assert jana.act(item, "claim").status_code == 200
    body = {"text": "Hi, checking now!", "key": "click-1"}
    first = jana.act(item, "reply", body)
    assert first.status_code == 202 and first.json()["status"] == "queued"
    again = jana.act(item, "reply", body)  # a double click / a retried request
    assert again.status_code == 202 and again.json()["outbox_id"] == first.json()["outbox_id"]
    app.state.web.sender.wait(20)
    assert len(network.statuses) == 1
    state = jana.get(f"/items/{item}/live").json()
    assert state["outbox"] == "sent" and state["outbox_word"] == "sent"
    assert network.statuses[0]["content"].endswith("^J") or "^J" in str(network.statuses[0])
    second = jana.act(item, "reply", {"text": "Anything else?", "key": "click-2"})
    assert second.status_code == 409 and second.json()["guard"] == "answered"
    assert len(network.posts) == 1


def test_guards_come_back_as_409_with_the_guard_and_can_be_overridden(
    app: Any, inbox: Inbox, network: LateMastodon
) -> None:
    item = inbox.add_mention("@shopexample my order 55617801 to jane@example.com never came")
    jana, petr = as_agent(app, "jana"), as_agent(app, "petr")
    r = jana.act(item, "reply", {"text": "Sorry! Looking into it."})
    assert r.status_code == 409 and r.json()["guard"] == "sensitive"
    leak = jana.act(item, "reply", {"text": "Sent to jane@example.com", "override": ["sensitive"]})
    assert leak.status_code == 409 and leak.json()["guard"] == "personal_data"
    assert petr.act(item, "claim").status_code == 200
    held = jana.act(item, "reply", {"text": "Sorry!", "override": ["sensitive"]})
    assert held.status_code == 409 and held.json()["guard"] == "claimed"
    assert "Petr Svoboda" in held.json()["error"]
    newest = max(m["id"] for m in jana.get(f"/api/items/{item}").json()["thread"])
    inbox.add_mention("@shopexample hello??", conversation_id=None, in_reply_to=None)
    stale = petr.act(
        item, "reply", {"text": "Sorry!", "override": ["sensitive"], "seen": newest - 1}
    )
    assert stale.status_code == 409 and stale.json()["guard"] == "stale"
    ok = petr.act(item, "reply", {"text": "Sorry!", "override": ["sensitive"], "seen": newest})
    assert ok.status_code == 202
    app.state.web.sender.wait(20)
    assert len(network.statuses) == 1
    assert jana.act(item, "reply", {"text": "x", "override": ["nonsense"]}).status_code == 400


def test_notes_assign_label_tags_dismiss_and_presence(app: Any, inbox: Inbox) -> None:
    item = inbox.add_mention("@shopexample meh")
    jana, lea = as_agent(app, "jana"), as_agent(app, "lea")
    assert jana.act(item, "note", {"text": "<b>called</b> the courier"}).status_code == 200
    assert jana.act(item, "note", {"text": "   "}).status_code == 400
    assert jana.act(item, "assign", {"agent": "petr"}).status_code == 200
    assert inbox.holder(item) == "petr"
    assert jana.act(item, "assign", {"agent": "jana"}).status_code == 409  # Petr's now
    assert lea.act(item, "assign", {"agent": "jana"}).status_code == 200  # a lead may
    assert jana.act(item, "assign", {"agent": "nobody"}).status_code == 400
    assert jana.act(item, "label", {"sentiment": "neg"}).json()["sentiment"] == "negative"
    assert (
        jana.act(item, "tags", {"add": ["delivery"], "remove": []}).json()["tags"][-1] == "delivery"
    )
    assert jana.act(item, "tags", {"add": ["no spaces"]}).status_code == 400
    assert jana.act(item, "presence", {"state": "typing"}).status_code == 200
    assert [(p.agent, p.state) for p in app.state.web.hub.present(item)] == [("jana", "typing")]
    assert jana.act(item, "presence", {"state": "dancing"}).status_code == 400
    assert jana.act(item, "dismiss", {"reason": "because"}).status_code == 400
    assert jana.act(item, "dismiss", {"reason": "no-reply-needed"}).json()["status"] == "dismissed"
    actions = [a["action"] for a in jana.get(f"/api/items/{item}").json()["actions"]]
    assert actions[:2] == ["note", "assigned"] and "dismissed" in actions
    page = jana.get(f"/items/{item}").text
    assert "&lt;b&gt;called&lt;/b&gt;" in page and "<b>called</b>" not in page


def test_hostile_texts_are_escaped_and_bad_links_are_not_links(app: Any, inbox: Inbox) -> None:
    item = inbox.add_mention(
        "<script>alert(1)</script> @shopexample",
        name="<img src=x onerror=alert(2)>",
        url="javascript:alert(3)",
    )
    jana = as_agent(app, "jana")
    for path in ("/inbox", "/inbox/list", f"/items/{item}"):
        page = jana.get(path).text
        assert "<script>alert" not in page and "<img src=x" not in page, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, path
        assert "javascript:" not in page, path


def test_saved_views_are_per_agent_and_need_the_form_token(app: Any) -> None:
    jana, petr = as_agent(app, "jana"), as_agent(app, "petr")
    form = {"name": "Angry X", "query": "network=x&sentiment=negative", "csrf": jana.csrf}
    assert jana.post("/views", data={**form, "csrf": "forged"}).status_code == 403
    saved = jana.post("/views", data=form)
    assert (
        saved.status_code == 303
        and saved.headers["location"] == "/inbox?network=x&sentiment=negative"
    )
    assert 'href="/inbox?network=x&amp;sentiment=negative">Angry X</a>' in jana.get("/inbox").text
    assert "Angry X" not in petr.get("/inbox").text
    jana.post("/views", data={**form, "delete": "1"})
    assert "Angry X" not in jana.get("/inbox").text


def test_a_live_stream_ends_once_its_agent_may_no_longer_see_it(tmp_path: Path) -> None:
    """The login is checked when /events opens; a disabled agent's open stream must not
    keep delivering the queue's and colleagues' events."""
    from social_watch.web.live import Hub

    db = dbmod.connect(tmp_path / "live.db")
    db.close()
    hub = Hub(str(tmp_path / "live.db"), lambda: datetime.now(UTC))
    still = [True]

    async def allowed() -> bool:
        return still[0]

    async def read() -> list[str]:
        got: list[str] = []
        stream = hub.stream(allowed)
        got.append(await stream.__anext__())  # "retry:"
        hub.publish("queue", {})
        got.append(await stream.__anext__())
        still[0] = False  # disabled now
        hub.publish("queue", {})
        got += [m async for m in stream]  # ends instead of delivering it
        return got

    try:
        got = asyncio.run(read())
    finally:
        hub.stop()
    assert got[0].startswith("retry:") and got[1].startswith("event: queue")
    assert len(got) == 2


def test_a_short_sentiment_in_the_url_is_the_one_the_filter_form_keeps(app: Any) -> None:
    page = as_agent(app, "jana").get("/inbox?sentiment=neg")
    assert page.status_code == 200
    assert '<option value="negative" selected>' in page.text


def test_the_favicon_is_no_error(app: Any) -> None:
    assert Client(app).get("/favicon.ico").status_code == 204
