"""Move a private thread to e-mail: tell the help desk first, then say so in public.

Order matters. The e-mail to the help desk (``[email] to``) goes first; only when it was
accepted is the public handoff note posted ("…please write to care@shop.example with
reference SW-7Q2K"), through the same exactly-once outbox as any reply. If the e-mail
fails, nothing is posted and the item's status does not change: the public note never
promises an answer nobody was told to give.

The reference code (``SW-`` + four characters from an alphabet without 0/O, 1/I/L) is
stored per queue item in ``handoffs``, so a re-run reuses the code the help desk already
has and does not e-mail twice. The public note comes from a template and never repeats
personal data found in the mention; on read-only networks (Hacker News, RSS) only the
e-mail is sent. The demo (replay mentions, no ``[email]``) prints the e-mail instead.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from social_watch import db as dbmod
from social_watch import mailer, outbox, replies
from social_watch.config import Config
from social_watch.errors import ConfigError, Conflict
from social_watch.queue import effective_sentiment
from social_watch.store import add_action
from social_watch.store import handoffs as h_sql
from social_watch.store.base import Store

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read out loud without doubt
PRINTED = "(printed, demo)"
REFERENCE_RE = re.compile(f"SW-[{ALPHABET}]{{4}}")


@dataclass
class Handoff:
    """What `to-email` did (or, with dry_run, would do)."""

    item_id: int
    reference: str
    network: str
    emailed_to: list[str]
    message: EmailMessage
    printed: bool  # demo: the e-mail was printed, not sent
    draft: replies.Draft | None  # None on read-only networks
    reply: outbox.SendResult | None = None
    already_emailed: bool = False
    dry_run: bool = False
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "reference": self.reference,
            "network": self.network,
            "emailed_to": self.emailed_to,
            "printed": self.printed,
            "already_emailed": self.already_emailed,
            "dry_run": self.dry_run,
            "public_reply": self.draft.as_dict() if self.draft else None,
            "outbox": self.reply.as_dict() if self.reply else None,
            "subject": str(self.message["Subject"]),
            "notes": self.notes,
        }


def new_reference() -> str:
    return "SW-" + "".join(secrets.choice(ALPHABET) for _ in range(4))


def existing(db: Store, item_id: int) -> dict[str, Any] | None:
    return h_sql.handoff_of(db, item_id)


def _reserve(db: Store, item_id: int, reference: str, agent: str, now: datetime) -> bool:
    """Store the reference for the item; False if the code is taken (draw another)."""
    try:
        with dbmod.write(db):
            h_sql.insert_handoff(db, item_id, reference, agent, now)
    except sqlite3.IntegrityError:
        return False
    row = existing(db, item_id)
    return row is not None and row["reference"] == reference


def _free(db: Store, reference: str) -> bool:
    return h_sql.reference_free(db, reference)


# --- the e-mail ------------------------------------------------------------------------


_HTML = """\
<p><b>{{ reference }}</b>: a {{ network }} thread moved to e-mail by {{ agent }}.</p>
<ul>
<li>Author: {{ author }}</li>
<li>Sentiment: {{ sentiment }}; tags: {{ tags }}</li>
<li>Why private: {{ reasons }}</li>
</ul>
{% for m in thread %}{% set href = m.url | safe_url %}<blockquote><p>{{ m.who }} · {{ m.at }}\
{% if href %} · <a href="{{ href }}">{{ href }}</a>{% elif m.url %} · {{ m.url }}{% endif %}</p>
<p>{{ m.text }}</p></blockquote>
{% endfor %}{% if note %}<p>Public note: {{ note }}</p>{% endif %}
{% for line in advice %}<p>{{ line }}</p>{% endfor %}
"""


def next_step(
    network: str, handle: str, url: str | None, reference: str, *, writable: bool
) -> list[str]:
    """What the help desk can do next. On a read-only network there is no address to write
    to and no public note asking the customer to write in, so say what is possible instead."""
    link = f" ({url})" if url else ""
    if writable:
        return [
            "The public note asks the customer to write to you quoting "
            f"{reference}; answer them by e-mail when they do."
        ]
    if network == "hackernews":
        return [
            "No e-mail address: Hacker News shows none and has no private messages, and "
            "social-watch cannot post there, so no public note was posted.",
            "What you can do: answer in the thread from the brand's own Hacker News account"
            f"{link}; the author's profile may list a contact "
            f"(https://news.ycombinator.com/user?id={handle}). Quote {reference} if they "
            "write in.",
        ]
    return [
        f"No e-mail address: a {network} feed item (a blog post, a news article, an alert) "
        "carries no address for its author, and social-watch cannot post there, so no "
        "public note was posted.",
        f"What you can do: open the article{link} and answer in its comments, or use the "
        f"site's contact page. Quote {reference} if they write in.",
    ]


def build_email(
    config: Config,
    *,
    sender: str,
    to: list[str],
    head: Mapping[str, Any],
    rows: list[dict[str, Any]],
    reference: str,
    agent: str,
    note: str | None,
) -> EmailMessage:
    """Plain text, an HTML alternative (escaped) and the thread as JSON for the help desk."""
    from social_watch.untrusted import html_environment

    latest = rows[-1] if rows else head
    handle = head["author_handle"]
    author = f"@{handle}" + (f" ({head['author_name']})" if head["author_name"] else "")
    if head["author_followers"] is not None:
        author += f", {head['author_followers']} followers"
    worst = min(
        rows or [dict(head)],
        key=lambda m: (effective_sentiment(m)["label"] != "negative", m["sentiment_compound"] or 0),
    )
    tags: list[str] = []
    for r in rows:
        tags += [t for t in json.loads(r["tags"]) if t not in tags]
    reasons = replies.sensitive_reasons(rows) or ["(none flagged)"]
    thread = [
        {
            "who": f"@{r['author_handle']}",
            "at": r["created_at"],
            "url": r["url"],
            "text": r["text"],
        }
        for r in rows
    ]
    sentiment = effective_sentiment(worst)["label"]
    lines = [
        f"Reference: {reference}",
        f"Network: {head['network']}",
        f"Author: {author}",
        f"Link: {latest['url'] or '(none)'}",
        f"Sentiment: {sentiment}",
        f"Tags: {', '.join(tags) or '(none)'}",
        f"Why private: {', '.join(reasons)}",
        f"Moved by: {agent}",
        "",
        "Thread:",
    ]
    for m in thread:
        lines += ["", f"{m['who']} at {m['at']}" + (f" ({m['url']})" if m["url"] else "")]
        lines += [f"> {line}" for line in m["text"].splitlines() or [""]]
    advice = next_step(head["network"], handle, latest["url"], reference, writable=bool(note))
    if note:
        lines += ["", "Public note posted on the thread:", note]
    lines += ["", *advice]
    html = (
        html_environment()
        .from_string(_HTML)
        .render(
            reference=reference,
            network=head["network"],
            agent=agent,
            author=author,
            sentiment=sentiment,
            tags=", ".join(tags) or "(none)",
            reasons=", ".join(reasons),
            thread=thread,
            note=note,
            advice=advice,
        )
    )
    first = " ".join(latest["text"].split())
    subject = f"[{reference}] {head['network']} @{handle}: {first[:70]}"
    msg = mailer.build(
        sender=sender,
        to=to,
        subject=subject,
        text="\n".join(lines) + "\n",
        html=html,
        headers={"X-Social-Watch-Reference": reference},
    )
    payload = {"reference": reference, "item_id": head["id"], "author": author, "thread": thread}
    msg.add_attachment(
        json.dumps(payload, ensure_ascii=False, indent=2).encode("utf-8"),
        maintype="application",
        subtype="json",
        filename=f"{reference}.json",
    )
    return msg


# --- the flow --------------------------------------------------------------------------


def _leaks_mention_data(config: Config, rows: list[dict[str, Any]], text: str) -> list[str]:
    """Personal data from the customer's own messages (and display name) that the public
    note would repeat."""
    det = replies.detector(config)
    found = []
    for r in rows:
        for f in det.find(f"{r['text']}\n{r.get('author_name') or ''}"):
            if f.value.strip() and f.value.lower() in text.lower():
                found.append(f"{f.kind.replace('_', ' ')} {f.value!r}")
    return found


def move_to_email(
    db: Store,
    config: Config,
    ref: str | int,
    agent: str,
    *,
    env: Mapping[str, str],
    clock: Callable[[], datetime],
    template: str | None = None,
    dry_run: bool = False,
    force: bool = False,
    deliver: Callable[[mailer.SmtpSettings, EmailMessage], None] = mailer.send,
    reference: str | None = None,
) -> Handoff:
    """E-mail the help desk, then post the public note once; see the module docstring.

    ``reference``: the code a preview (``dry_run``) showed, used if it is still free, so
    what the agent read is what the customer gets; otherwise a new one is drawn."""
    proposed = reference if reference and REFERENCE_RE.fullmatch(reference) else None
    head = replies.item_head(db, ref)
    item_id = head["id"]
    rows = replies.item_rows(db, item_id) or [head]
    network = head["network"]
    if config.section("email") is None:
        if not replies.is_replay(db, head):
            raise ConfigError(
                "no [email] section: to move a thread to e-mail set [email] host, from and "
                "to (the help-desk address), see config.example.toml"
            )
        smtp, to, sender = None, [PRINTED], "social-watch@localhost"
    else:
        smtp = mailer.settings(config, env)
        if not smtp.to:
            raise ConfigError("set to = the help-desk address to-email writes to", key="email.to")
        to, sender = list(smtp.to), smtp.sender

    if not force:
        sent = h_sql.sent_handoff_note(db, item_id)
        if sent is not None:
            raise Conflict(
                f"mention {item_id} was already moved to e-mail with reference {sent[2]} "
                f"at {sent[1]}; --force to post another note"
            )

    held = existing(db, item_id)
    writable = network not in replies.READ_ONLY_NETWORKS
    for _ in range(20):
        reference = held["reference"] if held else (proposed or new_reference())
        if held or dry_run or _free(db, reference):
            break
        proposed = None  # taken meanwhile: draw
    else:  # pragma: no cover - 31**4 codes
        raise Conflict("could not draw a free reference code; try again")

    draft = connector = None
    if writable:
        try:
            draft, connector = replies.prepare(
                db,
                config,
                item_id,
                agent,
                template=template or replies.HANDOFF_TEMPLATE,
                env=env,
                now=clock(),
                clock=clock,
                force=force,
                kind="handoff",
                reference=reference,
            )
        except replies.ReadOnly:
            draft = connector = None  # a connector without `reply`: the e-mail alone
        if draft is not None:
            leaks = _leaks_mention_data(config, rows, draft.text)
            if leaks:
                raise replies.Refused(
                    f"the public note would repeat the customer's personal data "
                    f"({'; '.join(leaks)}); change the template, nothing was sent",
                    guard="personal_data",
                    item_id=item_id,
                    variant="note",
                )
    if draft is None:
        replies.check_guards(
            db,
            config,
            _email_only_draft(head, rows, agent),
            now=clock(),
            force=force,
            check_sensitive=False,
        )
    msg = build_email(
        config,
        sender=sender,
        to=to if smtp else ["help-desk@example.invalid"],
        head=head,
        rows=rows,
        reference=reference,
        agent=agent,
        note=draft.text if draft else None,
    )
    result = Handoff(
        item_id=item_id,
        reference=reference,
        network=network,
        emailed_to=to,
        message=msg,
        printed=smtp is None,
        draft=draft,
        already_emailed=bool(held and held["emailed_at"]),
        dry_run=dry_run,
    )
    if dry_run:
        if connector is not None:
            connector.close()
        if not held and proposed is None:
            # drawn to show where it goes: the CLI's real run draws its own (the web inbox
            # sends this one back, so its preview is what goes out)
            result.notes.append(
                f"{reference} is an example: moving it for real gives the thread its own code"
            )
        return result

    if not result.already_emailed:
        if not held and not _reserve(db, item_id, reference, agent, clock()):
            raise Conflict("reference code collision; run to-email again")
        if smtp is not None:
            deliver(smtp, msg)  # MailError: nothing posted, status unchanged
        _mark_emailed(db, item_id, reference, agent, to, msg, clock(), posted=draft is not None)
    else:
        result.notes.append(f"the help desk already has {reference}; e-mail not sent again")
    if draft is not None and connector is not None:
        try:
            result.reply = replies.send(db, config, draft, connector, clock=clock, force=force)
        finally:
            connector.close()
    return result


def _email_only_draft(
    head: Mapping[str, Any], rows: list[dict[str, Any]], agent: str
) -> replies.Draft:
    """A text-less draft so read-only handoffs pass the same claim and collision guards."""
    target = replies.to_mention(rows[-1])
    return replies.Draft(
        item_id=head["id"],
        mention=target,
        mention_id=rows[-1]["id"],
        network=head["network"],
        connector="(e-mail only)",
        agent=agent,
        kind="handoff",
        text="",
        count=0,
        limit=None,
        template=None,
    )


def _mark_emailed(
    db: Store,
    item_id: int,
    reference: str,
    agent: str,
    to: list[str],
    msg: EmailMessage,
    now: datetime,
    *,
    posted: bool,
) -> None:
    with dbmod.write(db):
        h_sql.mark_emailed(db, item_id, agent, to, str(msg["Message-ID"]), now)
        add_action(
            db,
            item_id,
            "moved_to_email",
            agent,
            now,
            {
                "reference": reference,
                "emailed_to": to,
                "message_id": str(msg["Message-ID"]),
                "public_note": posted,
            },
        )
