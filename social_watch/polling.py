"""Poll, check and list the configured connectors: the library behind `poll`, `check`, `connectors`.

Every connector is built (and its options validated) before any of them is polled, so a typo
in one section is a config error up front rather than half a poll. A connector whose secrets
are missing is skipped with a one-line reason; a source still inside a rate-limit window
recorded by an earlier poll is not called again until its reset; one failing connector never
stops the others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from social_watch import registry
from social_watch.clock import Clock, from_db, iso, utcnow
from social_watch.config import Config
from social_watch.connector import Connector, Source
from social_watch.errors import ConfigError, ConfigProblems, ConnectorError
from social_watch.pipeline import Pipeline
from social_watch.runner import PollSummary, poll_source
from social_watch.store import watch as store
from social_watch.store.base import Store

OK, FAILED, RATE_LIMITED, SKIPPED = "ok", "failed", "rate_limited", "skipped"
CANNOT_POLL = frozenset({"auth", "config", "unreachable"})  # source error kinds


@dataclass
class ConnectorReport:
    """What one connector's poll did: its status and one summary per source."""

    name: str
    status: str  # ok, failed, rate_limited, skipped
    reason: str | None = None
    sources: list[PollSummary] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == OK

    def total(self, attr: str) -> int:
        return sum(int(getattr(s, attr)) for s in self.sources)

    @property
    def cannot_poll(self) -> str | None:
        """Why this connector cannot poll at all, or None: a missing secret, or every source
        failed on its credentials, its config or an unreachable host (not on a 5xx)."""
        if self.status == SKIPPED:
            return "missing secret"
        kinds = {s.error_kind or "" for s in self.sources}
        if self.status == FAILED and kinds and kinds <= CANNOT_POLL:
            return ", ".join(sorted(kinds))
        return None

    @property
    def rate_limit_reset(self) -> datetime | None:
        resets = [s.rate_limit_reset for s in self.sources if s.error_kind == RATE_LIMITED]
        return max((r for r in resets if r is not None), default=None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "connector": self.name,
            "status": self.status,
            "reason": self.reason,
            "fetched": self.total("fetched"),
            "new": self.total("new"),
            "duplicates": self.total("duplicates"),
            "ignored": self.total("ignored"),
            "skipped": self.total("skipped"),
            "rate_limited_until": iso(self.rate_limit_reset),
            "sources": [s.as_dict() for s in self.sources],
        }


@dataclass
class CheckReport:
    name: str
    ok: bool
    message: str
    kind: str | None = None  # config, auth, rate_limited, transient
    env_var: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "connector": self.name,
            "ok": self.ok,
            "message": self.message,
            "kind": self.kind,
            "env_var": self.env_var,
        }


def selected(config: Config, names: Sequence[str] | None) -> list[str]:
    """The connectors to act on: the enabled ones, or exactly those named (if configured)."""
    if not names:
        return registry.configured(config)
    for name in names:
        if name not in config.connectors:
            configured = ", ".join(sorted(config.connectors)) or "none"
            raise ConfigError(
                f"connector {name!r} is not configured (configured: {configured}); "
                f"add a [connectors.{name}] section",
                key=f"connectors.{name}",
            )
    return list(names)


def build_all(
    config: Config, env: Mapping[str, str], names: Sequence[str] | None = None, *, clock: Clock
) -> list[Connector]:
    """Build every selected connector; the first invalid section raises ConfigError."""
    return [_build(config, n, env, clock) for n in selected(config, names)]


def _build(config: Config, name: str, env: Mapping[str, str], clock: Clock) -> Connector:
    """registry.build, with the config file named in the error like every other config error."""
    try:
        return registry.build(config, name, env=env, clock=clock)
    except ConfigError as exc:
        if config.path is None or exc.path is not None:
            raise
        where = str(config.path)
        found = [ConfigError(str(p), path=where) for p in problems_of(exc)]
        raise (found[0] if len(found) == 1 else ConfigProblems(found)) from None


def waiting_until(db: Store, source: Source, now: datetime) -> datetime | None:
    """The reset time of a rate limit the last poll of ``source`` hit, if still in the future."""
    row = store.last_poll_wait(db, source.key)
    if row is None or row[0] is None or row[1] is None:
        return None
    reset = from_db(row[1])
    return reset if reset is not None and reset > now else None


