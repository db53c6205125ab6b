"""What the Facebook and Instagram connectors share: Meta's Graph API over httpx.

- **Errors** come in one envelope, ``{"error": {"message", "type", "code", "error_subcode",
  "fbtrace_id"}}``, sometimes with HTTP 200 (batch and some edge reads). ``raise_for_graph``
  maps the *code*, not only the status: 4 (app), 17 (user), 32 (page), 613 (custom) and
  80001-80014 (business use case) are throttling → ``RateLimited``; 190 (expired or invalid
  token), 102 (session) and 10/200-299 (permissions) → ``AuthError`` naming the variable;
  1 and 2 (temporary) → ``TransientError``.
- **Usage headers**: ``X-App-Usage`` and ``X-Page-Usage`` (``{"call_count": 28,
  "total_cputime": 25, "total_time": 25}``, percentages of the window) and
  ``X-Business-Use-Case-Usage`` (``{"<business id>": [{"type": "pages", "call_count": 95,
  …, "estimated_time_to_regain_access": 12}]}``, minutes). Once any figure reaches
  ``usage_threshold`` percent (default 90) the connector stops *before* Meta throttles it:
  the page just read is kept, and the source pauses until the estimated regain time (or an
  hour, the rolling window, when none is given). The pause is carried in the source's cursor
  so the next poll raises ``RateLimited`` without a request.
- **Paging**: ``paging.cursors.after`` with ``paging.next``; some edges send only
  ``paging.next`` (a URL). The connector follows ``next`` by its query parameters (minus any
  ``access_token``) against its own base URL; no ``next`` means the last page.
- The token travels in the ``Authorization: Bearer`` header, never in a URL, so no URL the
  connector logs or stores carries it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

import httpx

from connectors import _http
from social_watch.clock import iso, parse_iso
from social_watch.config import parse_duration
from social_watch.connector import Connector, PollResult, Skipped, Source
from social_watch.errors import (
    AuthError,
    ConfigError,
    ConnectorError,
    RateLimited,
    TransientError,
)
from social_watch.models import Mention

log = logging.getLogger("social_watch.connectors.graph")

THROTTLE_CODES = frozenset({4, 17, 32, 613, *range(80001, 80015)})
AUTH_CODES = frozenset({102, 190, 10, *range(200, 300)})
TRANSIENT_CODES = frozenset({1, 2})
USAGE_HEADERS = ("x-app-usage", "x-page-usage", "x-ad-account-usage", "x-business-use-case-usage")
DEFAULT_WINDOW = timedelta(hours=1)


def parse_time(value: Any) -> datetime:
    """Graph times: '2026-11-24T09:10:00+0000' (also with '+00:00'); always aware UTC."""
    text = str(value).strip()
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            raise ValueError(f"time without a zone: {text!r}") from None
        return parsed


def usage(headers: Mapping[str, str]) -> tuple[int, int | None]:
    """(highest usage percentage in any usage header, minutes until access returns or None)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    top, regain = 0, None
    for name in USAGE_HEADERS:
        raw = lowered.get(name)
        if not raw:
            continue
        try:
            value = json.loads(raw)
        except ValueError:
            continue
        entries: list[Any] = []
        if name == "x-business-use-case-usage" and isinstance(value, dict):
            for items in value.values():
                entries += items if isinstance(items, list) else [items]
        else:
            entries.append(value)
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            for key in ("call_count", "total_cputime", "total_time", "acc_id_util_pct"):
                number = entry.get(key)
                if isinstance(number, int | float) and not isinstance(number, bool):
                    top = max(top, int(number))
            minutes = entry.get("estimated_time_to_regain_access")
            if isinstance(minutes, int) and minutes > 0:
                regain = max(regain or 0, minutes)
    return top, regain


def raise_for_graph(
    response: httpx.Response, *, connector: str, env_var: str | None, now: datetime
) -> Any:
    """The decoded body, or the error its envelope (or status) describes."""
    body: Any = None
    try:
        body = response.json()
    except ValueError:
        if response.status_code < 400:
            raise ConnectorError(
                f"{connector}: {_http.where(response.request)}: response is not JSON"
            ) from None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        _http.check(response, connector=connector, env_var=env_var, now=now)
        return body
    code = error.get("code")
    subcode = error.get("error_subcode")
    message = str(error.get("message") or "")[:160]
    at = f"{connector}: {_http.where(response.request)} → {response.status_code}"
    at += f" (code {code}{f'/{subcode}' if subcode else ''}: {message})"
    if code in THROTTLE_CODES or response.status_code == 429:
        _, regain = usage(response.headers)
        reset = now + (timedelta(minutes=regain) if regain else DEFAULT_WINDOW)
        reset = _http.parse_reset(response.headers, now) or reset
        raise RateLimited(f"{at}; rate limited until {reset:%H:%M:%S} UTC", reset_at=reset)
    if code in AUTH_CODES or response.status_code == 401:
        hint = f"; renew the token in {env_var}" if env_var else ""
        raise AuthError(at + hint, env_var=env_var)
    if code in TRANSIENT_CODES or response.status_code >= 500:
        raise TransientError(at)
    raise ConnectorError(at)


