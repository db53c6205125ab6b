"""Reminders before the breach, and escalation when a claim runs out.

A care team promises a first answer within a target (30 minutes); a reminder at at_risk
and at urgent gives someone time to act before the breach, and one at the breach says it
happened. Each is recorded per item and threshold before it is sent, so the loop can run
every few seconds and restart at will without sending one twice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from social_watch import db as dbmod
from social_watch import notify as notifier
from social_watch.clock import from_db, iso
from social_watch.queue import SlaSettings
from social_watch.sla import sla_state
from social_watch.store import add_action
from social_watch.store import watch as store
from social_watch.store.base import Store
from social_watch.watch_state import Sender, deliver, human

log = logging.getLogger("social_watch.watch")

GROUP_AFTER = 5  # more reminders than this in one pass go out as one message
RETRY_FAILED_REMINDER = timedelta(minutes=1)
THRESHOLDS = ("at_risk", "urgent", "breached")


def _item_details(db: Store, item_id: int, now: datetime, sla: SlaSettings) -> Any:
    from social_watch import queue

    return queue.show(db, item_id, now=now, sla=sla)["item"]


_LABEL = {"at_risk": "at risk", "urgent": "urgent", "breached": "past its target"}


def reminder_note(item: Mapping[str, Any], threshold: str, now: datetime) -> notifier.Notification:
    """Names the mention, its network, age, link, sentiment and the command to claim it."""
    created = from_db(item["created_at"])
    age = human(now - created) if created else "?"
    handle = item["author"]["handle"]
    due = from_db(item["due_at"])
    left = (
        f"due in {human(due - now)}"
        if due and due > now
        else f"overdue by {human(now - due)}"
        if due
        else ""
    )
    title = f"Mention {item['id']} is {_LABEL[threshold]}: {item['network']}, {age} old"
    fields = {
        "Network": item["network"],
        "Author": f"@{handle}",
        "Age": f"{age} ({left})" if left else age,
        "Sentiment": item["sentiment"]["label"],
        "Claim": f"social-watch claim {item['id']}",
    }
    if item.get("claimed_by"):
        fields["Claimed by"] = item["claimed_by"]
    text = " ".join(str(item["text"]).split())
    return notifier.Notification(
        title, text[:280] + ("…" if len(text) > 280 else ""), item.get("url"), fields
    )


def group_note(
    items: list[Mapping[str, Any]], threshold: str, now: datetime
) -> notifier.Notification:
    lines = []
    for item in items[:20]:
        created = from_db(item["created_at"])
        age = human(now - created) if created else "?"
        lines.append(
            f"{item['id']} {item['network']} @{item['author']['handle']} {age} "
            f"{item['sentiment']['label']} {item.get('url') or ''} — social-watch claim {item['id']}"
        )
    if len(items) > 20:
        lines.append(f"… and {len(items) - 20} more (social-watch queue)")
    return notifier.Notification(f"{len(items)} mentions are {_LABEL[threshold]}", "\n".join(lines))


_RANK = {"ok": 0, **{t: i + 1 for i, t in enumerate(THRESHOLDS)}}


_PLURAL = {"at_risk": "at risk", "urgent": "urgent", "breached": "past their target"}


def backlog_note(counts: Mapping[str, int]) -> notifier.Notification:
    """One line for what was already past a threshold when the loop first saw it:
    '38 mentions are past their target, 4 urgent, 2 at risk (…)'."""
    found = [(t, n) for t in reversed(THRESHOLDS) if (n := counts.get(t, 0))]
    (top, count), rest = found[0], found[1:]
    title = f"{count} mentions are {_PLURAL[top]}" if count > 1 else f"1 mention is {_LABEL[top]}"
    title += "".join(f", {n} {_LABEL[t]}" for t, n in rest)
    title += " (already waiting when the watch loop found them; see social-watch queue)"
    return notifier.Notification(title, "")


def remind(
    db: Store,
    now: datetime,
    sla: SlaSettings,
    send: Sender,
    *,
    watching_since: datetime | None = None,
) -> list[tuple[int, str]]:
    """Notify each item once per threshold it crosses (at_risk, urgent, breached).

    Each reminder is committed before it is sent, so a crash can lose one but a restart
    never repeats one. An item found past several thresholds at once (the loop was down) gets
    only the highest; the lower ones are recorded as superseded. A reminder no channel took
    is tried again a minute later.

    With ``watching_since`` (the loop's start) a reminder is only for a threshold an item
    crosses while the loop watches it: one already crossed when the loop started, or when
    a poll brought the mention in (a backfill of old mentions), is recorded as 'backlog'
    and summarised in one notice ("38 mentions are past their target"), not paged item by
    item. A later threshold the item crosses while watched is reminded as usual.
    """
    heads = store.reminder_heads(db)
    if not heads:
        return []
    done: dict[int, dict[str, tuple[str, str]]] = {}
    for r in store.open_reminders(db):
        done.setdefault(r["item_id"], {})[r["threshold"]] = (r["delivered"], r["at"])
    retry_before = iso(now - RETRY_FAILED_REMINDER)
    due: dict[str, list[int]] = {t: [] for t in THRESHOLDS}
    backlog: dict[str, list[int]] = {t: [] for t in THRESHOLDS}
    for h in heads:
        created, deadline = from_db(h["created_at"]), from_db(h["due_at"])
        assert created is not None and deadline is not None
        state = sla_state(created, deadline, now, sla.hours, at_risk=sla.at_risk, urgent=sla.urgent)
        if state == "ok":
            continue
        seen = done.get(h["id"], {})
        if state in seen:
            delivered, at = seen[state]
            if delivered != "[]" or (retry_before is not None and at > retry_before):
                continue
        if watching_since is not None and not seen:
            first_seen = max(watching_since, from_db(h["fetched_at"]) or watching_since)
            then = sla_state(
                created, deadline, first_seen, sla.hours, at_risk=sla.at_risk, urgent=sla.urgent
            )
            if _RANK[then] >= _RANK[state]:
                backlog[state].append(h["id"])
                continue
        due[state].append(h["id"])
    if any(backlog.values()):
        with dbmod.write(db):
            for threshold, ids in backlog.items():
                for t in THRESHOLDS[: THRESHOLDS.index(threshold) + 1]:
                    store.add_reminders(db, [(i, t, iso(now)) for i in ids], '["backlog"]')
        deliver(send, backlog_note({t: len(ids) for t, ids in backlog.items()}))
    out: list[tuple[int, str]] = []
    for threshold, ids in due.items():
        if not ids:
            continue
        lower = THRESHOLDS[: THRESHOLDS.index(threshold)]
        claimed = []
        with dbmod.write(db):
            for item_id in ids:
                store.add_reminders(db, [(item_id, t, iso(now)) for t in lower], '["superseded"]')
                if store.start_reminder(db, item_id, threshold, iso(now), retry_before):
                    claimed.append(item_id)
        ids = claimed
        if not ids:
            continue
        items = [_item_details(db, i, now, sla) for i in ids]
        items = [i for i in items if i is not None]
        notes = (
            [(group_note(items, threshold, now), ids)]
            if len(items) > GROUP_AFTER
            else [(reminder_note(i, threshold, now), [i["id"]]) for i in items]
        )
        for note, covered in notes:
            channels = json.dumps(deliver(send, note))
            with dbmod.write(db):
                store.set_delivered(db, covered, threshold, channels)
            out += [(i, threshold) for i in covered]
    return out


# --- expired claims -----------------------------------------------------------------------


def expire_claims(db: Store, now: datetime, send: Sender) -> list[int]:
    """Claims that ran out with the item unanswered go back to the queue; the team is told."""
    rows = store.expired_claims(db, iso(now))
    expired = []
    for row in rows:
        with dbmod.write(db):
            if not store.unclaim_expired(db, row["id"], iso(now)):
                continue  # re-claimed or answered meanwhile
            add_action(
                db,
                row["id"],
                "claim_expired",
                None,
                now,
                {"was": row["claimed_by"], "expired_at": row["claim_expires_at"]},
            )
        expired.append(row)
    for row in expired:
        note = notifier.Notification(
            f"Claim expired: mention {row['id']} is back in the queue",
            f"{row['claimed_by']} claimed it but has not answered; it is unassigned again.",
            row["url"],
            {
                "Network": row["network"],
                "Author": f"@{row['author_handle']}",
                "Claim": f"social-watch claim {row['id']}",
            },
        )
        log.warning("%s (held by %s)", note.title, row["claimed_by"])
        deliver(send, note)
    return [r["id"] for r in expired]
