"""YouTube comments on the brand's channel, and videos naming its keywords (Data API v3).

Endpoints (``https://www.googleapis.com/youtube/v3``):

- ``GET /commentThreads?part=snippet,replies&allThreadsRelatedToChannelId=…&order=time``
  — every comment thread on the channel's videos, newest first, with up to five replies
  each; ``pageToken``/``nextPageToken`` pages. 1 quota unit a call. Read with an API key
  (``api_key_env``; Google takes it only as the ``key`` query parameter, so errors and logs
  name the path, never the URL);
- ``GET /search?part=snippet&type=video&order=date&q=…&publishedAfter=…`` — one source per
  query (``queries``). **100 quota units a call** out of the default 10,000 a day: with a
  5-minute interval one query alone spends 28,800 a day, so ``check`` says what the
  configured queries cost and the example config polls search hourly;
- ``POST /comments?part=snippet`` with ``{"snippet": {"parentId", "textOriginal"}}`` — a
  reply (50 units) with an OAuth token (``oauth_token_env``); ``find_reply`` reads
  ``GET /comments?parentId=…`` for the channel's own.

- ``GET /commentThreads?part=snippet,replies&videoId=…&order=time`` — one source per video
  in ``videos`` (a review of the shop's goods on someone else's channel).

Errors, as the Data API's error reference shapes them (``error.errors[].reason``, and in
today's responses ``error.details[].reason``), whatever the status line says (an ``error``
object inside a 200 is an error too): quota exhaustion (``quotaExceeded`` /
``dailyLimitExceeded``) is a rate limit until the quota resets at midnight Pacific time;
``rateLimitExceeded`` and 429 wait a minute; ``keyInvalid`` / ``API_KEY_INVALID`` is an auth
error naming ``api_key_env``; ``commentsDisabled`` on a video is logged once and the video
skipped (the poll goes on), not an error.
Cursor: ``{"since": ISO}`` (newest comment time); ``{"since", "top", "page": token}``
while a burst is read.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import httpx

from connectors import _http
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
from social_watch.errors import (
    AuthError,
    ConfigError,
    ConnectorError,
    RateLimited,
    Rejected,
    TransientError,
    UsageError,
)
from social_watch.models import Author, Mention

log = logging.getLogger("social_watch.connectors.youtube")

KEY_ENV = "SOCIAL_WATCH_YOUTUBE_API_KEY"
API_URL = "https://www.googleapis.com/youtube/v3"
COMMENTS = "comments"
VIDEO = "video"
PACIFIC = ZoneInfo("America/Los_Angeles")
SEARCH_COST = 100
DAILY_QUOTA = 10_000
QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
SHORT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
KEY_REASONS = frozenset({"keyInvalid", "keyExpired", "API_KEY_INVALID", "API_KEY_EXPIRED"})
DISABLED = "commentsDisabled"


class CommentsDisabled(ConnectorError):
    """403 ``commentsDisabled``: the video takes no comments, so there is nothing to read."""


def next_quota_reset(now: datetime) -> datetime:
    """Midnight Pacific time after ``now`` (when YouTube's daily quota resets), in UTC."""
    local = now.astimezone(PACIFIC)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=PACIFIC)
    return midnight.astimezone(now.tzinfo)


