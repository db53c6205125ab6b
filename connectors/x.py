"""X (Twitter) through tweepy's ``Client`` (API v2): the brand's @-mentions, keyword searches,
and replies under the brand's own account.

Endpoints (host api.twitter.com):

- ``GET /2/users/:id/mentions`` (``get_users_mentions``) for the brand account; its id comes
  from ``user_id``, else ``GET /2/users/me`` (user context) or ``GET /2/users/by/username/:h``
  (the brand handle, app auth), looked up once and kept in the cursor.
- ``GET /2/tweets/search/recent`` (``search_recent_tweets``) per query, sent as
  ``(<query>) -is:retweet -from:<brand>``: the last 7 days only.
- ``POST /2/tweets`` (``create_tweet`` with ``in_reply_to_tweet_id``, user context) to reply;
  ``GET /2/users/:id/tweets`` (or a ``conversation_id:… from:<brand>`` search) to find a reply
  after a crash, since X has no idempotency key.

Every read asks for ``expansions=author_id``, ``user.fields=username,name,public_metrics``
and ``tweet.fields=created_at,lang,conversation_id,in_reply_to_user_id,referenced_tweets,
public_metrics,author_id,note_tweet``. Retweets become reposts (the pipeline drops them);
quote tweets are ordinary mentions; a tweet without its author expansion or with bad fields
is skipped and the rest of the page kept.

Auth: searches use the app's bearer token (``bearer_token_env``), mentions and replies the
brand's OAuth 1.0a user context (``consumer_key_env``, ``consumer_secret_env``,
``access_token_env``, ``access_token_secret_env``). Reads fall back to whichever of the two is
configured (both endpoints accept either). tweepy, requests_oauthlib and oauthlib log request
headers at DEBUG; a filter on their loggers redacts every token before any handler sees it.

Cursor (JSON, per source)::

    {"since_id": "1578516295611748353"}                       # newest tweet committed
    {"since_id": "…", "pending_since_id": "…",                # while a burst spans pages:
     "next_token": "…", "until_id": "…", "pages": 3}          # resume here, move since_id later
    {"user_id": "783214", …}                                  # mentions: the looked-up account

``since_id`` moves to the burst's newest id only after its last page: each page is committed
with a cursor that still carries the old ``since_id`` plus the progress marker, so a crash or
the runner's page limit resumes the burst and never skips it. A resume uses ``next_token``;
if X refuses the token, ``until_id`` (the oldest id read so far) continues the same burst.
The first poll (no ``since_id``) reads at most ``max_pages`` pages of history (default 10).
If a stored ``since_id`` has fallen out of the 7-day search window, the search restarts
without it (the store's unique key absorbs the overlap).

Rate limits: per 15-minute window, per app (bearer) or per user (user context), and tier
dependent (e.g. 450/app for recent search and 200/user for posting on the recorded
responses). ``wait_on_rate_limit`` is off: a 429 becomes ``RateLimited`` with the
``x-rate-limit-reset`` epoch from the response and the runner decides when to come back.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

from social_watch import __version__
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
)
from social_watch.models import Author, Mention

BEARER = "bearer_token_env"
USER_CONTEXT = (
    "consumer_key_env",
    "consumer_secret_env",
    "access_token_env",
    "access_token_secret_env",
)
PAGE_SIZE = 100  # the most X returns per request (search 10-100, mentions 5-100)
DEFAULT_MAX_PAGES = 10
QUERY_LIMIT = 512  # recent search query length (Basic tier)
TIMEOUT = (10.0, 30.0)  # requests' (connect, read); tweepy sets none
RATE_WINDOW = timedelta(minutes=15)
FIND_REPLY_PAGES = 3
TWEET_FIELDS = [
    "author_id",
    "created_at",
    "lang",
    "conversation_id",
    "in_reply_to_user_id",
    "referenced_tweets",
    "public_metrics",
    "note_tweet",
]
USER_FIELDS = ["username", "name", "public_metrics"]
EXPANSIONS = ["author_id"]
NO_LANGUAGE = {"und", "zxx", "qme", "qht", "qam", "qct", "qst", "art"}  # X's "not a language"
STATUS_URL = "https://x.com/{}/status/{}"


# a 403 about the credentials or the app, not about the one post or tweet asked for
_PERMISSION = re.compile(
    r"oauth|permission|developer app|project|access level|client|suspended|locked|token",
    re.IGNORECASE,
)


class _BadRequest(Rejected):
    """A 400: the request itself was refused (stale since_id, expired pagination token)."""


class XConnector(Connector):
    name = "x"
    network = "x"
    capabilities = frozenset({MENTIONS, SEARCH, REPLY})
    secrets: ClassVar[dict[str, str]] = {
        BEARER: "SOCIAL_WATCH_X_BEARER_TOKEN",
        "consumer_key_env": "SOCIAL_WATCH_X_CONSUMER_KEY",
        "consumer_secret_env": "SOCIAL_WATCH_X_CONSUMER_SECRET",
        "access_token_env": "SOCIAL_WATCH_X_ACCESS_TOKEN",
        "access_token_secret_env": "SOCIAL_WATCH_X_ACCESS_TOKEN_SECRET",
    }
    options: ClassVar[dict[str, str]] = {
        "queries": "recent-search queries (-is:retweet -from:<brand> is added to each)",
        "mentions": "read the brand account's @-mentions timeline (default true)",
        "user_id": "the brand account's numeric id (default: looked up once)",
        "max_pages": f"pages of history the first poll reads (default {DEFAULT_MAX_PAGES})",
    }
    reply_rule = LengthRule(280, "twitter")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tweepy: Any = None
        self._me: str | None = None

    # --- configuration -----------------------------------------------------------------
    @classmethod
    def validate_options(cls, options: Mapping[str, Any], key: str) -> None:
        super().validate_options(options, key)
        queries = options.get("queries", [])
        if not isinstance(queries, list):
            raise ConfigError('expected a list: queries = ["shopexample"]', key=f"{key}.queries")
        for i, q in enumerate(queries):
            if not isinstance(q, str) or not q.strip():
                raise ConfigError("expected a non-empty string", key=f"{key}.queries[{i}]")
            if len(q) > QUERY_LIMIT - 40:
                raise ConfigError(
                    f"too long: X allows {QUERY_LIMIT} characters including the "
                    "' -is:retweet -from:<brand>' social-watch adds",
                    key=f"{key}.queries[{i}]",
                )
        mentions = options.get("mentions", True)
        if not isinstance(mentions, bool):
            raise ConfigError("expected true or false", key=f"{key}.mentions")
        if not mentions and not queries:
            raise ConfigError(
                'nothing to poll: set mentions = true or give queries = ["shopexample"]', key=key
            )
        pages = options.get("max_pages", DEFAULT_MAX_PAGES)
        if not isinstance(pages, int) or isinstance(pages, bool) or pages < 1:
            raise ConfigError("expected a whole number of at least 1", key=f"{key}.max_pages")
        user_id = options.get("user_id")
        if user_id is not None and not str(user_id).isdigit():
            raise ConfigError(
                "expected the account's numeric id, e.g. 783214", key=f"{key}.user_id"
            )

    @property
    def handle(self) -> str | None:
        """The brand's X username from ``[brand.handles]`` (the first one, without '@')."""
        value = self.brand_handles.get("x")
        if isinstance(value, list | tuple):
            value = value[0] if value else None
        return value.strip().lstrip("@") or None if isinstance(value, str) else None

    @property
    def queries(self) -> list[str]:
        return list(self.opts.get("queries", []))

    def _var(self, option: str) -> str:
        return str(self.opts.get(option) or self.secrets[option])

    def _has(self, option: str) -> bool:
        return bool(self.env.get(self._var(option), "").strip())

    def _user_missing(self) -> list[str]:
        return [self._var(o) for o in USER_CONTEXT if not self._has(o)]

    @property
    def _user_ready(self) -> bool:
        return not self._user_missing()

    @property
    def _bearer_ready(self) -> bool:
        return self._has(BEARER)

    def missing_secrets(self) -> list[str]:
        """What polling needs: one complete way to authenticate (a half-set user context is
        a mistake worth naming)."""
        user_missing = self._user_missing()
        if 0 < len(user_missing) < len(USER_CONTEXT):
            return user_missing
        if self._bearer_ready or not user_missing:
            return []
        if self.queries:
            return [self._var(BEARER)]
        return user_missing

    def sources(self) -> list[Source]:
        out = [Source(self.name, MENTIONS)] if self.opts.get("mentions", True) else []
        return out + [Source(self.name, SEARCH, q) for q in self.queries]

    # --- the client --------------------------------------------------------------------
    @property
    def client(self) -> Any:
        """tweepy.Client with every configured credential, no sleeping, raw responses."""
        if self._tweepy is None:
            import requests
            import tweepy

            # Connector.secret: the core's one way to read a secret (and register it)
            values = {o: self.secret(o) if self._has(o) else None for o in self.secrets}
            client = tweepy.Client(
                bearer_token=values[BEARER],
                consumer_key=values["consumer_key_env"],
                consumer_secret=values["consumer_secret_env"],
                access_token=values["access_token_env"],
                access_token_secret=values["access_token_secret_env"],
                return_type=requests.Response,
                wait_on_rate_limit=False,
            )
            client.session.request = functools.partial(client.session.request, timeout=TIMEOUT)
            client.user_agent = f"social-watch/{__version__} {client.user_agent}"
            redact_logs(v for v in values.values() if v)
            self._tweepy = client
        return self._tweepy

    def close(self) -> None:
        if self._tweepy is not None:
            self._tweepy.session.close()
            self._tweepy = None

    def _auth_vars(self, user_auth: bool) -> list[str]:
        return [self._var(o) for o in USER_CONTEXT] if user_auth else [self._var(BEARER)]

    def _require_user(self, what: str) -> None:
        missing = self._user_missing()
        if missing:
            raise AuthError(
                f"{self.name}: {what} needs the brand account's user context: "
                f"environment variable {missing[0]} is not set",
                env_var=missing[0],
            )

    def _read_auth(self, prefer_user: bool) -> bool:
        """user_auth for a read: the preferred kind when configured, else the other one."""
        if prefer_user and self._user_ready:
            return True
        if self._bearer_ready:
            return False
        if self._user_ready:
            return True
        missing = self.missing_secrets() or [self._var(BEARER)]
        raise AuthError(
            f"{self.name}: environment variable {missing[0]} is not set", env_var=missing[0]
        )

    def _call(self, what: str, user_auth: bool, fn: Callable[[Any], Any]) -> dict[str, Any]:
        """One API call with tweepy's and requests' errors mapped to the core's kinds."""
        import requests
        import tweepy

        try:
            response = fn(self.client)
        except tweepy.TooManyRequests as exc:
            reset = (
                datetime.fromtimestamp(exc.reset_time, UTC)
                if exc.reset_time
                else self.clock() + RATE_WINDOW
            )
            raise RateLimited(
                f"{self.name}: {_where(what, exc)} → 429; rate limited until "
                f"{reset:%Y-%m-%d %H:%M:%S} UTC",
                reset_at=reset,
            ) from None
        except tweepy.Forbidden as exc:
            if not _PERMISSION.search(_detail(exc) or "oauth"):
                # refused for this one post (duplicate text, reply restricted, tweet deleted)
                raise Rejected(
                    f"{self.name}: {_where(what, exc)} → 403 refused{_detail(exc)}"
                ) from None
            names = self._auth_vars(user_auth)
            raise AuthError(
                f"{self.name}: {_where(what, exc)} → {_status(exc)}{_detail(exc)}; "
                f"check {', '.join(names)} and the app's permissions",
                env_var=names[0],
            ) from None
        except tweepy.Unauthorized as exc:
            names = self._auth_vars(user_auth)
            raise AuthError(
                f"{self.name}: {_where(what, exc)} → {_status(exc)}{_detail(exc)}; "
                f"check {', '.join(names)}",
                env_var=names[0],
            ) from None
        except tweepy.TwitterServerError as exc:
            raise TransientError(f"{self.name}: {_where(what, exc)} → {_status(exc)}") from None
        except tweepy.BadRequest as exc:
            raise _BadRequest(f"{self.name}: {_where(what, exc)} → 400{_detail(exc)}") from None
        except tweepy.HTTPException as exc:
            code = getattr(getattr(exc, "response", None), "status_code", None)
            kind = Rejected if isinstance(code, int) and 400 <= code < 500 else ConnectorError
            raise kind(f"{self.name}: {_where(what, exc)} → {_status(exc)}{_detail(exc)}") from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TransientError(f"{self.name}: {what} failed: {type(exc).__name__}") from None
        try:
            body = response.json()
        except ValueError:
            raise TransientError(f"{self.name}: {what}: the response is not JSON") from None
        if not isinstance(body, dict):
            raise ConnectorError(f"{self.name}: {what}: unexpected response shape")
        body["_remaining"] = response.headers.get("x-rate-limit-remaining")
        body["_reset"] = response.headers.get("x-rate-limit-reset")
        return body

    # --- check, poll ---------------------------------------------------------------------
    def check(self) -> str:
        missing = self.missing_secrets()
        if missing:
            raise AuthError(
                f"{self.name}: environment variable {missing[0]} is not set", env_var=missing[0]
            )
        if self._user_ready:
            body = self._call("GET /2/users/me", True, lambda c: c.get_me(user_auth=True))
            user = body.get("data") or {}
            note = ""
            if self.queries and not self._bearer_ready:
                note = f"; searches use user context too ({self._var(BEARER)} not set)"
            return f"authenticated as @{user.get('username', '?')} (id {user.get('id', '?')}){note}"
        query = self.queries[0] if self.queries else f"@{self.handle or 'x'}"
        self._call(
            "GET /2/tweets/search/recent",
            False,
            lambda c: c.search_recent_tweets(query=query, max_results=10, user_auth=False),
        )
        return (
            "app auth (bearer token) works; replies need the user context "
            f"({', '.join(self._user_missing())} not set)"
        )

    def search_query(self, query: str) -> str:
        """What is sent for a configured query: no retweets, not the brand's own posts."""
        own = f" -from:{self.handle}" if self.handle else ""
        return f"({query}) -is:retweet{own}"

    def _user_id(self, cursor: Mapping[str, Any]) -> str:
        """The brand account's id: configured, remembered in the cursor, or looked up."""
        if self.opts.get("user_id"):
            return str(self.opts["user_id"])
        if cursor.get("user_id"):
            return str(cursor["user_id"])
        if self._user_ready:
            return self._authenticated_id()
        if not self.handle:
            raise ConfigError(
                'set user_id, or the brand\'s X handle in [brand.handles] x = "…"',
                key=f"connectors.{self.name}.user_id",
            )
        handle = self.handle
        body = self._call(
            "GET /2/users/by/username/:username",
            False,
            lambda c: c.get_user(username=handle, user_auth=False),
        )
        user_id = (body.get("data") or {}).get("id")
        if not user_id:
            raise ConnectorError(f"{self.name}: no X account named @{handle}")
        return str(user_id)

    def _authenticated_id(self) -> str:
        if self._me is None:
            body = self._call("GET /2/users/me", True, lambda c: c.get_me(user_auth=True))
            user_id = (body.get("data") or {}).get("id")
            if not user_id:
                raise ConnectorError(f"{self.name}: GET /2/users/me returned no id")
            self._me = str(user_id)
        return self._me

    def _page(
        self,
        source: Source,
        user_id: str | None,
        since_id: str | None,
        token: str | None,
        until_id: str | None,
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "expansions": EXPANSIONS,
            "tweet_fields": TWEET_FIELDS,
            "user_fields": USER_FIELDS,
            "max_results": PAGE_SIZE,
            "since_id": since_id,
            "until_id": until_id,
        }
        if source.kind == MENTIONS:
            auth = self._read_auth(prefer_user=True)
            return self._call(
                "GET /2/users/:id/mentions",
                auth,
                lambda c: c.get_users_mentions(
                    user_id, pagination_token=token, user_auth=auth, **fields
                ),
            )
        auth = self._read_auth(prefer_user=False)
        query = self.search_query(source.query or "")
        return self._call(
            "GET /2/tweets/search/recent",
            auth,
            lambda c: c.search_recent_tweets(query, next_token=token, user_auth=auth, **fields),
        )

    def poll(self, source: Source, cursor: Any) -> PollResult:
        cur: dict[str, Any] = dict(cursor or {})
        since_id: str | None = cur.get("since_id")
        token: str | None = cur.get("next_token")
        until_id: str | None = cur.get("until_id")
        user_id = self._user_id(cur) if source.kind == MENTIONS else None
        while True:
            try:
                # a token carries the original query; until_id only replaces a refused one
                body = self._page(source, user_id, since_id, token, None if token else until_id)
                break
            except _BadRequest as exc:
                if token and until_id:
                    token = None  # an expired pagination token: until_id continues the burst
                elif since_id and source.kind == SEARCH and "since_id" in str(exc).lower():
                    # older than the 7-day search window: restart, duplicates are absorbed
                    since_id = token = until_id = None
                    cur.pop("pending_since_id", None)
                    cur["pages"] = 0
                else:
                    raise ConnectorError(str(exc)) from None

        mentions, skipped = self.parse_page(body)
        meta = _dict(body, "meta")
        ids = [int(t["id"]) for t in _tweets(body) if str(t.get("id", "")).isdigit()]
        newest = meta.get("newest_id") or (str(max(ids)) if ids else None)
        oldest = meta.get("oldest_id") or (str(min(ids)) if ids else None)
        top = cur.get("pending_since_id") or newest
        pages = int(cur.get("pages", 0)) + 1
        next_token = meta.get("next_token")
        history_cap = since_id is None and pages >= self.max_pages
        keep = {"user_id": user_id} if user_id and not self.opts.get("user_id") else {}
        if next_token and ids and not history_cap:
            marker = [int(x) for x in (until_id, oldest) if x]
            new_cursor: dict[str, Any] = {
                **keep,
                "since_id": since_id,
                "pending_since_id": top,
                "next_token": next_token,
                "until_id": str(min(marker)) if marker else None,
                "pages": pages,
            }
            more = True
        else:
            new_cursor = {**keep, "since_id": _newer(top, since_id)}
            more = False
        reset = None
        if body.get("_remaining") == "0" and str(body.get("_reset") or "").isdigit():
            reset = datetime.fromtimestamp(int(body["_reset"]), UTC)
        return PollResult(mentions, new_cursor, skipped, more=more, rate_limit_reset=reset)

    @property
    def max_pages(self) -> int:
        return int(self.opts.get("max_pages", DEFAULT_MAX_PAGES))

    # --- normalizing ---------------------------------------------------------------------
    def parse_page(self, body: Mapping[str, Any]) -> tuple[list[Mention], list[Skipped]]:
        """One response's tweets as mentions; a tweet that cannot be read is skipped."""
        includes = _dict(body, "includes")
        users = {
            str(u["id"]): u
            for u in (includes.get("users") or [])
            if isinstance(u, dict) and u.get("id")
        }
        mentions: list[Mention] = []
        skipped: list[Skipped] = []
        for tweet in _tweets(body):
            try:
                mentions.append(self.mention(tweet, users))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                tid = tweet.get("id") if isinstance(tweet, dict) else None
                skipped.append(Skipped(str(tid) if tid else None, _reason(exc)))
        return mentions, skipped

    def mention(self, tweet: Mapping[str, Any], users: Mapping[str, Mapping[str, Any]]) -> Mention:
        tid = str(tweet["id"])
        if not tid.isdigit():
            raise ValueError(f"tweet id {tid!r} is not numeric")
        note = tweet.get("note_tweet")
        text = note.get("text") if isinstance(note, dict) and note.get("text") else tweet["text"]
        if not isinstance(text, str):
            raise ValueError("text is not a string")
        author_id = tweet.get("author_id")
        user = users.get(str(author_id)) if author_id else None
        if user is None or not isinstance(user.get("username"), str) or not user["username"]:
            raise ValueError(f"author {author_id} is missing from includes.users")
        created = datetime.fromisoformat(str(tweet["created_at"]).replace("Z", "+00:00"))
        if created.tzinfo is None:
            raise ValueError("created_at has no time zone")
        refs = tweet.get("referenced_tweets") or []
        if not isinstance(refs, list):
            raise ValueError("referenced_tweets is not a list")
        kinds = {str(r.get("type")): str(r.get("id")) for r in refs if isinstance(r, dict)}
        metrics = user.get("public_metrics")
        followers = metrics.get("followers_count") if isinstance(metrics, dict) else None
        lang = tweet.get("lang")
        conversation = tweet.get("conversation_id")
        return Mention(
            network=self.network,
            native_id=tid,
            text=text,
            created_at=created.astimezone(UTC),
            author=Author(
                handle=user["username"],
                name=user.get("name") if isinstance(user.get("name"), str) else None,
                followers=followers if isinstance(followers, int) else None,
            ),
            url=STATUS_URL.format(user["username"], tid),
            lang=lang if isinstance(lang, str) and lang and lang not in NO_LANGUAGE else None,
            conversation_id=str(conversation) if conversation else None,
            in_reply_to=kinds.get("replied_to"),
            is_repost="retweeted" in kinds,
            raw={"tweet": dict(tweet), "author": dict(user)},
        )

    # --- replies -------------------------------------------------------------------------
    def _status_url(self, tweet_id: str) -> str:
        return STATUS_URL.format(self.handle or "i/web", tweet_id)

    def reply(self, mention: Mention, text: str, key: str) -> PostedReply:
        """Post ``text`` in reply to ``mention`` as the brand (X has no idempotency key:
        after an unknown outcome the core calls ``find_reply`` before posting again)."""
        self._require_user("replying")
        body = self._call(
            "POST /2/tweets",
            True,
            lambda c: c.create_tweet(
                text=text, in_reply_to_tweet_id=mention.native_id, user_auth=True
            ),
        )
        tweet_id = (body.get("data") or {}).get("id")
        if not tweet_id:
            raise ConnectorError(f"{self.name}: POST /2/tweets returned no tweet id")
        return PostedReply(str(tweet_id), self._status_url(str(tweet_id)))

    def find_reply(self, mention: Mention, key: str) -> PostedReply | None:
        """The brand's reply to ``mention``, if one was posted.

        With user context: the account's own timeline since the mention (immediate, and
        exactly the account that posts replies). Otherwise a recent search for
        ``conversation_id:<conv> from:<brand>`` (the search index can lag a few seconds).
        """
        token: str | None = None
        for _ in range(FIND_REPLY_PAGES):
            body = self._own_tweets(mention, token)
            for tweet in _tweets(body):
                refs = tweet.get("referenced_tweets") or []
                if any(
                    isinstance(r, dict)
                    and r.get("type") == "replied_to"
                    and str(r.get("id")) == mention.native_id
                    for r in refs
                ):
                    return PostedReply(str(tweet["id"]), self._status_url(str(tweet["id"])))
            meta = _dict(body, "meta")
            token = meta.get("next_token")
            if not token:
                return None
        return None

    def _own_tweets(self, mention: Mention, token: str | None) -> dict[str, Any]:
        """One page of the brand's tweets that could be a reply to ``mention``."""
        fields = ["referenced_tweets", "conversation_id", "created_at"]
        if self._user_ready:
            me = str(self.opts.get("user_id") or self._authenticated_id())
            return self._call(
                "GET /2/users/:id/tweets",
                True,
                lambda c: c.get_users_tweets(
                    me,
                    since_id=mention.native_id,
                    exclude=["retweets"],
                    max_results=PAGE_SIZE,
                    pagination_token=token,
                    tweet_fields=fields,
                    user_auth=True,
                ),
            )
        if self.handle and self._bearer_ready:
            conversation = mention.conversation_id or mention.native_id
            query = f"conversation_id:{conversation} from:{self.handle}"
            return self._call(
                "GET /2/tweets/search/recent",
                False,
                lambda c: c.search_recent_tweets(
                    query, max_results=PAGE_SIZE, next_token=token, tweet_fields=fields
                ),
            )
        self._require_user("finding a posted reply")
        raise AuthError(f"{self.name}: set the brand's X handle in [brand.handles]")


