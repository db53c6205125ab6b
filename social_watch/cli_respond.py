"""Commands that answer customers: `reply`, `to-email` and `outbox`.

Thin shells over ``social_watch.replies``, ``handoff`` and ``outbox``; registered on the
main group when ``cli`` is imported. Library imports stay inside the commands so
`social-watch queue` never pays for jinja2, the counting libraries or a connector.
Exit codes: 0 sent (or nothing to do); 1 refused by a guard, or the outcome is unknown or
failed; 2 usage or config error.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from social_watch.cli import App, Group, agent_option, cli, echo_json, json_option, store_options
from social_watch.untrusted import inert, terminal


def _describe_sent(result: Any, thread_url: str | None = None) -> str:
    if result.status == "sent":
        how = "found on the network (sent earlier)" if result.reconciled else "posted"
        if result.url:
            return f"Outbox {result.outbox_id}: {how}: {result.url}"
        thread = f"; the thread: {thread_url}" if thread_url else ""
        if str(result.remote_id or "").startswith("local-"):  # the demo's replay connector
            return (
                f"Outbox {result.outbox_id}: {how} in the demo (kept in the local database, "
                f"nothing left this machine){thread}"
            )
        return f"Outbox {result.outbox_id}: {how} (id {result.remote_id}; no link given){thread}"
    if result.status == "unknown":
        return (
            f"Outbox {result.outbox_id}: outcome unknown ({result.error}); "
            "run `social-watch outbox retry`: it checks the network before posting again"
        )
    if result.status == "failed":
        return f"Outbox {result.outbox_id}: not posted: {result.error}"
    return f"Outbox {result.outbox_id}: {result.status}" + (
        f" ({result.error})" if result.error else ""
    )


def _dry_run_text(draft: Any) -> str:
    from social_watch.lengths import describe

    lines = [
        f"Would post on {draft.network} (connector {draft.connector}) as {draft.agent}, "
        f"in reply to @{draft.mention.author.handle}"
        + (f" {draft.mention.url}" if draft.mention.url else "")
        + ":",
        "",
        draft.text,
        "",
        f"({describe(draft.network, draft.count, draft.limit)}; nothing was sent)",
    ]
    lines += [f"Note: {w}" for w in draft.warnings]
    return terminal("\n".join(lines))


@cli.command()
@store_options
@agent_option
@json_option
@click.argument("mention_id")
@click.argument("text", required=False)
@click.option("--template", "template", metavar="NAME", help="A care template instead of TEXT.")
@click.option(
    "--dry-run", is_flag=True, help="Print what would be posted and where; change nothing."
)
@click.option(
    "--force", is_flag=True, help="Answer despite a guard (private thread, claim, collision)."
)
def reply(
    app: App,
    as_json: bool,
    mention_id: str,
    text: str | None,
    template: str | None,
    dry_run: bool,
    force: bool,
) -> None:
    """Answer a mention in public, signed, exactly once.

    TEXT is posted as typed, with {{ customer_name }}, {{ agent_name }}, {{ brand }} and the
    other variables filled in (it is not a template: no {% %} logic); --template NAME
    renders a template instead. Your signature is appended. Starter templates:
    thanks, sorry-delay, where-is-my-order, move-to-email.

    \b
    Example:
        social-watch reply 12 --template sorry-delay --as jana --dry-run
        social-watch reply 12 "Hi {{ customer_name }}, thanks, it's fixed now!" --as jana
    """
    from social_watch import replies

    agent = app.agent()
    assert agent is not None
    draft, connector = replies.prepare(
        app.db,
        app.config,
        mention_id,
        agent,
        text=text,
        template=template,
        env=os.environ,
        now=app.now(),
        clock=app.now,
        force=force,
    )
    try:
        if dry_run:
            if as_json:
                echo_json({"dry_run": True, **draft.as_dict()})
            else:
                click.echo(_dry_run_text(draft))
            return
        result = replies.send(app.db, app.config, draft, connector, clock=app.now, force=force)
    finally:
        connector.close()
    if as_json:
        echo_json({"dry_run": False, **draft.as_dict(), "outbox": result.as_dict()})
    else:
        click.echo(_describe_sent(result, draft.mention.url))
    if result.status != "sent":
        sys.exit(1)


@cli.command(name="to-email")
@store_options
@agent_option
@json_option
@click.argument("mention_id")
@click.option(
    "--template", "template", metavar="NAME", help="Public note template (default move-to-email)."
)
@click.option(
    "--dry-run", is_flag=True, help="Print the e-mail and the public note; change nothing."
)
@click.option("--force", is_flag=True, help="Move it despite a claim or an earlier answer.")
def to_email(
    app: App, as_json: bool, mention_id: str, template: str | None, dry_run: bool, force: bool
) -> None:
    """Move a private thread to e-mail: e-mail the help desk, then say so in public.

    The help desk ([email] to) gets the thread, author, links, sentiment, tags and a
    reference code; then a signed public note gives the customer that reference. If the
    e-mail fails, nothing is posted. Read-only networks (Hacker News, RSS, Heureka) get the e-mail
    only. Without [email], the demo prints the e-mail instead of sending it.

    \b
    Example:
        social-watch to-email 4 --as jana --dry-run
        social-watch to-email 4 --as jana
    """
    from social_watch import handoff

    agent = app.agent()
    assert agent is not None
    result = handoff.move_to_email(
        app.db,
        app.config,
        mention_id,
        agent,
        env=os.environ,
        clock=app.now,
        template=template,
        dry_run=dry_run,
        force=force,
    )
    if as_json:
        data = result.as_dict()
        if result.printed or dry_run:
            data["email"] = result.message.as_string()
        echo_json(data)
    else:
        if result.printed or dry_run:
            if dry_run and not result.printed:
                click.echo(f"Would e-mail {', '.join(result.emailed_to)}:")
            else:
                click.echo("Demo: no [email] section, so the e-mail is printed, not sent:")
            click.echo(_readable(result.message))
        elif not result.already_emailed:
            click.echo(
                f"E-mailed {', '.join(result.emailed_to)} with reference {result.reference}."
            )
        for note in result.notes:
            click.echo(f"Note: {note}")
        if result.draft is None:
            click.echo(
                f"{result.network} is read-only and gives no e-mail address: no public note; "
                f"item {result.item_id} "
                + ("would be" if dry_run else "is")
                + " moved to e-mail, which tells the help desk what it can do instead "
                "(answer in the thread, the link)."
            )
        elif dry_run:
            click.echo(_dry_run_text(result.draft))
        elif result.reply is not None:
            click.echo(_describe_sent(result.reply))
        if not dry_run:
            click.echo(f"Item {result.item_id} moved to e-mail ({result.reference}).")
    if result.reply is not None and result.reply.status != "sent":
        sys.exit(1)


_STATUSES = ["pending", "sending", "sent", "unknown", "failed"]


@cli.group(cls=Group, invoke_without_command=True)
@store_options
@json_option
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(_STATUSES),
    help="Only rows in this status (repeatable).",
)
@click.option(
    "--limit", type=click.IntRange(min=0), default=50, show_default=True, help="0 for all."
)
@click.pass_context
def outbox(
    ctx: click.Context, app: App, as_json: bool, statuses: tuple[str, ...], limit: int
) -> None:
    """Replies sent, pending, and with an unknown outcome (newest first).

    \b
    Example:
        social-watch outbox
        social-watch outbox --status unknown --json
        social-watch outbox retry
    """
    if ctx.invoked_subcommand is not None:
        return
    from social_watch import outbox as ob

    rows = ob.list_rows(app.db, statuses, limit=limit or None)
    if as_json:
        echo_json(rows)
        return
    if not rows:
        total = ob.count(app.db)
        if statuses and total:
            click.echo(f"No outbox rows match ({total} in the outbox).")
        else:
            click.echo("The outbox is empty.")
        return
    click.echo(_outbox_table(rows))
    hidden = ob.count(app.db, statuses) - len(rows)
    if hidden > 0:
        click.echo(click.style(f"… {hidden} more (--limit 0 shows all)", dim=True))


def _outbox_table(rows: list[dict[str, Any]]) -> str:
    """One line per row (newest first) under a header, the text indented below it. WHEN is
    when it was sent, else last tried, else recorded (UTC)."""
    from social_watch.render import shorten, width

    rows = inert(rows)  # customer names and texts: no escape sequence
    cols = width()
    lines = [
        click.style(
            f"{'ID':>4}  {'STATUS':<8} {'KIND':<8} {'NET':<10} {'ITEM':<6} {'TO':<19} "
            f"{'AGENT':<8} {'WHEN (UTC)':<16} LINK / ERROR",
            bold=True,
        )
    ]
    for r in rows:
        when = (r["sent_at"] or r["attempted_at"] or r["created_at"] or "")[:16].replace("T", " ")
        where = r["remote_url"] or r["error"] or r["remote_id"] or ""
        to = shorten("@" + (r["in_reply_to"]["author"] or "?"), 19)
        line = (
            f"{r['id']:>4}  {r['status']:<8} {r['kind']:<8} {shorten(r['network'], 10):<10} "
            f"{r['item_id']:<6} {to:<19} {shorten(r['agent'] or '', 8):<8} {when:<16} "
        )
        # a link stays whole (a cut one cannot be opened); an error or id is cut to fit
        fits = where if r["remote_url"] else shorten(where, max(12, cols - len(line)))
        lines.append(line + fits)
        lines.append("      " + shorten(r["text"], max(20, cols - 7)))
    return "\n".join(lines)


@outbox.command(name="retry")
@store_options
@json_option
def outbox_retry(app: App, as_json: bool) -> None:
    """Settle unfinished replies: look each up on the network, post only if it is not there.

    Exit 1 if an outcome is still unknown or a reply failed.

    \b
    Example:
        social-watch outbox retry
    """
    from social_watch import replies

    results = replies.retry_all(app.db, app.config, env=os.environ, clock=app.now)
    if as_json:
        echo_json([r.as_dict() for r in results])
    elif not results:
        click.echo("Nothing to retry: every reply in the outbox has a final outcome.")
    else:
        for r in results:
            click.echo(_describe_sent(r))
    if any(r.status != "sent" for r in results):
        sys.exit(1)


def _readable(message: Any) -> str:
    """The headers a person checks and the plain-text part, decoded (not raw MIME)."""
    lines = [f"{name}: {message[name]}" for name in ("From", "To", "Subject") if message[name]]
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    parts = [p.get_filename() for p in message.iter_attachments() if p.get_filename()]
    if parts:
        lines.append("Attached: " + ", ".join(parts))
    return terminal("\n".join(["-" * 60, *lines, "", text.rstrip(), "-" * 60]))
