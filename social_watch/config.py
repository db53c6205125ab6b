"""TOML config → validated, frozen settings.

Why a schema of its own: a care team edits this file by hand, and a typo must fail loudly
with the file, the key path and the reason (``connectors.x.queries[2]: expected a string``),
never with a traceback or a silently ignored key. Unknown keys suggest the nearest known one.

Secrets never live here: a key ending in ``_env`` names the environment variable that
holds the secret, a key ending in ``_file`` names a file that holds it (see ``secrets``).
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from social_watch.errors import ConfigError, ConfigProblems

ENV_CONFIG = "SOCIAL_WATCH_CONFIG"
DEFAULT_CONFIG_NAME = "social-watch.toml"
DEFAULT_DATABASE = "social-watch.db"
NETWORKS = ("x", "reddit", "mastodon", "bluesky", "hackernews", "rss")  # examples, not a limit
NETWORK_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,39}")  # as an import line may name one
#: The placeholder brand when [brand] name is not set (the demo's); a real reply is refused
#: until it is set.
DEFAULT_BRAND_NAME = "Shop Example"

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d|w)?\s*$")
_UNITS = {None: 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_DURATION = timedelta(days=36500)  # 100 years
_SECRET_WORDS = ("token", "secret", "password", "api_key", "apikey")


def parse_duration(value: object) -> timedelta:
    """'90s', '30m', '2h', '7d', '1w' or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as '30m'")
    seconds: float | None = None
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        seconds = value
    elif isinstance(value, str):
        match = _DURATION.match(value.lower())
        if match:
            seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds is not None:
        # NaN fails both comparisons; beyond the cap a due time overflows datetime.
        if not 0 <= seconds <= MAX_DURATION.total_seconds():
            raise ValueError(f"expected a duration of at most {MAX_DURATION.days} days")
        return timedelta(seconds=seconds)
    raise ValueError(f"expected a duration such as '30s', '30m', '2h' or '7d', got {_shown(value)}")


def parse_option_duration(text: str) -> timedelta:
    """A duration typed on the command line: the unit is required there ('7' alone is not
    7 days but, as in the config, 7 seconds, a report of nothing)."""
    match = _DURATION.match(text.lower())
    if match and match.group(2) is None:  # a number without its unit
        n = text.strip()
        raise ValueError(f"give a unit: {n}d (days), {n}w, {n}h, {n}m (minutes) or {n}s")
    return parse_duration(text)


# --- the schema -------------------------------------------------------------------------
# A spec is a callable (value, keypath) -> converted value raising ConfigError, or a
# Table / MapOf describing nested tables. Defaults live beside the spec.


class _Required:
    pass


REQUIRED = _Required()


@dataclass(frozen=True)
class Key:
    check: Callable[[Any, str], Any] | Table | MapOf
    default: Any = None
    doc: str = ""


@dataclass(frozen=True)
class Table:
    keys: Mapping[str, Key]
    open: bool = False  # extra keys allowed (validated later by their owner, e.g. a connector)


@dataclass(frozen=True)
class MapOf:
    """A table whose keys are names chosen by the user (agents.<id>, templates.<name>)."""

    value: Callable[[Any, str], Any] | Table


def _fail(key: str, message: str) -> ConfigError:
    return ConfigError(message, key=key)


