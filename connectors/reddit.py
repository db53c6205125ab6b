"""Reddit through praw: brand-keyword searches and the account's username mentions.

Endpoints (host ``oauth.reddit.com``; token from ``www.reddit.com/api/v1/access_token`` with
a *script* app: client id + secret + the account's username + password):

* ``GET /r/{all | sub1+sub2}/search/?q=…&sort=new&t=all&limit=100[&restrict_sr=true]``:
  one source per query, restricted to the configured subreddits (one multireddit request),
  or all of Reddit when ``subreddits`` is empty;
* ``GET /message/mentions?limit=100&mark=false``: inbox username mentions (``mentions = true``);
* ``POST /api/comment/`` (``thing_id``, ``text``): ``reply`` on a submission or comment;
* ``GET /comments/{link}/[_/{comment}]``: ``find_reply`` reads the item's direct replies;
* ``GET /api/v1/me``: ``check``.

Listings have no since-id, so the cursor (JSON, per source) is a high-water mark in time::

    {"since": 1554774308.0,                       # newest created_utc fully read
     "seen": {"t1_ekftbox": 1554774308.0, …},     # fullnames at or near it (bounded)
     "resume": {"after": "t1_ekfncs9",            # progress marker inside a burst
                "top": 1554774308.0, "pending": {…}}}

A poll reads newest first and stops at the first item older than ``since`` minus an overlap
(10 minutes for searches, whose index lags, so late arrivals just below the mark are still
picked up; a minute for the inbox); ``seen`` absorbs the overlap. A burst larger than one page is read page by page with ``after``,
each page committed with its cursor; ``since`` moves only when the burst has been read to
the end, so a crash or the runner's page limit resumes the burst and never skips it.
The first poll reads back ``lookback`` (default 24h), not all of history.

Rate limits: Reddit allows about 100 requests a minute per OAuth client, reported in
``x-ratelimit-remaining``/``x-ratelimit-reset`` (seconds). praw and prawcore would sleep on
their own (pacing, retries, ``RATELIMIT`` API errors); this connector never does: an exhausted
window, a 429 (an HTML page with ``retry-after``) or a ``RATELIMIT`` reply error becomes
``RateLimited(reset_at)`` and the runner decides when to come back. prawcore's retries of
GETs on connection errors and 5xx happen without sleeping; a reply POST is never retried.

praw is imported only inside methods: importing this module costs nothing.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from social_watch import __version__
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

if TYPE_CHECKING:
    import praw
    import requests

log = logging.getLogger("social_watch.connectors.reddit")

WEB = "https://www.reddit.com"  # public links always point here, whatever host we talk to
OAUTH_URL = "https://oauth.reddit.com"
REDDIT_URL = "https://www.reddit.com"
PAGE_SIZE = 100  # Reddit's maximum per listing request
# Seconds re-read below the mark: Reddit's search index lags behind new posts by minutes;
# the inbox does not, so it only needs the same-second overlap.
OVERLAP = {SEARCH: 600.0, MENTIONS: 60.0}
SEEN_MAX = 500  # bound on remembered fullnames
DEFAULT_LOOKBACK = timedelta(hours=24)
DEFAULT_RATE_LIMIT_WAIT = timedelta(minutes=1)  # a 429 without any reset header
RATELIMIT_SECONDS = 0  # praw sleeps on RATELIMIT errors only up to this many seconds
DELETED = {"", "[deleted]"}
_SUBREDDIT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]{1,20}$")
_WAIT = re.compile(r"(\d+) (milliseconds?|seconds?|minutes?|hours?)")
_LINK_IN_PATH = re.compile(r"/comments/([a-z0-9]+)/")
_RAW_KEYS = (
    "subreddit",
    "score",
    "num_comments",
    "over_18",
    "url",
    "type",
    "link_title",
    "is_submitter",
    "distinguished",
    "edited",
    "context",
)

T = TypeVar("T")


class RedditConnector(Connector):
    name = "reddit"
    network = "reddit"
    capabilities = frozenset({MENTIONS, SEARCH, REPLY})
    secrets: ClassVar[dict[str, str]] = {
        "client_id_env": "SOCIAL_WATCH_REDDIT_CLIENT_ID",
        "client_secret_env": "SOCIAL_WATCH_REDDIT_CLIENT_SECRET",
        "username_env": "SOCIAL_WATCH_REDDIT_USERNAME",
        "password_env": "SOCIAL_WATCH_REDDIT_PASSWORD",
    }
    options: ClassVar[dict[str, str]] = {
        "queries": "keyword searches, newest first (Reddit search syntax)",
        "subreddits": "restrict searches to these subreddits (empty: all of Reddit)",
        "mentions": "also read the account's username mentions from the inbox (default false)",
        "lookback": "how far back the first poll reads (default 24h)",
        "user_agent": "User-Agent sent to Reddit (default names social-watch and its version)",
        "oauth_url": f"API host (default {OAUTH_URL})",
        "reddit_url": f"token host (default {REDDIT_URL})",
        "base_url": "one host for both API and token endpoints (a local test server)",
    }
    reply_rule = LengthRule(10000, "chars")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reddit: praw.Reddit | None = None
        self._http: requests.Session | None = None

    # --- configuration ---------------------------------------------------------------
    @classmethod
    def validate_options(cls, options: Mapping[str, Any], key: str) -> None:
        super().validate_options(options, key)
        for name in ("queries", "subreddits"):
            value = options.get(name, [])
            if not isinstance(value, list):
                raise ConfigError("expected a list of strings", key=f"{key}.{name}")
            for i, item in enumerate(value):
                if not isinstance(item, str) or not item.strip():
                    raise ConfigError("expected a non-empty string", key=f"{key}.{name}[{i}]")
                if name == "subreddits" and not _SUBREDDIT.match(_subreddit_name(item)):
                    raise ConfigError(
                        f"{item!r} is not a subreddit name (like 'shopexample' or 'r/shopexample')",
                        key=f"{key}.{name}[{i}]",
                    )
        if not isinstance(options.get("mentions", False), bool):
            raise ConfigError("expected true or false", key=f"{key}.mentions")
        if not options.get("queries") and not options.get("mentions"):
            raise ConfigError(
                'nothing to poll: give queries = ["shopexample"] and/or mentions = true',
                key=f"{key}.queries",
            )
        try:
            parse_duration(options.get("lookback", "24h"))
        except ValueError as exc:
            raise ConfigError(str(exc), key=f"{key}.lookback") from None
        for name in ("oauth_url", "reddit_url", "base_url"):
            value = options.get(name)
            if value is not None and (
                not isinstance(value, str) or not value.startswith(("http://", "https://"))
            ):
                raise ConfigError("expected an http(s) URL", key=f"{key}.{name}")
        agent = options.get("user_agent")
        if agent is not None and (not isinstance(agent, str) or len(agent.strip()) < 7):
            raise ConfigError("expected a descriptive user agent string", key=f"{key}.user_agent")

    def sources(self) -> list[Source]:
        out = [Source(self.name, SEARCH, q.strip()) for q in self.opts.get("queries", [])]
        if self.opts.get("mentions"):
            out.append(Source(self.name, MENTIONS))
        return out

    def _var(self, option: str) -> str:
        return str(self.opts.get(option) or self.secrets[option])

    @property
    def subreddits(self) -> list[str]:
        return [_subreddit_name(s) for s in self.opts.get("subreddits", [])]

    @property
    def lookback(self) -> timedelta:
        value = self.opts.get("lookback")
        return parse_duration(value) if value is not None else DEFAULT_LOOKBACK

    # --- the praw client ------------------------------------------------------------
    def _client(self) -> praw.Reddit:
        """A praw.Reddit for the script app; AuthError names the first missing variable."""
        if self._reddit is not None:
            return self._reddit
        import praw
        import requests

        creds = {option.removesuffix("_env"): self.secret(option) for option in self.secrets}
        base = self.opts.get("base_url")
        agent = self.opts.get("user_agent") or (
            f"python:social-watch:{__version__} (by /u/{creds['username']})"
        )
        http = requests.Session()
        http.trust_env = False  # like every social-watch client: no ambient proxies or netrc
        reddit = praw.Reddit(
            "DEFAULT",  # never a praw_site section picked up from the environment
            requestor_kwargs={"session": http},
            client_id=creds["client_id"],
            client_secret=creds["client_secret"],
            username=creds["username"],
            password=creds["password"],
            user_agent=agent,
            # always explicit, so a praw.ini in the working directory cannot redirect them
            oauth_url=self.opts.get("oauth_url") or base or OAUTH_URL,
            reddit_url=self.opts.get("reddit_url") or base or REDDIT_URL,
            ratelimit_seconds=RATELIMIT_SECONDS,
            check_for_updates=False,
            check_for_async=False,
        )
        for session in {id(s): s for s in _sessions(reddit)}.values():
            self._never_sleep(session)
        self._reddit, self._http = reddit, http
        return reddit

    def _never_sleep(self, session: Any) -> None:
        """Bound prawcore's own waiting: no pacing sleeps, no sleeps between retries.

        prawcore sleeps before a request when its window is used up (up to 10 minutes) and
        between retries; a connector must not block the watch loop, so an exhausted window
        becomes RateLimited with its reset time and retries happen at once. Both hooks are
        prawcore internals: if a future version renames them, praw's default behaviour
        (bounded sleeps) remains.
        """
        from prawcore.sessions import FiniteRetryStrategy

        limiter = getattr(session, "rate_limiter", None)
        if limiter is not None and hasattr(limiter, "delay"):
            clock = self.clock

            def delay() -> None:
                import time

                ns = getattr(limiter, "next_request_timestamp_ns", None)  # prawcore >= 3
                secs = getattr(limiter, "next_request_timestamp", None)  # prawcore 2 (praw 7)
                if ns is not None:
                    wait = (ns - time.monotonic_ns()) / 1e9
                elif secs is not None:
                    wait = secs - time.time()
                else:
                    return
                remaining = getattr(limiter, "remaining", None)
                if wait > 0 and remaining is not None and remaining <= 0:
                    reset = clock() + timedelta(seconds=wait)
                    raise RateLimited(
                        f"reddit: request budget used up; rate limited until {reset:%H:%M:%S} UTC",
                        reset_at=reset,
                    )
                # otherwise skip prawcore's pacing sleep: the runner spaces polls

            setattr(limiter, "delay", delay)  # noqa: B010 - instance hook, see docstring
        if hasattr(session, "_retry_strategy_class"):

            class NoSleepRetry(FiniteRetryStrategy):
                def _sleep_seconds(self) -> float | None:
                    return None

            session._retry_strategy_class = NoSleepRetry

    @contextlib.contextmanager
    def _no_retries(self) -> Iterator[None]:
        """A POST that may have reached Reddit is never sent twice by the transport."""
        from prawcore.sessions import FiniteRetryStrategy

        class Once(FiniteRetryStrategy):
            def _sleep_seconds(self) -> float | None:
                return None

        sessions = [s for s in _sessions(self._client()) if hasattr(s, "_retry_strategy_class")]
        saved = [s._retry_strategy_class for s in sessions]
        for s in sessions:
            s._retry_strategy_class = lambda: Once(retries=0)
        try:
            yield
        finally:
            for s, cls in zip(sessions, saved, strict=True):
                s._retry_strategy_class = cls

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
        self._reddit = self._http = None

    # --- errors -----------------------------------------------------------------------
    def _call(self, fn: Callable[[], T], where: str) -> T:
        """Run one praw call; praw's and prawcore's exceptions become the core's kinds."""
        from praw.exceptions import PRAWException
        from prawcore.exceptions import PrawcoreException

        try:
            return fn()
        except (PrawcoreException, PRAWException) as exc:
            raise self._map_error(exc, where) from None

    def _map_error(self, exc: Exception, where: str) -> ConnectorError:
        """One place that maps praw/prawcore failures to AuthError/RateLimited/Transient."""
        from praw.exceptions import RedditAPIException
        from prawcore.exceptions import (
            OAuthException,
            Redirect,
            RequestException,
            ResponseException,
        )

        at = f"reddit: {where}"
        client_vars = f"{self._var('client_id_env')} and {self._var('client_secret_env')}"
        login_vars = f"{self._var('username_env')} and {self._var('password_env')}"
        if isinstance(exc, RedditAPIException):
            for item in exc.items:
                if item.error_type == "RATELIMIT":
                    reset = self.clock() + _wait_in(item.message or "")
                    return RateLimited(
                        f"{at}: Reddit asks to wait; rate limited until {reset:%H:%M:%S} UTC",
                        reset_at=reset,
                    )
            reasons = ", ".join(item.error_type for item in exc.items) or "unknown"
            return Rejected(f"{at}: Reddit refused it ({reasons})")
        if isinstance(exc, OAuthException):
            if exc.error == "invalid_grant":
                return AuthError(
                    f"{at}: Reddit refused the login (invalid_grant): check {login_vars} "
                    "(an account with two-factor login cannot use a script app password)",
                    env_var=self._var("password_env"),
                )
            return AuthError(
                f"{at}: Reddit refused the app ({exc.error}): check {client_vars}",
                env_var=self._var("client_secret_env"),
            )
        if isinstance(exc, RequestException):
            reason = type(exc.original_exception).__name__
            return TransientError(f"{at} failed: {reason}")
        if isinstance(exc, ResponseException):
            response = exc.response
            status = response.status_code
            token = response.url.split("?", 1)[0].endswith("/api/v1/access_token")
            at = (
                f"{at} → {status}" if not token else f"reddit: POST /api/v1/access_token → {status}"
            )
            if status == 429:
                reset = _reset_from(response.headers, self.clock())
                return RateLimited(f"{at}; rate limited until {reset:%H:%M:%S} UTC", reset_at=reset)
            if status == 401 or (token and status in (400, 403)):
                return AuthError(
                    f"{at}: Reddit refused the app credentials; check {client_vars}",
                    env_var=self._var("client_secret_env"),
                )
            if status == 403:
                return AuthError(
                    f"{at}: forbidden (a private or banned subreddit, a locked thread, or the "
                    f"account in {self._var('username_env')} lacks access)",
                    env_var=self._var("username_env"),
                )
            if status >= 500 or status == 408:
                return TransientError(at)
            if isinstance(exc, Redirect) or status == 404:
                return Rejected(f"{at}: not found (check the subreddit names)")
            return Rejected(at) if 400 <= status < 500 else ConnectorError(at)
        return ConnectorError(f"{at}: {type(exc).__name__}")

    # --- check ------------------------------------------------------------------------
    def check(self) -> str:
        missing = self.missing_secrets()
        if missing:
            names = ", ".join(missing)
            verb = "is" if len(missing) == 1 else "are"
            raise AuthError(
                f"reddit: environment variable {names} {verb} not set "
                "(a script app: https://www.reddit.com/prefs/apps)",
                env_var=missing[0],
            )
        reddit = self._client()
        me = self._call(lambda: reddit.user.me(), "GET /api/v1/me")
        if me is None:
            raise AuthError(
                f"reddit: no account behind the credentials; check {self._var('username_env')}",
                env_var=self._var("username_env"),
            )
        return f"authenticated as u/{me.name}"

    # --- poll -------------------------------------------------------------------------
    def _request_for(self, source: Source) -> tuple[str, dict[str, str | int]]:
        if source.kind == MENTIONS:
            return "message/mentions", {"limit": PAGE_SIZE, "mark": "false"}
        if source.kind != SEARCH or not source.query:
            raise UsageError(f"reddit has no source {source.key}")
        params: dict[str, str | int] = {
            "q": source.query,
            "sort": "new",
            "t": "all",
            "limit": PAGE_SIZE,
        }
        subs = self.subreddits
        if subs:
            params["restrict_sr"] = "true"
            return f"r/{'+'.join(subs)}/search/", params
        return "r/all/search/", params

    def poll(self, source: Source, cursor: Any) -> PollResult:
        now = self.clock()
        state = _Cursor.load(cursor, default_since=(now - self.lookback).timestamp())
        path, params = self._request_for(source)
        if state.resume:
            params["after"] = state.resume["after"]
        reddit = self._client()
        data = self._call(
            lambda: reddit.request(method="GET", path=path, params=params), f"GET /{path}"
        )
        children, after = _listing(data, f"GET /{path}")
        log.debug("reddit: GET /%s: %d items, after=%s", path, len(children), after)
        return self._read_page(state, children, after, OVERLAP[source.kind])

    def _read_page(
        self, state: _Cursor, children: list[Any], after: str | None, overlap: float
    ) -> PollResult:
        boundary = state.since - overlap
        resume = state.resume or {}
        top: float | None = resume.get("top")
        pending: dict[str, float] = dict(resume.get("pending") or {})
        mentions: list[Mention] = []
        skipped: list[Skipped] = []
        undated: list[str] = []
        reached = False
        for child in children:
            name, ts = _identity(child)
            if ts is not None and ts < boundary:
                reached = True
                break
            if name is not None and (name in state.seen or name in pending):
                continue
            item = self.to_mention(child)
            if isinstance(item, Skipped):
                skipped.append(item)
            else:
                mentions.append(item)
            if name is not None and ts is not None:
                pending[name] = ts
                top = ts if top is None else max(top, ts)
            elif name is not None:
                undated.append(name)
        for name in undated:  # remembered at the mark, so it is reported once, not every poll
            pending[name] = max(top or state.since, state.since)
        more = (
            not reached
            and bool(children)
            and after is not None
            and after != (state.resume or {}).get("after")
        )
        if more:
            assert after is not None
            keep = _prune(pending, (top or state.since) - overlap)
            next_cursor = state.dump(resume={"after": after, "top": top, "pending": keep})
        else:
            since = max(state.since, top) if top is not None else state.since
            seen = _prune({**state.seen, **pending}, since - overlap)
            next_cursor = _Cursor(since, seen, None).dump()
        return PollResult(mentions, next_cursor, skipped, more=more)

    # --- normalize --------------------------------------------------------------------
    def to_mention(self, child: Any) -> Mention | Skipped:
        """One listing child (``{"kind": "t3"|"t1", "data": {…}}``) as a Mention, or why not."""
        name, ts = _identity(child)
        if name is None or ts is None:
            return Skipped(name, "not a Reddit submission or comment (no fullname or time)")
        kind, data = child["kind"], child["data"]
        author = data.get("author")
        if not isinstance(author, str) or author.strip() in DELETED:
            return Skipped(name, "author deleted")
        if kind == "t3":
            title, body = data.get("title"), data.get("selftext") or ""
            if not isinstance(title, str) or not isinstance(body, str):
                return Skipped(name, "submission without a title")
            text = f"{title}\n\n{body}".strip() if body.strip() else title
            conversation: str | None = name
            parent: str | None = None
        else:
            text = data.get("body")
            if not isinstance(text, str):
                return Skipped(name, "comment without a body")
            parent = data.get("parent_id") if isinstance(data.get("parent_id"), str) else None
            conversation = _link_id(data) or (
                parent if parent and parent.startswith("t3_") else None
            )
        path = _permalink(data)
        return Mention(
            network=self.network,
            native_id=name,
            text=text,
            created_at=datetime.fromtimestamp(ts, UTC),
            author=Author(handle=author.strip()),
            url=WEB + path if path else None,
            lang=None,
            conversation_id=conversation,
            in_reply_to=parent,
            raw={"kind": kind, **{k: data[k] for k in _RAW_KEYS if k in data}},
        )

    # --- reply ------------------------------------------------------------------------
    def reply(self, mention: Mention, text: str, key: str) -> PostedReply:
        """``.reply(text)`` on the submission or comment: POST /api/comment/ with thing_id.

        Reddit has no idempotency key (``key`` is unused): the caller reconciles an unknown
        outcome with ``find_reply`` before posting again, and this POST is never retried.
        """
        reddit = self._client()
        kind, id36 = _split(mention.native_id)
        thing = reddit.submission(id=id36) if kind == "t3" else reddit.comment(id=id36)
        with self._no_retries():
            comment = self._call(lambda: thing.reply(text), "POST /api/comment/")
        if comment is None:
            # Reddit created it but did not return it (quarantined subreddit): look it up.
            found = self.find_reply(mention, key)
            if found is not None:
                return found
            raise TransientError(
                "reddit: POST /api/comment/ returned no comment; look for it before posting again"
            )
        data = vars(comment)
        permalink = data.get("permalink")
        return PostedReply(
            remote_id=f"t1_{data.get('id') or comment.id}",
            url=WEB + permalink if isinstance(permalink, str) else None,
        )

    def brand_accounts(self) -> set[str]:
        """Lower-cased usernames that are the brand: handles["reddit"] and the login."""
        names: set[str] = set()
        handle = self.brand_handles.get("reddit")
        for h in [handle] if isinstance(handle, str) else list(handle or []):
            names.add(_username(h))
        user = self.env.get(self._var("username_env"), "").strip()
        if user:
            names.add(_username(user))
        names.discard("")
        return names

    def find_reply(self, mention: Mention, key: str) -> PostedReply | None:
        """The brand's newest direct reply to the submission or comment, if any.

        Reads the item's replies fresh (``GET /comments/{link}/_/{comment}`` or
        ``/comments/{link}/``, newest first): used to reconcile a reply whose outcome is
        unknown and to see answers given natively on Reddit.
        """
        kind, id36 = _split(mention.native_id)
        if kind == "t3":
            path = f"comments/{id36}/"
        else:
            link = mention.conversation_id or ""
            if not link.startswith("t3_"):
                return None
            path = f"comments/{link[3:]}/_/{id36}/"
        params: dict[str, str | int] = {"sort": "new", "limit": 500, "depth": 2}
        reddit = self._client()
        data = self._call(
            lambda: reddit.request(method="GET", path=path, params=params), f"GET /{path}"
        )
        brand = self.brand_accounts()
        best: tuple[float, PostedReply] | None = None
        for child in _direct_replies(data, mention.native_id):
            if not isinstance(child, dict) or child.get("kind") != "t1":
                continue
            d = child.get("data") or {}
            if _username(str(d.get("author") or "")) not in brand:
                continue
            name, ts = _identity(child)
            if name is None:
                continue
            permalink = d.get("permalink")
            found = PostedReply(name, WEB + permalink if isinstance(permalink, str) else None)
            if best is None or (ts or 0.0) > best[0]:
                best = (ts or 0.0, found)
        return best[1] if best else None


