"""Hacker News through the Algolia HN Search API: stories and comments that name the brand.

Endpoint: ``GET {base_url}/api/v1/search_by_date`` with ``query``, ``tags=(story,comment)``,
``hitsPerPage`` and ``numericFilters`` on ``created_at_i`` (newest hits first). No account,
no secrets; read-only (social-watch cannot post on Hacker News; use ``to-email``).

Cursor (JSON, per query)::

    {"since": 1542316234, "seen": ["18463371"],          # newest second fully read + its ids
     "until": 1542316220, "until_seen": ["18463370"],    # progress marker inside a burst
     "top": 1542316234, "top_seen": ["18463371"]}        # newest hit of the burst being read

A poll asks for ``created_at_i>=since`` (the same second again, so hits that arrived later
in that second are not lost; ``seen`` absorbs the overlap). A burst larger than one page is
read backwards in time: the next page asks for ``created_at_i<=until`` (the oldest second read
so far, ids there in ``until_seen``), which is the usual way past Algolia's page cap. Each page
is committed with its cursor; ``since`` moves to the burst's newest second only when the burst
has been read to the end, so a crash or a page limit resumes the burst and never skips it.
On the very first poll, ``since`` is ``lookback`` before now (default 24h), not all of history.

Rate limits: Algolia allows 10,000 requests per hour per IP; a 429 becomes ``RateLimited``
(reset from ``Retry-After`` when sent, else one minute) and the runner decides when to retry.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx

from connectors import _http
from connectors._text import html_to_text, one_line
from social_watch.config import parse_duration
from social_watch.connector import SEARCH, Connector, PollResult, Skipped, Source
from social_watch.errors import ConfigError, ConnectorError
from social_watch.models import Author, Mention

DEFAULT_BASE_URL = "https://hn.algolia.com"
SEARCH_PATH = "/api/v1/search_by_date"
ITEM_URL = "https://news.ycombinator.com/item?id={}"
HITS_PER_PAGE = 100
DEFAULT_LOOKBACK = timedelta(hours=24)


class HackerNewsConnector(Connector):
    name = "hackernews"
    network = "hackernews"
    capabilities = frozenset({SEARCH})
    options: ClassVar[dict[str, str]] = {
        "base_url": f"Algolia HN Search API (default {DEFAULT_BASE_URL})",
        "queries": "keyword searches over stories and comments, newest first",
        "hits_per_page": f"hits per request, 1-1000 (default {HITS_PER_PAGE})",
        "lookback": "how far back the first poll reads (default 24h)",
    }

    @classmethod
    def validate_options(cls, options: Mapping[str, Any], key: str) -> None:
        super().validate_options(options, key)
        queries = options.get("queries", [])
        if not isinstance(queries, list) or not queries:
            raise ConfigError(
                'give at least one query: queries = ["shopexample"]', key=f"{key}.queries"
            )
        for i, q in enumerate(queries):
            if not isinstance(q, str) or not q.strip():
                raise ConfigError("expected a non-empty string", key=f"{key}.queries[{i}]")
        hpp = options.get("hits_per_page", HITS_PER_PAGE)
        if not isinstance(hpp, int) or isinstance(hpp, bool) or not 1 <= hpp <= 1000:
            raise ConfigError("expected a whole number from 1 to 1000", key=f"{key}.hits_per_page")
        try:
            parse_duration(options.get("lookback", "24h"))
        except ValueError as exc:
            raise ConfigError(str(exc), key=f"{key}.lookback") from None
        base = options.get("base_url", DEFAULT_BASE_URL)
        if not isinstance(base, str) or not base.startswith(("http://", "https://")):
            raise ConfigError("expected an http(s) URL", key=f"{key}.base_url")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client: httpx.Client | None = None

    @property
    def http(self) -> httpx.Client:
        if self._client is None:
            self._client = _http.client(str(self.opts.get("base_url", DEFAULT_BASE_URL)))
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    @property
    def hits_per_page(self) -> int:
        return int(self.opts.get("hits_per_page", HITS_PER_PAGE))

    def sources(self) -> list[Source]:
        return [Source(self.name, SEARCH, q) for q in self.opts.get("queries", [])]

    def check(self) -> str:
        query = self.sources()[0].query or ""
        body = self._search({"query": query, "tags": "(story,comment)", "hitsPerPage": 0})
        return f"Algolia HN search reachable ({body.get('nbHits', '?')} hits for {query!r})"

    def _search(self, params: dict[str, Any]) -> dict[str, Any]:
        response = _http.send(self.http, "GET", SEARCH_PATH, connector=self.name, params=params)
        body = _http.json_body(response, connector=self.name)
        if not isinstance(body, dict) or not isinstance(body.get("hits"), list):
            raise ConnectorError(f"{self.name}: GET {SEARCH_PATH}: no hits in the response")
        return body

    def poll(self, source: Source, cursor: Any) -> PollResult:
        cur = dict(cursor or {})
        if "since" not in cur:
            lookback = parse_duration(self.opts.get("lookback", "24h"))
            cur = {"since": int((self.clock() - lookback).timestamp()), "seen": []}
        since, seen = int(cur["since"]), set(cur.get("seen", []))
        until = cur.get("until")
        until_seen = set(cur.get("until_seen", []))
        filters = f"created_at_i>={since}"
        if until is not None:
            filters += f",created_at_i<={int(until)}"
        body = self._search(
            {
                "query": source.query or "",
                "tags": "(story,comment)",
                "numericFilters": filters,
                "hitsPerPage": self.hits_per_page,
            }
        )
        hits = [h for h in body["hits"] if isinstance(h, dict)]
        mentions: list[Mention] = []
        skipped: list[Skipped] = []
        times: list[tuple[int, str]] = []  # (second, id) of every hit on the page
        fresh = 0  # hits no earlier page or poll has read
        for hit in hits:
            item = str(hit.get("objectID") or "") or None
            t = _stamp(hit)
            if t is not None and item is not None:
                times.append((t, item))
                if (t == since and item in seen) or (t == until and item in until_seen):
                    continue
            fresh += 1
            try:
                mentions.append(self._mention(hit))
            except (KeyError, TypeError, ValueError) as exc:
                skipped.append(Skipped(item, f"malformed hit: {exc}"))
        after = self._next(cur, hits, body, times, fresh)
        return PollResult(mentions, after, skipped, more="until" in after)

    def _next(
        self,
        cur: dict[str, Any],
        hits: list[Any],
        body: Mapping[str, Any],
        times: list[tuple[int, str]],
        fresh: int,
    ) -> dict[str, Any]:
        """The cursor after this page; ``until`` in it means the burst is not finished."""
        since, seen, until = int(cur["since"]), set(cur.get("seen", [])), cur.get("until")
        top, top_seen = cur.get("top"), set(cur.get("top_seen", []))
        if until is None and times:  # first page of a burst: its newest second ends it
            top = max(t for t, _ in times)
            top_seen = {i for t, i in times if t == top}

        def finished() -> dict[str, Any]:
            if top is None or int(top) < since:
                return {"since": since, "seen": sorted(seen)}
            return {"since": int(top), "seen": sorted(top_seen | (seen if top == since else set()))}

        if len(hits) < self.hits_per_page or int(body.get("nbPages", 1)) <= 1:
            return finished()
        oldest = min((t for t, _ in times), default=None)
        next_seen: set[str]
        if oldest is None:  # a full page without usable times: step one second back
            next_until, next_seen = int(until if until is not None else since) - 1, set()
        elif fresh == 0 and oldest >= int(until if until is not None else since):
            next_until, next_seen = oldest - 1, set()  # a page inside a second already read
        else:
            next_until = oldest
            next_seen = {i for t, i in times if t == oldest}
            if until is not None and oldest == int(until):
                next_seen |= set(cur.get("until_seen", []))
        if next_until < since:
            return finished()
        return {
            "since": since,
            "seen": sorted(seen),
            "until": next_until,
            "until_seen": sorted(next_seen),
            "top": top,
            "top_seen": sorted(top_seen),
        }

    def _mention(self, hit: Mapping[str, Any]) -> Mention:
        """One hit as a Mention; KeyError/TypeError/ValueError mark it malformed."""
        object_id = str(hit["objectID"]).strip()
        author = hit["author"]
        if not object_id or not isinstance(author, str) or not author:
            raise ValueError("objectID or author missing")
        stamp = _stamp(hit)
        if stamp is None:
            raise ValueError("created_at_i missing")
        created = datetime.fromtimestamp(stamp, UTC)
        tags = hit.get("_tags") or []
        is_comment = hit.get("comment_text") is not None or "comment" in tags
        if is_comment:
            text = html_to_text(hit.get("comment_text"))
            parent = hit.get("parent_id")
            in_reply_to = str(parent) if parent is not None else None
        else:
            title = one_line(hit.get("title"))
            body = html_to_text(hit.get("story_text"))
            text = "\n\n".join(p for p in (title, body, hit.get("url") or "") if p)
            in_reply_to = None
        if not text.strip():
            raise ValueError("no text")
        story = hit.get("story_id")
        raw = {k: v for k, v in hit.items() if k != "_highlightResult"}
        return Mention(
            network=self.network,
            native_id=object_id,
            text=text,
            created_at=created,
            author=Author(handle=author),
            url=ITEM_URL.format(object_id),
            conversation_id=str(story) if story is not None else object_id,
            in_reply_to=in_reply_to,
            raw=raw,
        )


def _stamp(hit: Mapping[str, Any]) -> int | None:
    """The hit's time in epoch seconds (``created_at_i``, else ``created_at``)."""
    stamp = hit.get("created_at_i")
    if isinstance(stamp, int) and not isinstance(stamp, bool):
        return stamp
    try:
        created = datetime.fromisoformat(str(hit["created_at"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return None
    if created.tzinfo is None:
        return None
    return int(created.timestamp())
