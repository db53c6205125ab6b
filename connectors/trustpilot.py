"""Trustpilot reviews of the shop's business unit, newest first, as rated mentions.

Endpoints (``https://api.trustpilot.com``):

- ``GET /v1/business-units/{businessUnitId}/reviews?orderBy=createdat.desc&perPage=…&page=…``
  with the API key in the ``apikey`` header (``api_key_env``), never in a URL;
- ``GET /v1/business-units/{businessUnitId}`` — ``check()``;
- ``POST /v1/private/reviews/{reviewId}/reply`` with ``{"authorBusinessUserId", "message"}``
  and a business user's OAuth token (``reply_token_env``, ``business_user_id``): only when
  both are configured; without them the connector is read-only for replies;
- ``GET /v1/reviews/{reviewId}`` — ``find_reply``: the review's ``companyReply``.

Each review carries its ``stars`` as the mention's rating (1-2 stars is negative whatever
the words); its ``companyReply`` is stored as the brand's answer (``[brand.handles]
trustpilot``), dated by its own ``createdAt``.

Cursor: ``{"since": ISO}`` (the newest ``createdAt`` seen); while a burst is read,
``{"since", "top", "page"}``. Pages are numbered, so a review arriving mid-walk shifts the
pages by one: the overlap is absorbed by the unique id. Rate limits: a 429 becomes
``RateLimited`` at ``Retry-After`` (the public API allows a few hundred calls a minute).
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
from social_watch.errors import ConfigError, ConnectorError, UsageError
from social_watch.models import Author, Mention

KEY_ENV = "SOCIAL_WATCH_TRUSTPILOT_API_KEY"
API_URL = "https://api.trustpilot.com"
REVIEWS = "reviews"
PAGE_SIZE = 20
ANONYMOUS = "anonymous"


class TrustpilotConnector(Connector):
    name = "trustpilot"
    network = "trustpilot"
    capabilities = frozenset({MENTIONS, REPLY})
    secrets: ClassVar[dict[str, str]] = {"api_key_env": KEY_ENV}
    options: ClassVar[dict[str, str]] = {
        "business_unit_id": "the shop's business unit id (required)",
        "reply_token_env": "environment variable with a business user OAuth token (to reply)",
        "business_user_id": "the business user the replies are signed by (to reply)",
        "base_url": f"the API host (default {API_URL})",
        "page_size": f"reviews per request, 1-100 (default {PAGE_SIZE})",
        "lookback": "how far back the first poll reads (default 30d)",
    }
    reply_rule = LengthRule(5000, "chars")
    rate_limit = "a 429 is honoured by Retry-After; no usage headers"

    @classmethod
    def validate_options(cls, options: Mapping[str, Any], key: str) -> None:
        super().validate_options(options, key)
        unit = options.get("business_unit_id")
        if not isinstance(unit, str) or not unit.strip():
            raise ConfigError('set business_unit_id = "…"', key=f"{key}.business_unit_id")
        size = options.get("page_size", PAGE_SIZE)
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 100:
            raise ConfigError("expected a whole number from 1 to 100", key=f"{key}.page_size")
        if bool(options.get("reply_token_env")) != bool(options.get("business_user_id")):
            raise ConfigError("replying needs both reply_token_env and business_user_id", key=key)
        try:
            parse_duration(options.get("lookback", "30d"))
        except ValueError as exc:
            raise ConfigError(str(exc), key=f"{key}.lookback") from None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client: httpx.Client | None = None

    @property
    def unit(self) -> str:
        return str(self.opts["business_unit_id"]).strip()

    @property
    def env_var(self) -> str:
        return str(self.opts.get("api_key_env") or KEY_ENV)

    @property
    def page_size(self) -> int:
        return int(self.opts.get("page_size", PAGE_SIZE))

    @property
    def http(self) -> httpx.Client:
        if self._client is None:
            key = self.secret("api_key_env")
            base = str(self.opts.get("base_url") or API_URL).rstrip("/")
            self._client = _http.client(base, headers={"apikey": key})
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _get(self, path: str, **kwargs: Any) -> Any:
        response = _http.send(
            self.http, "GET", path, connector=self.name, env_var=self.env_var, **kwargs
        )
        return _http.json_body(response, connector=self.name)

    def sources(self) -> list[Source]:
        return [Source(self.name, REVIEWS)]

    def check(self) -> str:
        unit = self._get(f"/v1/business-units/{self.unit}")
        name = (unit or {}).get("displayName") or self.unit
        line = f"Trustpilot {name} ({self.unit})"
        if not self.opts.get("reply_token_env"):
            line += "; replies off (set reply_token_env and business_user_id to answer)"
        return line

    def poll(self, source: Source, cursor: Any) -> PollResult:
        cur = dict(cursor or {})
        now = self.clock()
        lookback = parse_duration(self.opts.get("lookback", "30d"))
        since = parse_iso(cur["since"]) if cur.get("since") else now - lookback
        top = parse_iso(cur["top"]) if cur.get("top") else None
        page = int(cur.get("page", 1))
        body = self._get(
            f"/v1/business-units/{self.unit}/reviews",
            params={"orderBy": "createdat.desc", "perPage": self.page_size, "page": page},
        )
        reviews = body.get("reviews") if isinstance(body, dict) else None
        if not isinstance(reviews, list):
            raise ConnectorError(f"{self.name}: GET reviews: response has no reviews list")
        found: list[Mention] = []
        skipped: list[Skipped] = []
        reached_old = False
        for r in reviews:
            item = str(r.get("id")) if isinstance(r, dict) else None
            try:
                got = self._mentions(r)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                skipped.append(Skipped(item, f"malformed review: {exc}"))
                continue
            if got[0].created_at < since:
                reached_old = True
                continue
            top = got[0].created_at if top is None or got[0].created_at > top else top
            found += got
        has_next = (
            any(
                isinstance(link, dict) and link.get("rel") == "next-page"
                for link in body.get("links") or []
            )
            or len(reviews) >= self.page_size
        )
        if has_next and reviews and not reached_old:
            after: dict[str, Any] = {"since": iso(since), "page": page + 1}
            if top is not None:
                after["top"] = iso(top)
            return PollResult(found, after, skipped, more=True)
        return PollResult(found, {"since": iso(top or since)}, skipped)

    def _mentions(self, r: Mapping[str, Any]) -> list[Mention]:
        rid = str(r["id"]).strip()
        if not rid or not rid.isalnum():
            raise ValueError(f"bad review id {rid!r}")
        stars = r.get("stars")
        if not isinstance(stars, int | float) or isinstance(stars, bool) or not 1 <= stars <= 5:
            raise ValueError(f"stars {stars!r} is not 1-5")
        created = parse_iso(str(r["createdAt"]))
        consumer = r.get("consumer") or {}
        parts = [str(r.get("title") or "").strip(), str(r.get("text") or "").strip()]
        text = "\n".join(p for p in parts if p) or "(stars only)"
        review = Mention(
            network=self.network,
            native_id=rid,
            text=text,
            created_at=created,
            author=Author(str(consumer.get("displayName") or "").strip() or ANONYMOUS),
            url=f"https://www.trustpilot.com/reviews/{rid}",
            lang=r.get("language") or None,
            conversation_id=rid,
            rating=float(stars),
            raw=dict(r),
        )
        reply = r.get("companyReply")
        brand = self._brand()
        if not isinstance(reply, dict) or not reply.get("text") or brand is None:
            return [review]
        answer = Mention(
            network=self.network,
            native_id=f"{rid}-reply",
            text=str(reply["text"]).strip(),
            created_at=parse_iso(str(reply.get("createdAt") or r["createdAt"])),
            author=Author(brand),
            url=review.url,
            conversation_id=rid,
            in_reply_to=rid,
            raw={"review_id": rid, "companyReply": reply},
        )
        return [review, answer]

    def _brand(self) -> str | None:
        value = self.brand_handles.get(self.network)
        values = [value] if isinstance(value, str) else list(value or [])
        return str(values[0]) if values else None

    # --- replies ---
    def reply(self, mention: Mention, text: str, key: str) -> PostedReply:
        """``POST /v1/private/reviews/{id}/reply`` as the configured business user."""
        if not self.opts.get("reply_token_env"):
            raise UsageError(
                "trustpilot: replies are off; set reply_token_env and business_user_id in "
                "[connectors.trustpilot], or use `to-email`"
            )
        token = self.secret("reply_token_env")
        var = str(self.opts["reply_token_env"])
        body = {"authorBusinessUserId": str(self.opts["business_user_id"]), "message": text}
        _http.send(
            self.http,
            "POST",
            f"/v1/private/reviews/{mention.native_id}/reply",
            connector=self.name,
            env_var=var,
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        )
        return PostedReply(f"{mention.native_id}-reply", mention.url)

    def find_reply(self, mention: Mention, key: str) -> PostedReply | None:
        """The review's ``companyReply``, if it has one (a review has at most one)."""
        review = self._get(f"/v1/reviews/{mention.native_id}")
        reply = (review or {}).get("companyReply") if isinstance(review, dict) else None
        if isinstance(reply, dict) and reply.get("text"):
            return PostedReply(f"{mention.native_id}-reply", mention.url)
        return None