def poll_connector(db: Store, pipeline: Pipeline, connector: Connector) -> ConnectorReport:
    """Every source of one connector once; a failing source does not stop the others."""
    missing = connector.missing_secrets()
    if missing:
        return ConnectorReport(
            connector.name, SKIPPED, f"environment variable {missing[0]} is not set"
        )
    summaries: list[PollSummary] = []
    for source in connector.sources():
        reset = waiting_until(db, source, pipeline.clock())
        if reset is not None:
            summaries.append(
                PollSummary(
                    source.key,
                    error=f"rate limited until {iso(reset)}; not polled",
                    error_kind=RATE_LIMITED,
                    rate_limit_reset=reset,
                )
            )
            continue
        summaries.append(poll_source(db, pipeline, connector, source))
    status = OK
    if any(s.error_kind == RATE_LIMITED for s in summaries):
        status = RATE_LIMITED
    elif any(not s.ok for s in summaries):
        status = FAILED
    reason = next((s.error for s in summaries if s.error), None)
    return ConnectorReport(connector.name, status, reason, summaries)


def poll_all(
    db: Store,
    config: Config,
    env: Mapping[str, str],
    names: Sequence[str] | None = None,
    *,
    clock: Clock = utcnow,
) -> list[ConnectorReport]:
    """Poll every configured and enabled connector (or those named) once, in config order."""
    connectors = build_all(config, env, names, clock=clock)
    pipeline = Pipeline(config, clock)
    reports = []
    for connector in connectors:
        try:
            reports.append(poll_connector(db, pipeline, connector))
        finally:
            connector.close()
    return reports


def problems_of(exc: ConfigError) -> list[ConfigError]:
    """Each problem a ConfigError stands for (ConfigProblems holds several)."""
    return list(exc.problems) if isinstance(exc, ConfigProblems) else [exc]


def check_all(
    config: Config,
    env: Mapping[str, str],
    names: Sequence[str] | None = None,
    *,
    clock: Clock = utcnow,
) -> list[CheckReport]:
    """Validate each connector's section and credentials with one cheap call each."""
    out = []
    for name in selected(config, names):
        try:
            connector = _build(config, name, env, clock)
        except ConfigError as exc:
            out += [CheckReport(name, False, str(p), "config") for p in problems_of(exc)]
            continue
        try:
            missing = connector.missing_secrets()
            if missing:
                plural = "s" if len(missing) > 1 else ""
                out.append(
                    CheckReport(
                        name,
                        False,
                        f"set the environment variable{plural} {', '.join(missing)}",
                        "auth",
                        missing[0],
                    )
                )
                continue
            out.append(CheckReport(name, True, connector.check()))
        except ConfigError as exc:
            out.append(CheckReport(name, False, str(exc), "config"))
        except ConnectorError as exc:
            kind = {"AuthError": "auth", "RateLimited": "rate_limited"}.get(
                type(exc).__name__, "transient"
            )
            out.append(CheckReport(name, False, str(exc), kind, getattr(exc, "env_var", None)))
        finally:
            connector.close()
    return out


def describe_connectors(config: Config, env: Mapping[str, str]) -> list[dict[str, Any]]:
    """Available and configured connectors: capabilities, options, secrets and sources."""
    out = []
    for name, target in sorted(registry.available().items()):
        opts = config.connectors.get(name)
        row: dict[str, Any] = {
            "name": name,
            "target": target,
            "configured": opts is not None,
            "enabled": bool(opts.get("enabled", True)) if opts is not None else False,
        }
        try:
            cls = registry.load_class(name)
        except ConfigError as exc:
            row.update(available=False, error=str(exc))
            out.append(row)
            continue
        row.update(
            available=True,
            network=cls.network,
            capabilities=sorted(cls.capabilities),
            read_only="reply" not in cls.capabilities,
            rate_limit=cls.rate_limit,
            secrets=dict(cls.secrets),
            options=dict(cls.options),
        )
        if opts is not None:
            try:
                connector = _build(config, name, env, utcnow)
                row["sources"] = [
                    {"key": s.key, "kind": s.kind, "query": s.query} for s in connector.sources()
                ]
                row["missing_secrets"] = connector.missing_secrets()
                connector.close()
            except ConfigError as exc:
                row["error"] = str(exc)
        out.append(row)
    return out
