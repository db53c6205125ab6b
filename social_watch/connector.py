"""The contract every network connector implements, and the shapes it returns.

A connector declares itself with class attributes (name, capabilities, the secrets it needs
by environment variable, its options, its reply length rule) and offers ``check``, ``poll``,
``reply`` and ``find_reply``. It never sleeps and never writes to the database: it raises
``RateLimited(reset_at=…)`` and the runner decides when to come back; it returns a cursor
and the core stores it in the same transaction as the mentions it covers.

Errors a connector raises (``social_watch.errors``): ``AuthError`` (which credential, which
environment variable), ``RateLimited`` (with the reset time), ``TransientError`` (retry with
backoff), and for one malformed item a ``Skipped`` entry in the result, not an exception.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from social_watch.clock import Clock, utcnow
from social_watch.errors import AuthError, ConfigError, ConfigProblems, UsageError
from social_watch.models import Mention

MENTIONS = "mentions"
SEARCH = "search"
REPLY = "reply"


@dataclass(frozen=True)
class Source:
    """One stream a connector polls: the brand's mentions, one search query, one feed."""

    connector: str
    kind: str
    query: str | None = None

    @property
    def key(self) -> str:
        return f"{self.connector}:{self.kind}:{self.query or ''}"

    @property
    def label(self) -> str:
        return self.query if self.query else self.kind


@dataclass(frozen=True)
class Skipped:
    item_id: str | None
    reason: str


@dataclass
class PollResult:
    mentions: list[Mention]
    cursor: Any  # JSON-serializable; stored as-is, interpreted only by the connector
    skipped: list[Skipped] = field(default_factory=list)
    more: bool = False  # a page limit was hit: poll again from ``cursor`` to read the rest
    rate_limit_reset: datetime | None = None  # informational: the network's window reset


@dataclass(frozen=True)
class PostedReply:
    remote_id: str
    url: str | None = None


@dataclass(frozen=True)
class LengthRule:
    """How a network counts a post: 'twitter' (weighted), 'graphemes', 'url23', 'chars'."""

    limit: int
    counting: str


class Connector(ABC):
    name: ClassVar[str]  # registry name and config section, e.g. "mastodon"
    network: ClassVar[str]  # the network value its mentions carry
    capabilities: ClassVar[frozenset[str]] = frozenset()
    secrets: ClassVar[Mapping[str, str]] = {}  # option key -> default environment variable
    options: ClassVar[Mapping[str, str]] = {}  # option key -> one-line doc
    reply_rule: ClassVar[LengthRule | None] = None
    # Does ``reply(mention, text, key)`` post at most once per ``key`` (Mastodon's
    # Idempotency-Key, Bluesky's record key)? Networks that ignore the key (X, Reddit)
    # keep False: the outbox then never posts again while an earlier attempt may still land.
    idempotent_replies: ClassVar[bool] = False
    rate_limit: ClassVar[str | None] = None  # one line: the network's rate-limit model

    def __init__(
        self,
        options: Mapping[str, Any],
        *,
        env: Mapping[str, str],
        brand_handles: Mapping[str, Any] | None = None,
        clock: Clock = utcnow,
    ):
        self.opts = dict(options)
        self.env = env
        self.brand_handles = dict(brand_handles or {})
        self.clock = clock

    # --- declared behaviour ---
    @classmethod
    def validate_options(cls, options: Mapping[str, Any], key: str) -> None:
        """Refuse unknown option keys (a typo must not silently disable a query)."""
        import difflib

        # "class" selects the implementation (registry.build); every connector accepts it.
        common = {"enabled", "interval", "quiet_period", "class"}
        known = set(cls.options) | set(cls.secrets) | common
        problems = []
        for name in options:
            if name not in known:
                hint = difflib.get_close_matches(name, sorted(known), n=1)
                more = (
                    f"did you mean {hint[0]!r}?" if hint else f"known: {', '.join(sorted(known))}"
                )
                problems.append(ConfigError(f"unknown option; {more}", key=f"{key}.{name}"))
        if len(problems) == 1:
            raise problems[0]
        if problems:  # every typo at once, not one per run
            raise ConfigProblems(problems)

    def secret(self, option: str) -> str:
        """The secret named by ``option`` (an *_env key); AuthError names the variable."""
        var = self.opts.get(option) or self.secrets.get(option)
        if not var:
            raise AuthError(f"{self.name}: set {option} in [connectors.{self.name}]")
        value = self.env.get(var, "")
        if not value.strip():
            raise AuthError(f"{self.name}: environment variable {var} is not set", env_var=var)
        from social_watch import redact

        if not redact.is_identity(option):  # "authenticated as u/shopexample" stays readable
            redact.register(value.strip())
        return value.strip()

    def missing_secrets(self) -> list[str]:
        """Environment variables this connector needs and does not have."""
        out = []
        for option, default in self.secrets.items():
            var = self.opts.get(option) or default
            if var and not self.env.get(var, "").strip():
                out.append(var)
        return out

    @abstractmethod
    def sources(self) -> list[Source]: ...

    def check(self) -> str:
        """One cheap authenticated call; returns a one-line description of who we are."""
        missing = self.missing_secrets()
        if missing:
            raise AuthError(
                f"{self.name}: environment variable {missing[0]} is not set", env_var=missing[0]
            )
        return "configured"

    @abstractmethod
    def poll(self, source: Source, cursor: Any) -> PollResult: ...

    def reply(self, mention: Mention, text: str, key: str) -> PostedReply:
        raise UsageError(
            f"{self.name} is read-only: social-watch cannot reply there; use `to-email` instead"
        )

    def find_reply(self, mention: Mention, key: str) -> PostedReply | None:
        return None

    def close(self) -> None:  # noqa: B027 - optional hook
        pass
