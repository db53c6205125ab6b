"""One way to build HTTP clients for connectors, and one way to turn responses into errors.

Timeouts always; a user agent naming social-watch and its version; retries on connect
errors only (a POST that reached the server is never sent twice by the transport); errors
that name method + path + status, never a query string or a header (tokens live there).
"""

from __future__ import annotations

import email.utils
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from social_watch import __version__
from social_watch.errors import (
    AuthError,
    ConnectorError,
    RateLimited,
    Rejected,
    TransientError,
    Unreachable,
)

USER_AGENT = f"social-watch/{__version__} (+https://github.com/social-watch/social-watch)"
DEFAULT_TIMEOUT = httpx.Timeout(20.0, connect=10.0)


def client(
    base_url: str,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
    transport: httpx.BaseTransport | None = None,
    follow_redirects: bool = True,
) -> httpx.Client:
    return httpx.Client(
        base_url=base_url,
        headers={"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})},
        timeout=timeout,
        transport=transport or httpx.HTTPTransport(retries=2),
        follow_redirects=follow_redirects,
        trust_env=False,
    )


def where(request: httpx.Request) -> str:
    """'GET /api/v2/search': safe to log (no query string, no headers)."""
    return f"{request.method} {request.url.path}"


def parse_reset(headers: Mapping[str, str], now: datetime | None = None) -> datetime | None:
    """When a rate limit window resets, from whichever header the network sends.

    Epoch seconds (X, Bluesky), ISO-8601 (Mastodon), seconds from now (Reddit, Retry-After)
    or an HTTP date (Retry-After).
    """
    now = now or datetime.now(UTC)
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in ("x-rate-limit-reset", "x-ratelimit-reset", "ratelimit-reset", "retry-after"):
        value = lowered.get(name)
        if not value:
            continue
        value = value.strip()
        try:
            number = float(value)
        except ValueError:
            pass
        else:
            if number > 1_000_000_000:
                return datetime.fromtimestamp(number, UTC)
            return now + timedelta(seconds=max(number, 0))
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if parsed.tzinfo is not None:
                return parsed.astimezone(UTC)
        except ValueError:
            pass
        try:
            return email.utils.parsedate_to_datetime(value).astimezone(UTC)
        except (TypeError, ValueError):
            continue
    return None


def check(
    response: httpx.Response,
    *,
    connector: str,
    env_var: str | None = None,
    now: datetime | None = None,
) -> httpx.Response:
    """Map an HTTP status to the core's error kinds; return the response when it is fine."""
    status = response.status_code
    if status < 400:
        return response
    at = f"{connector}: {where(response.request)} → {status}"
    detail = _error_detail(response)
    if detail:
        at += f" ({detail})"
    if status == 429:
        reset = parse_reset(response.headers, now) or (now or datetime.now(UTC)) + timedelta(
            minutes=1
        )
        raise RateLimited(f"{at}; rate limited until {reset:%H:%M:%S} UTC", reset_at=reset)
    if status in (401, 403):
        hint = f"; check the credential in {env_var}" if env_var else ""
        raise AuthError(at + hint, env_var=env_var)
    if status >= 500 or status == 408:
        raise TransientError(at)
    raise Rejected(at)  # a 4xx: this request was refused, nothing was applied


def _error_detail(response: httpx.Response) -> str:
    """A short, safe reason from a JSON error body (never echo arbitrary HTML)."""
    try:
        body: Any = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        for key in ("error", "message", "title", "detail"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value[:120]
    return ""


def send(
    http: httpx.Client,
    method: str,
    path: str,
    *,
    connector: str,
    env_var: str | None = None,
    passthrough: frozenset[int] = frozenset(),
    **kwargs: Any,
) -> httpx.Response:
    """One request with errors mapped: timeouts and connection failures are transient.

    A status in ``passthrough`` is returned as it is, for a caller that reads its body
    (an OAuth error code) before deciding which error it is.
    """
    try:
        response = http.request(method, path, **kwargs)
    except httpx.TimeoutException:
        raise TransientError(f"{connector}: {method} {httpx.URL(path).path} timed out") from None
    except httpx.ConnectError as exc:
        raise Unreachable(
            f"{connector}: {method} {httpx.URL(path).path} failed: "
            f"{transport_failure(exc, http.base_url)}"
        ) from None
    except httpx.TransportError as exc:
        raise TransientError(
            f"{connector}: {method} {httpx.URL(path).path} failed: "
            f"{transport_failure(exc, http.base_url)}"
        ) from None
    if response.status_code in passthrough:
        return response
    return check(response, connector=connector, env_var=env_var)


_CAUSES = (
    ("refused", "connection refused"),
    ("name or service not known", "host name not found"),
    ("nodename nor servname", "host name not found"),
    ("getaddrinfo", "host name not found"),
    ("temporary failure in name resolution", "host name not found"),
    ("network is unreachable", "network unreachable"),
    ("no route to host", "no route to host"),
    ("certificate", "TLS certificate not trusted"),
    ("reset by peer", "connection reset"),
    ("all connection attempts failed", "all connection attempts failed"),
)


def transport_failure(exc: httpx.TransportError, base_url: httpx.URL) -> str:
    """'cannot connect to 127.0.0.1:9 (connection refused)': which host and why. The cause is
    one of a few known phrases, never the exception's own text (it may carry a URL)."""
    try:
        url = exc.request.url
    except RuntimeError:  # no request attached
        url = base_url
    host = url.host or "?"
    if url.port:
        host = f"{host}:{url.port}"
    text = str(exc).lower()
    cause = next((why for needle, why in _CAUSES if needle in text), type(exc).__name__)
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect to {host} ({cause})"
    return f"connection to {host} broke ({cause})"


def json_body(response: httpx.Response, *, connector: str) -> Any:
    """The decoded JSON body; a body that is not JSON names method + path, never the URL."""
    try:
        return response.json()
    except ValueError:
        raise ConnectorError(
            f"{connector}: {where(response.request)}: response is not JSON"
        ) from None
