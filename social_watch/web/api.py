"""The JSON API: the queue and an item as `queue --json` and `show --json` give them, and
every action on an item. Pages use it too (with their CSRF header); scripts use a token."""

from __future__ import annotations

import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from social_watch import accounts, handoff, lengths, queue, replies
from social_watch.errors import Refused, UsageError
from social_watch.models import DISMISS_REASONS
from social_watch.outbox import SendResult
from social_watch.web.context import Visitor, Web
from social_watch.web.guard import failure, item_id, route, web_of
from social_watch.web.live import PRESENCE_STATES

MAX_BODY = 64 * 1024
MAX_REPLY_KEYS = 10_000


def filters_from(query: Any, agent: str, *, limit: int | None = 100) -> queue.QueueFilter:
    """The queue filters a URL carries (the inbox and /api/queue share them)."""

    def flag(name: str) -> bool:
        return query.get(name, "") in ("1", "true", "on", "yes")

    sentiment = (query.get("sentiment") or "").strip().lower() or None
    if sentiment is not None:
        sentiment = queue.sentiment_label(sentiment)
    sort = query.get("sort") or "next-breach"
    if sort not in queue.SORTS:
        raise UsageError(f"sort must be one of {', '.join(queue.SORTS)}")
    raw_limit = query.get("limit")
    if raw_limit:
        if not raw_limit.isdigit():
            raise UsageError("limit must be a whole number")
        limit = min(int(raw_limit), 1000) or None
    return queue.QueueFilter(
        network=(query.get("network") or "").strip().lower() or None,
        tag=(query.get("tag") or "").strip().lower() or None,
        sentiment=sentiment,
        overdue=flag("overdue"),
        mine=agent if flag("mine") else None,
        unclaimed=flag("unclaimed"),
        text=(query.get("q") or "").strip()[:200] or None,
        limit=limit,
        sort=sort,
    )


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise UsageError("the request is too large")
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: "[[[[…" nested past the stack
        raise UsageError("the body must be JSON") from None
    if not isinstance(data, dict):
        raise UsageError("the body must be a JSON object")
    return data


def _text(body: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    value = body.get(key)
    if value is None or value == "":
        if required:
            raise UsageError(f"{key!r} is missing")
        return None
    if not isinstance(value, str):
        raise UsageError(f"{key!r} must be a string")
    return value


@route(api=True)
def api_queue(request: Request, web: Web, visitor: Visitor) -> Response:
    filters = filters_from(request.query_params, visitor.account.id)
    items = queue.list_items(web.db(), now=web.clock(), sla=web.sla, filters=filters)
    return JSONResponse(items)


@route(api=True)
def api_item(request: Request, web: Web, visitor: Visitor) -> Response:
    data = queue.show(web.db(), item_id(request), now=web.clock(), sla=web.sla)
    return JSONResponse(data)


def _overrides(body: dict[str, Any]) -> list[str]:
    raw = body.get("override") or []
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(g, str) for g in raw):
        raise UsageError("'override' must be a list of guard names")
    replies.overrides_for(False, [g for g in raw if g != "stale"])  # names each unknown one
    return raw


def _check_fresh(web: Web, item_id: int, body: dict[str, Any], overrides: list[str]) -> None:
    """A reply written against an older page: a customer wrote again since it was drawn."""
    seen = body.get("seen")
    if seen is None or "stale" in overrides:
        return
    if not isinstance(seen, int):
        raise UsageError("'seen' must be the id of the newest message the page showed")
    newest = max(m["id"] for m in replies.item_rows(web.db(), item_id) or [{"id": 0}])
    if newest > seen:
        raise Refused(
            "the customer wrote again since this page was drawn: read the new message, "
            "then send (your text is kept)",
            guard="stale",
            item_id=item_id,
        )


def reply(web: Web, visitor: Visitor, item_id: int, body: dict[str, Any]) -> Response:
    """Record the reply (guards re-checked) and answer at once; a worker posts it."""
    agent = visitor.account.id
    overrides = _overrides(body)
    client_key = body.get("key")
    if client_key is not None and (not isinstance(client_key, str) or len(client_key) > 100):
        raise UsageError("'key' must be a short string")
    if client_key:
        with web.reply_keys_lock:
            known = web.reply_keys.get((agent, client_key))
        if known is not None:  # the same click arriving again: the same answer
            return JSONResponse({"outbox_id": known, "status": "queued"}, 202)
    text = _text(body, "text", required=False)
    template = _text(body, "template", required=False) if text is None else None
    _check_fresh(web, item_id, body, overrides)
    guards = [g for g in overrides if g != "stale"]
    config = web.config_for(visitor.account)
    db = web.db()
    draft, connector = replies.prepare(
        db,
        config,
        item_id,
        agent,
        text=text,
        template=template,
        env=web.env,
        now=web.clock(),
        clock=web.clock,
        overrides=guards,
    )
    try:
        queued = replies.enqueue(db, config, draft, connector, clock=web.clock, overrides=guards)
    except BaseException:
        connector.close()
        raise
    if isinstance(queued, SendResult):  # an earlier attempt was found on the network
        connector.close()
        return JSONResponse({"outbox_id": queued.outbox_id, "status": queued.status}, 200)
    web.sender.hand_over(queued, connector, draft.mention)
    if client_key:
        with web.reply_keys_lock:
            if len(web.reply_keys) >= MAX_REPLY_KEYS:
                web.reply_keys.clear()
            web.reply_keys[(agent, client_key)] = queued["id"]
    return JSONResponse({"outbox_id": queued["id"], "status": "queued"}, 202)


