"""Google Business Profile reviews of the shop's location, with their star rating.

Endpoints (``https://mybusiness.googleapis.com/v4``, an OAuth access token with the
``business.manage`` scope in ``oauth_token_env``):

- ``GET /accounts/{a}/locations/{l}/reviews?orderBy=updateTime desc&pageSize=…`` — newest
  first, ``nextPageToken`` pages; each review's ``starRating`` (``ONE`` … ``FIVE``) is the
  mention's rating, its ``comment`` the text (stars-only reviews have none), and an existing
  ``reviewReply`` is stored as the brand's answer (``[brand.handles] google_reviews``);
- ``PUT /accounts/{a}/locations/{l}/reviews/{id}/reply`` with ``{"comment"}`` —
  ``updateReply``: it replaces the one reply a review can have, so a retry is harmless;
- ``GET /accounts/{a}/locations/{l}/reviews/{id}`` — ``find_reply`` (its ``reviewReply``).

Cursor: ``{"since": ISO}`` (newest ``updateTime`` seen: an edited review comes back);
``{"since", "top", "page": token}`` while a burst is read. Rate limits: 429 /
``RESOURCE_EXHAUSTED`` becomes ``RateLimited`` (a minute, or ``Retry-After``); 401 names the
token's variable (access tokens expire after an hour: refresh it outside social-watch).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from connectors import _http
from social_watch.clock import iso, parse_iso
from social_watch.config import parse_duration
from social_watch.connector import (
    MENTIONS,
    REPLY,
    Connector,
    LengthRule,
    PollResult,
    PostedReply,
    Skipped,
    Source,
)
from social_watch.errors import ConfigError, ConnectorError
from social_watch.models import Author, Mention

TOKEN_ENV = "SOCIAL_WATCH_GOOGLE_BUSINESS_TOKEN"
API_URL = "https://mybusiness.googleapis.com/v4"
REVIEWS = "reviews"
STARS = {"ONE": 1.0, "TWO": 2.0, "THREE": 3.0, "FOUR": 4.0, "FIVE": 5.0}
ANONYMOUS = "anonymous"


class GoogleReviewsConnector(Connector):
    name = "google_reviews"
    network = "google_reviews"
    capabilities = frozenset({MENTIONS, REPLY})
    secrets: ClassVar[dict[str, str]] = {"oauth_token_env": TOKEN_ENV}
    options: ClassVar[dict[str, str]] = {
        "account_id": "the Business Profile account id (required)",
        "location_id": "the location id (required)",
        "base_url": f"the API root (default {API_URL})",
        "page_size": "reviews per request, 1-50 (default 50)",
        "lookback": "how far back the first poll reads (default 30d)",
    }
    reply_rule = LengthRule(4096, "chars")
    rate_limit = "Google API quota per project: a 429 / RESOURCE_EXHAUSTED waits (Retry-After)"

    @classmethod
    def validate_options(cls, options: Mapping[str, Any], key: str) -> None:
        super().validate_options(options, key)
        for name in ("account_id", "location_id"):
            value = options.get(name)
            if not isinstance(value, str | int) or not str(value).strip().isdigit():
                raise ConfigError(f'set {name} = "<numeric id>"', key=f"{key}.{name}")
        size = options.get("page_size", 50)
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 50:
            raise ConfigError("expected a whole number from 1 to 50", key=f"{key}.page_size")
        try:
            parse_duration(options.get("lookback", "30d"))
        except ValueError as exc:
            raise ConfigError(str(exc), key=f"{key}.lookback") from None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client: httpx.Client | None = None

    @property
    def location(self) -> str:
        return f"accounts/{self.opts['account_id']}/locations/{self.opts['location_id']}"

    @property
    def env_var(self) -> str:
        return str(self.opts.get("oauth_token_env") or TOKEN_ENV)

    @property
    def http(self) -> httpx.Client:
        if self._client is None:
            token = self.secret("oauth_token_env")
            base = str(self.opts.get("base_url") or API_URL).rstrip("/")
            self._client = _http.client(base, headers={"Authorization": f"Bearer {token}"})
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = _http.send(
            self.http, method, path, connector=self.name, env_var=self.env_var, **kwargs
        )
        return _http.json_body(response, connector=self.name) if response.content else {}

    def sources(self) -> list[Source]:
        return [Source(self.name, REVIEWS)]

    def check(self) -> str:
        body = self._call("GET", f"/{self.location}/reviews", params={"pageSize": 1})
        average = body.get("averageRating")
        total = body.get("totalReviewCount", 0)
        avg = f", average {average:.1f}" if isinstance(average, int | float) else ""
        return f"Google Business Profile {self.location}: {total} reviews{avg}"

    def poll(self, source: Source, cursor: Any) -> PollResult:
        cur = dict(cursor or {})
        now = self.clock()
        lookback = parse_duration(self.opts.get("lookback", "30d"))
        since = parse_iso(cur["since"]) if cur.get("since") else now - lookback
        top = parse_iso(cur["top"]) if cur.get("top") else None
        params: dict[str, Any] = {
            "orderBy": "updateTime desc",
            "pageSize": int(self.opts.get("page_size", 50)),
        }
        if cur.get("page"):
            params["pageToken"] = cur["page"]
        body = self._call("GET", f"/{self.location}/reviews", params=params)
        reviews = body.get("reviews", []) if isinstance(body, dict) else None
        if not isinstance(reviews, list):
            raise ConnectorError(f"{self.name}: GET reviews: response has no reviews list")
        found: list[Mention] = []
        skipped: list[Skipped] = []
        reached_old = False
        for r in reviews:
            item = str(r.get("reviewId")) if isinstance(r, dict) else None
            try:
                got, updated = self._mentions(r)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                skipped.append(Skipped(item, f"malformed review: {exc}"))
                continue
            if updated < since:
                reached_old = True
                continue
            top = updated if top is None or updated > top else top
            found += got
        token = body.get("nextPageToken")
        if token and not reached_old:
            after: dict[str, Any] = {"since": iso(since), "page": str(token)}
            if top is not None:
                after["top"] = iso(top)
            return PollResult(found, after, skipped, more=True)
        return PollResult(found, {"since": iso(top or since)}, skipped)

    def _mentions(self, r: Mapping[str, Any]) -> tuple[list[Mention], Any]:
        rid = str(r["reviewId"]).strip()
        if not rid:
            raise ValueError("review without reviewId")
        rating = STARS.get(str(r.get("starRating")))
        if rating is None:
            raise ValueError(f"starRating {r.get('starRating')!r} is not ONE-FIVE")
        created = parse_iso(str(r["createTime"]))
        updated = parse_iso(str(r.get("updateTime") or r["createTime"]))
        reviewer = r.get("reviewer") or {}
        handle = (
            ANONYMOUS
            if reviewer.get("isAnonymous")
            else str(reviewer.get("displayName") or "").strip() or ANONYMOUS
        )
        review = Mention(
            network=self.network,
            native_id=rid,
            text=str(r.get("comment") or "").strip() or "(stars only)",
            created_at=created,
            author=Author(handle),
            conversation_id=rid,
            rating=rating,
            raw=dict(r),
        )
        reply = r.get("reviewReply")
        brand = self._brand()
        if not isinstance(reply, dict) or not reply.get("comment") or brand is None:
            return [review], updated
        answer = Mention(
            network=self.network,
            native_id=f"{rid}-reply",
            text=str(reply["comment"]).strip(),
            created_at=parse_iso(str(reply.get("updateTime") or r["createTime"])),
            author=Author(brand),
            conversation_id=rid,
            in_reply_to=rid,
            raw={"reviewId": rid, "reviewReply": reply},
        )
        return [review, answer], updated

    def _brand(self) -> str | None:
        value = self.brand_handles.get(self.network)
        values = [value] if isinstance(value, str) else list(value or [])
        return str(values[0]) if values else None

    def reply(self, mention: Mention, text: str, key: str) -> PostedReply:
        """``updateReply``: a review has one reply, so sending it twice changes nothing."""
        self._call(
            "PUT", f"/{self.location}/reviews/{mention.native_id}/reply", json={"comment": text}
        )
        return PostedReply(f"{mention.native_id}-reply", mention.url)

    def find_reply(self, mention: Mention, key: str) -> PostedReply | None:
        review = self._call("GET", f"/{self.location}/reviews/{mention.native_id}")
        reply = review.get("reviewReply") if isinstance(review, dict) else None
        if isinstance(reply, dict) and reply.get("comment"):
            return PostedReply(f"{mention.native_id}-reply", mention.url)
        return None
