"""Sessions, CSRF tokens and login throttling for the web inbox.

A session is a signed cookie (itsdangerous) carrying the agent id, the account's session
epoch and a CSRF token. The account is read again on every request, so disabling an agent
or setting a new password (both bump the epoch) ends their sessions at once. The signing
key comes from ``SOCIAL_WATCH_SESSION_KEY`` (or a file named by
``SOCIAL_WATCH_SESSION_KEY_FILE``); without one a random key per process is used, and
sessions end when `serve` restarts.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from social_watch.errors import ConfigError

SESSION_COOKIE = "sw_session"
LOGIN_COOKIE = "sw_login"  # the CSRF token of the login form, before there is a session
SESSION_AGE = timedelta(hours=12)
KEY_ENV = "SOCIAL_WATCH_SESSION_KEY"
KEY_FILE_ENV = "SOCIAL_WATCH_SESSION_KEY_FILE"


def session_key(env: Mapping[str, str]) -> tuple[str, bool]:
    """(key, persistent): the configured signing key, else a fresh random one."""
    if env.get(KEY_ENV):
        key = env[KEY_ENV]
    elif env.get(KEY_FILE_ENV):
        try:
            key = Path(env[KEY_FILE_ENV]).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"{KEY_FILE_ENV}: cannot read the session key file ({exc.strerror})"
            ) from None
    else:
        return secrets.token_urlsafe(32), False
    if len(key) < 16:
        raise ConfigError(f"{KEY_ENV}: the session key must be at least 16 characters")
    return key, True


@dataclass(frozen=True)
class Session:
    agent: str
    epoch: int
    csrf: str


class Signer:
    """Signs and reads the two cookies; a bad or old cookie reads as no cookie."""

    def __init__(self, key: str) -> None:
        self._sessions = URLSafeTimedSerializer(key, salt="social-watch.session")
        self._login = URLSafeTimedSerializer(key, salt="social-watch.login")

    def session(self, agent: str, epoch: int) -> tuple[str, Session]:
        session = Session(agent, epoch, secrets.token_urlsafe(24))
        value = self._sessions.dumps({"a": agent, "e": epoch, "c": session.csrf})
        return value, session

    def read_session(self, value: str | None) -> Session | None:
        if not value:
            return None
        try:
            data = self._sessions.loads(value, max_age=int(SESSION_AGE.total_seconds()))
            return Session(str(data["a"]), int(data["e"]), str(data["c"]))
        except (BadSignature, KeyError, TypeError, ValueError):
            return None

    def login_token(self) -> tuple[str, str]:
        """(cookie value, form token) for the login form's double-submit check."""
        token = secrets.token_urlsafe(24)
        return self._login.dumps(token), token

    def read_login(self, value: str | None) -> str | None:
        if not value:
            return None
        try:
            return str(self._login.loads(value, max_age=3600))
        except (BadSignature, TypeError, ValueError):
            return None


def same(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two tokens; a missing one never matches."""
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


class Throttle:
    """At most ``limit`` failed logins per ``window``, counted per account and per address.

    In memory: one `serve` process is one inbox. A success clears the account's count.
    """

    def __init__(
        self,
        clock: Callable[[], datetime],
        limit: int = 5,
        window: timedelta = timedelta(minutes=15),
    ) -> None:
        self._clock = clock
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: datetime) -> deque[datetime]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def attempt(self, agent: str, address: str) -> datetime | None:
        """Count an attempt as failed before its password is checked; None lets it go on,
        else when the next may be made. Checking first and counting after the (slow)
        password hash let every attempt sent at the same moment through."""
        now = self._clock()
        keys = (f"agent:{agent.lower()}", f"addr:{address}")
        with self._lock:
            recent = [self._recent(key, now) for key in keys]
            full = [times[0] + self.window for times in recent if len(times) >= self.limit]
            if full:
                return max(full)
            for times in recent:
                times.append(now)
            return None

    def succeeded(self, agent: str, address: str | None = None) -> None:
        """A right password: the account's count is cleared, and the address gets back
        the attempt ``attempt`` counted."""
        with self._lock:
            self._failures.pop(f"agent:{agent.lower()}", None)
            if address is not None and (times := self._failures.get(f"addr:{address}")):
                times.pop()


def cookie_options(secure: bool) -> dict[str, Any]:
    return {"httponly": True, "samesite": "lax", "secure": secure, "path": "/"}