def preview(web: Web, visitor: Visitor, item_id: int, body: dict[str, Any]) -> Response:
    """The composer's counter and template picker: the network's own length rule on the
    text as it would go out (signature included)."""
    config = web.config_for(visitor.account)
    db = web.db()
    head, target_row = replies.reply_target(db, item_id)
    target = replies.to_mention(target_row)
    demo = replies.is_replay(db, head)
    template = _text(body, "template", required=False)
    if template is not None:
        text = replies.compose(
            config,
            head,
            target,
            visitor.account.id,
            text=None,
            template=template,
            demo=demo,
            signed=False,
        )
        return JSONResponse({"body": text})
    typed = _text(body, "text", required=False) or ""
    rule = lengths.rule_for(target.network)
    limit = rule.limit if rule else None
    if not typed.strip():
        return JSONResponse({"count": 0, "limit": limit, "over": 0})
    final = replies.compose(
        config, head, target, visitor.account.id, text=typed, template=None, demo=demo
    )
    n = lengths.count(rule, final) if rule else len(final)
    over = max(0, n - limit) if limit else 0
    return JSONResponse({"count": n, "limit": limit, "over": over, "text": final})


def to_email(web: Web, visitor: Visitor, item_id: int, body: dict[str, Any]) -> Response:
    result = handoff.move_to_email(
        web.db(),
        web.config_for(visitor.account),
        item_id,
        visitor.account.id,
        env=web.env,
        clock=web.clock,
        dry_run=bool(body.get("dry_run")),
        force=bool(_overrides(body)),
        reference=_text(body, "reference", required=False),
    )
    data = result.as_dict()
    data["email"] = handoff_text(result.message)
    return JSONResponse(data)


def handoff_text(message: Any) -> str:
    """The e-mail as a person reads it: the headers that matter and the plain body."""
    part = message.get_body(("plain",)) if message.is_multipart() else message
    content = part.get_content() if part is not None else ""
    head = "\n".join(f"{h}: {message[h]}" for h in ("From", "To", "Subject") if message[h])
    return f"{head}\n\n{content}"


def act(web: Web, visitor: Visitor, action: str, item_id: int, body: dict[str, Any]) -> Response:
    db, now, agent = web.db(), web.clock(), visitor.account.id
    if action == "claim":
        result = queue.claim(db, item_id, agent, now=now, ttl=web.sla.claim_ttl)
    elif action == "release":
        result = queue.release(db, item_id, agent, now=now, force="claimed" in _overrides(body))
    elif action == "done":
        result = queue.close(
            db,
            item_id,
            agent,
            now=now,
            status="done",
            note=_text(body, "note", required=False),
            force="claimed" in _overrides(body),
        )
    elif action == "dismiss":
        reason = _text(body, "reason")
        if reason not in DISMISS_REASONS:
            raise UsageError(f"reason must be one of {', '.join(DISMISS_REASONS)}")
        result = queue.close(
            db,
            item_id,
            agent,
            now=now,
            status="dismissed",
            reason=reason,
            force="claimed" in _overrides(body),
        )
    elif action == "note":
        result = queue.add_note(db, item_id, agent, _text(body, "text") or "", now=now)
    elif action == "assign":
        to = _text(body, "agent") or ""
        account = accounts.find(db, to)
        if account is None or account.disabled:
            raise UsageError(f"no active agent {to!r} to assign to")
        result = queue.assign(
            db,
            item_id,
            agent,
            to,
            now=now,
            ttl=web.sla.claim_ttl,
            force=visitor.account.may_lead(),
        )
    elif action == "label":
        result = queue.label(db, item_id, _text(body, "sentiment") or "", agent, now=now)
    elif action == "tags":
        add, remove = body.get("add") or [], body.get("remove") or []
        if not isinstance(add, list) or not isinstance(remove, list):
            raise UsageError("'add' and 'remove' must be lists of tag names")
        result = queue.retag(
            db,
            item_id,
            agent,
            now=now,
            add=[queue.tag_name(str(t)) for t in add],
            remove=[queue.tag_name(str(t)) for t in remove],
        )
    elif action == "presence":
        state = _text(body, "state") or ""
        if state not in PRESENCE_STATES:
            raise UsageError(f"state must be one of {', '.join(PRESENCE_STATES)}")
        queue.resolve(db, item_id)  # a 404 for an unknown item
        web.hub.set_presence(item_id, agent, visitor.account.first_name, state)
        return JSONResponse({"ok": True})
    elif action == "reply":
        return reply(web, visitor, item_id, body)
    elif action == "preview":
        return preview(web, visitor, item_id, body)
    elif action == "to-email":
        return to_email(web, visitor, item_id, body)
    else:
        return JSONResponse({"error": f"no action {action!r}"}, 404)
    return JSONResponse(result)


ACTIONS = (
    "claim",
    "release",
    "done",
    "dismiss",
    "reply",
    "to-email",
    "note",
    "assign",
    "label",
    "tags",
    "presence",
    "preview",
)


@route(api=True, write=True)
def _action(request: Request, web: Web, visitor: Visitor) -> Response:
    action = request.path_params["action"]
    if action not in ACTIONS:
        return JSONResponse({"error": f"no action {action!r}"}, 404)
    return act(web, visitor, action, item_id(request), request.state.body)


async def api_action(request: Request) -> Response:
    """Reads the JSON body here (async), then runs the action in a worker thread. Who is
    asking is known first: a stranger's body is never read."""
    if await run_in_threadpool(web_of(request).visitor, request) is None:
        return JSONResponse({"error": "log in first (or send an API token)"}, 401)
    try:
        request.state.body = await _body(request)
    except UsageError as exc:
        return failure(True, web_of(request), exc)
    return await run_in_threadpool(_action, request)


routes = [
    Route("/api/queue", api_queue),
    Route("/api/items/{item_id}", api_item),
    Route("/api/items/{item_id}/{action}", api_action, methods=["POST"]),
]