# --- pure helpers -----------------------------------------------------------------------
class _Cursor:
    """The connector's own cursor JSON: high-water mark, its ids, and a burst in progress."""

    def __init__(self, since: float, seen: dict[str, float], resume: dict[str, Any] | None):
        self.since = since
        self.seen = seen
        self.resume = resume

    @classmethod
    def load(cls, cursor: Any, *, default_since: float) -> _Cursor:
        if not isinstance(cursor, dict):
            return cls(default_since, {}, None)
        since = cursor.get("since")
        seen = cursor.get("seen")
        resume = cursor.get("resume")
        return cls(
            float(since) if isinstance(since, int | float) else default_since,
            {str(k): float(v) for k, v in seen.items()} if isinstance(seen, dict) else {},
            resume if isinstance(resume, dict) and resume.get("after") else None,
        )

    def dump(self, resume: dict[str, Any] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"since": self.since, "seen": self.seen}
        resume = resume if resume is not None else self.resume
        if resume:
            out["resume"] = resume
        return out


def _sessions(reddit: Any) -> list[Any]:
    """prawcore sessions behind a praw.Reddit (script auth uses ``_core``)."""
    found = [getattr(reddit, a, None) for a in ("_core", "_authorized_core", "_read_only_core")]
    return [s for s in found if s is not None]


