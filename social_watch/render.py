"""Terminal rendering of queue items and threads: plain text, colour only on a terminal."""

from __future__ import annotations

import shutil
import textwrap
import unicodedata
from typing import Any

import click

from social_watch.authors import author_label, author_parts
from social_watch.ratings import stars
from social_watch.untrusted import inert

SLA_COLOURS = {"ok": "green", "at_risk": "yellow", "urgent": "magenta", "breached": "red"}
# The SLA state without colour (output is often piped): X breached, ! urgent, ~ at risk.
SLA_MARK = {"breached": "X", "urgent": "!", "at_risk": "~", "ok": " "}
SENTIMENT_MARK = {"negative": "neg", "positive": "pos", "neutral": "neu", "unknown": "?"}


def width() -> int:
    return max(60, shutil.get_terminal_size((120, 24)).columns)


def duration(seconds: float) -> str:
    s = abs(int(seconds))
    days, rem = divmod(s, 86400)
    hours, rem = divmod(rem, 3600)
    minutes = rem // 60
    if days >= 1000:  # a mention dated years ahead (a wrong clock): keep the column
        return f"{days // 365}y"
    if days >= 100:
        return f"{days}d"
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if not minutes:
        return f"{s}s"  # "0m left" hid that seconds remain
    return f"{minutes}m"


def due_text(seconds_left: int) -> str:
    return (
        f"{duration(seconds_left)} left" if seconds_left > 0 else f"{duration(seconds_left)} over"
    )


def one_line(text: str) -> str:
    return " ".join(text.split())


