"""Facebook Page comments, visitor posts and posts that tag the Page, through the Graph API.

Endpoints (``https://graph.facebook.com/v21.0``, a Page access token in the
``Authorization: Bearer`` header; see ``connectors._graph`` for errors, usage and paging):

- ``GET /{page-id}/feed?fields=id`` — the Page's recent posts, visitor posts included (the
  ``parents`` most recent, default 10), listed once per walk;
- ``GET /{post-id}/comments?filter=stream&order=reverse_chronological`` — every comment and
  reply on a post, newest first, each reply with its ``parent``; read until ``since``;
- ``GET /{page-id}/tagged`` — posts by others that tag the Page (source ``tagged``);
- ``GET /{page-id}?fields=id,name`` — ``check()``;
- ``POST /{comment-id}/comments`` with ``message`` — a public reply under the comment (or
  under the post, for a tagged post); ``find_reply`` reads the same edge for the Page's own.

Comments from people who restrict their data come without ``from``: they are kept, by an
anonymous author (``anonymous``), because they still need an answer. A comment with neither
``message`` nor ``attachment`` was deleted or emptied and is skipped. The brand is the Page:
set ``[brand.handles] facebook = "<page id>"`` so its own comments are never queued (and
answer the comment they reply to).

Cursor and rate limits: see ``GraphConnector`` (``since``/``after``, usage headers, error
codes 4/17/32/613 throttling, 190 an expired token).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from connectors._graph import GraphConnector, parse_time
from social_watch.connector import MENTIONS, REPLY, LengthRule, PostedReply, Source
from social_watch.errors import ConfigError, ConnectorError
from social_watch.models import Author, Mention

TOKEN_ENV = "SOCIAL_WATCH_FACEBOOK_PAGE_TOKEN"
COMMENTS = "comments"
TAGGED = "tagged"
ANONYMOUS = "anonymous"
COMMENT_FIELDS = "id,message,created_time,from{id,name},permalink_url,parent{id},attachment"
POST_FIELDS = "id,message,created_time,from{id,name},permalink_url"


class FacebookConnector(GraphConnector):
    name = "facebook"
    network = "facebook"
    capabilities = frozenset({MENTIONS, REPLY})
    token_env = TOKEN_ENV
    secrets: ClassVar[dict[str, str]] = {"access_token_env": TOKEN_ENV}
    options: ClassVar[dict[str, str]] = {
        "page_id": "the Page's numeric id (required)",
        "comments": "comments and replies on the Page's recent posts (default true)",
        "tagged": "posts by others that tag the Page (default true)",
        **GraphConnector.common_options,
    }
    reply_rule = LengthRule(8000, "chars")
    rate_limit = (
        "Graph API usage headers (X-App-Usage, X-Page-Usage, X-Business-Use-Case-Usage): "
        "pauses at usage_threshold percent; codes 4/17/32/613 until the regain estimate"
    )

    @classmethod
    def validate_options(cls, options: Mapping[str, Any], key: str) -> None:
        cls.validate_common(options, key, "page_id")
        for name in (COMMENTS, TAGGED):
            if not isinstance(options.get(name, True), bool):
                raise ConfigError("expected true or false", key=f"{key}.{name}")
        if not (options.get(COMMENTS, True) or options.get(TAGGED, True)):
            raise ConfigError("nothing to watch: set comments or tagged = true", key=key)

    @property
    def page_id(self) -> str:
        return str(self.opts["page_id"]).strip()

    def sources(self) -> list[Source]:
        return [Source(self.name, kind) for kind in (COMMENTS, TAGGED) if self.opts.get(kind, True)]

    def check(self) -> str:
        page = self.request("GET", self.page_id, params={"fields": "id,name"})
        if not isinstance(page, dict) or str(page.get("id")) != self.page_id:
            raise ConnectorError(f"{self.name}: page_id {self.page_id} is not readable")
        own = {str(h).strip() for h in _handles(self.brand_handles.get(self.network))}
        note = (
            ""
            if self.page_id in own
            else (
                f'; set [brand.handles] facebook = "{self.page_id}" so the Page\'s own comments '
                "are not queued"
            )
        )
        return f"Page {page.get('name') or self.page_id} ({self.page_id}){note}"

    # --- the walk ---
    def parents(self, source: Source) -> list[str] | None:
        if source.kind != COMMENTS:
            return None
        limit = int(self.opts.get("parents", 10))
        posts, _ = self.get_list(f"{self.page_id}/feed", {"fields": "id", "limit": limit})
        return [str(p["id"]) for p in posts if isinstance(p, dict) and p.get("id")]

    def edge(
        self, source: Source, parent: str | None, since: datetime
    ) -> tuple[str, dict[str, Any]]:
        stamp = int(since.timestamp())
        if source.kind == COMMENTS and parent is not None:
            return f"{parent}/comments", {
                "fields": COMMENT_FIELDS,
                "filter": "stream",
                "order": "reverse_chronological",
                "since": stamp,
            }
        if source.kind == TAGGED:
            return f"{self.page_id}/tagged", {"fields": POST_FIELDS, "since": stamp}
        raise ConfigError(f"unknown source kind {source.kind!r}", key=f"connectors.{self.name}")

    def mentions(self, source: Source, parent: str | None, entry: Any) -> list[Mention]:
        """One comment (or tagged post); KeyError/TypeError/ValueError mark it malformed."""
        cid = str(entry["id"])
        if not cid.replace("_", "").isdigit():
            raise ValueError(f"bad id {cid!r}")
        created = parse_time(entry["created_time"])
        text = str(entry.get("message") or "").strip()
        if not text:
            attachment = entry.get("attachment")
            if not isinstance(attachment, dict):
                raise ValueError("no message and no attachment (deleted or emptied)")
            text = f"[{attachment.get('type') or 'attachment'}]"
        who = entry.get("from")
        if who is None:
            author = Author(ANONYMOUS)  # the person restricts their data; still a customer
        else:
            author = Author(str(who["id"]), who.get("name") or None)
        reply_to = (entry.get("parent") or {}).get("id")
        return [
            Mention(
                network=self.network,
                native_id=cid,
                text=text,
                created_at=created,
                author=author,
                url=entry.get("permalink_url") or None,
                conversation_id=str(reply_to) if reply_to else cid,
                in_reply_to=str(reply_to) if reply_to else None,
                raw=dict(entry),
            )
        ]

    # --- replies ---
    def reply(self, mention: Mention, text: str, key: str) -> PostedReply:
        """``POST /{comment-id}/comments``: a public reply under the comment or post."""
        posted = self.request("POST", f"{mention.native_id}/comments", data={"message": text})
        if not isinstance(posted, dict) or not posted.get("id"):
            raise ConnectorError(f"{self.name}: POST /{{id}}/comments returned no comment id")
        return PostedReply(str(posted["id"]), None)

    def find_reply(self, mention: Mention, key: str) -> PostedReply | None:
        """The Page's own reply among the comment's replies, if any."""
        params = {"fields": "id,from{id},message,created_time,permalink_url", "limit": 100}
        replies, _ = self.get_list(f"{mention.native_id}/comments", params)
        for r in replies:
            if isinstance(r, dict) and str((r.get("from") or {}).get("id")) == self.page_id:
                return PostedReply(str(r["id"]), r.get("permalink_url") or None)
        return None


def _handles(value: Any) -> list[Any]:
    if value is None:
        return []
    return [value] if isinstance(value, str | int) else list(value)