def string(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise _fail(key, f"expected a string, got {_typename(value)}")
    return value


def local_time(value: Any, key: str) -> str:
    """A wall-clock time HH:MM (00:00 to 23:59), kept as written."""
    value = string(value, key)
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", value)
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise _fail(key, f"expected a local time HH:MM (00:00 to 23:59), got {_shown(value)}")
    return value


def nonempty_string(value: Any, key: str) -> str:
    value = string(value, key)
    if not value.strip():
        raise _fail(key, "must not be empty")
    return value


def boolean(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(key, f"expected true or false, got {_typename(value)}")
    return value


def integer(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(key, f"expected a whole number, got {_typename(value)}")
    return value


def positive_int(value: Any, key: str) -> int:
    value = integer(value, key)
    if value <= 0:
        raise _fail(key, f"must be greater than 0, got {_shown(value)}")
    return value


def port(value: Any, key: str) -> int:
    value = integer(value, key)
    if not 1 <= value <= 65535:
        raise _fail(key, f"expected a port between 1 and 65535, got {_shown(value)}")
    return value


def fraction(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise _fail(key, f"expected a number between 0 and 1, got {_shown(value)}")
    return float(value)


def number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(key, f"expected a number, got {_typename(value)}")
    return float(value)


def duration(value: Any, key: str) -> timedelta:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise _fail(key, str(exc)) from None


def positive_duration(value: Any, key: str) -> timedelta:
    result = duration(value, key)
    if result.total_seconds() <= 0:
        raise _fail(key, "must be longer than 0 seconds")
    return result


def list_of(item: Callable[[Any, str], Any]) -> Callable[[Any, str], tuple[Any, ...]]:
    def check(value: Any, key: str) -> tuple[Any, ...]:
        if not isinstance(value, list):
            raise _fail(key, f"expected a list, got {_typename(value)}")
        return tuple(item(v, f"{key}[{i}]") for i, v in enumerate(value))

    return check


def string_or_list(value: Any, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return list_of(string)(value, key)


def one_of(*choices: str) -> Callable[[Any, str], str]:
    def check(value: Any, key: str) -> str:
        value = string(value, key)
        if value not in choices:
            raise _fail(key, f"expected one of {', '.join(choices)}, got {_shown(value)}")
        return value

    return check


def env_name(value: Any, key: str) -> str:
    """Names an environment variable; catches a pasted secret in its place."""
    value = nonempty_string(value, key)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        raise _fail(
            key,
            "must name an environment variable (letters, digits, '_'), not hold the secret "
            "itself; put the secret in the environment and its name here",
        )
    return value


def database(value: Any, key: str) -> str:
    """A SQLite file path, or a ``postgresql://`` URL without a password in it."""
    value = nonempty_string(value, key)
    if "://" not in value:
        return value
    from urllib.parse import urlsplit

    if not value.startswith(("postgresql://", "postgres://")):
        raise _fail(
            key,
            f"expected a SQLite file or a postgresql:// URL, got {value.split('://')[0]}:// "
            "(a URL of another database)",
        )
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  a port that is not a number raises here
    except ValueError as exc:
        raise _fail(key, f"not a valid PostgreSQL URL: {exc}") from None
    if parts.password is not None:
        raise _fail(
            key,
            "secrets never live in the config file: remove the password from the URL, put it "
            'in an environment variable and name that with password_env = "ENV_VAR_NAME"',
        )
    return value


def regex(value: Any, key: str) -> str:
    value = string(value, key)
    try:
        re.compile(value)
    except re.error as exc:
        raise _fail(key, f"invalid regular expression: {exc}") from None
    return value


def address(value: Any, key: str) -> str:
    """One e-mail address on one line ('care@shop.example' or 'Care <care@shop.example>')."""
    value = nonempty_string(value, key).strip()
    if any(not ch.isprintable() for ch in value) or "@" not in value or "," in value:
        raise _fail(key, f"expected one e-mail address on one line, got {_shown(value)}")
    return value


def address_or_list(value: Any, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (address(value, key),)
    return list_of(address)(value, key)


def url(value: Any, key: str) -> str:
    value = nonempty_string(value, key)
    if not re.match(r"^https?://[^\s/]+", value):
        raise _fail(key, f"expected an http(s) URL, got {_shown(value)}")
    return value.rstrip("/")


def feed(value: Any, key: str) -> str:
    """A feed URL, or a path the rss connector resolves against its base_url."""
    value = nonempty_string(value, key)
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", value):
        return url(value, key)
    return value


def _shown(value: Any) -> str:
    """A value as the TOML file spells it (true, not Python's True)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _typename(value: Any) -> str:
    return {
        str: "a string",
        int: "a number",
        float: "a number",
        bool: "a boolean",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)


_COMMON_CONNECTOR_OPTIONS: dict[str, Callable[[Any, str], Any]] = {
    "base_url": lambda v, k: url(v, k),
    "queries": lambda v, k: list_of(nonempty_string)(v, k),
    "hashtags": lambda v, k: list_of(nonempty_string)(v, k),
    "subreddits": lambda v, k: list_of(nonempty_string)(v, k),
    "feeds": lambda v, k: list_of(feed)(v, k),
    "mentions": lambda v, k: boolean(v, k),
    "max_pages": lambda v, k: positive_int(v, k),
}


def _check_connector_options(
    value: dict[str, Any], key: str, problems: list[ConfigError]
) -> dict[str, Any]:
    """Generic checks on connector options; each connector validates its own keys later."""
    for name, item in list(value.items()):
        try:
            _check_connector_option(value, name, item, f"{key}.{name}")
        except ConfigError as exc:
            problems.append(exc)
    return value


def _check_connector_option(value: dict[str, Any], name: str, item: Any, path: str) -> None:
    if name in _COMMON_CONNECTOR_OPTIONS:
        value[name] = _COMMON_CONNECTOR_OPTIONS[name](item, path)
        if isinstance(value[name], tuple):
            value[name] = list(value[name])
        return
    if any(w in name.lower() for w in _SECRET_WORDS) and not name.endswith(("_env", "_file")):
        raise _fail(
            path,
            f'secrets never live in the config file: use {name}_env = "ENV_VAR_NAME" '
            "and put the secret in that environment variable",
        )
    if name.endswith("_env"):
        env_name(item, path)
    elif name.endswith("_file"):
        nonempty_string(item, path)


_BUSINESS_HOURS = Table(
    {
        "timezone": Key(nonempty_string, REQUIRED, "IANA time zone, e.g. Europe/Prague"),
        "days": Key(string_or_list, "mon-fri", "working days: 'mon-fri' or a list"),
        "start": Key(string, "09:00", "when the first-response clock starts each day"),
        "end": Key(string, "17:00", "when it stops"),
        "holidays": Key(list_of(string), (), "dates (YYYY-MM-DD) when the clock does not run"),
    }
)

_CONNECTOR = Table(
    {
        "enabled": Key(boolean, True, "set false to keep the section but not poll it"),
        "interval": Key(positive_duration, timedelta(seconds=60), "how often to poll"),
        "quiet_period": Key(positive_duration, timedelta(hours=24), "silence before a warning"),
    },
    open=True,
)

SCHEMA = Table(
    {
        "database": Key(
            database, None, "SQLite file or postgresql://user@host:port/db; --db overrides"
        ),
        "password_env": Key(
            env_name, None, "env var holding the PostgreSQL password (never in the URL)"
        ),
        "brand": Key(
            Table(
                {
                    "name": Key(nonempty_string, None, "shown in replies and digests"),
                    "handles": Key(
                        MapOf(string), {}, "the brand's own account per network (never queued)"
                    ),
                    "keywords": Key(list_of(nonempty_string), (), "plain-text brand keywords"),
                }
            ),
            {},
            "who the brand is on each network",
        ),
        "queue": Key(
            Table(
                {
                    "target": Key(
                        positive_duration, timedelta(minutes=30), "first-response target"
                    ),
                    "targets": Key(MapOf(positive_duration), {}, "per-network overrides"),
                    "at_risk": Key(fraction, 0.5, "share of the target that makes an item at risk"),
                    "urgent": Key(fraction, 0.8, "share of the target that makes it urgent"),
                    "claim_ttl": Key(positive_duration, timedelta(minutes=30), "claims expire"),
                    "business_hours": Key(_BUSINESS_HOURS, None, "optional working hours"),
                }
            ),
            {},
            "the first-response target and its states",
        ),
        "ingest": Key(
            Table(
                {
                    "ignore_authors": Key(
                        list_of(nonempty_string), (), "handles never queued ('network:handle' ok)"
                    ),
                }
            ),
            {},
            "what is never queued",
        ),
        "sentiment": Key(
            Table(
                {
                    "positive_threshold": Key(number, 0.05, "compound at or above: positive"),
                    "negative_threshold": Key(number, -0.05, "compound at or below: negative"),
                }
            ),
            {},
            "label thresholds",
        ),
        "tags": Key(
            Table(
                {
                    "rules": Key(MapOf(list_of(string)), None, "tag -> keywords or 're:regex'"),
                    "extend_defaults": Key(boolean, True, "keep the starter rules beside yours"),
                    "vip_followers": Key(integer, 10_000, "authors with this many followers: vip"),
                }
            ),
            {},
            "tag rules",
        ),
        "sensitive": Key(
            Table(
                {
                    "order_pattern": Key(regex, None, "regex for your order numbers"),
                    "topics": Key(MapOf(list_of(string)), None, "topic -> keywords"),
                }
            ),
            {},
            "personal data and topics that move to e-mail",
        ),
        "agents": Key(
            MapOf(
                Table(
                    {
                        "name": Key(nonempty_string, REQUIRED, "shown in the audit trail"),
                        "signature": Key(string, "", "appended to public replies, e.g. ^JN"),
                        "email": Key(string, None, "where reminders for this agent go"),
                    }
                )
            ),
            {},
            "the care team, one table per agent",
        ),
        "templates": Key(
            MapOf(
                Table(
                    {
                        "text": Key(nonempty_string, REQUIRED, "jinja2 text of the reply"),
                        "description": Key(string, "", "what it is for"),
                    }
                )
            ),
            {},
            "reply templates, one table per template",
        ),
        "email": Key(
            Table(
                {
                    "host": Key(nonempty_string, REQUIRED, "SMTP host"),
                    "port": Key(port, 587, "SMTP port"),
                    "security": Key(one_of("none", "starttls", "tls"), "starttls", "transport"),
                    "from": Key(address, REQUIRED, "sender address"),
                    "to": Key(address_or_list, (), "help-desk address(es) for to-email"),
                    "username_env": Key(env_name, None, "env var holding the SMTP user"),
                    "password_env": Key(env_name, None, "env var holding the SMTP password"),
                    "password_file": Key(nonempty_string, None, "or a file holding it"),
                    "timeout": Key(positive_duration, timedelta(seconds=30), "SMTP timeout"),
                }
            ),
            None,
            "SMTP for to-email, reminders and digests",
        ),
        "notify": Key(
            Table(
                {
                    "webhook_url_env": Key(env_name, None, "env var with a Slack-style webhook"),
                    "email_to": Key(address_or_list, (), "addresses for reminders and alerts"),
                }
            ),
            {},
            "where reminders and alerts go",
        ),
        "watch": Key(
            Table(
                {
                    "reminders": Key(boolean, True, "notify at at_risk, urgent and breach"),
                    "digest_at": Key(
                        local_time, None, "local time for the daily digest, e.g. 08:00"
                    ),
                    "alert_every": Key(positive_duration, timedelta(minutes=10), "spike checks"),
                }
            ),
            {},
            "the watch loop",
        ),
        "digest": Key(
            Table(
                {
                    "recipients": Key(address_or_list, (), "who gets the daily digest"),
                    "competitors": Key(
                        MapOf(list_of(string)), {}, "name -> keywords, for share of voice"
                    ),
                }
            ),
            {},
            "the marketing digest",
        ),
        "alerts": Key(
            Table(
                {
                    "window": Key(positive_duration, timedelta(minutes=60), "recent window"),
                    "baseline": Key(positive_duration, timedelta(days=7), "history to compare"),
                    "min_count": Key(positive_int, 5, "never fire below this many negatives"),
                    "factor": Key(number, 3.0, "window must be this many times the baseline"),
                    "z_threshold": Key(number, 3.5, "modified z-score that counts as a spike"),
                    "share_delta": Key(fraction, 0.25, "rise in negative share that fires"),
                    "share_min_total": Key(
                        positive_int, 20, "mentions the window needs before its share counts"
                    ),
                    "cooldown": Key(positive_duration, timedelta(hours=2), "no repeat alert"),
                    "recovery_notice": Key(boolean, True, "say when the spike is over"),
                    "groups": Key(MapOf(list_of(string)), {}, "keyword group -> keywords"),
                }
            ),
            {},
            "negative-spike alerts",
        ),
        "connectors": Key(MapOf(_CONNECTOR), {}, "one table per network"),
    }
)


def _validate(spec: Any, value: Any, key: str, problems: list[ConfigError]) -> Any:
    """``value`` checked against ``spec``; each problem below a table is added to
    ``problems`` (and the key gets its default) so one run finds them all."""
    if isinstance(spec, Table):
        if not isinstance(value, dict):
            raise _fail(key, f"expected a table, got {_typename(value)}")
        out: dict[str, Any] = {}
        for name, item in value.items():
            path = f"{key}.{name}" if key else name
            if name not in spec.keys:
                if spec.open:
                    out[name] = item
                    continue
                hint = difflib.get_close_matches(name, list(spec.keys), n=1, cutoff=0.6)
                known = (
                    f"did you mean {hint[0]!r}?" if hint else f"known keys: {', '.join(spec.keys)}"
                )
                problems.append(_fail(path, f"unknown key; {known}"))
                continue
            try:
                out[name] = _validate(spec.keys[name].check, item, path, problems)
            except ConfigError as exc:
                problems.append(exc)
        for name, k in spec.keys.items():
            if name not in out:
                if k.default is REQUIRED:
                    if name not in value:
                        problems.append(_fail(f"{key}.{name}" if key else name, "is required"))
                    continue
                out[name] = _materialize(k)
        if spec is _CONNECTOR:
            _check_connector_options(out, key, problems)
        return out
    if isinstance(spec, MapOf):
        if not isinstance(value, dict):
            raise _fail(key, f"expected a table, got {_typename(value)}")
        items: dict[str, Any] = {}
        for name, item in value.items():
            try:
                items[name] = _validate(spec.value, item, f"{key}.{name}", problems)
            except ConfigError as exc:
                problems.append(exc)
        return items
    return spec(value, key)


def _materialize(key: Key) -> Any:
    if isinstance(key.check, Table) and isinstance(key.default, dict):
        return _validate(key.check, key.default, "", [])
    return key.default


# --- the typed result -------------------------------------------------------------------


@dataclass(frozen=True)
class Agent:
    id: str
    name: str
    signature: str = ""
    email: str | None = None


@dataclass(frozen=True)
class Config:
    """Validated settings. ``raw`` keeps every section (as plain values) for its owner."""

    path: Path | None
    raw: Mapping[str, Any] = field(repr=False)

    @property
    def database(self) -> str:
        return self.raw.get("database") or DEFAULT_DATABASE

    @property
    def password_env(self) -> str | None:
        """The env var with the PostgreSQL password (for `database` or a --db URL)."""
        return self.raw.get("password_env")

    @property
    def brand_name(self) -> str:
        """[brand] name, else the placeholder the demo uses (a real reply refuses it)."""
        return str(self.raw["brand"]["name"] or DEFAULT_BRAND_NAME)

    @property
    def brand_configured(self) -> bool:
        return bool(self.raw["brand"]["name"])

    @property
    def brand_handles(self) -> Mapping[str, str]:
        return self.raw["brand"]["handles"]

    @property
    def queue(self) -> Mapping[str, Any]:
        return self.raw["queue"]

    @property
    def agents(self) -> dict[str, Agent]:
        return {
            agent_id: Agent(agent_id, a["name"], a["signature"], a["email"])
            for agent_id, a in self.raw["agents"].items()
        }

    @property
    def connectors(self) -> Mapping[str, Mapping[str, Any]]:
        return self.raw["connectors"]

    def section(self, name: str) -> Any:
        return self.raw.get(name)


def validate(data: Mapping[str, Any], path: Path | None = None) -> Config:
    """Validate a parsed TOML document; ConfigError carries the file and key path (and,
    with several problems, ConfigProblems all of them)."""
    config, problems = validate_all(data, path)
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise ConfigProblems(problems)
    return config


def validate_all(
    data: Mapping[str, Any], path: Path | None = None
) -> tuple[Config, list[ConfigError]]:
    """The config with each invalid key at its default, and every problem found."""
    problems: list[ConfigError] = []
    raw = _validate(SCHEMA, dict(data), "", problems)
    for check in _CROSS_CHECKS:
        try:
            check(raw)
        except ConfigError as exc:
            problems.append(exc)
        except (KeyError, TypeError):  # a key it needs is invalid: already a problem
            pass
    where = str(path) if path else None
    return Config(path=path, raw=raw), [ConfigError(str(p), path=where) for p in problems]


def _check_queue(raw: dict[str, Any]) -> None:
    queue = raw["queue"]
    if queue["urgent"] < queue["at_risk"]:
        raise _fail("queue.urgent", "must not be lower than queue.at_risk")
    for network in queue["targets"]:
        # any network a connector or an import line may name (reviews, Facebook, ...)
        if not NETWORK_NAME.fullmatch(network):
            raise _fail(
                f"queue.targets.{network}",
                "a network name is lower-case letters, digits, '_', '-' or '.', such as "
                + ", ".join(NETWORKS),
            )


def _check_sentiment(raw: dict[str, Any]) -> None:
    pos, neg = raw["sentiment"]["positive_threshold"], raw["sentiment"]["negative_threshold"]
    # 0 itself would label every neutral text (compound 0.0, the commonest) by it
    if not 0 < pos <= 1:
        raise _fail("sentiment.positive_threshold", f"must be above 0, at most 1, got {pos}")
    if not -1 <= neg < 0:
        raise _fail("sentiment.negative_threshold", f"must be below 0, at least -1, got {neg}")


def _check_business_hours(raw: dict[str, Any]) -> None:
    hours = raw["queue"]["business_hours"]
    if hours is not None:
        from social_watch.sla import BusinessHours

        try:
            BusinessHours.parse(
                timezone=hours["timezone"],
                days=hours["days"],
                start=hours["start"],
                end=hours["end"],
                holidays=hours["holidays"],
            )
        except (ValueError, KeyError) as exc:
            raise _fail("queue.business_hours", str(exc).strip("'\"")) from None


def _check_tags(raw: dict[str, Any]) -> None:
    tags = raw["tags"]
    if tags["rules"]:
        from social_watch.tagging import TAG_PATTERN, TAG_RULE, Tagger

        for name in tags["rules"]:
            if name != name.lower() or not TAG_PATTERN.fullmatch(name):
                raise _fail(f"tags.rules.{name}", f"a tag name is lower-case {TAG_RULE}")
        try:
            Tagger(tags["rules"])
        except ValueError as exc:
            raise _fail("tags.rules", str(exc)) from None


def _check_connector_names(raw: dict[str, Any]) -> None:
    for name in raw["connectors"]:  # each connector validates its own options (registry)
        if name.startswith("_"):
            raise _fail(f"connectors.{name}", "connector names cannot start with '_'")


_CROSS_CHECKS: tuple[Callable[[dict[str, Any]], None], ...] = (
    _check_queue,
    _check_sentiment,
    _check_business_hours,
    _check_tags,
    _check_connector_names,
)


def find_config_path(explicit: str | None, env: Mapping[str, str] | None = None) -> Path | None:
    """--config, then $SOCIAL_WATCH_CONFIG, then ./social-watch.toml; None means defaults."""
    env = os.environ if env is None else env
    if explicit:
        return Path(explicit)
    if env.get(ENV_CONFIG):
        return Path(env[ENV_CONFIG])
    default = Path(DEFAULT_CONFIG_NAME)
    return default if default.exists() else None


def load(explicit: str | None = None, env: Mapping[str, str] | None = None) -> Config:
    path = find_config_path(explicit, env)
    if path is None:
        return validate({})
    return validate(_parse(path), path)


def load_all(
    explicit: str | None = None, env: Mapping[str, str] | None = None
) -> tuple[Config | None, list[ConfigError]]:
    """Like ``load``, but every problem instead of the first (what ``check`` shows); the
    config is None only when the file cannot be read or parsed."""
    path = find_config_path(explicit, env)
    if path is None:
        return validate_all({})
    try:
        data = _parse(path)
    except ConfigError as exc:
        return None, [exc]
    return validate_all(data, path)


def _parse(path: Path) -> dict[str, Any]:
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError("config file not found", path=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file: {exc}", path=str(path)) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", path=str(path)) from None
    except RecursionError:  # tomllib recurses per bracket: 5,000 deep is hostile, not config
        raise ConfigError("invalid TOML: nested too deeply", path=str(path)) from None


def iter_keys(spec: Table = SCHEMA, prefix: str = "") -> list[tuple[str, str]]:
    """Every documented key path with its doc line (used by the docs test)."""
    out: list[tuple[str, str]] = []
    for name, key in spec.keys.items():
        path = f"{prefix}{name}"
        out.append((path, key.doc))
        check = key.check
        if isinstance(check, Table):
            out.extend(iter_keys(check, path + "."))
        elif isinstance(check, MapOf) and isinstance(check.value, Table):
            out.extend(iter_keys(check.value, path + ".<name>."))
    return out
