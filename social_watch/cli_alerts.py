"""`social-watch alert`: the negative-spike check for cron, a thin shell over ``alerts``.

Registered on the main group when ``cli`` is imported. Exit codes are the contract cron
relies on (`social-watch alert || page-someone`): 0 calm (or a spike already alerted and
in its cool-down), 1 an alert fired, 2 usage or config error.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta

import click

from social_watch.cli import App, cli, echo_json, json_option, store_options
from social_watch.errors import UsageError


def _duration(value: str | None, option: str) -> timedelta | None:
    from social_watch.config import parse_option_duration

    if value is None:
        return None
    try:
        result = parse_option_duration(value)
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None
    if result.total_seconds() <= 0:
        raise UsageError(f"{option}: must be longer than 0 seconds")
    return result


@cli.command()
@store_options
@json_option
@click.option("--window", metavar="DURATION", help="Recent window (default: alerts.window, 60m).")
@click.option(
    "--baseline", metavar="DURATION", help="History to compare with (default: alerts.baseline, 7d)."
)
@click.option("--notify", is_flag=True, help="Send alerts through the [notify] channels.")
@click.option("--dry-run", is_flag=True, help="Evaluate only: record no state, send nothing.")
def alert(
    app: App,
    as_json: bool,
    window: str | None,
    baseline: str | None,
    notify: bool,
    dry_run: bool,
) -> None:
    """Check for a spike of negative mentions (exit 0 calm, 1 fired, 2 error).

    Compares negative mentions in the recent window with the same clock window on previous
    days, overall and per [alerts.groups] keyword group. A spike already alerted stays quiet
    (exit 0) until its cool-down ends; see README "Spike alerts" for the rule.

    \b
    Example:
        social-watch alert
        social-watch alert --window 30m --baseline 14d --notify || echo "spike!"
        */10 * * * *  social-watch alert --notify --db /srv/sw/social-watch.db
    """
    from social_watch import alert_report, alerts
    from social_watch import notify as notifier

    window_td = _duration(window, "--window")
    baseline_td = _duration(baseline, "--baseline")
    if notify and not dry_run and not notifier.channels(app.config):
        raise UsageError(
            "--notify: no channel configured; set [notify] webhook_url_env, "
            "or [notify] email_to with an [email] section (see config.example.toml)"
        )
    run = alerts.check_and_notify(
        app.db,
        app.config,
        os.environ,
        app.now(),
        window=window_td,
        baseline=baseline_td,
        notify=notify and not dry_run,
        record=not dry_run,
    )
    if as_json:
        echo_json(run.as_dict())
    else:
        click.echo(alert_report.describe(run))
        for channel in run.delivered:
            click.echo(f"Sent via {channel}.")
    # a failed delivery is already on stderr once, as the notifier's warning (and in
    # --json's "failed"); a second line here said it twice
    sys.exit(run.exit_code)
