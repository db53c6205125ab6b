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

Credentials: access tokens last an hour, so the usual setup is the refresh-token grant
(``client_id_env``, ``client_secret_env``, ``refresh_token_env``; ``connectors._google_oauth``
fetches and caches the access token, and a 401 triggers one refresh and one retry before an
``AuthError`` naming the refresh token's variable). A ready access token in
``oauth_token_env`` still works when no refresh token is set (refreshed outside).

Cursor: ``{"since": ISO}`` (newest ``updateTime`` seen: an edited review comes back);
``{"since", "top", "page": token}`` while a burst is read. Rate limits: 429 /
``RESOURCE_EXHAUSTED`` becomes ``RateLimited`` (a minute, or ``Retry-After``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from connectors import _http
from connectors._google_oauth import TOKEN_URL, Credentials, TokenSource
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
from social_watch.errors import AuthError, ConfigError, ConnectorError
from social_watch.models import Author, Mention

TOKEN_ENV = "SOCIAL_WATCH_GOOGLE_BUSINESS_TOKEN"
CLIENT_ID_ENV = "SOCIAL_WATCH_GOOGLE_CLIENT_ID"
CLIENT_SECRET_ENV = "SOCIAL_WATCH_GOOGLE_CLIENT_SECRET"
REFRESH_TOKEN_ENV = "SOCIAL_WATCH_GOOGLE_REFRESH_TOKEN"
# option -> default variable, the refresh-token grant's three secrets
REFRESH_SECRETS = {
    "client_id_env": CLIENT_ID_ENV,
    "client_secret_env": CLIENT_SECRET_ENV,
    "refresh_token_env": REFRESH_TOKEN_ENV,
}
API_URL = "https://mybusiness.googleapis.com/v4"
REVIEWS = "reviews"
STARS = {"ONE": 1.0, "TWO": 2.0, "THREE": 3.0, "FOUR": 4.0, "FIVE": 5.0}
ANONYMOUS = "anonymous"


class GoogleReviewsConnector(Connector):
    name = "google_reviews"
    network = "google_reviews"
    capabilities = frozenset({MENTIONS, REPLY})
    secrets: ClassVar[dict[str, str]] = {"oauth_token_env": TOKEN_ENV, **REFRESH_SECRETS}
    options: ClassVar[dict[str, str]] = {
        "account_id": "the Business Profile account id (required)",
        "location_id": "the location id (required)",
        "base_url": f"the API root (default {API_URL})",
        "token_url": f"the OAuth token endpoint (default {TOKEN_URL})",
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
        self._tokens: TokenSource | None = None

    @property
    def location(self) -> str:
        return f"accounts/{self.opts['account_id']}/locations/{self.opts['location_id']}"

    def _var(self, option: str) -> str:
        return str(self.opts.get(option) or self.secrets[option])

    @property
    def refreshes(self) -> bool:
        """The refresh-token grant is in use: its variable is named in config or set."""
        return "refresh_token_env" in self.opts or bool(
            self.env.get(self._var("refresh_token_env"), "").strip()
        )

    @property
    def env_var(self) -> str:
        """The variable an auth error names: the refresh token's, or the access token's."""
        return self._var("refresh_token_env" if self.refreshes else "oauth_token_env")

    def missing_secrets(self) -> list[str]:
        """The grant's three variables when it is in use, else the access token's."""
        options = list(REFRESH_SECRETS) if self.refreshes else ["oauth_token_env"]
        return [v for v in map(self._var, options) if not self.env.get(v, "").strip()]

    @property
    def http(self) -> httpx.Client:
        if self._client is None:
            base = str(self.opts.get("base_url") or API_URL).rstrip("/")
            self._client = _http.client(base)
        return self._client

    def _token_source(self) -> TokenSource:
        if self._tokens is None:
            credentials = Credentials(
                client_id=self.secret("client_id_env"),
                client_secret=self.secret("client_secret_env"),
                refresh_token=self.secret("refresh_token_env"),
                client_id_env=self._var("client_id_env"),
                refresh_token_env=self._var("refresh_token_env"),
            )
            self._tokens = TokenSource(
                credentials,
                connector=self.name,
                clock=self.clock,
                token_url=str(self.opts.get("token_url") or TOKEN_URL),
            )
        return self._tokens

    def _access_token(self) -> str:
        if self.refreshes:
            return self._token_source().token()
        return self.secret("oauth_token_env")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One API call with a valid access token; a 401 gets one refresh and one retry
        (the token expired early or was revoked), a second 401 is an ``AuthError``."""
        token = self._access_token()
        response = self._send(method, path, token, **kwargs)
        if response.status_code == 401 and self.refreshes:
            token = self._token_source().refresh(refused=token)
            response = self._send(method, path, token, **kwargs)
            if response.status_code == 401:
                raise AuthError(
                    f"{self.name}: {method} {httpx.URL(path).path} → 401 with a freshly "
                    f"refreshed access token; check the refresh token in {self.env_var} "
                    "(and that it was granted the business.manage scope)",
                    env_var=self.env_var,
                )
        _http.check(response, connector=self.name, env_var=self.env_var)
        return _http.json_body(response, connector=self.name) if response.content else {}

    def _send(self, method: str, path: str, token: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"}
        return _http.send(
            self.http,
            method,
            path,
            connector=self.name,
            env_var=self.env_var,
            passthrough=frozenset({401}),
            headers=headers,
            **kwargs,
        )

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