def _cells(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def shorten(text: str, cells: int) -> str:
    """Cut to ``cells`` terminal columns (wide characters count 2), ending with '…'."""
    text = one_line(text)
    if _cells(text) <= cells:
        return text
    out, used = [], 0
    for ch in text:
        w = 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        if used + w > cells - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


# Short labels for the queue's NET column when a network's name does not fit it (7 cells
# at 60 columns, 8 from 80, 10 from 110): what a care team calls them, never "google_…".
NET_SHORT = {
    "mastodon": "mastdn",
    "hackernews": "hn",
    "facebook": "fb",
    "instagram": "ig",
    "trustpilot": "tpilot",
    "google_reviews": "google",
}


def network_label(network: str, cells: int) -> str:
    """The network's name when it fits ``cells``, else its short label (else cut)."""
    if _cells(network) <= cells:
        return network
    return shorten(NET_SHORT.get(network, network), cells)


def pad(text: str, cells: int) -> str:
    """``text`` padded with spaces to ``cells`` terminal columns (wide characters count 2)."""
    return text + " " * max(0, cells - _cells(text))


def queue_table(
    items: list[dict[str, Any]], summary: dict[str, Any], matching: int | None = None
) -> str:
    """The queue; ``matching`` is the size of a filtered view (None: no filter is applied)."""
    items = inert(items)  # customer text: no escape sequence reaches the terminal
    if not items:
        if matching is not None and summary["waiting"]:
            return f"No items match ({summary['waiting']} waiting)."
        return click.style("Inbox zero: nothing waits for an answer.", fg="green")
    lines = []
    header = (
        f"{summary['waiting']} waiting · {summary['overdue']} past the target · "
        f"{summary['claimed']} claimed  (X breached · ! urgent · ~ at risk)"
    )
    if matching is not None:
        header = f"{matching} match · " + header
    cols = width()
    lines.append(click.style(shorten(header, cols), bold=True))
    # Narrow terminals get narrower columns, so the text keeps room and no row wraps.
    net_w, author_w, flags_w = (
        (10, 18, 16) if cols >= 110 else (8, 14, 10) if cols >= 80 else (7, 12, 6)
    )
    lines.append(
        f"{'ID':>5} {'':1} {'DUE':<11} {'NET':<{net_w}} {'AUTHOR':<{author_w}} {'MOOD':<4} "
        f"{'FLAGS':<{flags_w}} TEXT"
    )
    for item in items:
        flags = []
        if item["sensitive"]:
            flags.append("!private")
        if item["claimed_by"]:
            flags.append(f"@{item['claimed_by']}")
        if item["messages"] > 1:
            flags.append(f"x{item['messages']}")
        if item["tags"]:
            flags.append(",".join(item["tags"][:2]))
        flag_text = shorten(" ".join(flags), flags_w)
        who = item["author"]
        author = shorten(author_label(item["network"], who["handle"], who["name"]), author_w)
        prefix = (
            f"{item['id']:>5} {SLA_MARK.get(item['sla_state'], ' ')} "
            f"{due_text(item['seconds_left']):<11} {pad(network_label(item['network'], net_w), net_w)} "
            f"{pad(author, author_w)} {SENTIMENT_MARK.get(item['sentiment']['label'], '?'):<4} "
            f"{pad(flag_text, flags_w)} "
        )
        room = max(2, cols - _cells(prefix))
        rated = f"{stars(item.get('rating'))} " if item.get("rating") is not None else ""
        line = prefix + shorten(rated + item["text"], room)
        colour = SLA_COLOURS.get(item["sla_state"])
        lines.append(click.style(line, fg=colour) if colour else line)
    hidden = (summary["waiting"] if matching is None else matching) - len(items)
    if hidden > 0:
        lines.append(click.style(f"… {hidden} more (--limit 0 shows all)", dim=True))
    return "\n".join(lines)


def thread_text(data: dict[str, Any]) -> str:
    data = inert(data)  # customer text: no escape sequence reaches the terminal
    out = []
    item = data["item"]
    status = data["status"].replace("_", " ")
    if data["status"] == "claimed" and not data["claimed_by"]:
        status = "open (the claim expired)"  # anyone may claim it, as the queue shows it
    head = f"Mention {data['id']} · item {data['item_id']} · {status}"
    if data["claimed_by"]:
        head += f" · claimed by {data['claimed_by']}"
    out.append(click.style(head, bold=True))
    if item:
        state = item["sla_state"].replace("_", " ")
        out.append(
            click.style(
                f"due {item['due_at']} ({due_text(item['seconds_left'])}, {state})",
                fg=SLA_COLOURS.get(item["sla_state"]),
            )
        )
        if item["sensitive"]:
            out.append(
                click.style("personal data: " + ", ".join(item["sensitive_reasons"]), fg="red")
                + " → move to e-mail: social-watch to-email "
                + str(data["item_id"])
            )
    if data["first_response_at"]:
        out.append(f"first response {data['first_response_at']} by {data['first_response_by']}")
    out.append("")
    wrap = max(40, width() - 6)
    # The conversation in time order: the customers' messages and what the team sent.
    entries: list[tuple[str, int, str, dict[str, Any]]] = [
        (m["created_at"], 0, "message", m) for m in data["thread"]
    ]
    entries += [(r["sent_at"] or r["created_at"], 1, "reply", r) for r in data.get("replies", [])]
    for _, _, kind, m in sorted(entries, key=lambda e: (e[0], e[1])):
        if kind == "reply":
            out.extend(_reply_lines(m, wrap))
            continue
        a = m["author"]
        who, also = author_parts(m["network"], a["handle"], a["name"])
        if also:
            who += f" ({also})"
        marker = "brand" if m["kind"] == "brand" else m["sentiment"]["label"]
        title = f"[{m['id']}] {m['created_at']}  {who} · {m['network']} · {marker}"
        out.append(click.style(title, bold=m["id"] == data["id"]))
        if m.get("rating") is not None:
            out.append(f"    {stars(m['rating'])} {m['rating']:g}/5")
        for para in m["text"].splitlines() or [""]:
            out.extend("    " + ln for ln in (textwrap.wrap(para, wrap) or [""]))
        extras = []
        if m["tags"]:
            extras.append("tags: " + ", ".join(m["tags"]))
        if m["url"]:
            extras.append(m["url"])
        if extras:
            out.append(click.style("    " + " · ".join(extras), dim=True))
    if data["actions"]:
        out.append("")
        out.append(click.style("History", bold=True))
        for a in data["actions"]:
            details = ", ".join(f"{k}={v}" for k, v in a["details"].items() if k != "text")
            out.append(f"  {a['at']}  {a['action']:<14} {a['agent'] or '-':<14} {details}")
    return "\n".join(out)


REPLY_STATUS = {
    "sent": "sent",
    "pending": "not sent yet",
    "sending": "sending",
    "unknown": "outcome unknown (social-watch outbox retry)",
    "failed": "failed, not posted",
}


def _reply_lines(r: dict[str, Any], wrap: int) -> list[str]:
    """A reply the team sent, indented under the conversation: who, when, to what, status."""
    when = r["sent_at"] or r["created_at"]
    what = "e-mail hand-off note" if r["kind"] == "handoff" else "reply"
    status = REPLY_STATUS.get(r["status"], r["status"])
    title = f"  ↳ {when}  {r['agent'] or 'the team'} · {what} to [{r['in_reply_to']}] · {status}"
    colour = None if r["status"] == "sent" else "yellow" if r["status"] != "failed" else "red"
    lines = [click.style(title, fg=colour or "cyan")]
    for para in r["text"].splitlines() or [""]:
        lines.extend("      " + ln for ln in (textwrap.wrap(para, wrap - 2) or [""]))
    extras = [x for x in (r.get("reference"), r.get("url"), r.get("error")) if x]
    if extras:
        lines.append(click.style("      " + " · ".join(extras), dim=True))
    return lines