def _subreddit_name(value: str) -> str:
    value = value.strip()
    for prefix in ("/r/", "r/"):
        value = value.removeprefix(prefix)
    return value.strip("/")


def _username(value: str) -> str:
    value = value.strip().lower()
    for prefix in ("/u/", "u/", "@"):
        value = value.removeprefix(prefix)
    return value


def _split(fullname: str) -> tuple[str, str]:
    kind, _, id36 = fullname.partition("_")
    if kind not in ("t1", "t3") or not id36:
        raise UsageError(f"reddit: {fullname!r} is not a submission (t3_…) or comment (t1_…)")
    return kind, id36


def _identity(child: Any) -> tuple[str | None, float | None]:
    """(fullname, created_utc) of a listing child; None where it cannot be read."""
    if not isinstance(child, dict) or child.get("kind") not in ("t1", "t3"):
        return None, None
    data = child.get("data")
    if not isinstance(data, dict):
        return None, None
    name = data.get("name")
    if not isinstance(name, str) or not name.startswith(f"{child['kind']}_"):
        ident = data.get("id")
        name = f"{child['kind']}_{ident}" if isinstance(ident, str) and ident else None
    ts = data.get("created_utc")
    if isinstance(ts, bool) or not isinstance(ts, int | float):
        return name, None
    return name, float(ts)


