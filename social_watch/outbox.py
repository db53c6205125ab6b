"""Public replies sent exactly once: record, then post, then mark; reconcile the unknown.

A reply is a public act that cannot be taken back, and networks time out *after* posting.
So every reply is an ``outbox`` row, committed with its idempotency key before the network
call, and moves through these states (each change its own committed transaction)::

    pending ──take──▶ sending ──posted──▶ sent
                         │  ├─refused───▶ failed    (auth, rate limit, a 4xx: not posted)
                         │  └─anything──▶ unknown   (timeout, 2xx without a status id, a
                         │     else                   crash in the client: may be posted)
                         └─process died: stays 'sending', owner host:pid is gone

At most one row per queue item is pending, sending or unknown at a time: a unique partial
index (migration 0009), so two processes replying at once cannot both record one; the
loser gets ``InFlight``.

A row in 'sending' (dead owner) or 'unknown' is never posted again blindly: whoever takes
it next asks the connector ``find_reply(mention, key)`` first. Found: it is marked sent.
Not found: a connector that honours the key (``idempotent_replies``: Mastodon, Bluesky)
posts again with the same key, which the network answers with the earlier post if that
one landed meanwhile. A network that ignores keys (X, Reddit) could create a second
post, so the row stays 'unknown' until ``GRACE`` after its last attempt (a request still
in flight has landed or died by then) and only then is posted again.

Taking a row is one conditional UPDATE, so two retries can never both post it. A row's
owner is ``host:pid`` plus that process's start time: a row is left alone while that very
process is alive (same host) and its lease has not run out; a reused pid, a dead owner or
a lapsed lease (``LEASE``, far longer than any request may take) frees it.

The first reply that is sent stops the first-response clock of the whole queue item and
leaves a 'replied' action with the whole text in the audit trail.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from social_watch import db as dbmod
from social_watch import process
from social_watch.clock import from_db, iso
from social_watch.connector import Connector, PostedReply
from social_watch.errors import (
    AuthError,
    BadItem,
    ConfigError,
    Conflict,
    RateLimited,
    Rejected,
    UsageError,
)
from social_watch.models import Mention
from social_watch.process import start_token
from social_watch.redact import redact
from social_watch.store import add_action
from social_watch.store import outbox as store
from social_watch.store.base import Store

STATUSES = ("pending", "sending", "sent", "unknown", "failed")
UNRESOLVED = ("pending", "sending", "unknown")
LEASE = timedelta(minutes=10)  # how long a silent sender is waited for (any host)
# How long after an attempt a network that ignores idempotency keys may still create the
# post (a request the server is still working on): no second post before that.
GRACE = timedelta(minutes=2)
HOST = process.HOST
# Rows this process is recording or sending right now: row key -> the thread doing it
# (threads share host:pid, so this is how one thread sees another's send as alive).
_IN_FLIGHT: dict[str, int] = {}
_STARTED: list[str | None] = []  # this process's start token, read once

# Refusals that mean "the network did not post it": safe to mark failed, never unknown.
_DEFINITELY_NOT_POSTED = (AuthError, RateLimited, UsageError, ConfigError, BadItem, Rejected)


class InFlight(Conflict):
    """Another reply to the same queue item is pending, being sent or of unknown outcome."""

    def __init__(
        self,
        message: str,
        *,
        outbox_id: int | None = None,
        owner: str | None = None,
        until: datetime | None = None,
    ):
        self.outbox_id = outbox_id
        self.owner = owner
        # when `outbox retry` may settle it (networks that ignore keys), as Conflict keeps it
        super().__init__(message, until=until.isoformat() if until else None)


@dataclass(frozen=True)
class SendResult:
    """What happened to one outbox row; ``status`` is the row's status afterwards."""

    outbox_id: int
    key: str
    mention_id: int
    kind: str
    status: str
    text: str
    remote_id: str | None = None
    url: str | None = None
    error: str | None = None
    reconciled: bool = False  # found on the network instead of posted by this call

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def new_key(item_id: int, kind: str) -> str:
    """An idempotency key: unique, and readable enough to find in a network's UI."""
    return f"sw-{item_id}-{kind}-{uuid.uuid4().hex[:16]}"


def owner_id() -> str:
    return process.owner_id()


