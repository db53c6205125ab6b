"""Who may call a route, and how library errors become answers a page can show.

Every route goes through :func:`route`: it finds the logged-in agent (401 JSON or a
redirect to the login page without one), checks the role and, for a state change made
with a session cookie, the CSRF token. Library errors become a status and one line; an
unexpected error is logged with its trace and answered with a plain sentence.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from social_watch.clock import from_db
from social_watch.errors import (
    ConfigError,
    Conflict,
    ConnectorError,
    NotFound,
    Refused,
    SocialWatchError,
    StoreBusy,
    UsageError,
)
from social_watch.redact import redact
from social_watch.web.auth import same
from social_watch.web.context import Visitor, Web

log = logging.getLogger("social_watch.web")

Handler = Callable[[Request, Web, Visitor], Response]


def web_of(request: Request) -> Web:
    web: Web = request.app.state.web
    return web


def item_id(request: Request) -> int:
    """The ``{item_id}`` of a route, or a 400 for anything but a short run of digits."""
    raw = request.path_params["item_id"]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise UsageError(f"not an item id: {raw!r}")
    return int(raw)


def route(*, api: bool, write: bool = False, lead: bool = False) -> Callable[[Handler], Any]:
    def wrap(handler: Handler) -> Callable[[Request], Response]:
        @functools.wraps(handler)
        def endpoint(request: Request) -> Response:
            web = web_of(request)
            try:
                visitor = web.visitor(request)
                if visitor is None:
                    if api:
                        return JSONResponse({"error": "log in first (or send an API token)"}, 401)
                    target = request.url.path + (
                        f"?{request.url.query}" if request.url.query else ""
                    )
                    return RedirectResponse(f"/login?next={quote(target, safe='')}", 303)
                if lead and not visitor.account.may_lead():
                    return refuse(api, web, 403, "This page is for team leads.")
                if write and visitor.session is not None:
                    sent = request.headers.get("x-csrf-token")
                    if not same(sent, visitor.session.csrf):
                        return refuse(
                            api, web, 403, "The page is out of date (security token); reload it."
                        )
                return handler(request, web, visitor)
            except SocialWatchError as exc:
                return failure(api, web, exc)
            except Exception:
                log.exception("%s %s failed", request.method, request.url.path)
                return refuse(api, web, 500, "Something went wrong on our side; it is logged.")

        return endpoint

    return wrap


def refuse(api: bool, web: Web, status: int, message: str) -> Response:
    if api:
        return JSONResponse({"error": message}, status)
    return HTMLResponse(web.render("error.html", message=message, status=status), status)


def _until(value: Any) -> str:
    at = from_db(value) if isinstance(value, str) else value
    return f" until {at:%H:%M} UTC" if isinstance(at, datetime) else ""


def explain(web: Web, exc: SocialWatchError) -> tuple[int, dict[str, Any]]:
    """(status, JSON body) for a library error, with a colleague named by their name."""
    message = redact(str(exc))
    if isinstance(exc, NotFound):
        return 404, {"error": message}
    if isinstance(exc, Conflict):
        body: dict[str, Any] = {"error": message}
        holder = getattr(exc, "holder", None)
        guard = getattr(exc, "guard", None) if isinstance(exc, Refused) else None
        if guard:
            body["guard"] = guard
        if holder:
            name = web.names().get(holder, holder)
            body["holder"] = holder
            body["holder_name"] = name
            if guard in (None, "claimed"):
                body["error"] = f"{name} has claimed this item{_until(exc.until)}."
            elif guard in ("answered", "closed"):
                body["error"] = message.replace(f" by {holder} ", f" by {name} ")
        return 409, body
    if isinstance(exc, StoreBusy):
        return 503, {"error": "The database is busy; try again in a moment."}
    if isinstance(exc, ConfigError):
        return 503, {"error": f"social-watch is not set up for this: {message}"}
    if isinstance(exc, ConnectorError):
        return 502, {"error": f"The network refused: {message}"}
    return 400, {"error": message}  # UsageError and the rest: the request was wrong


def failure(api: bool, web: Web, exc: SocialWatchError) -> Response:
    status, body = explain(web, exc)
    if api:
        return JSONResponse(body, status)
    return HTMLResponse(web.render("error.html", message=body["error"], status=status), status)
