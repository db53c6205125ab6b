"""Bluesky through AT Protocol XRPC with httpx: keyword searches and the account's mentions.

Endpoints (under ``{base_url}/xrpc/``, default https://bsky.social):

- ``com.atproto.server.createSession`` (handle + app password) and
  ``com.atproto.server.refreshSession``: the PDS allows only 10 logins a day per account
  (``RateLimit-Policy: 10;w=86400``) and ``social-watch poll`` runs from cron every minute,
  so the session outlives the process in a session cache file (below). An access token that
  expired (``ExpiredToken``, HTTP 400 from the PDS, 401 from the AppView) is refreshed and
  the call retried once; only a refused refresh logs in again;
- ``app.bsky.feed.searchPosts`` (``q``, ``sort=latest``, ``since``, ``limit``, ``cursor``):
  one source per query;
- ``app.bsky.notification.listNotifications`` (``reasons=mention,reply``, filtered again
  locally): the brand's mentions and replies to it;
- ``com.atproto.repo.createRecord`` on ``app.bsky.feed.post``: replies, with ``reply.root`` /
  ``reply.parent`` (uri + cid), facets for @-mentions (``com.atproto.identity.resolveHandle``)
  and links with UTF-8 byte offsets; ``com.atproto.repo.getRecord`` and
  ``app.bsky.feed.getPostThread`` for reconciliation (``find_reply``) and missing cids.

Cursor (JSON, per source)::

    {"since": "2026-11-24T09:58:00.000Z",           # newest post time fully read
     "seen": {"at://…/3lpk2u6qo222m": "2026-…Z"},   # recent URIs (bounded) absorb overlaps
     "page": "25", "lower": "…", "top": "…"}        # progress marker inside a burst

Both listings run newest first. A poll asks for posts from ``since - overlap`` (10 minutes:
the search index is not instantaneous) and follows the API ``cursor`` until it reaches that
time or the end; every page is committed with its cursor, and ``since`` moves to the newest
post of the burst only when the burst has been read to the end, so a crash or the runner's
page limit resumes it (``page``) rather than skipping it. The first poll reads ``lookback``
(default 24h). Time of a post: the earlier of ``record.createdAt`` and ``indexedAt``, as the
AppView sorts.

Replies are idempotent through the record key: ``rkey`` is a TID (13 characters of
base32-sortable, what the ``app.bsky.feed.post`` lexicon requires) derived from the outbox
key — SHA-256 of the key gives the microseconds within the second of the mention's
``createdAt`` (the TID's timestamp, so it is valid and never in the future) and the 10-bit
clock id. The same key always gives the same rkey; a repeated createRecord cannot create a
second post, and when it fails the record is looked up (getRecord) and reported as already
posted.

Session cache: option ``session_file``, default
``$XDG_STATE_HOME/social-watch/bluesky-<handle>.json`` (``~/.local/state/…`` without
``XDG_STATE_HOME``). It holds the configured handle's session only — accessJwt, refreshJwt,
did, the handle the PDS reports, the PDS endpoint from the DID document (informational:
calls go to ``base_url``) and ``base_url`` — never the app password, and never the database.
It is written after every login and refresh, atomically (a temp file in the same folder,
mode 0600, then ``os.replace``; a missing folder is created 0700). A run first loads it
(its tokens are registered with ``social_watch.redact``) if it is for the same handle and
``base_url``; a file group or others can access, one owned by another user, or a corrupt
one is ignored with one warning and replaced at the next login. A cached token the PDS
rejects outright (``InvalidToken``, 401) is renewed once like an expired one. Losing the
file only costs a login; a file that cannot be written is warned about once and the poll
goes on.

Rate limits: 3000 requests per 5 minutes on the PDS (``RateLimit-Policy: 3000;w=300``),
createSession 10 per day (``RateLimit-Policy: 10;w=86400``). A 429 becomes ``RateLimited`` at
``RateLimit-Reset`` (epoch seconds). The app password and tokens are only sent in request
bodies and ``Authorization`` headers and never appear in an error or log line.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import stat
import tempfile
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import httpx

from connectors import _http
from social_watch import redact
from social_watch.clock import parse_iso
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
    TransientError,
    Unreachable,
)
from social_watch.models import Author, Mention

log = logging.getLogger("social_watch.connectors.bluesky")

DEFAULT_BASE_URL = "https://bsky.social"
PASSWORD_ENV = "SOCIAL_WATCH_BLUESKY_APP_PASSWORD"
POST = "app.bsky.feed.post"
PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
REASONS = ("mention", "reply")
OVERLAP = timedelta(minutes=10)
SEEN_LIMIT = 500
TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_EXPIRED = ("ExpiredToken",)
_REJECTED = ("InvalidToken", "AuthenticationRequired")  # a cached token that is no good
CACHE_VERSION = 1
CACHE_MAX_BYTES = 64 * 1024
_warned: set[tuple[str, str]] = set()  # (path, problem): each cache problem is logged once

# Facets: an @handle (a domain name) or an http(s) URL, preceded by start, space or "(".
_MENTION = re.compile(
    rb"(?:^|(?<=[\s(]))(@(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+"
    rb"[a-zA-Z](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)"
)
_URL = re.compile(rb"(?:^|(?<=[\s(]))(https?://[^\s]+)")
_TRAILING = b".,;:!?\"'"


class _Session:
    __slots__ = ("access", "did", "handle", "pds", "refresh")

    def __init__(self, body: Mapping[str, Any], pds: str | None = None):
        self.access = str(body["accessJwt"])
        self.refresh = str(body["refreshJwt"])
        self.did = str(body["did"])
        self.handle = str(body.get("handle") or "")
        self.pds = _pds_endpoint(body) or pds
        redact.register(self.access)  # whatever logs a header or a body later
        redact.register(self.refresh)

    def __repr__(self) -> str:  # never show the tokens
        return f"_Session({self.handle or self.did})"


class BlueskyConnector(Connector):
    name = "bluesky"
    network = "bluesky"
    capabilities = frozenset({MENTIONS, SEARCH, REPLY})
    secrets: ClassVar[dict[str, str]] = {"app_password_env": PASSWORD_ENV}
    options: ClassVar[dict[str, str]] = {
        "base_url": f"the PDS or entryway (default {DEFAULT_BASE_URL})",
        "handle": "the brand's account, e.g. shopexample.bsky.social (else [brand.handles])",
        "queries": "keyword searches (app.bsky.feed.searchPosts, newest first)",
        "mentions": "the account's mention and reply notifications (default true)",
        "page_size": f"items per request, 1-{MAX_PAGE_SIZE} (default {PAGE_SIZE})",
        "lookback": "how far back the first poll reads (default 24h)",
        "session_file": (
            "where the login session is kept between runs, mode 0600 (default "
            "$XDG_STATE_HOME/social-watch/bluesky-<handle>.json, else ~/.local/state/…)"
        ),
    }
    reply_rule = LengthRule(300, "graphemes")
    idempotent_replies = True  # the record key (rkey) comes from the outbox key

    @classmethod
    def validate_options(cls, options: Mapping[str, Any], key: str) -> None:
        super().validate_options(options, key)
        base = options.get("base_url", DEFAULT_BASE_URL)
        if not isinstance(base, str) or not base.startswith(("http://", "https://")):
            raise ConfigError("expected an http(s) URL", key=f"{key}.base_url")
        handle = options.get("handle")
        if handle is not None and (not isinstance(handle, str) or "." not in handle):
            raise ConfigError(
                'expected a handle like "shopexample.bsky.social"', key=f"{key}.handle"
            )
        queries = options.get("queries", [])
        if not isinstance(queries, list):
            raise ConfigError("expected a list of strings", key=f"{key}.queries")
        for i, q in enumerate(queries):
            if not isinstance(q, str) or not q.strip():
                raise ConfigError("expected a non-empty string", key=f"{key}.queries[{i}]")
        if not isinstance(options.get("mentions", True), bool):
            raise ConfigError("expected true or false", key=f"{key}.mentions")
        size = options.get("page_size", PAGE_SIZE)
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_PAGE_SIZE:
            raise ConfigError(
                f"expected a whole number from 1 to {MAX_PAGE_SIZE}", key=f"{key}.page_size"
            )
        try:
            parse_duration(options.get("lookback", "24h"))
        except ValueError as exc:
            raise ConfigError(str(exc), key=f"{key}.lookback") from None
        session_file = options.get("session_file")
        if session_file is not None and (not isinstance(session_file, str) or not session_file):
            raise ConfigError("expected a file path", key=f"{key}.session_file")
        if not (queries or options.get("mentions", True)):
            raise ConfigError("nothing to watch: set queries or mentions = true", key=key)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client: httpx.Client | None = None
        self._session: _Session | None = None
        self._unproven = False  # the session came from the cache and has not been used yet
        self._dids: dict[str, str | None] = {}

    # --- plumbing ---
    @property
    def handle(self) -> str:
        configured = self.opts.get("handle") or self.brand_handles.get("bluesky")
        if isinstance(configured, list | tuple):
            configured = configured[0] if configured else None
        if not configured:
            raise ConfigError(
                'set handle = "shopexample.bsky.social" (or [brand.handles] bluesky)',
                key=f"connectors.{self.name}.handle",
            )
        return str(configured).strip().lstrip("@")

    @property
    def env_var(self) -> str:
        return str(self.opts.get("app_password_env") or PASSWORD_ENV)

    @property
    def page_size(self) -> int:
        return int(self.opts.get("page_size", PAGE_SIZE))

    @property
    def base_url(self) -> str:
        return str(self.opts.get("base_url", DEFAULT_BASE_URL)).rstrip("/")

    @property
    def http(self) -> httpx.Client:
        if self._client is None:
            self._client = _http.client(self.base_url)
        return self._client

    @property
    def session_file(self) -> Path:
        configured = self.opts.get("session_file")
        if configured:
            return Path(str(configured)).expanduser()
        state = self.env.get("XDG_STATE_HOME") or os.environ.get("XDG_STATE_HOME") or ""
        if not os.path.isabs(state):  # the XDG spec: a relative value is ignored
            home = self.env.get("HOME") or str(Path.home())
            state = os.path.join(home, ".local", "state")
        name = re.sub(r"[^a-z0-9._-]", "_", self.handle.lower())
        return Path(state) / "social-watch" / f"bluesky-{name}.json"

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _raw(self, method: str, nsid: str, token: str | None, **kwargs: Any) -> httpx.Response:
        """One XRPC call; transport failures are transient. Status checks are the caller's."""
        path = f"/xrpc/{nsid}"
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            return self.http.request(method, path, headers=headers, **kwargs)
        except httpx.TimeoutException:
            raise TransientError(f"{self.name}: {method} {path} timed out") from None
        except httpx.TransportError as exc:
            error = Unreachable if isinstance(exc, httpx.ConnectError) else TransientError
            raise error(
                f"{self.name}: {method} {path} failed: "
                f"{_http.transport_failure(exc, self.http.base_url)}"
            ) from None

    def _check(self, response: httpx.Response) -> httpx.Response:
        return _http.check(response, connector=self.name, env_var=self.env_var)

    def _login(self) -> _Session:
        password = self.secret("app_password_env")  # AuthError names the variable
        response = self._raw(
            "POST",
            "com.atproto.server.createSession",
            None,
            json={"identifier": self.handle, "password": password},
        )
        self._session = _Session(self._json(self._check(response)))
        self._unproven = False
        self._save_session()
        return self._session

    def _refresh(self) -> _Session:
        assert self._session is not None
        response = self._raw("POST", "com.atproto.server.refreshSession", self._session.refresh)
        if response.status_code in (400, 401):
            return self._login()  # the refresh token expired or was revoked
        self._session = _Session(self._json(self._check(response)), self._session.pds)
        self._unproven = False
        self._save_session()
        return self._session

    def _current(self) -> _Session:
        """This run's session: the one in hand, else the cached one, else a login."""
        if self._session is None:
            self._session = self._load_session()
            self._unproven = self._session is not None
        return self._session or self._login()

    def _xrpc(self, method: str, nsid: str, **kwargs: Any) -> httpx.Response:
        """An authenticated call; an expired access token is refreshed and the call retried once."""
        session = self._current()
        response = self._raw(method, nsid, session.access, **kwargs)
        if response.status_code in (400, 401) and self._stale(response):
            session = self._refresh()
            response = self._raw(method, nsid, session.access, **kwargs)
        if response.is_success:
            self._unproven = False
        return self._check(response)

    def _stale(self, response: httpx.Response) -> bool:
        name = _error_name(response)
        if name in _EXPIRED:
            return True
        # A cached token this run has not used yet may have been revoked: renew it once.
        return self._unproven and response.status_code == 401 and name in _REJECTED

    # --- the session cache (never the database, never a log line) ---
    def _warn_once(self, problem: str, message: str, *args: Any) -> None:
        key = (str(self.session_file), problem)
        if key not in _warned:
            _warned.add(key)
            log.warning(message, *args)

    def _load_session(self) -> _Session | None:
        """The cached session for this handle and base_url, if the file is private and valid."""
        path = self.session_file
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO never hangs
        except (FileNotFoundError, NotADirectoryError):
            return None  # no cache yet; a folder that cannot exist warns when written
        except OSError as exc:
            self._warn_once(
                "read", "%s: cannot read session cache %s (%s)", self.name, path, exc.strerror
            )
            return None
        try:
            st = os.fstat(fd)
            if os.name == "posix" and (st.st_mode & 0o077 or st.st_uid != os.getuid()):
                self._warn_once(
                    "mode",
                    "%s: ignoring session cache %s: mode %03o, owner uid %d; it must be private "
                    "to this user (0600); the next login replaces it",
                    self.name,
                    path,
                    st.st_mode & 0o777,
                    st.st_uid,
                )
                return None
            raw = b""
            while stat.S_ISREG(st.st_mode) and len(raw) <= CACHE_MAX_BYTES:
                chunk = os.read(fd, CACHE_MAX_BYTES + 1 - len(raw))
                if not chunk:
                    break
                raw += chunk
        except OSError as exc:
            self._warn_once(
                "read", "%s: cannot read session cache %s (%s)", self.name, path, exc.strerror
            )
            return None
        finally:
            os.close(fd)
        try:
            data = json.loads(raw.decode("utf-8"))
            if not isinstance(data, dict) or len(raw) > CACHE_MAX_BYTES:
                raise ValueError("not a session cache")
            fields = [data.get(k) for k in ("handle", "did", "accessJwt", "refreshJwt")]
            if not all(isinstance(v, str) and v for v in fields):
                raise ValueError("incomplete")
            pds, service = data.get("pds"), data.get("base_url")
            if not (pds is None or isinstance(pds, str)) or not isinstance(service, str):
                raise ValueError("bad pds or base_url")
        except (UnicodeDecodeError, ValueError):  # json.JSONDecodeError is a ValueError
            self._warn_once(
                "corrupt", "%s: ignoring corrupt session cache %s; logging in", self.name, path
            )
            return None
        if str(data["handle"]).lower() != self.handle.lower() or service != self.base_url:
            self._warn_once(
                "other",
                "%s: session cache %s is for another account or server; ignoring it",
                self.name,
                path,
            )
            return None
        session = _Session(
            {
                "did": data["did"],
                "handle": data.get("account") or "",
                "accessJwt": data["accessJwt"],
                "refreshJwt": data["refreshJwt"],
            },
            pds,
        )
        log.debug("%s: using the cached session from %s", self.name, path)
        return session

    def _save_session(self) -> None:
        """Write this handle's session atomically with mode 0600; a failure only warns."""
        session, path = self._session, self.session_file
        if session is None:
            return
        data = {
            "version": CACHE_VERSION,
            "handle": self.handle,
            "base_url": self.base_url,
            "did": session.did,
            "account": session.handle,
            "pds": session.pds,
            "accessJwt": session.access,
            "refreshJwt": session.refresh,
        }
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    if hasattr(os, "fchmod"):
                        os.fchmod(f.fileno(), 0o600)  # mkstemp does already; say it
                    json.dump(data, f)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            self._warn_once(
                "write",
                "%s: cannot write session cache %s (%s); the next run logs in again",
                self.name,
                path,
                exc.strerror or type(exc).__name__,
            )
            return
        log.debug("%s: session cached in %s", self.name, path)

    def _json(self, response: httpx.Response) -> Any:
        body = _http.json_body(response, connector=self.name)
        if not isinstance(body, dict):
            raise ConnectorError(f"{self.name}: {_http.where(response.request)}: not an object")
        return body

    # --- contract ---
    def sources(self) -> list[Source]:
        out = []
        if self.opts.get("mentions", True):
            out.append(Source(self.name, MENTIONS))
        out += [Source(self.name, SEARCH, q) for q in self.opts.get("queries", [])]
        return out

    def check(self) -> str:
        session = self._current()
        if self._unproven:  # a cached session: one cheap call proves it (or renews it)
            self._xrpc("GET", "com.atproto.server.getSession")
            session = self._session or session
        return f"logged in as {session.handle or self.handle} ({session.did})"

    def poll(self, source: Source, cursor: Any) -> PollResult:
        cur = dict(cursor or {})
        now = self.clock()
        since = _time(cur.get("since")) or now - parse_duration(self.opts.get("lookback", "24h"))
        seen: dict[str, str] = dict(cur.get("seen") or {})
        page = cur.get("page")
        lower = (_time(cur.get("lower")) if page else None) or since - OVERLAP
        top = _time(cur.get("top")) if page else None

        if source.kind == MENTIONS:
            items, next_page = self._notifications(page)
        elif source.kind == SEARCH:
            items, next_page = self._search(source.query or "", lower, page)
        else:
            raise ConfigError(f"unknown source kind {source.kind!r}", key=f"connectors.{self.name}")

        mentions: list[Mention] = []
        skipped: list[Skipped] = []
        reached = False  # an item older than the window: the rest is known
        for item in items:
            uri = item.get("uri") if isinstance(item, dict) else None
            at = _sort_at(item) if isinstance(item, dict) else None
            if at is not None and at < lower:
                reached = True
                continue
            if isinstance(uri, str) and uri in seen:
                continue
            if source.kind == MENTIONS and item.get("reason") not in REASONS:
                continue
            try:
                mentions.append(self._mention(item))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                skipped.append(Skipped(uri if isinstance(uri, str) else None, f"malformed: {exc}"))
            if isinstance(uri, str) and at is not None:
                seen[uri] = _stamp(at)
                top = max(top, at) if top else at

        if reached or not next_page or len(items) < self.page_size:
            newest = max(since, top) if top else since
            keep = sorted(
                ((u, t) for u, t in seen.items() if t >= _stamp(newest - OVERLAP)),
                key=lambda kv: kv[1],
            )[-SEEN_LIMIT:]
            return PollResult(mentions, {"since": _stamp(newest), "seen": dict(keep)}, skipped)
        after = {
            "since": _stamp(since),
            "seen": dict(sorted(seen.items(), key=lambda kv: kv[1])[-4 * SEEN_LIMIT :]),
            "page": str(next_page),
            "lower": _stamp(lower),
        }
        if top:
            after["top"] = _stamp(top)
        return PollResult(mentions, after, skipped, more=True)

    def _search(
        self, query: str, lower: datetime, page: str | None
    ) -> tuple[list[Any], str | None]:
        params: dict[str, Any] = {
            "q": query,
            "sort": "latest",
            "since": _stamp(lower),
            "limit": self.page_size,
        }
        if page:
            params["cursor"] = page
        body = self._json(self._xrpc("GET", "app.bsky.feed.searchPosts", params=params))
        posts = body.get("posts")
        if not isinstance(posts, list):
            raise ConnectorError(f"{self.name}: searchPosts: no posts in the response")
        return posts, body.get("cursor") or None

    def _notifications(self, page: str | None) -> tuple[list[Any], str | None]:
        params: dict[str, Any] = {"limit": self.page_size, "reasons": list(REASONS)}
        if page:
            params["cursor"] = page
        body = self._json(
            self._xrpc("GET", "app.bsky.notification.listNotifications", params=params)
        )
        items = body.get("notifications")
        if not isinstance(items, list):
            raise ConnectorError(f"{self.name}: listNotifications: no notifications")
        return items, body.get("cursor") or None

    # --- mapping ---
    def _mention(self, item: Mapping[str, Any]) -> Mention:
        """A post view (or a notification) as a Mention; KeyError/TypeError/ValueError skip it."""
        uri = str(item["uri"])
        if not uri.startswith("at://") or "/app.bsky.feed.post/" not in uri:
            raise ValueError(f"not a post uri: {uri!r}")
        author = item["author"]
        handle = str(author["handle"]).strip()
        if not handle:
            raise ValueError("author without handle")
        record = item["record"]
        text = record["text"]
        if not isinstance(text, str):
            raise TypeError("record.text is not a string")
        reply = record.get("reply") or {}
        langs = record.get("langs") or []
        followers = author.get("followersCount")
        return Mention(
            network=self.network,
            native_id=uri,
            text=_expand_links(text, record.get("facets") or []),
            created_at=parse_iso(str(record["createdAt"])),
            author=Author(
                handle,
                author.get("displayName") or None,
                followers if isinstance(followers, int) else None,
            ),
            url=post_url(handle, uri),
            lang=str(langs[0]) if langs else None,
            conversation_id=(reply.get("root") or {}).get("uri") or uri,
            in_reply_to=(reply.get("parent") or {}).get("uri"),
            raw=dict(item),
        )

    # --- replies ---
    def reply(self, mention: Mention, text: str, key: str) -> PostedReply:
        session = self._current()
        parent, root = self._refs(mention)
        record: dict[str, Any] = {
            "$type": POST,
            "text": text,
            "createdAt": _stamp(self.clock()),
            "reply": {"root": root, "parent": parent},
        }
        facets = self.facets(text)
        if facets:
            record["facets"] = facets
        rkey = rkey_for(key, mention.created_at)
        body = {"repo": session.did, "collection": POST, "rkey": rkey, "record": record}
        try:
            created = self._json(self._xrpc("POST", "com.atproto.repo.createRecord", json=body))
        except (AuthError, RateLimited):
            raise
        except ConnectorError:
            # Same rkey twice cannot make a second post: if it exists, it was ours.
            existing = self._get_record(rkey)
            if existing is None:
                raise
            return existing
        return PostedReply(str(created["uri"]), post_url(self.handle, str(created["uri"])))

    def find_reply(self, mention: Mention, key: str) -> PostedReply | None:
        """Our record under the key's rkey, else a reply by the brand's did in the thread."""
        found = self._get_record(rkey_for(key, mention.created_at))
        if found is not None:
            return found
        session = self._current()
        thread = (
            self._json(
                self._xrpc(
                    "GET",
                    "app.bsky.feed.getPostThread",
                    params={"uri": mention.native_id, "depth": 1, "parentHeight": 0},
                )
            ).get("thread")
            or {}
        )
        for node in thread.get("replies") or []:
            post = (node or {}).get("post") or {}
            parent = (((post.get("record") or {}).get("reply") or {}).get("parent") or {}).get(
                "uri"
            )
            if (post.get("author") or {}).get("did") == session.did and parent == mention.native_id:
                return PostedReply(str(post["uri"]), post_url(self.handle, str(post["uri"])))
        return None

    def _get_record(self, rkey: str) -> PostedReply | None:
        session = self._current()
        try:
            body = self._json(
                self._xrpc(
                    "GET",
                    "com.atproto.repo.getRecord",
                    params={"repo": session.did, "collection": POST, "rkey": rkey},
                )
            )
        except (AuthError, RateLimited, TransientError):
            raise
        except ConnectorError:
            return None  # RecordNotFound
        uri = str(body.get("uri") or f"at://{session.did}/{POST}/{rkey}")
        return PostedReply(uri, post_url(self.handle, uri))

    def _refs(self, mention: Mention) -> tuple[dict[str, str], dict[str, str]]:
        """(parent, root) strong refs: from the stored post view, else from getPostThread."""
        raw = mention.raw or {}
        cid, record = raw.get("cid"), raw.get("record") or {}
        if not cid:
            thread = self._json(
                self._xrpc(
                    "GET",
                    "app.bsky.feed.getPostThread",
                    params={"uri": mention.native_id, "depth": 0, "parentHeight": 0},
                )
            )
            post = (thread.get("thread") or {}).get("post") or {}
            cid, record = post.get("cid"), post.get("record") or {}
            if not cid:
                raise ConnectorError(f"{self.name}: getPostThread: the post has no cid")
        parent = {"uri": mention.native_id, "cid": str(cid)}
        root = (record.get("reply") or {}).get("root") or {}
        if root.get("uri") and root.get("cid"):
            return parent, {"uri": str(root["uri"]), "cid": str(root["cid"])}
        return parent, parent

    def facets(self, text: str) -> list[dict[str, Any]]:
        """Mention and link facets with UTF-8 byte offsets; unresolvable handles stay text."""
        return build_facets(text, self._resolve_handle)

    def _resolve_handle(self, handle: str) -> str | None:
        if handle not in self._dids:
            try:
                body = self._json(
                    self._xrpc(
                        "GET", "com.atproto.identity.resolveHandle", params={"handle": handle}
                    )
                )
                did = body.get("did")
                self._dids[handle] = str(did) if did else None
            except (AuthError, RateLimited, TransientError):
                raise
            except ConnectorError:
                self._dids[handle] = None
        return self._dids[handle]


