"""The inbox: what needs an answer, most urgent first, and the agent actions on it.

A queue item is the earliest unanswered mention of a conversation plus the same author's
follow-ups (``item_id`` points at that earliest mention). Every action changes the whole
item in one conditional UPDATE inside a write transaction, and leaves a row in the audit
trail, so two agents can never both win a claim and metrics can be rebuilt from history.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from social_watch import db as dbmod
from social_watch.clock import from_db, iso
from social_watch.errors import Conflict, NotFound, Refused, UsageError
from social_watch.models import DISMISS_REASONS, SENTIMENT_LABELS, STATUSES
from social_watch.sla import BusinessHours, sla_state
from social_watch.store import add_action
from social_watch.store import queue as q_sql
from social_watch.store.base import Store
from social_watch.store.queue import MAX_SQL_INT
from social_watch.tagging import TAG_PATTERN, TAG_RULE


@dataclass(frozen=True)
class QueueFilter:
    network: str | None = None
    tag: str | None = None
    sentiment: str | None = None
    overdue: bool = False
    mine: str | None = None  # agent id
    unclaimed: bool = False
    text: str | None = None  # words the item's open messages (or author) contain
    limit: int | None = 50
    sort: str = "next-breach"


#: ``--sort`` orders. ``next-breach`` (the default): items still inside their target, the
#: soonest due first (the ones a team can still save), then the breached ones, the longest
#: overdue first. ``due``: earliest due first, breached or not. ``oldest``/``newest``: by
#: when the customer wrote.
SORTS = ("next-breach", "due", "oldest", "newest")


@dataclass(frozen=True)
class SlaSettings:
    hours: BusinessHours | None = None
    at_risk: float = 0.5
    urgent: float = 0.8
    claim_ttl: timedelta = timedelta(minutes=30)


# --- reading ----------------------------------------------------------------------------


def _known_network(db: Store, network: str) -> None:
    """Refuse a network name that no connector has and no stored mention carries."""
    from social_watch.registry import available

    stored = q_sql.stored_networks(db)
    known = sorted((set(available()) - {"replay"}) | stored)
    if network not in known:
        raise UsageError(f"unknown network {network!r}: known networks are {', '.join(known)}")


def list_items(
    db: Store, *, now: datetime, sla: SlaSettings, filters: QueueFilter
) -> list[dict[str, Any]]:
    """Items that need an answer in ``filters.sort`` order (see :data:`SORTS`), documented shape."""
    if filters.sentiment and filters.sentiment not in SENTIMENT_LABELS:
        raise UsageError(f"--sentiment must be one of {', '.join(SENTIMENT_LABELS)}")
    if filters.sort not in SORTS:
        raise UsageError(f"--sort must be one of {', '.join(SORTS)}")
    network = filters.network.strip().lower() if filters.network else None
    heads = q_sql.item_heads(
        db,
        now=now,
        sort=filters.sort,
        limit=min(int(filters.limit), MAX_SQL_INT) if filters.limit else None,
        network=network,
        overdue=filters.overdue,
        mine=filters.mine,
        unclaimed=filters.unclaimed,
        tag=filters.tag,
        text=(filters.text or "").strip() or None,
        sentiment=filters.sentiment,
    )
    if not heads and network is not None:
        _known_network(db, network)
    members = q_sql.open_members(db, [h["id"] for h in heads])
    return [_item(h, members.get(h["id"], [h]), now, sla) for h in heads]


def effective_sentiment(row: dict[str, Any]) -> dict[str, Any]:
    label = row["sentiment_override"] or row["sentiment_label"] or "unknown"
    return {
        "label": label,
        "compound": row["sentiment_compound"],
        "model_label": row["sentiment_label"],
        "corrected": row["sentiment_override"] is not None,
    }


def _claim_holder(row: dict[str, Any], now: datetime) -> str | None:
    if row["status"] != "claimed" or not row["claimed_by"]:
        return None
    expires = from_db(row["claim_expires_at"])
    return row["claimed_by"] if expires is None or expires > now else None


def _item(
    head: dict[str, Any], members: list[dict[str, Any]], now: datetime, sla: SlaSettings
) -> dict[str, Any]:
    created = from_db(head["created_at"])
    due = from_db(head["due_at"])
    assert created is not None and due is not None
    latest = members[-1]
    tags: list[str] = []
    reasons: list[str] = []
    for m in members:
        tags += [t for t in json.loads(m["tags"]) if t not in tags]
        reasons += [r for r in json.loads(m["sensitive_reasons"]) if r not in reasons]
    # The item reads as its most negative message: a follow-up "still nothing?" matters.
    worst = min(
        members,
        key=lambda m: (effective_sentiment(m)["label"] != "negative", m["sentiment_compound"] or 0),
    )
    holder = _claim_holder(head, now)
    return {
        "id": head["id"],
        "global_id": head["global_id"],
        "network": head["network"],
        "url": latest["url"] or head["url"],
        "author": {
            "handle": head["author_handle"],
            "name": head["author_name"],
            "followers": head["author_followers"],
        },
        "text": latest["text"] if len(members) > 1 else head["text"],
        "messages": len(members),
        "created_at": head["created_at"],
        "due_at": head["due_at"],
        "seconds_left": int((due - now).total_seconds()),
        "sla_state": sla_state(
            created, due, now, sla.hours, at_risk=sla.at_risk, urgent=sla.urgent
        ),
        "sentiment": effective_sentiment(worst),
        "tags": tags,
        "sensitive": bool(reasons),
        "sensitive_reasons": reasons,
        "claimed_by": holder,
        "claim_expires_at": head["claim_expires_at"] if holder else None,
        "lang": head["lang"],
        "rating": next((m["rating"] for m in reversed(members) if m["rating"] is not None), None),
        "suggest": "to-email" if reasons else None,
    }


def resolve(db: Store, ref: str | int) -> dict[str, Any]:
    """A mention by short id or global id (network:native_id)."""
    text = str(ref).strip()
    if text.isascii() and text.isdigit():  # isdigit() alone accepts '²', which int() refuses
        row = q_sql.mention_by_id(db, int(text))
    else:
        row = q_sql.mention_by_global_id(db, text)
    if row is None:
        raise NotFound(f"no mention with id {text!r}")
    return row


def show(db: Store, ref: str | int, *, now: datetime, sla: SlaSettings) -> dict[str, Any]:
    """The whole thread of a mention, its queue item and the history of actions on it."""
    row = resolve(db, ref)
    item_id = row["item_id"] or row["id"]
    if row["conversation_id"]:
        thread = q_sql.conversation(db, row["network"], row["conversation_id"])
    else:
        thread = q_sql.item_messages(db, item_id, row["id"])
    ids = sorted({m["id"] for m in thread} | {item_id, row["id"]})
    actions = q_sql.actions_on(db, ids)
    replies = q_sql.replies_to(db, ids)
    # A reply a later poll brought back as the brand's own post is shown once, as the reply.
    posted = {(r["network"], r["remote_id"]) for r in replies if r["remote_id"]}
    thread = [
        m for m in thread if m["kind"] != "brand" or (m["network"], m["native_id"]) not in posted
    ]
    head = resolve(db, item_id)
    members = [m for m in thread if m["item_id"] == item_id and m["status"] in ("open", "claimed")]
    still_open = head["status"] in ("open", "claimed") and head["due_at"]
    item = _item(head, members or [head], now, sla) if still_open else None
    return {
        "id": row["id"],
        "item_id": item_id,
        "status": head["status"],
        "claimed_by": _claim_holder(head, now),
        "first_response_at": head["first_response_at"],
        "first_response_by": head["first_response_by"],
        "item": item,
        "thread": [_message(m) for m in thread],
        "replies": [_reply(r) for r in replies],
        "actions": [{**a, "details": json.loads(a["details"])} for a in actions],
    }


def _reply(r: dict[str, Any]) -> dict[str, Any]:
    """What the team sent in the thread (an outbox row): who, when, what, and how it went."""
    return {
        "outbox_id": r["id"],
        "in_reply_to": r["mention_id"],
        "kind": r["kind"],
        "agent": r["agent"],
        "network": r["network"],
        "text": r["text"],
        "status": r["status"],
        "reference": r["reference"],
        "url": r["remote_url"],
        "error": r["error"],
        "created_at": r["created_at"],
        "sent_at": r["sent_at"],
    }


def _message(m: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": m["id"],
        "global_id": m["global_id"],
        "network": m["network"],
        "kind": m["kind"],
        "url": m["url"],
        "author": {
            "handle": m["author_handle"],
            "name": m["author_name"],
            "followers": m["author_followers"],
        },
        "text": m["text"],
        "lang": m["lang"],
        "rating": m["rating"],
        "created_at": m["created_at"],
        "in_reply_to": m["in_reply_to"],
        "status": m["status"],
        "item_id": m["item_id"],
        "found_by": json.loads(m["sources"]),
        "sentiment": effective_sentiment(m),
        "tags": json.loads(m["tags"]),
        "sensitive_reasons": json.loads(m["sensitive_reasons"]),
    }


# --- acting -----------------------------------------------------------------------------


def _item_for(db: Store, ref: str | int) -> dict[str, Any]:
    row = resolve(db, ref)
    if row["kind"] == "brand":
        raise UsageError(f"mention {row['id']} is the brand's own post; there is nothing to answer")
    return resolve(db, row["item_id"] or row["id"])


def _locked_item(db: Store, ref: str | int) -> dict[str, Any]:
    """The item, read after locking its rows, so the checks made on it still hold when it
    is written (inside ``db.write()``; on PostgreSQL a concurrent change waits for us)."""
    head = _item_for(db, ref)
    q_sql.lock_item(db, head["id"])
    return resolve(db, head["id"])


def claim(
    db: Store, ref: str | int, agent: str, *, now: datetime, ttl: timedelta
) -> dict[str, Any]:
    """Atomically claim an item: exactly one of two concurrent claimers wins."""
    with dbmod.write(db):
        head = _item_for(db, ref)
        expires = iso(now + ttl)
        if not q_sql.claim_item(db, head["id"], agent, now, now + ttl):
            # Read again: on PostgreSQL the UPDATE waited for the winner's commit, which
            # the first read (before it) did not see; the refusal names the winner.
            _refuse(_item_for(db, ref), agent, now, "claim")
        add_action(db, head["id"], "claimed", agent, now, {"expires_at": expires})
    return {"id": head["id"], "claimed_by": agent, "claim_expires_at": expires}


def _refuse(head: dict[str, Any], agent: str, now: datetime, verb: str) -> None:
    if head["status"] == "claimed":
        raise Conflict(
            f"mention {head['id']} is claimed by {head['claimed_by']} since {head['claimed_at']} "
            f"(until {head['claim_expires_at']})",
            item_id=head["id"],
            holder=head["claimed_by"],
            until=head["claim_expires_at"],
        )
    raise Conflict(
        f"cannot {verb} mention {head['id']}: it is {head['status'].replace('_', ' ')}",
        item_id=head["id"],
    )


def _held(head: dict[str, Any], holder: str) -> Refused:
    """Someone else's live claim: overridden by the ``claimed`` guard (--force)."""
    return Refused(
        f"mention {head['id']} is claimed by {holder}",
        guard="claimed",
        item_id=head["id"],
        holder=holder,
        until=head["claim_expires_at"],
    )