def _listing(data: Any, where: str) -> tuple[list[Any], str | None]:
    if not isinstance(data, dict) or data.get("kind") != "Listing":
        raise TransientError(f"reddit: {where}: expected a Listing")
    body = data.get("data") or {}
    children = body.get("children")
    if not isinstance(children, list):
        raise TransientError(f"reddit: {where}: a Listing without children")
    after = body.get("after")
    return children, after if isinstance(after, str) and after else None


def _direct_replies(data: Any, fullname: str) -> list[Any]:
    """Replies one level below ``fullname`` in a /comments/ response."""
    if not isinstance(data, list) or len(data) < 2 or not isinstance(data[1], dict):
        return []
    top = (data[1].get("data") or {}).get("children") or []
    if fullname.startswith("t3_"):
        return list(top)
    for child in top:
        d = child.get("data") if isinstance(child, dict) else None
        if isinstance(d, dict) and (d.get("name") == fullname or f"t1_{d.get('id')}" == fullname):
            replies = d.get("replies")
            if isinstance(replies, dict):
                return list((replies.get("data") or {}).get("children") or [])
    return []


def _permalink(data: Mapping[str, Any]) -> str | None:
    """The item's path on reddit.com; inbox items only carry ``context`` (with ?context=3)."""
    for key in ("permalink", "context"):
        value = data.get(key)
        if isinstance(value, str) and value.startswith("/"):
            return value.split("?", 1)[0]
    return None


