"""RSS and Atom feeds (Google Alerts above all): articles and posts that name the brand.

Endpoint: ``GET <feed url>`` for each configured feed, with ``If-None-Match`` /
``If-Modified-Since`` from the last response (a ``304 Not Modified`` means nothing new and
costs the publisher nothing). Parsed with feedparser from the bytes httpx fetched (feedparser
never touches the network here). Read-only; no secrets.

Cursor (JSON, per feed)::

    {"etag": "\"abc\"", "modified": "Wed, 10 Jul 2019 11:53:37 GMT", "seen": ["9f2c…", …]}

Feeds have no since-id, so ``seen`` keeps the keys of recent entries (every entry of the last
response plus older ones, at most ``MAX_SEEN``): an entry is new when its key is not there.
The key is the entry's link (Google's redirect unwrapped, so one article found by two alerts
is one mention), else its id. The cursor is stored with the entries it covers, so a crash
before the commit re-reads the feed rather than skipping it.

An entry's text is its title and summary with HTML stripped; its author is the entry's
author, else the domain of the article (the publisher). Rate limits: none published; a 429
becomes ``RateLimited`` (reset from ``Retry-After``) and the runner decides when to retry.
"""

from __future__ import annotations

import calendar
import hashlib
import io
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from connectors import _http
from connectors._text import html_to_text, one_line
from social_watch.connector import SEARCH, Connector, PollResult, Skipped, Source
from social_watch.errors import ConfigError, ConnectorError
from social_watch.models import Author, Mention

MAX_SEEN = 2000
MAX_TEXT = 4000
ACCEPT = (
    "application/atom+xml, application/rss+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1"
)
FEED_KIND = "feed"