def build_facets(text: str, resolve: Callable[[str], str | None]) -> list[dict[str, Any]]:
    """``app.bsky.richtext.facet`` entries for @handles and http(s) links in ``text``."""
    data = text.encode("utf-8")
    facets: list[dict[str, Any]] = []
    for match in _MENTION.finditer(data):
        handle = match.group(1)[1:].decode("utf-8")
        did = resolve(handle)
        if did:
            facets.append(
                {
                    "index": {"byteStart": match.start(1), "byteEnd": match.end(1)},
                    "features": [{"$type": "app.bsky.richtext.facet#mention", "did": did}],
                }
            )
    for match in _URL.finditer(data):
        url = match.group(1)
        while (url and url[-1:] in _TRAILING) or (url.endswith(b")") and b"(" not in url):
            url = url[:-1]
        facets.append(
            {
                "index": {"byteStart": match.start(1), "byteEnd": match.start(1) + len(url)},
                "features": [{"$type": "app.bsky.richtext.facet#link", "uri": url.decode("utf-8")}],
            }
        )
    return sorted(facets, key=lambda f: f["index"]["byteStart"])


def rkey_for(key: str, when: datetime) -> str:
    """A valid TID for the outbox ``key``: same key and mention time → same record key."""
    digest = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")
    # whole seconds: the stored mention time has second precision, a fresh one does not
    micros = int(when.timestamp()) * 1_000_000 + (digest >> 44) % 1_000_000
    value = ((micros & ((1 << 53) - 1)) << 10) | (digest & 0x3FF)
    out = ""
    for _ in range(13):
        out = TID_ALPHABET[value & 31] + out
        value >>= 5
    return out