def _link_id(data: Mapping[str, Any]) -> str | None:
    link = data.get("link_id")
    if isinstance(link, str) and link.startswith("t3_"):
        return link
    path = _permalink(data)
    match = _LINK_IN_PATH.search(path or "")
    return f"t3_{match.group(1)}" if match else None


def _prune(ids: Mapping[str, float], floor: float) -> dict[str, float]:
    kept = sorted(((ts, n) for n, ts in ids.items() if ts >= floor), reverse=True)[:SEEN_MAX]
    return {n: ts for ts, n in kept}


def _wait_in(message: str) -> timedelta:
    """'Take a break for 9 minutes before trying again' → 9 minutes (RATELIMIT errors)."""
    match = _WAIT.search(message)
    if not match:
        return DEFAULT_RATE_LIMIT_WAIT
    amount, unit = int(match.group(1)), match.group(2)
    if unit.startswith("millisecond"):
        return timedelta(seconds=1)
    scale = {"s": 1, "m": 60, "h": 3600}[unit[0]]
    return timedelta(seconds=amount * scale)


def _reset_from(headers: Mapping[str, str], now: datetime) -> datetime:
    """When to come back after a 429: ``retry-after`` or ``x-ratelimit-reset`` (seconds)."""
    for name in ("retry-after", "x-ratelimit-reset"):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return now + timedelta(seconds=max(float(value), 0.0))
        except ValueError:
            continue
    return now + DEFAULT_RATE_LIMIT_WAIT