def unwrap_google(url: str) -> str:
    """'https://www.google.com/url?…&url=<real>&…' → '<real>'; any other URL unchanged."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.path == "/url" and (
        host == "google.com" or host.startswith(("www.google.", "google."))
    ):
        query = parse_qs(parts.query)
        for name in ("url", "q"):
            target = (query.get(name) or [""])[0]
            if target.startswith(("http://", "https://")):
                return target
    return url


def _domain(url: str | None) -> str | None:
    host = (urlsplit(url).hostname or "") if url else ""
    host = host.lower()
    return (host[4:] if host.startswith("www.") else host) or None


def entry_link(entry: Mapping[str, Any]) -> str | None:
    """The article's real address: FeedBurner's origLink, else the link, Google unwrapped."""
    for name in ("feedburner_origlink", "link"):
        link = entry.get(name)
        if isinstance(link, str) and link.strip():
            return unwrap_google(link.strip())
    return None


def entry_key(entry: Mapping[str, Any]) -> str | None:
    """What makes an entry the same entry: its real link, else its id."""
    link = entry_link(entry)
    if link:
        return link
    ident = entry.get("id")
    if isinstance(ident, str) and ident.strip():
        return ident.strip()
    return None


def _native_id(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]


def _text_of(detail: Any, value: Any) -> str:
    """HTML stripped only when the feed said the field is HTML."""
    if not isinstance(value, str):
        return ""
    kind = (detail or {}).get("type", "text/html") if isinstance(detail, Mapping) else "text/html"
    if kind == "text/plain":
        return " ".join(value.split())
    return html_to_text(value)


class RssConnector(Connector):
    name = "rss"
    network = "rss"
    capabilities = frozenset({SEARCH})
    options: ClassVar[dict[str, str]] = {
        "feeds": "feed URLs (Google Alerts 'deliver to RSS feed', any RSS or Atom feed)",
        "base_url": "optional: relative feed paths are resolved against it",
    }

    @classmethod
    def validate_options(cls, options: Mapping[str, Any], key: str) -> None:
        super().validate_options(options, key)
        feeds = options.get("feeds", [])
        if not isinstance(feeds, list) or not feeds:
            raise ConfigError(
                'give at least one feed: feeds = ["https://www.google.com/alerts/feeds/…"]',
                key=f"{key}.feeds",
            )
        base = options.get("base_url")
        if base is not None and (
            not isinstance(base, str) or not base.startswith(("http://", "https://"))
        ):
            raise ConfigError("expected an http(s) URL", key=f"{key}.base_url")
        for i, feed in enumerate(feeds):
            if not isinstance(feed, str) or not feed.strip():
                raise ConfigError("expected a feed URL", key=f"{key}.feeds[{i}]")
            if not feed.startswith(("http://", "https://")) and base is None:
                raise ConfigError(
                    "expected an http(s) URL (or set base_url for relative paths)",
                    key=f"{key}.feeds[{i}]",
                )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client: httpx.Client | None = None

    @property
    def http(self) -> httpx.Client:
        if self._client is None:
            self._client = _http.client("", headers={"Accept": ACCEPT})
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _url(self, feed: str) -> str:
        base = self.opts.get("base_url")
        return urljoin(base.rstrip("/") + "/", feed) if base else feed

    def sources(self) -> list[Source]:
        return [Source(self.name, FEED_KIND, self._url(f)) for f in self.opts.get("feeds", [])]

    def check(self) -> str:
        titles = []
        for source in self.sources():
            parsed = self._parse(self._get(source.query or "", {}))
            titles.append(parsed.feed.get("title") or _domain(source.query) or "?")
        return f"{len(titles)} feed(s) readable: {', '.join(titles)}"

    def _get(self, url: str, headers: Mapping[str, str]) -> httpx.Response:
        return _http.send(self.http, "GET", url, connector=self.name, headers=dict(headers))

    def _parse(self, response: httpx.Response) -> Any:
        import feedparser  # imported when used, like every network library

        headers = {k.lower(): v for k, v in response.headers.items()}
        parsed = feedparser.parse(io.BytesIO(response.content), response_headers=headers)
        if not parsed.get("version") and not parsed.entries:
            path = urlsplit(str(response.request.url)).path
            raise ConnectorError(f"{self.name}: GET {path}: not an RSS or Atom feed")
        return parsed

    def poll(self, source: Source, cursor: Any) -> PollResult:
        cur = dict(cursor or {})
        headers: dict[str, str] = {}
        if cur.get("etag"):
            headers["If-None-Match"] = str(cur["etag"])
        if cur.get("modified"):
            headers["If-Modified-Since"] = str(cur["modified"])
        response = self._get(source.query or "", headers)
        if response.status_code == 304:
            return PollResult([], cur)
        parsed = self._parse(response)
        seen = list(cur.get("seen", []))
        known = set(seen)
        feed_domain = _domain(parsed.feed.get("link")) or _domain(source.query)
        lang = parsed.feed.get("language")
        mentions: list[Mention] = []
        skipped: list[Skipped] = []
        current: list[str] = []
        for entry in parsed.entries:
            key = entry_key(entry)
            if key is None:
                skipped.append(Skipped(entry.get("title"), "entry has neither link nor id"))
                continue
            native = _native_id(key)
            if native in current:
                continue
            current.append(native)
            if native in known:
                continue
            try:
                mentions.append(self._mention(entry, key, native, feed_domain, lang))
            except (KeyError, TypeError, ValueError) as exc:
                skipped.append(Skipped(key, f"malformed entry: {exc}"))
        keep = max(MAX_SEEN, len(current))
        after = {
            "etag": response.headers.get("etag"),
            "modified": response.headers.get("last-modified"),
            "seen": (current + [s for s in seen if s not in set(current)])[:keep],
        }
        return PollResult(mentions, after, skipped)

    def _mention(
        self,
        entry: Mapping[str, Any],
        key: str,
        native: str,
        feed_domain: str | None,
        lang: Any,
    ) -> Mention:
        title = " ".join(_text_of(entry.get("title_detail"), entry.get("title")).split())
        summary = _text_of(entry.get("summary_detail"), entry.get("summary"))
        if not summary and entry.get("content"):
            first = entry["content"][0]
            summary = _text_of(first, first.get("value"))
        if summary == title:
            summary = ""
        text = "\n\n".join(p for p in (title, summary) if p)[:MAX_TEXT]
        if not text:
            raise ValueError("no title and no summary")
        url = entry_link(entry)
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        created = datetime.fromtimestamp(calendar.timegm(stamp), UTC) if stamp else self.clock()
        author = one_line(entry.get("author") if isinstance(entry.get("author"), str) else "")
        handle = author or _domain(url) or feed_domain or "unknown"
        language = lang.split("-")[0].lower() if isinstance(lang, str) and lang else None
        return Mention(
            network=self.network,
            native_id=native,
            text=text,
            created_at=created,
            author=Author(handle=handle, name=author or None),
            url=url,
            lang=language,
            raw={
                "key": key,
                "id": entry.get("id"),
                "link": entry.get("link"),
                "title": entry.get("title"),
                "published": entry.get("published") or entry.get("updated"),
            },
        )
