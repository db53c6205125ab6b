"""`social-watch watch` and `social-watch status`: thin shells over ``social_watch.watch``.

Registered on the main group when ``cli`` is imported. `watch` exits 0 when stopped by
SIGINT/SIGTERM and 2 when another loop holds the database; `status` is a monitoring check:
exit 1 when a connector is unhealthy or connectors are configured and no loop is alive.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from social_watch.cli import App, cli, echo_json, json_option, store_options


@cli.command()
@store_options
@click.option(
    "--tick",
    type=click.FloatRange(min=0.05),
    default=1.0,
    hidden=True,
    help="Seconds between scheduler ticks (tests use short ones).",
)
def watch(app: App, tick: float) -> None:
    """Poll every connector on its interval, remind before the breach, all day.

    Each configured connector is polled on its own `interval` (default 60s) in its own
    worker; a failing one backs off, a rate-limited one waits for its reset. Items crossing
    at_risk, urgent and their target are announced once each through [notify]; a connector
    silent past its `quiet_period` or failing for 5 intervals is announced once, and again
    when it recovers; expired claims return to the queue. Runs the daily digest at
    [watch] digest_at and the spike check every [watch] alert_every.

    Stops cleanly on Ctrl-C or SIGTERM (exit 0). On an SQLite file only one loop runs: a
    second one exits 2 naming the running one (pid, host, since). On PostgreSQL, loops on
    several machines share the work: each connector is polled by one of them at a time, a
    dead loop's connectors move to the others within 15 s, and one loop runs the daily jobs.

    \b
    Example:
        social-watch watch --config /etc/social-watch.toml
        social-watch --log-format json watch 2>> /var/log/social-watch.jsonl
    """
    import os

    from social_watch import watch as w

    live = sys.stderr.isatty()
    watch_log = logging.getLogger("social_watch.watch")
    if not live and logging.getLogger().getEffectiveLevel() > logging.INFO:
        watch_log.setLevel(logging.INFO)  # plain event lines when not on a terminal
    app.may_create = True
    app.db  # noqa: B018 - open (and migrate) before the loop, so errors come first
    code = w.run(app.db_path, app.config, os.environ, tick=tick, live=live)
    sys.exit(code)


@cli.command()
@store_options
@json_option
def status(app: App, as_json: bool) -> None:
    """Is the watch loop alive and is every connector healthy? A monitoring check.

    Per connector: the last poll (time, result, error, rate-limit reset) and the next one;
    whether a watch loop is alive (heartbeat age); queue size, oldest unanswered item and
    items past target.

    Exit 1 when connectors are configured and no watch loop is alive (none running, or its
    heartbeat is older than 3 heartbeats, 15 s), or when a configured connector is unhealthy
    (no successful poll for 5 of its intervals, or no new mention for its quiet_period; at
    once when it cannot poll at all: a missing secret, refused credentials or an unreachable
    host on every try since the loop started).
    Otherwise 0 (a queue-only setup without connectors needs no loop).

    \b
    Example:
        social-watch status
        social-watch status --json | jq .queue
        */5 * * * *  social-watch status >/dev/null || notify-oncall "social-watch needs a look"
    """
    from social_watch import watch_state

    data = watch_state.status(app.db, app.config, app.now())
    if as_json:
        echo_json(data)
    else:
        click.echo(_describe(data))
    if not data["ok"]:
        sys.exit(1)


def _describe(data: dict[str, Any]) -> str:
    loop = data["loop"]
    lines = []
    if loop["alive"]:
        lines.append(
            f"watch loop    alive: pid {loop['pid']} on {loop['host']} since {loop['since']}, "
            f"heartbeat {loop['heartbeat_age_seconds']} s ago"
        )
    elif "pid" in loop:
        lines.append(
            f"watch loop    DEAD: pid {loop['pid']} on {loop['host']}, last heartbeat "
            f"{loop['heartbeat']} ({loop['heartbeat_age_seconds']} s ago)"
        )
    else:
        lines.append("watch loop    not running")
    team = data.get("workers") or []
    if len(team) > 1 or any(not w["alive"] for w in team):
        for w in team:
            state = "alive" if w["alive"] else "DEAD"
            jobs = ", runs the daily jobs" if w["runs_daily_jobs"] else ""
            polls = ", ".join(w["connectors"]) or "nothing"
            lines.append(
                f"worker        {state}: pid {w['pid']} on {w['host']} since {w['since']}, "
                f"heartbeat {w['heartbeat_age_seconds']} s ago{jobs}; polls {polls}"
            )
    for c in data["connectors"]:
        name = f"{c['connector']:<13} "
        if c["last_poll_at"] is None:
            lines.append(name + "never polled")
            continue
        health = "healthy" if c["healthy"] else f"UNHEALTHY: {c['health_reason']}"
        line = (
            f"{name}last poll {c['last_poll_at']} {c['result']} (new {c['new']}, "
            f"fetched {c['fetched']}); {health}"
        )
        if c["error"] and c["error"] not in (c["health_reason"] or ""):
            line += f"\n{'':14}error: {c['error']}"
        if c["rate_limit_reset"]:
            line += f"\n{'':14}rate limited until {c['rate_limit_reset']}"
        if c["next_poll_at"]:
            line += f"\n{'':14}next poll {c['next_poll_at']}"
        lines.append(line)
    q = data["queue"]
    oldest = f", oldest unanswered since {q['oldest_created_at']}" if q["oldest_created_at"] else ""
    lines.append(f"queue         {q['waiting']} waiting, {q['past_target']} past target{oldest}")
    for p in data["problems"]:
        lines.append(f"problem       {p}")
    return "\n".join(lines)