class YouTubeConnector(Connector):
    name = "youtube"
    network = "youtube"
    capabilities = frozenset({MENTIONS, SEARCH, REPLY})
    secrets: ClassVar[dict[str, str]] = {"api_key_env": KEY_ENV}
    options: ClassVar[dict[str, str]] = {
        "channel_id": "the brand's channel id, UC… (required)",
        "queries": f"video searches naming the brand ({SEARCH_COST} quota units each call)",
        "videos": "ids of videos (any channel) whose comment threads are read too",
        "oauth_token_env": "environment variable with an OAuth token (youtube.force-ssl) to reply",
        "base_url": f"the API root (default {API_URL})",
        "page_size": "threads per request, 1-100 (default 50)",
        "lookback": "how far back the first poll reads (default 24h)",
    }
    reply_rule = LengthRule(10_000, "chars")
    rate_limit = (
        f"daily quota ({DAILY_QUOTA:,} units by default): commentThreads 1, search "
        f"{SEARCH_COST}, reply 50; quotaExceeded waits until midnight Pacific"
    )

    @classmethod
    def validate_options(cls, options: Mapping[str, Any], key: str) -> None:
        super().validate_options(options, key)
        channel = options.get("channel_id")
        if not isinstance(channel, str) or not channel.startswith("UC"):
            raise ConfigError('set channel_id = "UC…"', key=f"{key}.channel_id")
        for name in ("queries", "videos"):
            values = options.get(name, [])
            if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
                raise ConfigError("expected a list of non-empty strings", key=f"{key}.{name}")
        size = options.get("page_size", 50)
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 100:
            raise ConfigError("expected a whole number from 1 to 100", key=f"{key}.page_size")
        try:
            parse_duration(options.get("lookback", "24h"))
        except ValueError as exc:
            raise ConfigError(str(exc), key=f"{key}.lookback") from None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client: httpx.Client | None = None

    @property
    def channel(self) -> str:
        return str(self.opts["channel_id"])

    @property
    def env_var(self) -> str:
        return str(self.opts.get("api_key_env") or KEY_ENV)

    @property
    def http(self) -> httpx.Client:
        if self._client is None:
            base = str(self.opts.get("base_url") or API_URL).rstrip("/")
            self._client = _http.client(base)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _call(
        self,
        method: str,
        path: str,
        *,
        env_var: str,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        """One call; Google's error reasons mapped (quota → RateLimited until reset)."""
        now = self.clock()
        try:
            response = self.http.request(method, path.lstrip("/"), headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise ConnectorError(
                f"{self.name}: {method} {path} failed: {type(exc).__name__}"
            ) from None
        body: Any = None
        if response.content:
            try:
                body = response.json()
            except ValueError:
                body = None
                if response.status_code < 400:
                    raise ConnectorError(
                        f"{self.name}: {_http.where(response.request)}: response is not JSON"
                    ) from None
        status = response.status_code
        error = body.get("error") if isinstance(body, dict) else None
        if status < 400 and isinstance(error, dict):
            # an error object under a 200 status line: the object is the truth
            code = error.get("code")
            status = code if isinstance(code, int) and 400 <= code <= 599 else 400
        if status >= 400:
            self._raise(response, status, error, env_var, now)
        if body is not None and not isinstance(body, dict):
            raise ConnectorError(
                f"{self.name}: {_http.where(response.request)}: response is not a JSON object"
            )
        return body or {}

    def _raise(
        self,
        response: httpx.Response,
        status: int,
        error: Any,
        env_var: str,
        now: datetime,
    ) -> None:
        """The core's error for one Data API error (``errors``/``details`` reasons)."""
        reasons = _reasons(error)
        at = f"{self.name}: {_http.where(response.request)} → {status}"
        if DISABLED in reasons:
            raise CommentsDisabled(f"{at} (commentsDisabled)")
        if reasons & QUOTA_REASONS:
            reset = next_quota_reset(now)
            raise RateLimited(
                f"{at} (quotaExceeded); the daily quota resets at midnight Pacific "
                f"({reset:%Y-%m-%d %H:%M} UTC)",
                reset_at=reset,
            )
        if reasons & SHORT_REASONS or status == 429:
            reset = _http.parse_reset(response.headers, now) or now + timedelta(minutes=1)
            raise RateLimited(f"{at} (rate limited)", reset_at=reset)
        if reasons & KEY_REASONS:
            raise AuthError(f"{self.name}: the API key in {env_var} is invalid", env_var=env_var)
        why = ", ".join(sorted(reasons))
        if status in (401, 403):
            raise AuthError(f"{at} ({why or 'forbidden'}); check {env_var}", env_var=env_var)
        if status >= 500 or status == 408:
            raise TransientError(at + (f" ({why})" if why else ""))
        raise Rejected(at + (f" ({why})" if why else ""))

    def _read(self, path: str, params: dict[str, Any]) -> Any:
        key = self.secret("api_key_env")
        return self._call("GET", path, env_var=self.env_var, params={**params, "key": key})

    def sources(self) -> list[Source]:
        return (
            [Source(self.name, COMMENTS)]
            + [Source(self.name, VIDEO, v) for v in self.opts.get("videos", [])]
            + [Source(self.name, SEARCH, q) for q in self.opts.get("queries", [])]
        )

    def check(self) -> str:
        body = self._read("/channels", {"part": "snippet", "id": self.channel})
        items = body.get("items") or []
        if not items:
            raise ConnectorError(f"{self.name}: channel_id {self.channel} not found")
        title = items[0].get("snippet", {}).get("title") or self.channel
        line = f"YouTube {title} ({self.channel})"
        queries = len(self.opts.get("queries", []))
        if queries:
            line += (
                f"; {queries} search quer{'y' if queries == 1 else 'ies'} cost {SEARCH_COST} "
                f"quota units per poll each ({queries * SEARCH_COST * 24:,} a day hourly, of "
                f"{DAILY_QUOTA:,})"
            )
        return line

    def poll(self, source: Source, cursor: Any) -> PollResult:
        cur = dict(cursor or {})
        now = self.clock()
        since = (
            parse_iso(cur["since"])
            if cur.get("since")
            else now - parse_duration(self.opts.get("lookback", "24h"))
        )
        top = parse_iso(cur["top"]) if cur.get("top") else None
        size = int(self.opts.get("page_size", 50))
        if source.kind in (COMMENTS, VIDEO):
            path = "/commentThreads"
            params: dict[str, Any] = {
                "part": "snippet,replies",
                "order": "time",
                "maxResults": size,
                "textFormat": "plainText",
            }
            if source.kind == VIDEO:
                params["videoId"] = source.query
            else:
                params["allThreadsRelatedToChannelId"] = self.channel
        else:
            path = "/search"
            params = {
                "part": "snippet",
                "type": "video",
                "order": "date",
                "q": source.query,
                "publishedAfter": iso(since),
                "maxResults": min(size, 50),
            }
        if cur.get("page"):
            params["pageToken"] = cur["page"]
        try:
            body = self._read(path, params)
        except CommentsDisabled:
            what = f"video {source.query}" if source.kind == VIDEO else f"channel {self.channel}"
            if not cur.get("disabled"):  # said once, when it happens, not every poll
                log.info("%s: %s has comments disabled; skipped until they are on", self.name, what)
            return PollResult([], {"since": iso(since), "disabled": True})
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise ConnectorError(f"{self.name}: GET {path}: response has no items")
        found: list[Mention] = []
        skipped: list[Skipped] = []
        reached_old = False
        for item in items:
            iid = str(item.get("id")) if isinstance(item, dict) else None
            try:
                got = self._thread(item) if source.kind != SEARCH else [self._video(item, source)]
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                skipped.append(Skipped(iid, f"malformed item: {exc}"))
                continue
            if got[0].created_at < since:
                reached_old = True
            for m in got:
                if m.created_at >= since:
                    top = m.created_at if top is None or m.created_at > top else top
                    found.append(m)
        token = body.get("nextPageToken")
        if token and not reached_old:
            after: dict[str, Any] = {"since": iso(since), "page": str(token)}
            if top is not None:
                after["top"] = iso(top)
            return PollResult(found, after, skipped, more=True)
        return PollResult(found, {"since": iso(top or since)}, skipped)

    def _comment(self, c: Mapping[str, Any], video: str | None) -> Mention:
        cid = str(c["id"])
        s = c["snippet"]
        parent = s.get("parentId")
        handle = str(s.get("authorDisplayName") or "").strip()
        if not handle:
            raise ValueError("comment without an author")
        video = video or s.get("videoId")
        return Mention(
            network=self.network,
            native_id=cid,
            text=str(s.get("textOriginal") or s.get("textDisplay") or "").strip(),
            created_at=parse_iso(str(s["publishedAt"])),
            author=Author(handle),
            url=f"https://www.youtube.com/watch?v={video}&lc={cid}" if video else None,
            conversation_id=str(parent) if parent else cid,
            in_reply_to=str(parent) if parent else None,
            raw=dict(c),
        )

    def _thread(self, t: Mapping[str, Any]) -> list[Mention]:
        video = t["snippet"].get("videoId")
        out = [self._comment(t["snippet"]["topLevelComment"], video)]
        for reply in (t.get("replies") or {}).get("comments") or []:
            out.append(self._comment(reply, video))
        return out

    def _video(self, v: Mapping[str, Any], source: Source) -> Mention:
        vid = str(v["id"]["videoId"])
        s = v["snippet"]
        text = "\n".join(p for p in (s.get("title"), s.get("description")) if p)
        return Mention(
            network=self.network,
            native_id=vid,
            text=text.strip(),
            created_at=parse_iso(str(s["publishedAt"])),
            author=Author(str(s.get("channelTitle") or s["channelId"])),
            url=f"https://www.youtube.com/watch?v={vid}",
            conversation_id=vid,
            raw=dict(v),
        )

    # --- replies ---
    def _oauth(self) -> tuple[str, dict[str, str]]:
        if not self.opts.get("oauth_token_env"):
            raise UsageError(
                "youtube: replies need an OAuth token: set oauth_token_env in "
                "[connectors.youtube], or use `to-email`"
            )
        return str(self.opts["oauth_token_env"]), {
            "Authorization": f"Bearer {self.secret('oauth_token_env')}"
        }

    def reply(self, mention: Mention, text: str, key: str) -> PostedReply:
        """``comments.insert`` with ``parentId``: under the thread's top-level comment."""
        var, headers = self._oauth()
        parent = mention.in_reply_to or mention.native_id
        body = {"snippet": {"parentId": parent, "textOriginal": text}}
        posted = self._call(
            "POST",
            "/comments",
            env_var=var,
            headers=headers,
            params={"part": "snippet"},
            json=body,
        )
        if not isinstance(posted, dict) or not posted.get("id"):
            raise ConnectorError(f"{self.name}: POST /comments returned no comment id")
        return PostedReply(str(posted["id"]), mention.url)

    def find_reply(self, mention: Mention, key: str) -> PostedReply | None:
        """The channel's own reply among the thread's replies (``comments.list``)."""
        parent = mention.in_reply_to or mention.native_id
        body = self._read("/comments", {"part": "snippet", "parentId": parent, "maxResults": 100})
        for c in body.get("items") or []:
            s = c.get("snippet") or {}
            if (s.get("authorChannelId") or {}).get("value") == self.channel:
                return PostedReply(str(c["id"]), mention.url)
        return None


def _reasons(error: Any) -> set[str]:
    """Reasons of a Google error object: ``errors[].reason`` (``keyInvalid``,
    ``quotaExceeded``) and ``details[].reason`` (``API_KEY_INVALID``)."""
    if not isinstance(error, dict):
        return set()
    out: set[str] = set()
    for key in ("errors", "details"):
        entries = error.get(key)
        if isinstance(entries, list):
            out |= {str(e["reason"]) for e in entries if isinstance(e, dict) and e.get("reason")}
    return out