def post_url(handle: str, uri: str) -> str:
    return f"https://bsky.app/profile/{handle}/post/{uri.rsplit('/', 1)[-1]}"


def _expand_links(text: str, facets: list[Any]) -> str:
    """Replace shortened link text ('example.com/pa...') with the facet's full URL."""
    data = text.encode("utf-8")
    spans = []
    for facet in facets:
        try:
            start, end = int(facet["index"]["byteStart"]), int(facet["index"]["byteEnd"])
            links = [
                f["uri"]
                for f in facet["features"]
                if f.get("$type") == "app.bsky.richtext.facet#link"
            ]
        except (KeyError, TypeError, ValueError):
            continue
        if links and 0 <= start < end <= len(data):
            spans.append((start, end, str(links[0]).encode("utf-8")))
    for start, end, uri in sorted(spans, reverse=True):
        shown = data[start:end]
        if shown != uri:
            data = data[:start] + uri + data[end:]
    return data.decode("utf-8", errors="replace")


def _pds_endpoint(body: Mapping[str, Any]) -> str | None:
    """The ``#atproto_pds`` service endpoint of the session's DID document, if any."""
    doc = body.get("didDoc")
    services = doc.get("service") if isinstance(doc, dict) else None
    for service in services if isinstance(services, list) else []:
        if isinstance(service, dict) and str(service.get("id", "")).endswith("#atproto_pds"):
            endpoint = service.get("serviceEndpoint")
            return endpoint if isinstance(endpoint, str) else None
    return None


def _error_name(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) else None


def _time(value: Any) -> datetime | None:
    try:
        return parse_iso(str(value)) if value else None
    except ValueError:
        return None


def _sort_at(item: Mapping[str, Any]) -> datetime | None:
    """The earlier of record.createdAt and indexedAt (the AppView's sort time)."""
    record = item.get("record")
    times = [
        _time(record.get("createdAt")) if isinstance(record, dict) else None,
        _time(item.get("indexedAt")),
    ]
    known = [t for t in times if t is not None]
    return min(known) if known else None


def _stamp(value: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and 'Z', the form the XRPC APIs use."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