# --- helpers ---------------------------------------------------------------------------


def _dict(body: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    return value if isinstance(value, dict) else {}


def _tweets(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    data = body.get("data")
    return [t for t in data if isinstance(t, dict)] if isinstance(data, list) else []


def _newer(a: str | None, b: str | None) -> str | None:
    values = [x for x in (a, b) if x and str(x).isdigit()]
    return str(max(values, key=int)) if values else None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}"
    return str(exc) or type(exc).__name__


def _status(exc: Any) -> str:
    response = getattr(exc, "response", None)
    code = getattr(response, "status_code", None)
    reason = getattr(response, "reason", None) or ""
    return f"{code} {reason}".strip() if code else type(exc).__name__


def _detail(exc: Any) -> str:
    """X's own words for a refusal (problem-details ``detail`` or ``errors[].message``)."""
    messages = [str(m) for m in getattr(exc, "api_messages", []) if m]
    return f" ({'; '.join(messages)[:200]})" if messages else ""


def _where(what: str, exc: Any) -> str:
    """'GET /2/users/783214/mentions': method and path, never the query string."""
    response = getattr(exc, "response", None)
    request = getattr(response, "request", None)
    url = getattr(request, "url", None)
    method = getattr(request, "method", None)
    if url and method:
        return f"{method} {urlsplit(str(url)).path}"
    return what


# --- keeping tokens out of debug logs ----------------------------------------------------

_LOGGERS = ("tweepy", "requests_oauthlib", "oauthlib", "urllib3", "requests")
_PATTERNS = (
    re.compile(r"(Bearer\s+)[^\s'\",}]+", re.IGNORECASE),
    re.compile(r"(oauth_(?:token|consumer_key|signature|nonce)=\\?[\"']?)[^\"'&,\s\\]+"),
    re.compile(r"((?:Authorization|authorization)['\"]?\s*[:=]\s*b?['\"])[^'\"]+"),
    re.compile(r"(Signature:\s+)\S+"),  # oauthlib logs each request's HMAC
)


class RedactSecrets(logging.Filter):
    """Rewrites a record's message with every known token (and any Authorization header,
    bearer token or OAuth parameter) replaced by ``***`` before a handler formats it."""

    def __init__(self) -> None:
        super().__init__("social_watch.redact")
        self.values: set[str] = set()

    def add(self, values: Iterable[str]) -> None:
        for value in values:
            if len(value) >= 4:
                self.values.update({value, quote(value, safe=""), quote(value)})

    def scrub(self, text: str) -> str:
        for value in sorted(self.values, key=len, reverse=True):
            text = text.replace(value, "***")
        for pattern in _PATTERNS:
            text = pattern.sub(r"\1***", text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record is not ours to fix
            return True
        clean = self.scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


_REDACTOR = RedactSecrets()


def redact_logs(values: Iterable[str] = ()) -> RedactSecrets:
    """Install the redacting filter on every logger tweepy and its transport log through.

    A logger's filters see only records logged on that logger itself, so the filter goes on
    each existing logger under those packages (they exist once tweepy is imported).
    """
    _REDACTOR.add(values)
    names = set(_LOGGERS) | {
        name for name in list(logging.root.manager.loggerDict) if name.split(".", 1)[0] in _LOGGERS
    }
    for name in names:
        logger = logging.getLogger(name)
        if _REDACTOR not in logger.filters:
            logger.addFilter(_REDACTOR)
    return _REDACTOR
