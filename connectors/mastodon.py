"""Mastodon through its REST API with httpx: the brand's mentions, keyword searches, hashtags.

Endpoints (all with ``Authorization: Bearer <token>``):

- ``GET /api/v1/notifications?types[]=mention`` — the account's mention notifications;
- ``GET /api/v2/search?type=statuses&q=…`` — one source per query. Servers without full-text
  search (no Elasticsearch/OpenSearch) return no statuses for keywords; the connector logs
  that once per server and keeps polling;
- ``GET /api/v1/timelines/tag/:tag`` — one source per hashtag;
- ``GET /api/v1/accounts/verify_credentials`` — ``check()`` and the brand's own account id;
- ``POST /api/v1/statuses`` with ``in_reply_to_id`` and ``Idempotency-Key: <outbox key>``
  (the server remembers the key for an hour and answers a repeat with the same status);
- ``GET /api/v1/statuses/:id/context`` — ``find_reply`` (the brand's reply among the
  descendants) and the root of a reply chain (``conversation_id``).

Cursor (JSON, per source). Reading forward, after the first poll::

    {"min_id": "117020593741189701"}

``min_id`` asks for the page *immediately newer* than it (Mastodon's documented meaning), so
each page is committed with the newest id it contained and the next page starts there: a
burst larger than a page is read to the end, a crash or the runner's page limit resumes it,
nothing is skipped. The ``Link`` header's ``rel="prev"`` URL carries the same ``min_id`` and
is preferred when present. The first poll walks back from the newest item instead (``max_id``
from ``rel="next"``) until it reaches ``lookback`` (default 24h), with a progress marker::

    {"since": "2026-11-23T10:00:00+00:00", "top": "1170…", "max_id": "1170…"}

and then continues forward from ``top``. Notification ids (not status ids) page the mentions.

Rate limits: 300 requests per 5 minutes per account on reads, posting in its own longer
window. A 429 becomes ``RateLimited`` at ``X-RateLimit-Reset`` (ISO 8601); the runner decides
when to come back. The token is only ever sent in the ``Authorization`` header and never
appears in an error or log line (errors name method + path + status only).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import httpx

from connectors import _http
from connectors._text import html_to_text
from social_watch.clock import iso, parse_iso
from social_watch.config import parse_duration
from social_watch.connector import (
    MENTIONS,
    REPLY,
    SEARCH,
    Connector,
    LengthRule,
    PollResult,
    PostedReply,
    Skipped,
    Source,
)
from social_watch.errors import ConfigError, ConnectorError, RateLimited
from social_watch.models import Author, Mention

log = logging.getLogger("social_watch.connectors.mastodon")

TOKEN_ENV = "SOCIAL_WATCH_MASTODON_TOKEN"
HASHTAG = "hashtag"
PAGE_SIZE = 40  # the largest page search and tag timelines allow (notifications allow 80)
VISIBILITIES = ("public", "unlisted")
_warned_no_fulltext: set[str] = set()  # servers already reported (log once per process)


class MastodonConnector(Connector):
    name = "mastodon"
    network = "mastodon"
    capabilities = frozenset({MENTIONS, SEARCH, REPLY})
    secrets: ClassVar[dict[str, str]] = {"access_token_env": TOKEN_ENV}
    options: ClassVar[dict[str, str]] = {
        "base_url": "the instance, e.g. https://mastodon.social (required)",
        "queries": "keyword searches (/api/v2/search, needs full-text search on the server)",
        "hashtags": "hashtag timelines to watch, without '#'",
        "mentions": "the account's mention notifications (default true)",
        "visibility": "visibility of replies: public or unlisted (default public)",
        "page_size": f"items per request, 1-{PAGE_SIZE} (default {PAGE_SIZE})",
        "lookback": "how far back the first poll reads (default 24h)",
        "domain": "the accounts' domain when it differs from base_url's host",
        "resolve_threads": "look up the root of reply chains for grouping (default true)",
    }
    reply_rule = LengthRule(500, "url23")
    idempotent_replies = True  # Idempotency-Key, remembered by the server for an hour

    @classmethod
    def validate_options(cls, options: Mapping[str, Any], key: str) -> None:
        super().validate_options(options, key)
        base = options.get("base_url")
        if not isinstance(base, str) or not base.startswith(("http://", "https://")):
            raise ConfigError(
                'set the instance: base_url = "https://mastodon.social"', key=f"{key}.base_url"
            )
        for name in ("queries", "hashtags"):
            values = options.get(name, [])
            if not isinstance(values, list):
                raise ConfigError("expected a list of strings", key=f"{key}.{name}")
            for i, v in enumerate(values):
                if not isinstance(v, str) or not v.strip().lstrip("#"):
                    raise ConfigError("expected a non-empty string", key=f"{key}.{name}[{i}]")
        for name in ("mentions", "resolve_threads"):
            if not isinstance(options.get(name, True), bool):
                raise ConfigError("expected true or false", key=f"{key}.{name}")
        if options.get("visibility", "public") not in VISIBILITIES:
            raise ConfigError(f"expected one of {', '.join(VISIBILITIES)}", key=f"{key}.visibility")
        size = options.get("page_size", PAGE_SIZE)
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= PAGE_SIZE:
            raise ConfigError(
                f"expected a whole number from 1 to {PAGE_SIZE}", key=f"{key}.page_size"
            )
        try:
            parse_duration(options.get("lookback", "24h"))
        except ValueError as exc:
            raise ConfigError(str(exc), key=f"{key}.lookback") from None
        if not (options.get("queries") or options.get("hashtags") or options.get("mentions", True)):
            raise ConfigError("nothing to watch: set queries, hashtags or mentions = true", key=key)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client: httpx.Client | None = None
        self._me: dict[str, Any] | None = None
        self._roots: dict[str, str] = {}  # status id -> root of its reply chain
        self._resolve = bool(self.opts.get("resolve_threads", True))

    # --- plumbing ---
    @property
    def base_url(self) -> str:
        return str(self.opts.get("base_url", "")).rstrip("/")

    @property
    def domain(self) -> str:
        return str(self.opts.get("domain") or urlsplit(self.base_url).hostname or "").lower()

    @property
    def env_var(self) -> str:
        return str(self.opts.get("access_token_env") or TOKEN_ENV)

    @property
    def page_size(self) -> int:
        return int(self.opts.get("page_size", PAGE_SIZE))

    @property
    def http(self) -> httpx.Client:
        if self._client is None:
            token = self.secret("access_token_env")  # AuthError names the variable
            self._client = _http.client(self.base_url, headers={"Authorization": f"Bearer {token}"})
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return _http.send(
            self.http, method, path, connector=self.name, env_var=self.env_var, **kwargs
        )

    def _json(self, response: httpx.Response) -> Any:
        return _http.json_body(response, connector=self.name)

    # --- contract ---
    def sources(self) -> list[Source]:
        out = []
        if self.opts.get("mentions", True):
            out.append(Source(self.name, MENTIONS))
        out += [Source(self.name, SEARCH, q) for q in self.opts.get("queries", [])]
        out += [
            Source(self.name, HASHTAG, t.strip().lstrip("#")) for t in self.opts.get("hashtags", [])
        ]
        return out

    def check(self) -> str:
        me = self._account()
        return f"authenticated as @{self._handle(me)} on {self.domain}"

    def _account(self) -> dict[str, Any]:
        if self._me is None:
            body = self._json(self._send("GET", "/api/v1/accounts/verify_credentials"))
            if not isinstance(body, dict) or "id" not in body:
                raise ConnectorError(f"{self.name}: verify_credentials returned no account")
            self._me = body
        return self._me

    def _request(self, source: Source) -> tuple[str, dict[str, Any]]:
        params: dict[str, Any] = {"limit": self.page_size}
        if source.kind == MENTIONS:
            return "/api/v1/notifications", {**params, "types[]": ["mention"]}
        if source.kind == SEARCH:
            return "/api/v2/search", {
                **params,
                "q": source.query or "",
                "type": "statuses",
                "resolve": "false",
            }
        if source.kind == HASHTAG:
            return f"/api/v1/timelines/tag/{source.query}", params
        raise ConfigError(f"unknown source kind {source.kind!r}", key=f"connectors.{self.name}")

    def poll(self, source: Source, cursor: Any) -> PollResult:
        cur = dict(cursor or {})
        path, params = self._request(source)
        forward = "min_id" in cur
        if forward:
            params["min_id"] = str(cur["min_id"])
        elif "max_id" in cur:
            params["max_id"] = str(cur["max_id"])
        response = self._send("GET", path, params=params)
        body = self._json(response)
        entries = body.get("statuses") if source.kind == SEARCH and isinstance(body, dict) else body
        if not isinstance(entries, list):
            raise ConnectorError(f"{self.name}: GET {path}: unexpected response shape")
        if source.kind == SEARCH and not entries and not forward:
            self._warn_no_fulltext(source)

        mentions: list[Mention] = []
        skipped: list[Skipped] = []
        ids: list[int] = []  # paging ids of every entry (notification ids for mentions)
        since = parse_iso(cur["since"]) if "since" in cur else self.clock() - self._lookback()
        older = False  # the walk back reached the lookback window's start
        for entry in entries:
            page_id = _int_id(entry.get("id") if isinstance(entry, dict) else None)
            if page_id is not None:
                ids.append(page_id)
            try:
                status = entry["status"] if source.kind == MENTIONS else entry
                if status is None:
                    raise ValueError("the status was deleted")
                mention = self._mention(status)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                item = str(entry.get("id")) if isinstance(entry, dict) else None
                skipped.append(Skipped(item, f"malformed status: {exc}"))
                continue
            if not forward and mention.created_at < since:
                older = True
                continue
            mentions.append(mention)

        full = len(entries) >= self.page_size
        if forward:
            newest = _link_id(response, "prev", "min_id") or max(ids, default=None)
            floor = max(_int_id(cur["min_id"]) or 0, newest or 0)
            return PollResult(mentions, {"min_id": str(floor)}, skipped, more=full and bool(ids))
        top = _int_id(cur.get("top")) or max(ids, default=None)
        if older or not full or not ids:
            after: dict[str, Any] = {"min_id": str(top)} if top else {"since": iso(since)}
            return PollResult(mentions, after, skipped)
        oldest = _link_id(response, "next", "max_id") or min(ids)
        after = {"since": iso(since), "top": str(top), "max_id": str(oldest)}
        return PollResult(mentions, after, skipped, more=True)

    def _lookback(self) -> timedelta:
        return parse_duration(self.opts.get("lookback", "24h"))

    def _warn_no_fulltext(self, source: Source) -> None:
        if self.base_url in _warned_no_fulltext:
            return
        _warned_no_fulltext.add(self.base_url)
        log.warning(
            "%s: searching %s for %r found no statuses; servers without full-text search "
            "return nothing for keywords (watch hashtags or mentions there instead)",
            self.name,
            self.domain,
            source.query,
        )

    # --- mapping ---
    def _handle(self, account: Mapping[str, Any]) -> str:
        """``acct`` with the instance added for local accounts: 'shopexample@mastodon.social'."""
        acct = str(account["acct"]).strip().lstrip("@")
        if not acct:
            raise ValueError("account without acct")
        return acct if "@" in acct else f"{acct}@{self.domain}"

    def _mention(self, status: Mapping[str, Any]) -> Mention:
        """One status as a Mention; KeyError/TypeError/ValueError mark it malformed."""
        sid = str(status["id"])
        if _int_id(sid) is None:
            raise ValueError(f"bad status id {sid!r}")
        account = status["account"]
        created = parse_iso(str(status["created_at"]))
        text = html_to_text(status.get("content"))
        spoiler = (status.get("spoiler_text") or "").strip()
        if spoiler:
            text = f"{spoiler}\n\n{text}" if text else spoiler
        followers = account.get("followers_count")
        return Mention(
            network=self.network,
            native_id=sid,
            text=text,
            created_at=created,
            author=Author(
                self._handle(account),
                account.get("display_name") or None,
                followers if isinstance(followers, int) else None,
            ),
            url=status.get("url") or status.get("uri"),
            lang=status.get("language") or None,
            conversation_id=self._conversation(status),
            in_reply_to=str(status["in_reply_to_id"]) if status.get("in_reply_to_id") else None,
            is_repost=status.get("reblog") is not None,
            raw=dict(status),
        )

    def _conversation(self, status: Mapping[str, Any]) -> str:
        """``conversation_id`` when the server sends one, else the root of the reply chain."""
        own = str(status["id"])
        explicit = status.get("conversation_id") or (status.get("pleroma") or {}).get(
            "conversation_id"
        )
        if explicit:
            return str(explicit)
        parent = status.get("in_reply_to_id")
        if not parent:
            return own
        parent = str(parent)
        if parent in self._roots:
            return self._roots[parent]
        root = parent
        if self._resolve:
            try:
                context = self._json(self._send("GET", f"/api/v1/statuses/{own}/context"))
                ancestors = context.get("ancestors") or []
                if ancestors and isinstance(ancestors[0], dict) and ancestors[0].get("id"):
                    root = str(ancestors[0]["id"])
            except RateLimited:
                self._resolve = False  # do not spend the window on grouping
            except ConnectorError as exc:
                log.info("%s: reply chain of %s not resolved: %s", self.name, own, exc)
        self._roots[parent] = root
        return root

    # --- replies ---
    def reply(self, mention: Mention, text: str, key: str) -> PostedReply:
        """``POST /api/v1/statuses``; the author is @-mentioned first if the text does not."""
        acct = str(((mention.raw or {}).get("account") or {}).get("acct") or mention.author.handle)
        local, _, dom = acct.lstrip("@").partition("@")
        named = rf"(?<![\w@])@{re.escape(local)}(?:@{re.escape(dom or self.domain)})?(?![\w@])"
        status = text if re.search(named, text, re.IGNORECASE) else f"@{acct.lstrip('@')} {text}"
        body = {
            "status": status,
            "in_reply_to_id": mention.native_id,
            "visibility": self.opts.get("visibility", "public"),
        }
        response = self._send(
            "POST", "/api/v1/statuses", json=body, headers={"Idempotency-Key": key}
        )
        posted = self._json(response)
        if not isinstance(posted, dict) or not posted.get("id"):
            raise ConnectorError(f"{self.name}: POST /api/v1/statuses returned no status id")
        return PostedReply(str(posted["id"]), posted.get("url") or posted.get("uri"))

    def find_reply(self, mention: Mention, key: str) -> PostedReply | None:
        """The brand's reply to ``mention`` among its context's descendants, if any."""
        me = str(self._account()["id"])
        context = self._json(self._send("GET", f"/api/v1/statuses/{mention.native_id}/context"))
        for status in context.get("descendants") or []:
            if not isinstance(status, dict):
                continue
            author = str((status.get("account") or {}).get("id"))
            if author == me and str(status.get("in_reply_to_id")) == mention.native_id:
                return PostedReply(str(status["id"]), status.get("url") or status.get("uri"))
        return None


def _int_id(value: Any) -> int | None:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def _link_id(response: httpx.Response, rel: str, param: str) -> int | None:
    """The ``min_id``/``max_id`` in the response's ``Link`` header for ``rel``, if any."""
    url = (response.links.get(rel) or {}).get("url")
    if not url:
        return None
    values = parse_qs(urlsplit(url).query).get(param)
    return _int_id(values[0]) if values else None
