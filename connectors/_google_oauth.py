"""Google OAuth 2.0 access tokens from a refresh token (the installed/web-server flow).

Google access tokens last about an hour, so a connector that polls all day needs the
refresh-token grant: ``POST https://oauth2.googleapis.com/token`` with ``client_id``,
``client_secret``, ``refresh_token`` and ``grant_type=refresh_token`` (form-encoded)
answers ``{"access_token", "expires_in", "scope", "token_type": "Bearer"}``.

The access token is cached in memory until shortly before it expires, shared by every
connector built in this process with the same client and refresh token (``poll`` and
``watch`` build connectors again and again); it is never written anywhere. Errors name the
environment variable to fix: ``invalid_grant`` (revoked or expired refresh token) the
refresh token's, ``invalid_client``/``unauthorized_client`` the client id's.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx

from connectors import _http
from social_watch import redact
from social_watch.errors import AuthError, ConnectorError

TOKEN_URL = "https://oauth2.googleapis.com/token"
EARLY = timedelta(seconds=60)  # refresh this long before the stated expiry
DEFAULT_LIFETIME = 3600  # seconds, when a response leaves expires_in out

_cache: dict[str, tuple[str, datetime]] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Credentials:
    """The three secrets of the grant, and the variables they came from (for errors)."""

    client_id: str
    client_secret: str
    refresh_token: str
    client_id_env: str
    refresh_token_env: str


class TokenSource:
    """A valid access token on demand: cached, refreshed when expired or refused."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        connector: str,
        clock: Callable[[], datetime],
        token_url: str = TOKEN_URL,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.credentials = credentials
        self.connector = connector
        self.clock = clock
        self.token_url = token_url
        self.transport = transport
        digest = hashlib.sha256(
            "\0".join((token_url, credentials.client_id, credentials.refresh_token)).encode()
        )
        self._key = digest.hexdigest()

    def token(self) -> str:
        """The cached access token while it is valid, else a fresh one."""
        with _lock:
            cached = _cache.get(self._key)
        if cached is not None and self.clock() < cached[1]:
            return cached[0]
        return self.refresh()

    def refresh(self, refused: str | None = None) -> str:
        """A new access token from the token endpoint; ``refused`` is the token the API
        just answered 401 to (dropped from the cache unless another caller replaced it)."""
        with _lock:
            cached = _cache.get(self._key)
            if refused is not None and cached is not None and cached[0] != refused:
                return cached[0]  # someone refreshed meanwhile
        c = self.credentials
        form = {
            "client_id": c.client_id,
            "client_secret": c.client_secret,
            "refresh_token": c.refresh_token,
            "grant_type": "refresh_token",
        }
        url = httpx.URL(self.token_url)
        base = str(url.copy_with(path="/", query=None, fragment=None))
        with _http.client(base, transport=self.transport) as http:
            response = _http.send(
                http,
                "POST",
                url.path,
                connector=self.connector,
                passthrough=frozenset({400, 401, 403}),
                data=form,
            )
        if response.status_code in (400, 401, 403):
            raise self._refused(response)
        body = _http.json_body(response, connector=self.connector)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token.strip():
            raise ConnectorError(f"{self.connector}: the token endpoint returned no access_token")
        lifetime = body.get("expires_in", DEFAULT_LIFETIME)
        if not isinstance(lifetime, int | float) or isinstance(lifetime, bool) or lifetime <= 0:
            lifetime = DEFAULT_LIFETIME
        token = token.strip()
        redact.register(token)
        expires = self.clock() + max(timedelta(seconds=lifetime) - EARLY, timedelta(seconds=1))
        with _lock:
            _cache[self._key] = (token, expires)
        return token

    def _refused(self, response: httpx.Response) -> AuthError:
        """RFC 6749 5.2: ``invalid_client`` names the client, anything else the grant."""
        c = self.credentials
        try:
            body = response.json()
        except ValueError:
            body = None
        code = body.get("error") if isinstance(body, dict) else None
        at = f"{self.connector}: POST {httpx.URL(self.token_url).path} → {response.status_code}"
        if code in ("invalid_client", "unauthorized_client"):
            return AuthError(
                f"{at} ({code}): the OAuth client was refused; check {c.client_id_env} "
                "and its client secret",
                env_var=c.client_id_env,
            )
        reason = f" ({code})" if isinstance(code, str) and code.isidentifier() else ""
        return AuthError(
            f"{at}{reason}: the refresh token was refused (expired or revoked); authorise "
            f"again and set {c.refresh_token_env}",
            env_var=c.refresh_token_env,
        )


def forget_all() -> None:
    """Drop every cached access token (tests; a process that rotates credentials)."""
    with _lock:
        _cache.clear()
