"""`create_app`: the Starlette app of the web inbox (served by `social-watch serve`)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from social_watch import config as cfg
from social_watch import db as dbmod
from social_watch.clock import from_db, utcnow
from social_watch.web import api, pages
from social_watch.web.auth import Signer, session_key
from social_watch.web.context import HERE, Web

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]
RETRY_SECONDS = 60.0  # how often unsettled replies of earlier runs are looked at


class SecurityHeaders:
    """The same headers on every response, pages, API, static files and errors alike."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in HEADERS}
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                extra = []
                if not any(k.lower() == b"cache-control" for k, _ in kept):
                    extra = [(b"cache-control", b"no-store")]
                message["headers"] = kept + HEADERS + extra
            await send(message)

        await self.app(scope, receive, with_headers)


def _when(value: Any) -> str:
    at = from_db(value) if isinstance(value, str) else value
    return f"{at:%d %b %H:%M} UTC" if isinstance(at, datetime) else ""


def create_app(
    db_path: str,
    config_path: str | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
    secure_cookies: bool = False,
    env: Mapping[str, str] | None = None,
) -> Starlette:
    """The inbox over the database at ``db_path`` (created and migrated if needed)."""
    environ = os.environ if env is None else env
    config = cfg.load(config_path)
    dbmod.connect(db_path, password_env=config.password_env).close()  # migrate, before requests
    key, _ = session_key(environ)
    web = Web(
        db_path,
        config,
        clock=clock or utcnow,
        env=environ,
        signer=Signer(key),
        secure_cookies=secure_cookies,
    )
    web.templates.filters["when"] = _when

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        import asyncio

        async def retry_loop() -> None:
            while True:
                web.sender.retry(config)
                await asyncio.sleep(RETRY_SECONDS)

        task = asyncio.create_task(retry_loop())
        try:
            yield
        finally:
            task.cancel()
            web.hub.stop()
            web.sender.close()

    async def not_found(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith("/api/"):
            from starlette.responses import JSONResponse

            return JSONResponse({"error": "no such route"}, 404)
        page = web.render("error.html", message="There is no such page.", status=404)
        return HTMLResponse(page, 404)

    async def server_error(request: Request, exc: Exception) -> Response:
        page = web.render("error.html", message="Something went wrong on our side.", status=500)
        return HTMLResponse(page, 500)

    app = Starlette(
        routes=[
            *pages.routes,
            *api.routes,
            Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
        ],
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={404: not_found, 405: not_found, 500: server_error},
        lifespan=lifespan,
    )
    app.state.web = web
    return app
