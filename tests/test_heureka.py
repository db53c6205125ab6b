"""Heureka reviews: the real export format, the rating carried into the store (1-2 stars
negative whatever the words), the shop's reaction answering a review, the contract, errors
that never show the key, and an end-to-end poll with the queue showing stars."""

from __future__ import annotations

import email.utils
import json
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import httpx
import pytest
import respx
from connector_contract import NOW, ConnectorContract, Harness
from fixture_server import FixtureServer, Reply, load_recorded, serve_fixtures  # noqa: F401

from connectors.heureka import HeurekaConnector
from social_watch import config as cfg
from social_watch import registry
from social_watch.connector import Source
from social_watch.errors import AuthError, ConfigError, ConnectorError, UsageError

BASE = "https://heureka.example"
KEY = "0123456789abcdef0123456789abcdef"
ENV = {"SOCIAL_WATCH_HEUREKA_KEY": KEY}
PATH = "/direct/dotaznik/export-review.php"


def review(
    n: int,
    *,
    author: str = "Jana",
    rating: float | None = 5,
    summary: str | None = None,
    cons: str = "",
    reaction: str = "",
) -> str:
    stamp = int((NOW - timedelta(minutes=100 - n)).timestamp())
    parts = [f"<rating_id>{1000 + n}</rating_id>", f"<unix_timestamp>{stamp}</unix_timestamp>"]
    if author:
        parts.append(f"<name><![CDATA[{author}]]></name>")
    if rating is not None:
        parts.append(f"<total_rating>{rating:g}</total_rating>")
    parts.append(f"<summary><![CDATA[{summary or f'objednávka {n} v pořádku'}]]></summary>")
    if cons:
        parts.append(f"<cons><![CDATA[{cons}]]></cons>")
    if reaction:
        parts.append(f"<reaction>{escape(reaction)}</reaction>")
    return "<review>" + "".join(parts) + "</review>"


def export(items: Sequence[str]) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<reviews>' + "".join(items) + "</reviews>"
    ).encode()


