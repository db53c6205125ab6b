"""`stats` and `digest`: the reports team leads and marketers read, as thin commands.

They register on the group from ``social_watch.cli`` (imported at the bottom of cli.py), so
reports live beside the inbox commands without growing cli.py.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from social_watch.cli import App, cli, echo_json, json_option, store_options
from social_watch.errors import UsageError


def period_options(default: str) -> Any:
    """--since / --from / --to, spelled the same on every report."""

    def decorate(func: Any) -> Any:
        func = click.option(
            "--to", "end", metavar="WHEN", help="End (exclusive): date or ISO time; default now."
        )(func)
        func = click.option(
            "--from", "start", metavar="WHEN", help="Start: a date (local midnight) or ISO time."
        )(func)
        return click.option(
            "--since",
            metavar="DURATION",
            help=f"The period ending now: 24h, 7d, 30d … (default {default}).",
        )(func)

    return decorate


def _period(app: App, since: str | None, start: str | None, end: str | None, default: str) -> Any:
    from social_watch import stats
    from social_watch.pipeline import business_hours

    tz = stats.report_tz(business_hours(app.config))
    return stats.period(now=app.now(), since=since, start=start, end=end, tz=tz, default=default)


@cli.command()
@store_options
@json_option
@period_options("7d")
@click.option(
    "--hours",
    "select",
    type=click.Choice(["all", "business", "off"]),
    default="all",
    show_default=True,
    help="Only items written inside or outside [queue.business_hours].",
)
def stats(
    app: App,
    as_json: bool,
    since: str | None,
    start: str | None,
    end: str | None,
    select: str,
) -> None:
    """Response metrics: first-response time, share within target, response rate, backlog.

    Overall and per network, agent and tag, for items written in the period (definitions:
    README, "Metrics").

    \b
    Example:
        social-watch stats --since 30d
        social-watch stats --from 2026-11-01 --to 2026-12-01 --hours business --json
    """
    from social_watch import stats as st
    from social_watch.pipeline import business_hours

    period = _period(app, since, start, end, "7d")
    data = st.compute(
        app.db, period=period, now=app.now(), hours=business_hours(app.config), select=select
    )
    if as_json:
        echo_json(data)
    else:
        click.echo(stats_text(data))


def stats_text(data: dict[str, Any]) -> str:
    """The stats as a terminal table: one row per group, the same columns everywhere."""
    from social_watch.render import shorten
    from social_watch.stats import seconds, share

    p = data["period"]
    hours = "" if p["hours"] == "all" else f", {p['hours']} hours only"
    lines = [
        click.style(f"{p['from']} → {p['to']}{hours}", bold=True),
        f"{'':<22}{'ITEMS':>6}{'NEED':>6}{'ANSW':>6}{'RATE':>6}{'MEDIAN':>8}{'P90':>8}"
        f"{'IN TGT':>8}{'BREACH':>7}{'WAIT':>6}{'1-TOUCH':>8}",
    ]

    def row(name: str, g: dict[str, Any], indent: str = "") -> str:
        fr = g["first_response"]
        return (
            f"{indent + shorten(name, 21 - len(indent)):<22}{g['items']:>6}{g['needing_answer']:>6}{g['answered']:>6}"
            f"{share(g['response_rate']):>6}{seconds(fr['median_s']):>8}{seconds(fr['p90_s']):>8}"
            f"{share(g['within_target_share']):>8}{g['breaches']:>7}{g['unanswered_now']:>6}"
            f"{share(g['one_touch_rate']):>8}"
        )

    lines.append(row("overall", data["overall"]))
    for title, key in (("network", "by_network"), ("agent", "by_agent"), ("tag", "by_tag")):
        if data.get(key):
            lines.append(click.style(f"by {title}", dim=True))
            lines += [row(name, g, "  ") for name, g in data[key].items()]
    o = data["overall"]
    reasons = ", ".join(f"{r} {n}" for r, n in sorted(o["dismissed"]["by_reason"].items()))
    lines.append("")
    lines.append(
        f"moved to e-mail {o['moved_to_email']} · done {o['done']} · dismissed "
        f"{o['dismissed']['total']}{f' ({reasons})' if reasons else ''} · closed unanswered "
        f"{o['closed_unanswered']} · mean first response {seconds(o['first_response']['mean_s'])}"
    )
    q = data["queue_now"]
    lines.append(f"waiting now {q['waiting']} ({q['overdue']} overdue)")
    volume = data["volume"]
    peak = max(volume["by_hour"]) or 1
    bars = "▁▂▃▄▅▆▇█"
    spark = "".join(bars[min(7, int(v / peak * 7.999))] if v else " " for v in volume["by_hour"])
    lines.append(f"mentions by hour ({p['timezone']}) 00 |{spark}| 23")
    lines.append("by weekday: " + " · ".join(f"{d} {n}" for d, n in volume["by_weekday"].items()))
    return "\n".join(lines)


@cli.command()
@store_options
@period_options("24h")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "html", "json"]),
    default="text",
    show_default=True,
)
@click.option("--output", "-o", metavar="FILE", help="Write to FILE instead of stdout.")
@click.option("--send", is_flag=True, help="E-mail it (HTML + plain text) to [digest] recipients.")
def digest(
    app: App,
    since: str | None,
    start: str | None,
    end: str | None,
    fmt: str,
    output: str | None,
    send: bool,
) -> None:
    """What people said about the brand, compared with the period before.

    Volume, sentiment, most negative and positive mentions, most reached authors, tags,
    rising terms, share of voice and service figures; personal data masked.

    \b
    Example:
        social-watch digest --since 7d --format markdown
        social-watch digest --format html -o digest.html
        social-watch digest --send
    """
    from social_watch import digest as dg

    period = _period(app, since, start, end, "24h")
    if send:
        if output:
            raise UsageError("--send e-mails the digest; leave out --output")
        sent = dg.send(app.db, app.config, os.environ, period=period, now=app.now())
        click.echo(f"Sent {sent.subject!r} to {', '.join(sent.recipients)}.")
        return
    text = dg.render(dg.build(app.db, app.config, period=period, now=app.now()), fmt)
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except IsADirectoryError:
            raise UsageError(f"cannot write {output}: it is a directory; name a file") from None
        except FileNotFoundError:
            raise UsageError(f"cannot write {output}: no such folder") from None
        except OSError as exc:
            raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
        click.echo(f"Wrote {fmt} digest to {output}.", err=True)
    else:
        click.echo(text, nl=False)
