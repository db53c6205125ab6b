"""Threads (Meta) through the Threads API: keyword search and the brand's mentions.

Endpoints (``https://graph.threads.net/v1.0``, a Threads user access token in the
``Authorization: Bearer`` header; errors, usage headers and paging as in ``connectors._graph``):

- ``GET /keyword_search?q=…&search_type=RECENT`` — one source per query, newest first,
  ``since`` in epoch seconds;
- ``GET /{threads-user-id}/mentions`` — posts that @-mention the brand (source ``mentions``);
- ``GET /{threads-user-id}?fields=id,username`` — ``check()``;
- replies in two steps, as the API requires: ``POST /{threads-user-id}/threads`` with
  ``media_type=TEXT``, ``text`` and ``reply_to_id`` creates a container, then
  ``POST /{threads-user-id}/threads_publish?creation_id=…`` publishes it; 500 characters;
- ``GET /{media-id}/replies`` — ``find_reply`` (the brand's own among the replies).

The brand is its username: ``[brand.handles] threads = "shopexample"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from connectors._graph import GraphConnector, parse_time
from social_watch.connector import MENTIONS, REPLY, SEARCH, LengthRule, PostedReply, Source
from social_watch.errors import ConfigError, ConnectorError
from social_watch.models import Author, Mention

TOKEN_ENV = "SOCIAL_WATCH_THREADS_TOKEN"
THREADS_URL = "https://graph.threads.net"
FIELDS = "id,text,media_type,permalink,timestamp,username,is_reply,is_quote_post"


class ThreadsConnector(GraphConnector):
    name = "threads"
    network = "threads"
    capabilities = frozenset({MENTIONS, SEARCH, REPLY})
    token_env = TOKEN_ENV
    secrets: ClassVar[dict[str, str]] = {"access_token_env": TOKEN_ENV}
    options: ClassVar[dict[str, str]] = {
        "user_id": "the brand's Threads user id (required)",
        "queries": "keyword searches (search_type=RECENT)",
        "mentions": "posts that @-mention the brand (default true)",
        **{
            **GraphConnector.common_options,
            "base_url": f"the Threads API host (default {THREADS_URL})",
            "api_version": "Threads API version path (default v1.0)",
        },
    }
    reply_rule = LengthRule(500, "chars")
    rate_limit = "Threads API usage headers, paused at usage_threshold percent; 250 posts a day"

    @classmethod
    def validate_options(cls, options: Mapping[str, Any], key: str) -> None:
        cls.validate_common(options, key, "user_id")
        queries = options.get("queries", [])
        if not isinstance(queries, list) or not all(isinstance(q, str) and q for q in queries):
            raise ConfigError("expected a list of non-empty strings", key=f"{key}.queries")
        if not isinstance(options.get("mentions", True), bool):
            raise ConfigError("expected true or false", key=f"{key}.mentions")
        if not (queries or options.get("mentions", True)):
            raise ConfigError("nothing to watch: set queries or mentions = true", key=key)

    def __init__(self, options: Mapping[str, Any], **kwargs: Any) -> None:
        opts = {"base_url": THREADS_URL, "api_version": "v1.0", **options}
        super().__init__(opts, **kwargs)

    @property
    def user_id(self) -> str:
        return str(self.opts["user_id"]).strip()

    def own_handles(self) -> set[str]:
        value = self.brand_handles.get(self.network)
        values = [value] if isinstance(value, str) else list(value or [])
        return {str(v).strip().lstrip("@").lower() for v in values}

    def sources(self) -> list[Source]:
        out = [Source(self.name, MENTIONS)] if self.opts.get("mentions", True) else []
        return out + [Source(self.name, SEARCH, q) for q in self.opts.get("queries", [])]

    def check(self) -> str:
        me = self.request("GET", self.user_id, params={"fields": "id,username"})
        if not isinstance(me, dict) or str(me.get("id")) != self.user_id:
            raise ConnectorError(f"{self.name}: user_id {self.user_id} is not readable")
        return f"Threads @{me.get('username') or '?'} ({self.user_id})"

    def edge(
        self, source: Source, parent: str | None, since: datetime
    ) -> tuple[str, dict[str, Any]]:
        stamp = int(since.timestamp())
        if source.kind == SEARCH:
            return "keyword_search", {
                "q": source.query,
                "search_type": "RECENT",
                "fields": FIELDS,
                "since": stamp,
            }
        if source.kind == MENTIONS:
            return f"{self.user_id}/mentions", {"fields": FIELDS, "since": stamp}
        raise ConfigError(f"unknown source kind {source.kind!r}", key=f"connectors.{self.name}")

    def mentions(self, source: Source, parent: str | None, entry: Any) -> list[Mention]:
        pid = str(entry["id"])
        if not pid.isdigit():
            raise ValueError(f"bad post id {pid!r}")
        handle = str(entry.get("username") or "").strip()
        if not handle:
            raise ValueError("post without a username")
        return [
            Mention(
                network=self.network,
                native_id=pid,
                text=str(entry.get("text") or "").strip() or f"[{entry.get('media_type')}]",
                created_at=parse_time(entry["timestamp"]),
                author=Author(handle),
                url=entry.get("permalink") or None,
                conversation_id=pid,
                raw=dict(entry),
            )
        ]

    def reply(self, mention: Mention, text: str, key: str) -> PostedReply:
        """A reply container (``reply_to_id``), then ``threads_publish``: two calls."""
        container = self.request(
            "POST",
            f"{self.user_id}/threads",
            data={"media_type": "TEXT", "text": text, "reply_to_id": mention.native_id},
        )
        if not isinstance(container, dict) or not container.get("id"):
            raise ConnectorError(f"{self.name}: POST /threads returned no container id")
        posted = self.request(
            "POST", f"{self.user_id}/threads_publish", data={"creation_id": container["id"]}
        )
        if not isinstance(posted, dict) or not posted.get("id"):
            raise ConnectorError(f"{self.name}: POST /threads_publish returned no post id")
        return PostedReply(str(posted["id"]), None)

    def find_reply(self, mention: Mention, key: str) -> PostedReply | None:
        replies, _ = self.get_list(
            f"{mention.native_id}/replies", {"fields": "id,username,permalink,text"}
        )
        own = self.own_handles()
        for r in replies:
            if isinstance(r, dict) and str(r.get("username") or "").lower() in own:
                return PostedReply(str(r["id"]), r.get("permalink") or None)
        return None