class FakeHeureka:
    def __init__(self, items: Sequence[str] = ()) -> None:
        self.items = list(items)
        self.limited_until: datetime | None = None
        self.requests: list[dict[str, str]] = []

    def answer(self, params: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        self.requests.append(params)
        if self.limited_until is not None:
            stamp = email.utils.format_datetime(self.limited_until, usegmt=True)
            return 429, {"Retry-After": stamp, "Content-Type": "text/plain"}, b"Too Many Requests"
        if params.get("key") != KEY:
            return 404, {"Content-Type": "text/html"}, b"<html>Not found</html>"
        return 200, {"Content-Type": "application/xml"}, export(self.items)

    def respond(self, request: httpx.Request) -> httpx.Response:
        status, headers, body = self.answer(dict(request.url.params))
        return httpx.Response(status, headers=headers, content=body)

    def reply(self, request: Any) -> Reply:
        status, headers, body = self.answer(request.query)
        return Reply(status, body, headers)


class HeurekaHarness(Harness):
    name = "heureka"
    paged = False
    brand_handle = "Shop Example"

    def __init__(self, router: respx.MockRouter) -> None:
        self.fake = FakeHeureka()
        router.get(f"{BASE}{PATH}").mock(side_effect=self.fake.respond)

    @property
    def env(self) -> dict[str, str]:
        return dict(ENV)

    def options(self) -> dict[str, Any]:
        return {"base_url": BASE}

    def item(self, n: int, *, author: str = "Jana", repost: bool = False) -> Any:
        return review(n, author=author)

    def malformed(self, n: int) -> Any:
        return review(n).replace("<rating_id>", "<rating_id>x")

    def native_id(self, n: int) -> str:
        return f"cz-{1000 + n}"

    def serve(self, items: Sequence[Any]) -> None:
        self.fake.items = list(items)
        self.fake.limited_until = None

    def rate_limit(self, reset: datetime) -> None:
        self.fake.limited_until = reset

    def calls(self) -> int:
        return len(self.fake.requests)


class TestHeurekaContract(ConnectorContract):
    @pytest.fixture
    def harness(self) -> Iterator[Harness]:
        with respx.mock(assert_all_called=False) as router:
            yield HeurekaHarness(router)


def connector(env: dict[str, str] | None = None, **options: Any) -> HeurekaConnector:
    opts = {"base_url": BASE, **options}
    HeurekaConnector.validate_options(opts, "connectors.heureka")
    return HeurekaConnector(
        opts,
        env=ENV if env is None else env,
        brand_handles={"heureka": "Shop Example"},
        clock=lambda: NOW,
    )


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as r:
        yield r


def test_the_real_export_maps_to_rated_mentions(router: respx.MockRouter) -> None:
    _, headers, body = load_recorded("heureka/eshop_reviews.xml")
    route = router.get(PATH).mock(return_value=httpx.Response(200, headers=headers, content=body))
    result = connector(lookback="5000d").poll(Source("heureka", "reviews"), None)
    by_id = {m.native_id: m for m in result.mentions}
    vera = by_id["cz-140332011"]
    assert vera.author.handle == "Věra - J." and vera.rating == 5.0 and vera.lang == "cs"
    assert vera.text == "spokojena\n+ rychlé dodání\n+ dobré ceny\n− nevím o žádných"
    assert vera.created_at == datetime.fromtimestamp(1451990785, UTC)
    assert by_id["cz-141604079"].author.handle == "anonymous"  # no <name>
    assert by_id["cz-141604079"].text == "doporučuji\n+ velmi rychlé dodání"
    # the oldest review has no total_rating: kept, without a rating
    assert by_id["cz-59065101"].rating is None
    # the shop's reaction is the brand's answer to that review
    answer = by_id["cz-138008506-reaction"]
    assert answer.author.handle == "Shop Example" and answer.in_reply_to == "cz-138008506"
    assert answer.text == "byl to německý výrobek" and answer.created_at == NOW
    assert len(result.mentions) == 6 and result.skipped == []
    assert result.cursor == {"since": 1452012918} and not result.more
    assert route.calls.last.request.url.params["key"] == KEY


def test_a_low_rating_is_negative_whatever_the_words(
    tmp_path: Path, router: respx.MockRouter
) -> None:
    from helpers import open_db

    from social_watch.pipeline import Pipeline
    from social_watch.runner import poll_source

    items = [
        review(1, rating=1, summary="Děkuji, super komunikace, vše v pořádku"),
        review(2, author="Peter", rating=5, summary="Výborný obchod, doporučuji"),
        review(3, author="Eva", rating=2.5, summary="ok"),
    ]
    router.get(PATH).mock(side_effect=FakeHeureka(items).respond)
    config = cfg.validate({"connectors": {"heureka": {"base_url": BASE}}})
    db = open_db(tmp_path)
    c = registry.build(config, "heureka", env=ENV, clock=lambda: NOW)
    assert poll_source(db, Pipeline(config, lambda: NOW), c, Source("heureka", "reviews")).ok
    rows = {
        r[0]: (r[1], r[2])
        for r in db.conn.execute(
            "SELECT native_id, rating, sentiment_label FROM mentions"
        ).fetchall()
    }
    assert rows["cz-1001"] == (1.0, "negative")  # polite words, one star
    assert rows["cz-1002"] == (5.0, "positive")
    assert rows["cz-1003"][0] == 2.5 and rows["cz-1003"][1] != "negative"


def test_errors_name_the_variable_and_never_the_key(
    router: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    router.get(PATH).mock(side_effect=FakeHeureka().respond)
    c = connector(env={"SHOP_HEUREKA": "wrong-key-123"}, key_env="SHOP_HEUREKA")
    with pytest.raises(AuthError) as info:
        c.poll(Source("heureka", "reviews"), None)
    assert info.value.env_var == "SHOP_HEUREKA" and "wrong-key-123" not in str(info.value)
    router.get(PATH).mock(return_value=httpx.Response(200, text="<html><body>chyba</html>"))
    with pytest.raises(ConnectorError, match="not the review XML") as bad:
        connector().poll(Source("heureka", "reviews"), None)
    assert KEY not in str(bad.value) and KEY not in caplog.text
    missing = connector(env={})
    assert missing.missing_secrets() == ["SOCIAL_WATCH_HEUREKA_KEY"]
    with pytest.raises(AuthError, match="SOCIAL_WATCH_HEUREKA_KEY"):
        missing.check()


def test_entity_expansion_is_refused(router: respx.MockRouter) -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><reviews><review>&b;</review></reviews>'
    )
    router.get(PATH).mock(return_value=httpx.Response(200, content=bomb))
    with pytest.raises(ConnectorError, match="not the review XML"):
        connector().poll(Source("heureka", "reviews"), None)


def test_check_and_options(router: respx.MockRouter) -> None:
    _, headers, body = load_recorded("heureka/eshop_reviews.xml")
    router.get(PATH).mock(return_value=httpx.Response(200, headers=headers, content=body))
    assert connector().check() == "Heureka cz: 5 reviews in the export, newest 2016-01-05"
    with pytest.raises(ConfigError, match=r"connectors\.heureka\.country: expected cz or sk"):
        HeurekaConnector.validate_options({"country": "pl"}, "connectors.heureka")
    assert connector(country="sk").country == "sk"
    with pytest.raises(UsageError, match="read-only"):
        connector().reply(connector()._mentions(_first_review(body), NOW)[0], "Díky", "k")


def _first_review(body: bytes) -> Any:
    import defusedxml.ElementTree as safe_xml

    return next(iter(safe_xml.fromstring(body).iter("review")))


def test_poll_end_to_end_and_the_queue_shows_stars(
    fixture_server: FixtureServer,
    tmp_path: Path,
    cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeHeureka(
        [
            review(1, rating=1, summary="Zboží nedorazilo, peníze nevrátili", author="Jana"),
            review(2, author="Petr", rating=4, summary="Dobrý obchod"),
        ]
    )
    fixture_server.get(PATH, fake.reply)
    monkeypatch.setenv("SOCIAL_WATCH_HEUREKA_KEY", KEY)
    config = tmp_path / "social-watch.toml"
    config.write_text(
        f'database = "{tmp_path / "sw.db"}"\n[brand]\nname = "Shop Example"\n'
        f'[connectors.heureka]\nbase_url = "{fixture_server.url}"\nlookback = "5000d"\n',
        encoding="utf-8",
    )
    result = cli("poll", "--config", str(config), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["new"] == 2
    queue = cli("queue", "--config", str(config), "--json")
    items = {i["author"]["handle"]: i for i in json.loads(queue.output)}
    assert items["Jana"]["rating"] == 1.0 and items["Jana"]["sentiment"]["label"] == "negative"
    text = cli("queue", "--config", str(config))
    assert "★☆☆☆☆ Zboží nedorazilo" in text.output and "★★★★☆ Dobrý obchod" in text.output
    show = cli("show", str(items["Petr"]["id"]), "--config", str(config))
    assert "★★★★☆ 4/5" in show.output
    assert KEY not in result.output + queue.output + text.output
