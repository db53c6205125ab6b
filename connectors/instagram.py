"""Instagram (a professional account) through the Instagram Graph API.

Endpoints (``https://graph.facebook.com/v21.0``, the same Page-linked token model as
``facebook``; errors, usage headers and paging in ``connectors._graph``):

- ``GET /{ig-user-id}/media?fields=id,permalink,timestamp`` — the account's recent media
  (``parents``, default 10), then ``GET /{media-id}/comments`` with ``replies{…}`` nested:
  every comment and its replies become mentions (a reply's ``in_reply_to`` is its comment);
- ``GET /{ig-user-id}/tags`` — media by others that tag the account (source ``tags``);
- ``GET /ig_hashtag_search?user_id=…&q=…`` then ``GET /{hashtag-id}/recent_media`` — one
  source per configured hashtag. Instagram allows **30 unique hashtags per 7 days** per
  account: more than 30 is a config error, and ``check`` warns from 25. Hashtag media carry
  no username (the API does not return it), so their author is ``anonymous``;
- ``GET /{ig-user-id}?fields=id,username`` — ``check()``;
- ``POST /{ig-comment-id}/replies`` with ``message`` — a public reply; ``find_reply`` reads
  ``GET /{ig-comment-id}/replies`` for the account's own. Media found by tag or hashtag are
  read-only here (the API cannot comment on other people's media).

Comments are not documented as ordered, so each media's comments are read to the last page
and filtered by ``since`` (the newest comment time seen). A comment without ``text`` was
deleted and is skipped; one without ``from`` keeps its ``username``. The brand is its
username: ``[brand.handles] instagram = "shopexample"``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from connectors._graph import GraphConnector, parse_time
from social_watch.connector import MENTIONS, REPLY, SEARCH, LengthRule, PostedReply, Source
from social_watch.errors import ConfigError, ConnectorError, UsageError
from social_watch.models import Author, Mention

log = logging.getLogger("social_watch.connectors.instagram")

TOKEN_ENV = "SOCIAL_WATCH_INSTAGRAM_TOKEN"
COMMENTS = "comments"
TAGS = "tags"
HASHTAG_LIMIT = 30  # unique hashtags an account may search in a rolling 7 days
HASHTAG_WARN = 25
ANONYMOUS = "anonymous"
_FIELDS = "id,text,timestamp,username,from{id,username},parent_id,like_count"
COMMENT_FIELDS = f"{_FIELDS},replies{{{_FIELDS}}}"
MEDIA_FIELDS = "id,caption,media_type,permalink,timestamp,username"


class InstagramConnector(GraphConnector):
    name = "instagram"
    network = "instagram"
    capabilities = frozenset({MENTIONS, SEARCH, REPLY})
    newest_first = False
    token_env = TOKEN_ENV
    secrets: ClassVar[dict[str, str]] = {"access_token_env": TOKEN_ENV}
    options: ClassVar[dict[str, str]] = {
        "ig_user_id": "the professional account's IG user id (required)",
        "comments": "comments and replies on the account's recent media (default true)",
        "tags": "media by others that tag the account (default true)",
        "hashtags": f"hashtags to watch, without '#' (at most {HASHTAG_LIMIT} per 7 days)",
        **GraphConnector.common_options,
    }
    reply_rule = LengthRule(2200, "chars")
    rate_limit = (
        "Graph API business-use-case usage (X-Business-Use-Case-Usage), paused at "
        "usage_threshold percent; 30 unique hashtags per 7 days"
    )

    @classmethod
    def validate_options(cls, options: Mapping[str, Any], key: str) -> None:
        cls.validate_common(options, key, "ig_user_id")
        for name in (COMMENTS, TAGS):
            if not isinstance(options.get(name, True), bool):
                raise ConfigError("expected true or false", key=f"{key}.{name}")
        tags = options.get("hashtags", [])
        if not isinstance(tags, list):
            raise ConfigError("expected a list of strings", key=f"{key}.hashtags")
        for i, tag in enumerate(tags):
            if not isinstance(tag, str) or not tag.strip().lstrip("#"):
                raise ConfigError("expected a non-empty string", key=f"{key}.hashtags[{i}]")
        unique = {t.strip().lstrip("#").lower() for t in tags}
        if len(unique) > HASHTAG_LIMIT:
            raise ConfigError(
                f"{len(unique)} hashtags; Instagram allows {HASHTAG_LIMIT} unique hashtags "
                "per account in 7 days",
                key=f"{key}.hashtags",
            )
        if not (options.get(COMMENTS, True) or options.get(TAGS, True) or tags):
            raise ConfigError("nothing to watch: set comments, tags or hashtags", key=key)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._permalinks: dict[str, str] = {}
        self._hashtag_ids: dict[str, str] = {}

    @property
    def user_id(self) -> str:
        return str(self.opts["ig_user_id"]).strip()

    @property
    def hashtags(self) -> list[str]:
        seen: dict[str, str] = {}
        for tag in self.opts.get("hashtags", []):
            clean = tag.strip().lstrip("#")
            seen.setdefault(clean.lower(), clean)
        return list(seen.values())

    def own_handles(self) -> set[str]:
        value = self.brand_handles.get(self.network)
        values = [value] if isinstance(value, str) else list(value or [])
        return {str(v).strip().lstrip("@").lower() for v in values}

    def sources(self) -> list[Source]:
        out = [Source(self.name, kind) for kind in (COMMENTS, TAGS) if self.opts.get(kind, True)]
        return out + [Source(self.name, SEARCH, tag) for tag in self.hashtags]

    def check(self) -> str:
        me = self.request("GET", self.user_id, params={"fields": "id,username"})
        if not isinstance(me, dict) or str(me.get("id")) != self.user_id:
            raise ConnectorError(f"{self.name}: ig_user_id {self.user_id} is not readable")
        line = f"Instagram @{me.get('username') or '?'} ({self.user_id})"
        count = len(self.hashtags)
        if count >= HASHTAG_WARN:
            line += (
                f"; warning: {count} of the {HASHTAG_LIMIT} unique hashtags Instagram allows "
                "per 7 days (adding or changing one may hit the limit)"
            )
        elif count:
            line += f"; {count} of {HASHTAG_LIMIT} hashtags per 7 days"
        if str(me.get("username") or "").lower() not in self.own_handles():
            line += (
                f'; set [brand.handles] instagram = "{me.get("username")}" so the account\'s '
                "own replies are not queued"
            )
        return line

    # --- the walk ---
    def ordered(self, source: Source) -> bool:
        return source.kind != COMMENTS  # tags and recent_media come newest first

    def parents(self, source: Source) -> list[str] | None:
        if source.kind != COMMENTS:
            return None
        limit = int(self.opts.get("parents", 10))
        media, _ = self.get_list(
            f"{self.user_id}/media", {"fields": "id,permalink,timestamp", "limit": limit}
        )
        ids = []
        for item in media:
            if isinstance(item, dict) and item.get("id"):
                ids.append(str(item["id"]))
                if item.get("permalink"):
                    self._permalinks[str(item["id"])] = str(item["permalink"])
        return ids

    def edge(
        self, source: Source, parent: str | None, since: datetime
    ) -> tuple[str, dict[str, Any]]:
        if source.kind == COMMENTS and parent is not None:
            return f"{parent}/comments", {"fields": COMMENT_FIELDS}
        if source.kind == TAGS:
            return f"{self.user_id}/tags", {"fields": MEDIA_FIELDS}
        if source.kind == SEARCH and source.query:
            tag_id = self._hashtag_id(source.query)
            return f"{tag_id}/recent_media", {
                "user_id": self.user_id,
                "fields": "id,caption,media_type,permalink,timestamp",
            }
        raise ConfigError(f"unknown source kind {source.kind!r}", key=f"connectors.{self.name}")

    def _hashtag_id(self, tag: str) -> str:
        if tag not in self._hashtag_ids:
            found, _ = self.get_list("ig_hashtag_search", {"user_id": self.user_id, "q": tag})
            if not found or not isinstance(found[0], dict) or not found[0].get("id"):
                raise ConnectorError(f"{self.name}: hashtag #{tag} not found")
            self._hashtag_ids[tag] = str(found[0]["id"])
        return self._hashtag_ids[tag]

    def mentions(self, source: Source, parent: str | None, entry: Any) -> list[Mention]:
        if source.kind == COMMENTS:
            top = self._comment(entry, parent, None)
            out = [top]
            replies = (entry.get("replies") or {}).get("data") or []
            for reply in replies:
                try:
                    out.append(self._comment(reply, parent, top.native_id))
                except (KeyError, TypeError, ValueError, AttributeError) as exc:
                    log.warning("%s: skipped reply under %s: %s", self.name, top.native_id, exc)
            return out
        return [self._media(entry, source)]

    def _comment(self, c: Mapping[str, Any], media: str | None, parent: str | None) -> Mention:
        cid = str(c["id"])
        if not cid.isdigit():
            raise ValueError(f"bad comment id {cid!r}")
        if "text" not in c:
            raise ValueError("no text (the comment was deleted)")
        who = c.get("from") or {}
        handle = str(c.get("username") or who.get("username") or "").strip() or ANONYMOUS
        reply_to = parent or (str(c["parent_id"]) if c.get("parent_id") else None)
        return Mention(
            network=self.network,
            native_id=cid,
            text=str(c["text"]).strip(),
            created_at=parse_time(c["timestamp"]),
            author=Author(handle),
            url=self._permalinks.get(media or ""),
            conversation_id=reply_to or cid,
            in_reply_to=reply_to,
            raw={**dict(c), "media_id": media},
        )

    def _media(self, m: Mapping[str, Any], source: Source) -> Mention:
        mid = str(m["id"])
        if not mid.isdigit():
            raise ValueError(f"bad media id {mid!r}")
        handle = str(m.get("username") or "").strip() or ANONYMOUS
        return Mention(
            network=self.network,
            native_id=mid,
            text=str(m.get("caption") or "").strip() or f"[{m.get('media_type') or 'media'}]",
            created_at=parse_time(m["timestamp"]),
            author=Author(handle),
            url=m.get("permalink") or None,
            conversation_id=mid,
            query=source.query and f"#{source.query}",
            raw=dict(m),
        )

    # --- replies ---
    def reply(self, mention: Mention, text: str, key: str) -> PostedReply:
        """``POST /{ig-comment-id}/replies``; media by others cannot be answered here."""
        if (mention.raw or {}).get("media_type"):
            raise UsageError(
                "instagram: this is someone else's media; the API can only reply to comments "
                "(answer it in the Instagram app, or use `to-email`)"
            )
        posted = self.request("POST", f"{mention.native_id}/replies", data={"message": text})
        if not isinstance(posted, dict) or not posted.get("id"):
            raise ConnectorError(f"{self.name}: POST /{{id}}/replies returned no comment id")
        return PostedReply(str(posted["id"]), mention.url)

    def find_reply(self, mention: Mention, key: str) -> PostedReply | None:
        """The account's own reply among the comment's replies, if any."""
        params = {"fields": "id,text,timestamp,username,from{id,username}", "limit": 50}
        replies, _ = self.get_list(f"{mention.native_id}/replies", params)
        own = self.own_handles()
        for r in replies:
            if not isinstance(r, dict):
                continue
            name = str(r.get("username") or (r.get("from") or {}).get("username") or "").lower()
            if name and name in own:
                return PostedReply(str(r["id"]), mention.url)
        return None