def owner_started() -> str | None:
    """This process's start token (see ``process.start_token``), None where unknown."""
    if not _STARTED:
        _STARTED.append(start_token(os.getpid()))
    return _STARTED[0]


def network_key(row: dict[str, Any]) -> str:
    """The idempotency key sent to the network: an earlier row's when this one reuses it."""
    return str(row.get("idempotency_key") or row["key"])


def keyed(connector: Connector) -> bool:
    """Does the connector post at most once per idempotency key?"""
    return bool(getattr(connector, "idempotent_replies", False))


def may_still_land(row: dict[str, Any], now: datetime) -> bool:
    """Could an earlier attempt of ``row`` still appear on a network that ignores keys?"""
    at = from_db(row.get("attempted_at"))
    return row["attempts"] > 0 and at is not None and at + GRACE > now


def settles_at(row: dict[str, Any]) -> datetime | None:
    at = from_db(row.get("attempted_at"))
    return at + GRACE if at is not None else None


def record(
    db: Store,
    *,
    mention_id: int,
    kind: str,
    agent: str | None,
    network: str,
    text: str,
    now: datetime,
    reference: str | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Commit the intent to post before anything leaves the machine.

    Raises ``InFlight`` when another row of the same queue item is unresolved: the unique
    index decides, inside this INSERT, so two processes can never both record one.
    """
    key = new_key(mention_id, kind)
    with dbmod.write(db):
        item = store.item_of(db, mention_id)
        item_id = item if item is not None else mention_id
        try:
            with db.write():  # a savepoint: PostgreSQL keeps the transaction after a conflict
                new_id = store.insert_pending(
                    db,
                    key=key,
                    mention_id=mention_id,
                    item_id=item_id,
                    kind=kind,
                    agent=agent,
                    network=network,
                    text=text,
                    reference=reference,
                    created_at=iso(now),
                    owner=owner_id(),
                    owner_started=owner_started(),
                    lease_until=iso(now + LEASE),
                    idempotency_key=idempotency_key,
                )
            _IN_FLIGHT[key] = threading.get_ident()  # about to be sent by this thread
        except Exception as exc:
            if not db.is_unique_violation(exc, "outbox.item_id"):
                raise
            other = store.unresolved_of_item(db, item_id)
            raise in_flight(item_id, other) from None
    return get(db, new_id)


def in_flight(item_id: int, other: Any) -> InFlight:
    """The one-line refusal when another reply to the item is not settled yet."""
    if other is None:  # it settled in between: the caller may simply run again
        return InFlight(f"another reply to item {item_id} was being recorded; run it again")
    oid, agent, status, owner = other[0], other[1], other[2], other[3]
    by = agent or "someone"
    if status == "unknown":
        how = "has an unknown outcome; `social-watch outbox retry` settles it"
    else:
        how = f"is being sent right now ({status}); check `social-watch outbox` in a minute"
    return InFlight(
        f"reply {oid} to item {item_id} by {by} {how}; nothing new was sent",
        outbox_id=int(oid),
        owner=owner,
    )


def get(db: Store, outbox_id: int) -> dict[str, Any]:
    row = store.get(db, outbox_id)
    if row is None:
        raise UsageError(f"no outbox row {outbox_id}")
    return row


def owner_alive(row: dict[str, Any], now: datetime) -> bool:
    """Is the process that holds this row possibly still posting it?"""
    owner = row.get("owner")
    if row["status"] not in ("pending", "sending") or not owner:
        return False
    lease = from_db(row.get("lease_until"))
    if lease is None or lease <= now:
        return False  # no request takes that long: the owner is stuck or gone

    def mine() -> bool:  # another thread of this process sending it
        holder = _IN_FLIGHT.get(row["key"])
        return holder is not None and holder != threading.get_ident()

    return process.owner_alive(owner, row.get("owner_started"), mine=mine)


def _take(db: Store, row: dict[str, Any], now: datetime) -> dict[str, Any] | None:
    """Become the only sender of ``row``: one conditional UPDATE, None if someone else is."""
    with dbmod.write(db):
        fresh = get(db, row["id"])
        if fresh["status"] not in UNRESOLVED:
            return None
        if fresh["status"] in ("pending", "sending") and owner_alive(fresh, now):
            return None
        taken = store.take(
            db,
            fresh["id"],
            owner=owner_id(),
            owner_started=owner_started(),
            lease_until=iso(now + LEASE),
            attempted_at=iso(now),
            was_status=fresh["status"],
            was_owner=fresh["owner"],
            was_attempts=fresh["attempts"],
        )
        if not taken:
            return None
        _IN_FLIGHT[fresh["key"]] = threading.get_ident()
    return fresh  # as it was before we took it: attempts > 0 means it may be out there


def send(
    db: Store,
    row: dict[str, Any],
    connector: Connector,
    mention: Mention,
    *,
    clock: Callable[[], datetime],
) -> SendResult:
    """Post one outbox row at most once (reconciling first if it may already be out)."""
    now = clock()
    try:
        return _send(db, row, connector, mention, now=now, clock=clock)
    finally:
        if _IN_FLIGHT.get(row["key"]) == threading.get_ident():
            del _IN_FLIGHT[row["key"]]


def _send(
    db: Store,
    row: dict[str, Any],
    connector: Connector,
    mention: Mention,
    *,
    now: datetime,
    clock: Callable[[], datetime],
) -> SendResult:
    before = _take(db, row, now)
    if before is None:
        fresh = get(db, row["id"])
        if fresh["status"] in UNRESOLVED:
            return _result(fresh, error=f"being sent right now by {fresh['owner']}")
        return _result(fresh)
    key = network_key(before)
    if before["attempts"] > 0 or before["status"] in ("sending", "unknown"):
        try:
            found = connector.find_reply(mention, key)
        except Exception as exc:  # cannot tell: never post blindly
            return _keep_unknown(db, before, f"could not check the network: {_describe(exc)}")
        if found is not None:
            return mark_sent(db, before, found, now=clock(), reconciled=True)
        if not keyed(connector) and may_still_land(before, now):
            return _keep_unknown(db, before, _not_yet(before, connector))
    try:
        posted = connector.reply(mention, before["text"], key)
    except _DEFINITELY_NOT_POSTED as exc:
        return _mark_failed(db, before, _describe(exc))
    except (Exception, KeyboardInterrupt) as exc:
        # A timeout, a 2xx without a usable body, a crash inside the client: the request
        # may have been applied. Only find_reply can tell.
        _mark_unknown(db, before, _describe(exc))
        if isinstance(exc, KeyboardInterrupt):
            raise
        return _result(get(db, before["id"]))
    return mark_sent(db, before, posted, now=clock())


def _not_yet(row: dict[str, Any], connector: Connector) -> str:
    at = settles_at(row)
    when = f"{at:%H:%M:%S} UTC" if at else "a few minutes"
    net = connector.network
    return (
        f"not on {net} yet, but {net} ignores idempotency keys and an earlier attempt may "
        f"still appear, so it is not posted again before {when}"
    )


def _keep_unknown(db: Store, row: dict[str, Any], error: str) -> SendResult:
    """Nothing was posted by this take: back to 'unknown' with the last real attempt's
    time and count, so the grace period runs from when something may have gone out."""
    with dbmod.write(db):
        store.back_to_unknown(
            db,
            row["id"],
            error=redact(error),
            attempts=row["attempts"],
            attempted_at=row["attempted_at"],
        )
    return _result(get(db, row["id"]))


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _mark_unknown(db: Store, row: dict[str, Any], error: str) -> SendResult:
    with dbmod.write(db):
        store.mark_unknown(db, row["id"], redact(error))
    return _result(get(db, row["id"]))


def _mark_failed(db: Store, row: dict[str, Any], error: str) -> SendResult:
    with dbmod.write(db):
        store.mark_failed(db, row["id"], redact(error))
    return _result(get(db, row["id"]))


def supersede(db: Store, row: dict[str, Any], why: str) -> SendResult:
    """Close a row that is known not to be on the network, so a new reply can go out."""
    return _mark_failed(db, row, why)


def replace(
    db: Store,
    row: dict[str, Any],
    *,
    mention_id: int,
    kind: str,
    agent: str | None,
    network: str,
    text: str,
    now: datetime,
    reference: str | None = None,
    reuse_key: bool,
) -> dict[str, Any]:
    """Close ``row`` and record its successor in one transaction (the item's one slot).

    With ``reuse_key`` the successor sends ``row``'s idempotency key: if ``row``'s request
    is still landing, the network answers the new one with that post instead of a second.
    """
    with dbmod.write(db):
        closed = store.fail_if_unchanged(
            db,
            row["id"],
            error="replaced by a newer reply"
            + (" that reuses its idempotency key" if reuse_key else ""),
            was_status=row["status"],
            was_attempts=row["attempts"],
        )
        if not closed:  # someone else took it meanwhile
            fresh = get(db, row["id"])
            raise in_flight(
                fresh.get("item_id") or mention_id,
                (fresh["id"], fresh["agent"], fresh["status"], fresh["owner"]),
            )
        new = record(
            db,
            mention_id=mention_id,
            kind=kind,
            agent=agent,
            network=network,
            text=text,
            now=now,
            reference=reference,
            idempotency_key=network_key(row) if reuse_key else None,
        )
        store.set_error(
            db, row["id"], f"replaced by outbox {new['id']}" + (", same key" if reuse_key else "")
        )
    return get(db, new["id"])


def mark_sent(
    db: Store,
    row: dict[str, Any],
    posted: PostedReply,
    *,
    now: datetime,
    reconciled: bool = False,
) -> SendResult:
    """The row is on the network: record where, stop the clock, audit the whole text."""
    at = from_db(row.get("attempted_at")) if reconciled else None
    at = at or now
    with dbmod.write(db):
        store.mark_sent(
            db, row["id"], remote_id=posted.remote_id, remote_url=posted.url, sent_at=iso(at)
        )
        item_id = store.item_of(db, row["mention_id"])
        if item_id is None:
            raise UsageError(f"mention {row['mention_id']} of outbox row {row['id']} is gone")
        by = row["agent"] or "social-watch"
        store.stop_first_response(db, item_id, at=iso(at), by=by)
        store.close_item(db, item_id, at=iso(at), handoff=row["kind"] == "handoff")
        details: dict[str, Any] = {
            "kind": row["kind"],
            "text": row["text"],
            "network": row["network"],
            "outbox_id": row["id"],
            "key": network_key(row),
            "remote_id": posted.remote_id,
            "url": posted.url,
            "reply_to": row["mention_id"],
        }
        if row.get("reference"):
            details["reference"] = row["reference"]
        if reconciled:
            details["reconciled"] = True
        add_action(db, item_id, "replied", row["agent"], at, details)
    return _result(get(db, row["id"]), reconciled=reconciled)


def _result(
    row: dict[str, Any], *, error: str | None = None, reconciled: bool = False
) -> SendResult:
    return SendResult(
        outbox_id=row["id"],
        key=row["key"],
        mention_id=row["mention_id"],
        kind=row["kind"],
        status=row["status"],
        text=row["text"],
        remote_id=row["remote_id"],
        url=row["remote_url"],
        error=error or row["error"],
        reconciled=reconciled,
    )


# --- reading --------------------------------------------------------------------------


def unresolved(db: Store, item_id: int | None = None) -> list[dict[str, Any]]:
    """Rows whose outcome is not final, oldest first (optionally of one queue item)."""
    return store.unresolved(db, item_id)


def list_rows(
    db: Store, statuses: Iterable[str] = (), limit: int | None = 100
) -> list[dict[str, Any]]:
    """Outbox rows newest first, in the documented JSON shape."""
    wanted = list(statuses)
    for s in wanted:
        if s not in STATUSES:
            raise UsageError(f"--status must be one of {', '.join(STATUSES)}, got {s!r}")
    return [_shape(r) for r in store.listed(db, wanted, limit)]


def count(db: Store, statuses: Iterable[str] = ()) -> int:
    """How many outbox rows there are (in these statuses, if given)."""
    return store.count(db, list(statuses))


def _shape(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": r["id"],
        "status": r["status"],
        "kind": r["kind"],
        "mention_id": r["mention_id"],
        "item_id": r["item_id"],
        "network": r["network"],
        "in_reply_to": {"author": r["author_handle"], "url": r["mention_url"]},
        "agent": r["agent"],
        "text": r["text"],
        "reference": r["reference"],
        "key": r["key"],
        "idempotency_key": network_key(r),
        "remote_id": r["remote_id"],
        "remote_url": r["remote_url"],
        "error": r["error"],
        "attempts": r["attempts"],
        "created_at": r["created_at"],
        "attempted_at": r["attempted_at"],
        "sent_at": r["sent_at"],
    }
