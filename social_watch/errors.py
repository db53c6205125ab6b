"""The few exception types social-watch raises, caught once at the CLI edge.

    SocialWatchError                 exit 2 unless said otherwise
    ├── ConfigError                  invalid config: names the file, the key path and why
    │   └── ConfigProblems           several at once: the first, and how many more
    ├── UsageError                   a command used wrongly (unknown id, bad filter value)
    ├── NotFound                     no mention with that id
    ├── Conflict                     exit 1: someone else holds it (``holder``, ``until``)
    │   └── Refused                  a guard said no (``guard``): each guard has its own override
    ├── StoreError                   the database cannot be opened or is from a newer version
    │   └── StoreBusy                exit 1: another command held the write lock too long
    ├── OutputError                  exit 1: stdout is full or failing (not a closed pipe)
    └── ConnectorError               a network said no
        ├── AuthError                which credential, which environment variable
        ├── RateLimited              carries ``reset_at`` (UTC); the runner waits, never sleeps
        ├── TransientError           5xx, timeout, connection reset: retry with backoff
        │   └── Unreachable          the host refused the connection or has no address
        ├── Rejected                 a 4xx refusal of this request: nothing was applied
        └── BadItem                  one malformed item: skip it, log its id, keep the rest

Every class knows its exit code so the CLI maps errors in one place.
"""

from __future__ import annotations

from datetime import datetime


class SocialWatchError(Exception):
    """Its text never shows a registered secret, wherever it is printed or stored."""

    exit_code = 2

    def __str__(self) -> str:
        from social_watch.redact import redact

        return redact(super().__str__())


class ConfigError(SocialWatchError):
    def __init__(self, message: str, *, path: str | None = None, key: str | None = None):
        self.path = path
        self.key = key
        where = ""
        if path:
            where += f"{path}: "
        if key:
            where += f"{key}: "
        super().__init__(where + message)


class ConfigProblems(ConfigError):
    """Every problem found in one config: a command names the first (one line), ``check``
    lists them all (``problems``)."""

    def __init__(self, problems: list[ConfigError]):
        self.problems = problems
        more = len(problems) - 1
        tail = f" (and {more} more: `social-watch check` lists them all)" if more else ""
        super().__init__(str(problems[0]) + tail)


class UsageError(SocialWatchError):
    exit_code = 2


class NotFound(SocialWatchError):
    exit_code = 2


class Conflict(SocialWatchError):
    """The action is refused because of someone else's work; exit 1 ("needs attention").

    ``holder`` and ``until`` say whose claim it lost to, so a page can name them; the message
    never carries CLI syntax (the CLI appends its own hint, the web page its own button).
    """

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        item_id: int | None = None,
        holder: str | None = None,
        until: str | None = None,
    ):
        self.item_id = item_id
        self.holder = holder
        self.until = until
        super().__init__(message)


#: The guards a reply or an action can be refused by; each is overridden on its own.
GUARDS = ("sensitive", "personal_data", "answered", "closed", "claimed")


class Refused(Conflict):
    """A guard stopped the action before anything was recorded or sent (exit 1).

    ``guard`` is one of :data:`GUARDS`; passing it in ``overrides`` lets the action through.
    ``variant`` tells apart refusals of one guard that want a different way out
    (``"again"``: answered since the claim; ``"note"``: a hand-off note's own text).
    """

    def __init__(
        self,
        message: str,
        *,
        guard: str,
        item_id: int | None = None,
        holder: str | None = None,
        until: str | None = None,
        variant: str | None = None,
    ):
        self.guard = guard
        self.variant = variant
        super().__init__(message, item_id=item_id, holder=holder, until=until)


class StoreError(SocialWatchError):
    exit_code = 2


class StoreBusy(StoreError):
    """The write lock stayed taken for the whole busy timeout: try again."""

    exit_code = 1


class OutputError(SocialWatchError):
    """What a command printed could not be written (a full disk, an I/O error)."""

    exit_code = 1


class ConnectorError(SocialWatchError):
    exit_code = 1


class AuthError(ConnectorError):
    def __init__(self, message: str, *, env_var: str | None = None):
        self.env_var = env_var
        super().__init__(message)


class RateLimited(ConnectorError):
    def __init__(self, message: str, *, reset_at: datetime | None = None):
        self.reset_at = reset_at
        super().__init__(message)


class TransientError(ConnectorError):
    pass


class Rejected(ConnectorError):
    """The network refused this very request (a 4xx that is not auth or a rate limit).

    Nothing was applied, so a reply that got it is "not posted". Any other failure of a
    post (a 2xx without a usable body, a timeout, a plain ``ConnectorError``) may have
    been applied and leaves the outcome unknown.
    """


class Unreachable(TransientError):
    """The host refused the connection or could not be resolved: retried like any transient
    error, but a connector that has never reached its host since the loop started is
    unhealthy at once (a wrong base_url or a firewall does not fix itself)."""


class BadItem(ConnectorError):
    def __init__(self, message: str, *, item_id: str | None = None):
        self.item_id = item_id
        super().__init__(message)
