"""The shop's Heureka reviews ("ověřeno zákazníky"), from the review XML export, as mentions.

Endpoint: ``GET https://www.heureka.cz/direct/dotaznik/export-review.php?key=<key>`` (or
``heureka.sk``). The key is a secret (``key_env``): it is sent only in that query string and
never appears in an error or log line (errors name the path and status only).

The export is one XML document holding every review, newest first::

    <reviews><review>
      <rating_id>141604079</rating_id> <name>Věra - J.</name> (absent: anonymous)
      <unix_timestamp>1452012918</unix_timestamp>
      <total_rating>5</total_rating> (0.5-5 in half stars; absent on old reviews)
      <delivery_time/> <transport_quality/> <web_usability/> <communication/> (partial marks)
      <pros/> <cons/> <summary/> (CDATA, several lines) <reaction/> (the shop's answer)
      <order_id/>
    </review>…</reviews>

Each review becomes a mention carrying ``rating`` (its ``total_rating``): the text is the
summary, then the pros (``+``) and cons (``−``), so sentiment reads the customer's words, and a
review of 1-2 stars is negative whatever they say (``pipeline.rated``). A review the shop
already answered (``reaction``) comes with the answer as the brand's own mention, so it is
not queued; the export gives no time for it, so it is dated when first seen.

Cursor: ``{"since": <newest unix_timestamp seen>}``; the first poll reads ``lookback``
(default 30d) back. There is no paging and no published rate limit; a 429 is honoured by its
``Retry-After``. Read-only: Heureka has no API for answering reviews (answer in the Heureka
admin, or use ``to-email``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_xml
import httpx
from defusedxml import DefusedXmlException

from connectors import _http
from social_watch.config import parse_duration
from social_watch.connector import MENTIONS, Connector, PollResult, Skipped, Source
from social_watch.errors import AuthError, ConfigError, ConnectorError
from social_watch.models import Author, Mention

log = logging.getLogger("social_watch.connectors.heureka")

KEY_ENV = "SOCIAL_WATCH_HEUREKA_KEY"
EXPORT_PATH = "/direct/dotaznik/export-review.php"
COUNTRIES = {"cz": "cs", "sk": "sk"}
ANONYMOUS = "anonymous"
REVIEWS = "reviews"
PARTIAL = ("delivery_time", "transport_quality", "web_usability", "communication")


class HeurekaConnector(Connector):
    name = "heureka"
    network = "heureka"
    capabilities = frozenset({MENTIONS})
    rate_limit = "none published; one export download per poll, a 429 honoured by Retry-After"
    secrets: ClassVar[dict[str, str]] = {"key_env": KEY_ENV}
    options: ClassVar[dict[str, str]] = {
        "country": "cz or sk: which Heureka the shop is on (default cz)",
        "base_url": "the Heureka host (default https://www.heureka.<country>; tests point it "
        "at a local server)",
        "lookback": "how far back the first poll reads (default 30d)",
    }

    @classmethod
    def validate_options(cls, options: Mapping[str, Any], key: str) -> None:
        super().validate_options(options, key)
        if options.get("country", "cz") not in COUNTRIES:
            raise ConfigError("expected cz or sk", key=f"{key}.country")
        base = options.get("base_url", "https://www.heureka.cz")
        if not isinstance(base, str) or not base.startswith(("http://", "https://")):
            raise ConfigError("expected an http(s) URL", key=f"{key}.base_url")
        try:
            parse_duration(options.get("lookback", "30d"))
        except ValueError as exc:
            raise ConfigError(str(exc), key=f"{key}.lookback") from None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client: httpx.Client | None = None

    @property
    def country(self) -> str:
        return str(self.opts.get("country", "cz"))

    @property
    def env_var(self) -> str:
        return str(self.opts.get("key_env") or KEY_ENV)

    @property
    def http(self) -> httpx.Client:
        if self._client is None:
            base = self.opts.get("base_url") or f"https://www.heureka.{self.country}"
            self._client = _http.client(
                str(base).rstrip("/"), headers={"Accept": "application/xml, text/xml"}
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def sources(self) -> list[Source]:
        return [Source(self.name, REVIEWS)]

    def check(self) -> str:
        reviews = self._export()
        stamps = [s for s in (_stamp(r) for r in reviews) if s is not None]
        newest = max(stamps, default=None)
        when = f", newest {datetime.fromtimestamp(newest, UTC):%Y-%m-%d}" if newest else ""
        return f"Heureka {self.country}: {len(reviews)} reviews in the export{when}"

    def _export(self) -> list[Element]:
        key = self.secret("key_env")  # AuthError names the variable; registered for redaction
        try:
            response = self.http.get(EXPORT_PATH, params={"key": key})
        except httpx.TimeoutException:
            raise ConnectorError(f"{self.name}: GET {EXPORT_PATH} timed out") from None
        except httpx.TransportError as exc:
            raise ConnectorError(
                f"{self.name}: GET {EXPORT_PATH} failed: {type(exc).__name__}"
            ) from None
        if response.status_code in (403, 404):
            raise AuthError(
                f"{self.name}: GET {EXPORT_PATH} → {response.status_code}; the export refused "
                f"the key: check {self.env_var}",
                env_var=self.env_var,
            )
        _http.check(response, connector=self.name, env_var=self.env_var, now=self.clock())
        try:
            root = safe_xml.fromstring(response.content)
        except (ParseError, DefusedXmlException):
            raise ConnectorError(
                f"{self.name}: GET {EXPORT_PATH}: the response is not the review XML "
                f"(a wrong key in {self.env_var} gets an HTML page)"
            ) from None
        if root.tag != "reviews":
            raise ConnectorError(f"{self.name}: GET {EXPORT_PATH}: expected <reviews>")
        return list(root.iter("review"))

    def poll(self, source: Source, cursor: Any) -> PollResult:
        cur = dict(cursor or {})
        now = self.clock()
        lookback = parse_duration(self.opts.get("lookback", "30d"))
        since = int(cur["since"]) if "since" in cur else int((now - lookback).timestamp())
        mentions: list[Mention] = []
        skipped: list[Skipped] = []
        newest = since
        for review in self._export():
            item = (review.findtext("rating_id") or "").strip() or None
            try:
                found = self._mentions(review, now)
            except (KeyError, TypeError, ValueError) as exc:
                skipped.append(Skipped(item, f"malformed review: {exc}"))
                continue
            stamp = int(found[0].created_at.timestamp())
            if stamp < since:
                continue
            newest = max(newest, stamp)
            mentions += found
        return PollResult(mentions, {"since": newest}, skipped)

    def _mentions(self, review: Element, now: datetime) -> list[Mention]:
        rid = (review.findtext("rating_id") or "").strip()
        if not rid.isdigit():
            raise ValueError(f"bad rating_id {rid!r}")
        stamp = _stamp(review)
        if stamp is None:
            raise ValueError("no unix_timestamp")
        created = datetime.fromtimestamp(stamp, UTC)
        rating = _number(review.findtext("total_rating"))
        if rating is not None and not 0 <= rating <= 5:
            raise ValueError(f"total_rating {rating} is not 0-5 stars")
        parts = [_text(review, "summary")]
        parts += [f"+ {line}" for line in _lines(review, "pros")]
        parts += [f"− {line}" for line in _lines(review, "cons")]
        text = "\n".join(p for p in parts if p)
        if not text:
            text = "(stars only)" if rating is not None else ""
        if not text:
            raise ValueError("no rating and no words")
        native_id = f"{self.country}-{rid}"
        marks = {k: _number(review.findtext(k)) for k in PARTIAL}
        raw = {
            "rating_id": rid,
            "order_id": _text(review, "order_id") or None,
            "total_rating": rating,
            **{k: v for k, v in marks.items() if v is not None},
        }
        customer = Mention(
            network=self.network,
            native_id=native_id,
            text=text,
            created_at=created,
            author=Author(_text(review, "name") or ANONYMOUS),
            lang=COUNTRIES[self.country],
            conversation_id=native_id,
            rating=rating,
            raw=raw,
        )
        reaction = _text(review, "reaction")
        brand = self._brand_handle()
        if not reaction or brand is None:
            return [customer]
        answer = Mention(
            network=self.network,
            native_id=f"{native_id}-reaction",
            text=reaction,
            created_at=max(created, now),  # the export gives no time: when first seen
            author=Author(brand),
            lang=COUNTRIES[self.country],
            conversation_id=native_id,
            in_reply_to=native_id,
            raw={"rating_id": rid, "reaction": True},
        )
        return [customer, answer]

    def _brand_handle(self) -> str | None:
        value = self.brand_handles.get(self.network)
        if isinstance(value, str):
            return value or None
        values = list(value or [])
        return str(values[0]) if values else None


def _stamp(review: Element) -> int | None:
    value = (review.findtext("unix_timestamp") or "").strip()
    return int(value) if value.isdigit() else None


def _number(value: str | None) -> float | None:
    if value is None or not value.strip():
        return None
    return float(value.strip().replace(",", "."))


def _text(review: Element, tag: str) -> str:
    return (review.findtext(tag) or "").strip()


def _lines(review: Element, tag: str) -> list[str]:
    return [ln.strip().lstrip("-").strip() for ln in _text(review, tag).splitlines() if ln.strip()]
