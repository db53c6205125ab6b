"""Commands that talk to the networks: `poll`, `check` and `connectors`.

Thin shells over ``social_watch.polling``; registered on the main group when ``cli`` is
imported. Exit codes follow the rest of the CLI: 0 all well, 1 some connector needs
attention (failed, rate limited, skipped for missing secrets), 2 config error.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

import click

from social_watch.cli import App, cli, echo_json, json_option, lists_config_problems, store_options


@cli.command()
@store_options
@json_option
@click.option(
    "--connector",
    "names",
    multiple=True,
    metavar="NAME",
    help="Only this connector (repeatable); default: every enabled one.",
)
def poll(app: App, as_json: bool, names: tuple[str, ...]) -> None:
    """Poll every configured connector once and store what is new.

    Prints per connector what was fetched, new, duplicate, skipped as malformed, and its
    rate-limit state. Exit 0 if every connector polled, 1 if one failed, was rate limited
    or was skipped (missing secret), 2 on a config error.

    \b
    Example:
        social-watch poll
        social-watch poll --connector hackernews --json
    """
    from social_watch import polling

    app.may_create = True
    reports = polling.poll_all(app.db, app.config, os.environ, list(names) or None, clock=app.now)
    if as_json:
        echo_json([r.as_dict() for r in reports])
    else:
        if not reports:
            click.echo("No connectors configured: add a [connectors.NAME] section.")
        for r in reports:
            click.echo(_poll_line(r))
            for s in r.sources:
                if s.error or len(r.sources) > 1:
                    click.echo(f"  {s.source}: " + (s.error or f"{s.new} new of {s.fetched}"))
    if any(not r.ok for r in reports):
        sys.exit(1)


def _poll_line(r: object) -> str:
    from social_watch.clock import iso
    from social_watch.polling import RATE_LIMITED, SKIPPED, ConnectorReport

    assert isinstance(r, ConnectorReport)
    if r.status == SKIPPED:
        return f"{r.name:<11} skipped: {r.reason}"
    state = "rate limit ok"
    if r.status == RATE_LIMITED:
        state = f"rate limited until {iso(r.rate_limit_reset) or '?'}"
    line = (
        f"{r.name:<11} {r.status:<12} fetched {r.total('fetched')}, new {r.total('new')}, "
        f"duplicates {r.total('duplicates')}, ignored {r.total('ignored')}, "
        f"skipped {r.total('skipped')}; {state}"
    )
    return line


@cli.command()
@store_options
@lists_config_problems
@json_option
@click.option("--connector", "names", multiple=True, metavar="NAME", help="Only this connector.")
def check(app: App, as_json: bool, names: tuple[str, ...]) -> None:
    """Validate each connector's config and credentials with one cheap call.

    Names exactly what is missing (the environment variable to set) or refused. Exit 0 if
    all pass, 1 if a credential or network check fails, 2 if a section is invalid.

    \b
    Example:
        social-watch check
        SOCIAL_WATCH_MASTODON_TOKEN=… social-watch check --connector mastodon
    """
    from social_watch import config as cfg
    from social_watch import polling

    # Every problem in one run: the config's own, then each connector's and [email]'s.
    config, problems = cfg.load_all(app.config_path)
    reports = [polling.CheckReport("config", False, str(p), "config") for p in problems]
    no_connectors = False
    if config is not None:
        found = polling.check_all(config, os.environ, list(names) or None, clock=app.now)
        no_connectors = not found
        reports += found
        if not names:
            reports += _email_reports(config, os.environ)
            reports += _database_reports(app._db_path or config.database, config)
    if as_json:
        echo_json([r.as_dict() for r in reports])
    else:
        if no_connectors:
            click.echo("No connectors configured: add a [connectors.NAME] section.")
        for r in reports:  # problems on stderr, so `check > log` still shows them
            click.echo(f"{r.name:<11} {'ok' if r.ok else 'FAILED':<7} {r.message}", err=not r.ok)
    if any(r.kind == "config" for r in reports):
        sys.exit(2)
    if any(not r.ok for r in reports):
        sys.exit(1)


def _database_reports(target: str, config: Any) -> list[Any]:
    """A PostgreSQL database as check sees it: its password variable set, the server
    reachable, the login accepted (opened without migrating it). SQLite files: nothing."""
    from social_watch.errors import ConfigError, StoreError
    from social_watch.polling import CheckReport
    from social_watch.store import is_postgres

    if not is_postgres(target):
        return []
    from social_watch.store.postgres import PostgresStore

    try:
        store = PostgresStore(target, password_env=config.password_env, migrate=False)
    except ConfigError as exc:
        return [CheckReport("database", False, str(exc), "config", config.password_env)]
    except StoreError as exc:
        return [CheckReport("database", False, str(exc), "transient")]
    applied = len(store.migrations_applied())
    store.close()
    return [CheckReport("database", True, f"{store.url} (PostgreSQL, {applied} migrations)")]


def _email_reports(config: Any, env: Mapping[str, str]) -> list[Any]:
    """[email] as check sees it: a secret that cannot be read, or one that is not set.

    An unset ``password_env`` would otherwise send mail unauthenticated, silently.
    """
    from social_watch.errors import ConfigError
    from social_watch.mailer import settings
    from social_watch.polling import CheckReport

    section = config.section("email")
    if not section:
        return []
    out = []
    try:
        settings(config, env)
    except ConfigError as exc:
        out.append(CheckReport("email", False, str(exc), kind="config"))
    for name in ("username", "password"):
        var = section.get(f"{name}_env")
        if var and not env.get(var) and not section.get(f"{name}_file"):
            out.append(
                CheckReport(
                    "email",
                    False,
                    f"email.{name}_env: environment variable {var} is not set "
                    "(mail would be sent without logging in)",
                    kind="auth",
                    env_var=var,
                )
            )
    return out or [CheckReport("email", True, f"SMTP {section['host']}:{section['port']}")]


@cli.command()
@store_options
@json_option
def connectors(app: App, as_json: bool) -> None:
    """List available connectors, which are configured, their sources and capabilities.

    \b
    Example:
        social-watch connectors
        social-watch connectors --json | jq '.[] | select(.configured)'
    """
    from social_watch import polling

    rows = polling.describe_connectors(app.config, os.environ)
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        state = (
            "configured"
            if row["configured"] and row["enabled"]
            else "disabled"
            if row["configured"]
            else "available"
        )
        if not row.get("available"):
            click.echo(f"{row['name']:<11} unavailable  {row.get('error', '')}")
            continue
        caps = ", ".join(row["capabilities"]) + (" (read-only)" if row["read_only"] else "")
        click.echo(f"{row['name']:<11} {state:<12} {caps}")
        if row.get("error"):
            click.echo(f"  error: {row['error']}")
        for src in row.get("sources", []):
            click.echo(f"  {src['kind']}: {src['query'] or '(all)'}")
        for var in row.get("missing_secrets", []):
            click.echo(f"  missing: environment variable {var}")