def next_params(body: Mapping[str, Any]) -> dict[str, str] | None:
    """The query parameters of the next page, or None on the last page.

    ``paging.next`` decides whether there is one; its query (without ``access_token``) is
    what to send. Edges that give ``cursors.after`` without ``next`` are on their last page.
    """
    paging = body.get("paging")
    if not isinstance(paging, dict):
        return None
    nxt = paging.get("next")
    if not isinstance(nxt, str) or not nxt:
        return None
    params = {k: v for k, v in parse_qsl(urlsplit(nxt).query) if k != "access_token"}
    after = (paging.get("cursors") or {}).get("after")
    if isinstance(after, str) and after:
        params["after"] = after
    return params or None


# --- the shared connector ---------------------------------------------------------------


GRAPH_URL = "https://graph.facebook.com"
API_VERSION = "v21.0"
PAGE_SIZE = 25
MAX_PAGE_SIZE = 100


class GraphConnector(Connector):
    """httpx plumbing, usage-aware back-off and the newest-first walk both Meta connectors use.

    A source reads one list edge (``parents`` is ``None``) or, for comments, lists its parents
    first (the Page's posts, the account's media) and then each parent's comments edge.
    Cursor: ``{"since": ISO}`` between polls (the newest item time seen; the first poll starts
    ``lookback`` ago); while a burst is read, ``{"since", "top", "parents": [ids left],
    "after": {next page's params}}``, committed with each page. ``"pause_until"`` is set when
    a usage header passed the threshold.
    """

    # The edges return newest first, so the walk stops at the first item older than
    # ``since``; False reads every page of each parent (the window is bounded by ``parents``).
    newest_first: ClassVar[bool] = True
    token_env: ClassVar[str]  # the default environment variable of the token
    common_options: ClassVar[dict[str, str]] = {
        "base_url": f"the Graph API host (default {GRAPH_URL}; tests point it at a local server)",
        "api_version": f"Graph API version path (default {API_VERSION})",
        "page_size": f"items per request, 1-{MAX_PAGE_SIZE} (default {PAGE_SIZE})",
        "lookback": "how far back the first poll reads (default 24h)",
        "parents": "how many recent posts/media the comments source reads (default 10)",
        "usage_threshold": "pause a source when a usage header reaches this percent (default 90)",
    }

    @classmethod
    def validate_common(cls, options: Mapping[str, Any], key: str, required: str) -> None:
        super().validate_options(options, key)
        value = options.get(required)
        if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
            raise ConfigError(f'set {required} = "…" (a numeric id)', key=f"{key}.{required}")
        if not str(value).strip().isdigit():
            raise ConfigError(f"expected a numeric id, got {value!r}", key=f"{key}.{required}")
        size = options.get("page_size", PAGE_SIZE)
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_PAGE_SIZE:
            raise ConfigError(
                f"expected a whole number from 1 to {MAX_PAGE_SIZE}", key=f"{key}.page_size"
            )
        parents = options.get("parents", 10)
        if not isinstance(parents, int) or isinstance(parents, bool) or not 1 <= parents <= 100:
            raise ConfigError("expected a whole number from 1 to 100", key=f"{key}.parents")
        threshold = options.get("usage_threshold", 90)
        if (
            not isinstance(threshold, int)
            or isinstance(threshold, bool)
            or not 1 <= threshold <= 100
        ):
            raise ConfigError("expected a percentage from 1 to 100", key=f"{key}.usage_threshold")
        base = options.get("base_url", GRAPH_URL)
        if not isinstance(base, str) or not base.startswith(("http://", "https://")):
            raise ConfigError("expected an http(s) URL", key=f"{key}.base_url")
        try:
            parse_duration(options.get("lookback", "24h"))
        except ValueError as exc:
            raise ConfigError(str(exc), key=f"{key}.lookback") from None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client: httpx.Client | None = None
        self._pause_until: datetime | None = None

    # --- plumbing ---
    @property
    def env_var(self) -> str:
        return str(self.opts.get("access_token_env") or self.token_env)

    @property
    def page_size(self) -> int:
        return int(self.opts.get("page_size", PAGE_SIZE))

    @property
    def http(self) -> httpx.Client:
        if self._client is None:
            token = self.secret("access_token_env")  # AuthError names the variable
            base = str(self.opts.get("base_url", GRAPH_URL)).rstrip("/")
            version = str(self.opts.get("api_version", API_VERSION)).strip("/")
            self._client = _http.client(
                f"{base}/{version}", headers={"Authorization": f"Bearer {token}"}
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """One Graph call: errors mapped (by code, also in a 200 envelope), usage noted."""
        now = self.clock()
        try:
            response = self.http.request(method, path.lstrip("/"), **kwargs)
        except httpx.TimeoutException:
            raise TransientError(f"{self.name}: {method} {path} timed out") from None
        except httpx.TransportError as exc:
            raise TransientError(
                f"{self.name}: {method} {path} failed: {type(exc).__name__}"
            ) from None
        body = raise_for_graph(response, connector=self.name, env_var=self.env_var, now=now)
        percent, regain = usage(response.headers)
        if percent >= int(self.opts.get("usage_threshold", 90)):
            self._pause_until = now + (timedelta(minutes=regain) if regain else DEFAULT_WINDOW)
            log.warning(
                "%s: Graph API usage at %d%%; pausing until %s UTC before Meta throttles",
                self.name,
                percent,
                f"{self._pause_until:%H:%M:%S}",
            )
        return body

    def get_list(
        self, path: str, params: Mapping[str, Any]
    ) -> tuple[list[Any], dict[str, str] | None]:
        body = self.request("GET", path, params=dict(params))
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise ConnectorError(f"{self.name}: GET {path}: response has no data list")
        return data, next_params(body)

    # --- the walk (subclasses say what to read and how to map it) ---
    def parents(self, source: Source) -> list[str] | None:
        """The ids whose comments the source reads, or None for a plain list edge."""
        return None

    def edge(
        self, source: Source, parent: str | None, since: datetime
    ) -> tuple[str, dict[str, Any]]:
        """The list edge to read and its parameters (``since`` where the edge takes it)."""
        raise NotImplementedError

    def mentions(self, source: Source, parent: str | None, entry: Any) -> list[Mention]:
        """The mentions in one entry (a comment and its nested replies); raise to skip it."""
        raise NotImplementedError

    def ordered(self, source: Source) -> bool:
        """Whether ``source``'s edge returns newest first (the walk may stop at ``since``)."""
        return self.newest_first

    def _lookback(self) -> timedelta:
        return parse_duration(self.opts.get("lookback", "24h"))

    def poll(self, source: Source, cursor: Any) -> PollResult:
        cur = dict(cursor or {})
        now = self.clock()
        pause = parse_iso(cur["pause_until"]) if cur.get("pause_until") else None
        if self._pause_until is not None and (pause is None or self._pause_until > pause):
            pause = self._pause_until  # another source of this connector saw the usage
        if pause is not None and pause > now:
            raise RateLimited(
                f"{self.name}: usage near Meta's limit; paused until {pause:%H:%M:%S} UTC",
                reset_at=pause,
            )
        since = parse_iso(cur["since"]) if cur.get("since") else now - self._lookback()
        top = parse_iso(cur["top"]) if cur.get("top") else None
        if "parents" in cur:
            parents: list[str | None] = list(cur["parents"])
        else:
            listed = self.parents(source)
            parents = [None] if listed is None else list(listed)
        if not parents:
            return self._result([], [], {"since": iso(since)}, more=False)
        parent = parents[0]
        path, params = self.edge(source, parent, since)
        params = {**params, "limit": self.page_size, **(cur.get("after") or {})}
        entries, nxt = self.get_list(path, params)

        found: list[Mention] = []
        skipped: list[Skipped] = []
        reached_old = False
        for entry in entries:
            item = str(entry.get("id")) if isinstance(entry, dict) else None
            try:
                got = self.mentions(source, parent, entry)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                skipped.append(Skipped(item, f"malformed item: {exc}"))
                continue
            if self.ordered(source) and got and got[0].created_at < since:
                reached_old = True  # newest first: the entries after this one are older
            for m in got:
                if m.created_at < since:
                    continue
                top = m.created_at if top is None or m.created_at > top else top
                found.append(m)
        base: dict[str, Any] = {"since": iso(since)}
        if top is not None:
            base["top"] = iso(top)
        if nxt and not reached_old:
            return self._result(found, skipped, {**base, "parents": parents, "after": nxt})
        rest = parents[1:]
        if rest:
            return self._result(found, skipped, {**base, "parents": rest})
        return self._result(found, skipped, {"since": iso(top or since)}, more=False)

    def _result(
        self,
        found: list[Mention],
        skipped: list[Skipped],
        cursor: dict[str, Any],
        *,
        more: bool = True,
    ) -> PollResult:
        pause = self._pause_until
        if pause is not None and pause > self.clock():
            # keep what was read, stop here, and make the next poll wait (never sleep)
            return PollResult(
                found, {**cursor, "pause_until": iso(pause)}, skipped, rate_limit_reset=pause
            )
        return PollResult(found, cursor, skipped, more=more)
