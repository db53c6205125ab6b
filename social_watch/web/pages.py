"""The pages: login, the inbox, the thread view, the team lead's page, live events."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from social_watch import accounts, digest, lengths, queue, replies, stats
from social_watch.errors import SocialWatchError, UsageError
from social_watch.models import DISMISS_REASONS
from social_watch.pipeline import business_hours
from social_watch.web.api import filters_from
from social_watch.web.auth import LOGIN_COOKIE, SESSION_COOKIE, cookie_options, same
from social_watch.web.context import Visitor, Web
from social_watch.web.guard import item_id, refuse, route, web_of
from social_watch.web.live import Presence

STALE_FORM = "The page is out of date; reload it."
SLA_WORDS = {"ok": "ok", "at_risk": "at risk", "urgent": "urgent", "breached": "breached"}
FILTER_KEYS = ("network", "tag", "sentiment", "overdue", "mine", "unclaimed", "q", "sort")


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _local_next(value: str | None) -> str:
    """Only a path on this site: never an open redirect to another host."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/inbox"


def healthz(request: Request) -> Response:
    return JSONResponse({"ok": True})


# --- login ------------------------------------------------------------------------------


def _login_page(
    web: Web, *, next_url: str, flash: str | None = None, agent: str = "", status: int = 200
) -> Response:
    cookie, token = web.signer.login_token()
    page = web.render(
        "login.html", csrf=token, next_url=next_url, flash=flash, agent=agent, visitor=None
    )
    response = HTMLResponse(page, status)
    response.set_cookie(LOGIN_COOKIE, cookie, max_age=3600, **cookie_options(web.secure_cookies))
    return response


def login_form(request: Request) -> Response:
    web = web_of(request)
    next_url = _local_next(request.query_params.get("next"))
    if web.visitor(request) is not None:
        return RedirectResponse(next_url, 303)
    return _login_page(web, next_url=next_url)