def release(
    db: Store, ref: str | int, agent: str, *, now: datetime, force: bool = False
) -> dict[str, Any]:
    with dbmod.write(db):
        head = _locked_item(db, ref)
        if head["status"] != "claimed":
            raise Conflict(f"mention {head['id']} is not claimed (it is {head['status']})")
        holder = _claim_holder(head, now)
        if holder not in (None, agent) and not force:
            raise _held(head, holder)
        q_sql.release_item(db, head["id"])
        add_action(db, head["id"], "released", agent, now, {"was": head["claimed_by"]})
    return {"id": head["id"], "status": "open"}


def close(
    db: Store,
    ref: str | int,
    agent: str | None,
    *,
    now: datetime,
    status: str,
    reason: str | None = None,
    note: str | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """`done` (from any open or handled state) or `dismissed` (only while unanswered)."""
    if status == "dismissed" and reason not in DISMISS_REASONS:
        raise UsageError(f"--reason must be one of {', '.join(DISMISS_REASONS)}")
    allowed = (
        ("open", "claimed")
        if status == "dismissed"
        else ("open", "claimed", "answered", "moved_to_email")
    )
    with dbmod.write(db):
        head = _locked_item(db, ref)
        if head["status"] not in allowed:
            _refuse(head, agent or "", now, "dismiss" if status == "dismissed" else "close")
        holder = _claim_holder(head, now)
        if holder not in (None, agent) and not force:
            raise _held(head, holder)
        q_sql.close_item(db, head["id"], status, now, allowed)
        details: dict[str, Any] = {"from": head["status"]}
        if reason:
            details["reason"] = reason
        if note:
            details["note"] = note
        add_action(
            db, head["id"], "dismissed" if status == "dismissed" else "done", agent, now, details
        )
    return {"id": head["id"], "status": status}


def assign(
    db: Store,
    ref: str | int,
    agent: str,
    to: str,
    *,
    now: datetime,
    ttl: timedelta,
    force: bool = False,
) -> dict[str, Any]:
    """Hand an item to a colleague: it becomes their claim. Someone else's live claim is
    refused (``claimed`` guard) unless ``force`` (a team lead reassigning)."""
    with dbmod.write(db):
        head = _locked_item(db, ref)
        if head["status"] not in ("open", "claimed"):
            _refuse(head, agent, now, "assign")
        holder = _claim_holder(head, now)
        if holder not in (None, agent, to) and not force:
            raise _held(head, holder)
        expires = iso(now + ttl)
        q_sql.assign_item(db, head["id"], to, now, now + ttl)
        add_action(
            db, head["id"], "assigned", agent, now, {"to": to, "was": holder, "expires_at": expires}
        )
    return {"id": head["id"], "claimed_by": to, "claim_expires_at": expires}


NOTE_LIMIT = 4000


def add_note(db: Store, ref: str | int, agent: str, text: str, *, now: datetime) -> dict[str, Any]:
    """An internal note between agents: kept in the audit trail, never posted."""
    body = text.strip()
    if not body:
        raise UsageError("the note is empty")
    if len(body) > NOTE_LIMIT:
        raise UsageError(f"a note is at most {NOTE_LIMIT} characters ({len(body)} given)")
    with dbmod.write(db):
        head = resolve(db, ref)
        item_id = head["item_id"] or head["id"]
        add_action(db, item_id, "note", agent, now, {"text": body})
    return {"id": item_id, "note": body}


def sentiment_label(value: str) -> str:
    """A label as typed: the queue's short forms (neg, pos, neu, unk) and any case are accepted."""
    typed = value.strip().lower()
    matches = [
        lbl
        for lbl in SENTIMENT_LABELS
        if lbl == typed or (len(typed) >= 3 and lbl.startswith(typed))
    ]
    if len(matches) != 1:
        raise UsageError(f"sentiment must be one of {', '.join(SENTIMENT_LABELS)}, got {value!r}")
    return matches[0]


def label(
    db: Store, ref: str | int, value: str, agent: str | None, *, now: datetime
) -> dict[str, Any]:
    """An agent's sentiment correction; it wins over the model and is audited."""
    value = sentiment_label(value)
    with dbmod.write(db):
        row = resolve(db, ref)
        q_sql.set_sentiment(db, [row["id"]], value)
        add_action(
            db,
            row["id"],
            "labelled",
            agent,
            now,
            {"sentiment": value, "model": row["sentiment_label"], "was": row["sentiment_override"]},
        )
    return {"id": row["id"], "sentiment": value, "model": row["sentiment_label"]}


def parse_where(clauses: list[str]) -> tuple[str, list[Any]]:
    """`key=value` filters for bulk commands (no raw SQL: the store stays swappable)."""
    filters: list[tuple[str, str]] = []
    for clause in clauses:
        key, sep, value = clause.partition("=")
        key = key.strip()
        if not sep or key not in q_sql.WHERE_KEYS:
            raise UsageError(
                f"--where {clause!r}: expected KEY=VALUE with KEY one of {', '.join(q_sql.WHERE_KEYS)}"
            )
        filters.append((key, _where_value(clause, key, value.strip())))
    return q_sql.where_sql(filters)


def _where_value(clause: str, key: str, value: str) -> str:
    """The value as stored: a mistyped status or label must not quietly match nothing,
    and an empty one (``text=``) must not match everything."""
    if not value:
        raise UsageError(f"--where {clause!r}: give a value after '='")
    as_stored = _AS_STORED.get(key)
    if as_stored is None:
        return value
    try:
        return as_stored(value)
    except UsageError as exc:
        raise UsageError(f"--where {clause!r}: {exc}") from None


def _status(value: str) -> str:
    if value.lower() not in STATUSES:
        raise UsageError(f"status must be one of {', '.join(STATUSES)}")
    return value.lower()


#: How a ``--where`` value is written in the database, for the keys it is not verbatim.
_AS_STORED: dict[str, Callable[[str], str]] = {
    "status": _status,
    "sentiment": sentiment_label,
    "model": sentiment_label,
    "tag": lambda v: tag_name(v),  # defined further down
    "network": str.lower,
    "author": lambda v: v.lstrip("@"),
}


BULK_BATCH = 1_000  # rows per transaction of a bulk write: each holds the lock briefly
BULK_PAUSE = 0.005  # seconds between batches, so a writer waiting for the lock gets it


def between_batches() -> None:
    """The lock is free here: a waiting writer's busy handler can take it."""
    time.sleep(BULK_PAUSE)


def label_where(
    db: Store, clauses: list[str], value: str, agent: str | None, *, now: datetime
) -> int:
    """Label every mention matching ``clauses``, BULK_BATCH rows per transaction.

    A million rows in one transaction held the write lock for half a minute, and claims,
    imports and replies waiting for it failed; in batches each waits one batch at most.
    Batches walk the ids upwards (no list of every id in memory); a row that stops
    matching before its batch (someone relabelled it) is left alone.
    """
    value = sentiment_label(value)
    if not clauses:
        raise UsageError("--where needs at least one KEY=VALUE filter")
    where, params = parse_where(clauses)
    done, last = 0, 0
    while True:
        if last:
            between_batches()
        with dbmod.write(db):  # the next BULK_BATCH matching rows after the last one done
            rows = q_sql.sentiment_batch(db, where, params, last, BULK_BATCH)
            q_sql.set_sentiment(db, [mention_id for mention_id, _, _ in rows], value)
            for mention_id, model, was in rows:
                add_action(
                    db,
                    mention_id,
                    "labelled",
                    agent,
                    now,
                    {"sentiment": value, "model": model, "was": was, "bulk": clauses},
                )
        done += len(rows)
        if len(rows) < BULK_BATCH:
            return done
        last = rows[-1][0]


def tag_name(value: str) -> str:
    """A tag as typed, folded to lower case; a name outside :data:`TAG_PATTERN` is refused."""
    name = value.strip().lower()
    if not TAG_PATTERN.fullmatch(name):
        raise UsageError(f"bad tag name {value!r}: use {TAG_RULE}")
    return name


def parse_tag_changes(changes: Sequence[str]) -> tuple[list[str], list[str]]:
    """``+tag``/``tag`` to add, ``-tag`` to remove; ``--anything`` is an unknown option."""
    add: list[str] = []
    remove: list[str] = []
    for change in changes:
        if change.startswith("--"):
            option = change.split("=", 1)[0]
            raise UsageError(f"no such option: {option} (see 'social-watch tag --help')")
        if change.startswith("-"):
            remove.append(tag_name(change[1:]))
        else:
            add.append(tag_name(change[1:] if change.startswith("+") else change))
    return add, remove


def retag(
    db: Store,
    ref: str | int,
    agent: str | None,
    *,
    now: datetime,
    add: list[str],
    remove: list[str],
) -> dict[str, Any]:
    with dbmod.write(db):
        row = resolve(db, ref)
        tags = [t for t in json.loads(row["tags"]) if t not in remove]
        tags += [t for t in add if t not in tags]
        q_sql.set_tags(db, row["id"], json.dumps(tags))
        add_action(db, row["id"], "tagged", agent, now, {"added": add, "removed": remove})
    return {"id": row["id"], "tags": tags}


def summary(db: Store, *, now: datetime, agent: str | None = None) -> dict[str, Any]:
    """Counts for the queue header: waiting items, overdue, claimed, oldest (and, given an
    agent, ``mine``: the items that agent holds)."""
    total, overdue, claimed, oldest = q_sql.summary_counts(db, now)
    counts = {"waiting": total, "overdue": overdue, "claimed": claimed, "oldest_created_at": oldest}
    if agent is not None:
        counts["mine"] = q_sql.claimed_count(db, now, agent)
    return counts


def networks(db: Store) -> list[str]:
    """The networks of the stored mentions (the inbox's network filter)."""
    return q_sql.networks(db)