async def login(request: Request) -> Response:
    web = web_of(request)
    form = await request.form(max_files=0, max_fields=10)
    agent = str(form.get("agent") or "").strip().lower()[:64]
    password = str(form.get("password") or "")[:1024]
    next_url = _local_next(str(form.get("next") or ""))
    if not same(
        str(form.get("csrf") or ""), web.signer.read_login(request.cookies.get(LOGIN_COOKIE))
    ):
        return _login_page(
            web,
            next_url=next_url,
            agent=agent,
            status=403,
            flash="The login form had expired; please log in again.",
        )
    address = _address(request)
    until = web.throttle.attempt(agent, address)  # counted as failed until it succeeds
    if until is not None:
        wait = max(1, int((until - web.clock()).total_seconds() // 60) + 1)
        return _login_page(
            web,
            next_url=next_url,
            agent=agent,
            status=429,
            flash=f"Too many failed logins; try again in {wait} minute{'s' if wait != 1 else ''}.",
        )
    account = await run_in_threadpool(accounts.verify, web.db(), agent, password)
    if account is None or account.disabled:
        return _login_page(web, next_url=next_url, agent=agent, flash="Wrong agent or password.")
    web.throttle.succeeded(agent, address)
    value, _ = web.signer.session(account.id, account.session_epoch)
    response = RedirectResponse(next_url, 303)
    response.set_cookie(
        SESSION_COOKIE, value, max_age=12 * 3600, **cookie_options(web.secure_cookies)
    )
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


async def logout(request: Request) -> Response:
    web = web_of(request)
    form = await request.form(max_files=0, max_fields=5)
    visitor = web.visitor(request)
    if (
        visitor is not None
        and visitor.session is not None
        and not same(str(form.get("csrf") or ""), visitor.session.csrf)
    ):
        return refuse(False, web, 403, STALE_FORM)
    if visitor is not None and visitor.session is not None:
        await run_in_threadpool(accounts.log_out, web.db(), visitor.account.id)
    response = RedirectResponse("/login", 303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def root(request: Request) -> Response:
    return RedirectResponse("/inbox", 303)


def favicon(request: Request) -> Response:
    """No icon, said without an error in every page's console."""
    return Response(status_code=204)


# --- the inbox --------------------------------------------------------------------------


def _row(
    item: dict[str, Any], names: dict[str, str], present: dict[int, list[str]]
) -> dict[str, Any]:
    holder = item["claimed_by"]
    return {
        **item,
        "sla_word": SLA_WORDS.get(item["sla_state"], item["sla_state"]),
        "holder_name": names.get(holder, holder) if holder else "",
        "present": present.get(item["id"], []),
    }


def doing(p: Presence) -> str:
    """ "Petr is replying…": the same words on every page (app.js says them too)."""
    return f"{p.name} {'is replying…' if p.state == 'typing' else 'is viewing'}"


def _kept(web: Web, items: list[dict[str, Any]], item_id: int) -> list[dict[str, Any]]:
    """The item the agent has selected stays in the list while it is still open, even when
    their own claim took it out of the filter: rows never jump away under the cursor."""
    try:
        item = queue.show(web.db(), item_id, now=web.clock(), sla=web.sla)["item"]
    except SocialWatchError:
        return items
    if item is None or item["id"] != item_id:
        return items

    def order(i: dict[str, Any]) -> tuple[bool, str, int]:
        return (i["seconds_left"] <= 0, i["due_at"], i["id"])

    at = next((n for n, i in enumerate(items) if order(i) > order(item)), len(items))
    return [*items[:at], item, *items[at:]]


def _inbox_context(web: Web, visitor: Visitor, query: Any) -> dict[str, Any]:
    db, now, agent = web.db(), web.clock(), visitor.account.id
    flash = None
    try:
        filters = filters_from(query, agent)
        items = queue.list_items(db, now=now, sla=web.sla, filters=filters)
    except UsageError as exc:
        flash, items = str(exc), []
        filters = queue.QueueFilter()
    keep = query.get("keep", "")
    if keep.isascii() and keep.isdigit() and all(str(i["id"]) != keep for i in items):
        items = _kept(web, items, int(keep))
    counts = queue.summary(db, now=now, agent=agent)
    names = web.names()
    present: dict[int, list[str]] = {}
    for p in web.hub.present():
        if p.agent != agent:
            present.setdefault(p.item_id, []).append(doing(p))
    chosen = {k: query.get(k, "") for k in FILTER_KEYS}
    if filters.sentiment:  # "neg" in the URL: the form shows (and keeps) "negative"
        chosen["sentiment"] = filters.sentiment
    return {
        "visitor": visitor.account,
        "csrf": visitor.session.csrf if visitor.session else "",
        "items": [_row(i, names, present) for i in items],
        "counts": counts,
        "filters": filters,
        "chosen": chosen,
        "query": urlencode({k: v for k, v in chosen.items() if v}),
        "networks": queue.networks(db),
        "sentiments": queue.SENTIMENT_LABELS,
        "views": accounts.views(db, agent),
        "flash": flash,
        "now": now,
    }


@route(api=False)
def inbox(request: Request, web: Web, visitor: Visitor) -> Response:
    return HTMLResponse(
        web.render("inbox.html", **_inbox_context(web, visitor, request.query_params))
    )


@route(api=False)
def inbox_list(request: Request, web: Web, visitor: Visitor) -> Response:
    """The queue part of the inbox alone: what a page fetches when the store changed."""
    context = _inbox_context(web, visitor, request.query_params)
    return HTMLResponse(web.render("_queue.html", **context))


@route(api=False)
def _save_view(request: Request, web: Web, visitor: Visitor) -> Response:
    form = request.state.form
    if visitor.session is None or not same(str(form.get("csrf") or ""), visitor.session.csrf):
        return refuse(False, web, 403, STALE_FORM)
    name = str(form.get("name") or "").strip()[:60]
    query = str(form.get("query") or "")[:1000]
    if form.get("delete"):
        accounts.delete_view(web.db(), visitor.account.id, name)
        return RedirectResponse("/inbox", 303)
    if name:
        accounts.save_view(web.db(), visitor.account.id, name, query)
    return RedirectResponse(f"/inbox?{query}", 303)


async def save_view(request: Request) -> Response:
    request.state.form = await request.form(max_files=0, max_fields=10)
    return await run_in_threadpool(_save_view, request)


# --- the thread view --------------------------------------------------------------------


def _history(actions: list[dict[str, Any]], names: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for a in actions:
        d = a["details"] or {}
        what = a["action"]
        extra = ""
        if what == "note":
            extra = d.get("text", "")
        elif what == "dismissed":
            extra = d.get("reason", "")
        elif what == "labelled":
            extra = d.get("sentiment", "")
        elif what == "tagged":
            extra = " ".join(
                [f"+{t}" for t in d.get("added", [])] + [f"-{t}" for t in d.get("removed", [])]
            )
        elif what == "assigned":
            to = str(d.get("to") or "")
            extra = f"to {names.get(to, to)}"
        elif what == "replied":
            extra = d.get("text", "")
        out.append(
            {
                "at": a["at"],
                "action": what,
                "who": names.get(a["agent"], a["agent"] or "social-watch"),
                "extra": extra,
                "note": what == "note",
            }
        )
    return out


def _outbox_word(status: str | None) -> str:
    return {
        "pending": "sending…",
        "sending": "sending…",
        "sent": "sent",
        "unknown": "not confirmed yet: it is checked on the network before anything is sent again",
        "failed": "not sent",
    }.get(status or "", "")


def item_state(data: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """What the thread view keeps live (from ``queue.show``'s data): holder, state, the
    newest reply's outcome, history."""
    holder = data["claimed_by"]
    latest = data["replies"][-1] if data["replies"] else None
    newest = max((m["id"] for m in data["thread"] if m["item_id"] == data["item_id"]), default=0)
    return {
        "id": data["item_id"],
        "status": data["status"],
        "claimed_by": holder,
        "holder_name": names.get(holder, holder) if holder else "",
        "outbox": latest["status"] if latest else None,
        "outbox_word": _outbox_word(latest["status"] if latest else None),
        "outbox_error": latest["error"] if latest and latest["status"] == "failed" else None,
        "outbox_url": latest["url"] if latest else None,
        "newest": newest,
        "history": _history(data["actions"], names),
        "sla_word": SLA_WORDS.get(data["item"]["sla_state"], "") if data["item"] else "",
    }


@route(api=False)
def item_page(request: Request, web: Web, visitor: Visitor) -> Response:
    wanted = item_id(request)
    db = web.db()
    data = queue.show(db, wanted, now=web.clock(), sla=web.sla)
    if data["item_id"] != wanted:
        return RedirectResponse(f"/items/{data['item_id']}", 303)
    team = accounts.all_accounts(db)
    names = {a.id: a.name for a in team}
    state = item_state(data, names)
    network = replies.item_head(db, data["item_id"])["network"]
    rule = lengths.rule_for(network)
    templates = replies.templates(web.config_for(visitor.account))
    present = [doing(p) for p in web.hub.present(data["item_id"]) if p.agent != visitor.account.id]
    page = web.render(
        "item.html",
        visitor=visitor.account,
        csrf=visitor.session.csrf if visitor.session else "",
        data=data,
        item=data["item"],
        state=state,
        names=names,
        network=network,
        limit=rule.limit if rule else None,
        templates=sorted(templates.items()),
        agents=[a for a in team if not a.disabled],
        reasons=DISMISS_REASONS,
        sentiments=queue.SENTIMENT_LABELS,
        present=present,
        focus=request.query_params.get("focus", ""),
        sla_word=state["sla_word"],
    )
    return HTMLResponse(page)


@route(api=False)
def item_live(request: Request, web: Web, visitor: Visitor) -> Response:
    data = queue.show(web.db(), item_id(request), now=web.clock(), sla=web.sla)
    return JSONResponse(item_state(data, web.names()))


# --- the team lead's page ---------------------------------------------------------------


def _bars(rows: list[tuple[str, float, str]], *, width: int = 600) -> dict[str, Any]:
    """Horizontal bars (label, value, shown text) as SVG geometry."""
    peak = max((v for _, v, _ in rows), default=0) or 1
    bar_h, gap, left = 18, 8, 150
    bars = []
    for i, (label, value, shown) in enumerate(rows):
        label = label if len(label) <= 22 else label[:21] + "…"
        w = (width - left - 200) * (value / peak)
        bars.append(
            {
                "label": label,
                "y": i * (bar_h + gap),
                "w": round(max(w, 1), 1),
                "text": shown,
                "tx": round(left + max(w, 1) + 6, 1),
            }
        )
    return {
        "width": width,
        "height": max(1, len(rows)) * (bar_h + gap),
        "left": left,
        "bar_h": bar_h,
        "bars": bars,
    }


@route(api=False, lead=True)
def lead(request: Request, web: Web, visitor: Visitor) -> Response:
    db, now = web.db(), web.clock()
    since = request.query_params.get("since") or "7d"
    try:
        period = stats.period(now=now, since=since)
    except UsageError:
        since, period = "7d", stats.period(now=now, since="7d")
    numbers = stats.compute(db, period=period, now=now, hours=business_hours(web.config))
    report = digest.build(db, web.config, period=period, now=now)
    names = web.names()
    by_agent = [
        (
            names.get(a, a),
            g["answered"],
            f"{g['answered']} · median {stats.seconds(g['first_response']['median_s'])}",
        )
        for a, g in numbers.get("by_agent", {}).items()
    ]
    by_network = [
        (
            n,
            (g["within_target_share"] or 0) * 100,
            f"{stats.share(g['within_target_share'])} in target of {g['needing_answer']}",
        )
        for n, g in numbers.get("by_network", {}).items()
    ]
    claims = [
        i
        for i in queue.list_items(db, now=now, sla=web.sla, filters=queue.QueueFilter(limit=None))
        if i["claimed_by"]
    ]
    on_what: dict[str, list[dict[str, Any]]] = {}
    for i in claims:
        on_what.setdefault(names.get(i["claimed_by"], i["claimed_by"]), []).append(
            {
                "id": i["id"],
                "text": i["text"],
                "sla_word": SLA_WORDS.get(i["sla_state"], ""),
                "doing": "holds",
            }
        )
    for p in web.hub.present():
        on_what.setdefault(names.get(p.agent, p.name), []).append(
            {
                "id": p.item_id,
                "text": "",
                "sla_word": "",
                "doing": "is replying to" if p.state == "typing" else "is viewing",
            }
        )
    page = web.render(
        "lead.html",
        visitor=visitor.account,
        csrf=visitor.session.csrf if visitor.session else "",
        since=since,
        stats=numbers,
        report=report,
        chart=digest.chart_geometry(report["chart"], report["period"]["timezone"]),
        colours=digest.COLOURS,
        agent_bars=_bars(by_agent),
        network_bars=_bars(by_network),
        on_what=sorted(on_what.items()),
        share=stats.share,
        seconds=stats.seconds,
        names=names,
    )
    return HTMLResponse(page)


# --- live events ------------------------------------------------------------------------


async def events(request: Request) -> Response:
    web = web_of(request)
    visitor = await run_in_threadpool(web.visitor, request)
    if visitor is None:
        return JSONResponse({"error": "log in first"}, 401)

    async def allowed() -> bool:
        return await run_in_threadpool(web.visitor, request) is not None

    return StreamingResponse(
        web.hub.stream(allowed),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


routes = [
    Route("/healthz", healthz),
    Route("/", root),
    Route("/favicon.ico", favicon),
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/inbox", inbox),
    Route("/inbox/list", inbox_list),
    Route("/views", save_view, methods=["POST"]),
    Route("/items/{item_id}", item_page),
    Route("/items/{item_id}/live", item_live),
    Route("/lead", lead),
    Route("/events", events),
]
