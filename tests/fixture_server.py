"""A local HTTP server on 127.0.0.1 that serves recorded fixtures, for end-to-end connector tests.

Real sockets, real pagination: the connector under test talks to it through httpx exactly as
it would talk to the network, with ``base_url`` pointing at ``server.url``. Nothing leaves the
machine (it binds 127.0.0.1 on an ephemeral port).

Usage (the ``fixture_server`` pytest fixture starts one per test and stops it afterwards;
importing ``serve_fixtures`` into a test module makes it available there)::

    from fixture_server import FixtureServer, Reply, serve_fixtures  # noqa: F401

    def test_e2e(fixture_server: FixtureServer) -> None:
        # a static route: the recorded body (and NAME.headers.json, if present)
        fixture_server.get("/api/v1/timelines/tag/shop", Reply.fixture("mastodon/tag.json"))
        # pages: the first route whose ``when`` matches the query string wins;
        # a value of None means "this parameter is absent"
        fixture_server.get("/xrpc/app.bsky.feed.searchPosts",
                           Reply.fixture("bluesky/search_posts.json"), when={"cursor": None})
        fixture_server.get("/xrpc/app.bsky.feed.searchPosts", Reply.json({"posts": []}),
                           when={"cursor": "abc"})
        # anything dynamic: a handler gets the Request and returns a Reply
        fixture_server.get("/feed.xml", lambda req: Reply(304) if req.headers.get(
            "if-none-match") == '"v1"' else Reply.fixture("rss/google_alerts.xml"))
        ...  # run the CLI with base_url = fixture_server.url
        assert fixture_server.requests[0].query["cursor"] is ...

``Reply.fixture(rel, subs={...})`` loads ``tests/fixtures/<rel>``: status and headers
from the recorded ``.headers.json`` (minus Content-Encoding, Content-Length and
Transfer-Encoding: bodies are stored decoded), and replaces each ``subs`` key by its value in
the body and header values (e.g. the recorded host by ``fixture_server.url`` in Link headers).
A request that matches no route gets a 404 with a JSON body and is still recorded in
``requests``. ``times=1`` on a route serves it once (then the next matching route answers).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"  # recorded payloads, see fixtures/README.md
DROP_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding", "connection"})
_TYPES = {".json": "application/json", ".xml": "application/xml", ".html": "text/html"}


@dataclass
class Request:
    """What the server received: query values are the last one given for each name."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Reply:
        return cls(
            status,
            json.dumps(data).encode(),
            {"Content-Type": "application/json", **(headers or {})},
        )

    @classmethod
    def fixture(
        cls,
        rel: str,
        *,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
        subs: Mapping[str, str] | None = None,
    ) -> Reply:
        """A recorded body (and its recorded status and headers) from tests/fixtures."""
        rec_status, rec_headers, body = load_recorded(rel)
        for old, new in (subs or {}).items():
            body = body.replace(old.encode(), new.encode())
            rec_headers = {k: v.replace(old, new) for k, v in rec_headers.items()}
        return cls(status or rec_status, body, {**rec_headers, **(headers or {})})


def load_recorded(rel: str) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of a fixture, headers ready to replay (see module docstring).

    Also what respx tests use: ``httpx.Response(status, headers=headers, content=body)``.
    """
    path = FIXTURES / rel
    body = path.read_bytes()
    status, headers = 200, {"Content-Type": _TYPES.get(path.suffix, "application/octet-stream")}
    meta = path.with_name(path.stem + ".headers.json")
    if meta.exists():
        recorded = json.loads(meta.read_text(encoding="utf-8"))
        status = int(recorded.get("status", 200))
        headers = {}
        for name, value in recorded.get("headers", {}).items():
            if name.lower() in DROP_HEADERS or name.lower() == "set-cookie":
                continue
            headers[name] = value[-1] if isinstance(value, list) else str(value)
    return status, headers, body


Handler = Callable[[Request], Reply]


@dataclass
class _Route:
    method: str
    path: str
    reply: Reply | Handler
    when: Mapping[str, str | None] | None
    times: int | None

    def matches(self, req: Request) -> bool:
        if req.method != self.method or req.path != self.path:
            return False
        if self.times is not None and self.times <= 0:
            return False
        return all(req.query.get(k) == v for k, v in (self.when or {}).items())


class FixtureServer:
    """Routes (method, path, optional query match) to replies; records every request."""

    def __init__(self) -> None:
        self.routes: list[_Route] = []
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def route(
        self,
        method: str,
        path: str,
        reply: Reply | Handler,
        *,
        when: Mapping[str, str | None] | None = None,
        times: int | None = None,
    ) -> None:
        with self._lock:
            self.routes.append(_Route(method.upper(), path, reply, when, times))

    def get(self, path: str, reply: Reply | Handler, **kwargs: Any) -> None:
        self.route("GET", path, reply, **kwargs)

    def post(self, path: str, reply: Reply | Handler, **kwargs: Any) -> None:
        self.route("POST", path, reply, **kwargs)

    def start(self) -> FixtureServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _answer(self, req: Request) -> Reply:
        with self._lock:
            self.requests.append(req)
            route = next((r for r in self.routes if r.matches(req)), None)
            if route is not None and route.times is not None:
                route.times -= 1
        if route is None:
            return Reply.json({"error": f"no route for {req.method} {req.path}"}, status=404)
        return route.reply(req) if callable(route.reply) else route.reply

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                req = Request(
                    self.command,
                    parts.path,
                    dict(parse_qsl(parts.query, keep_blank_values=True)),
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length) if length else b"",
                )
                reply = server._answer(req)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    if name.lower() not in DROP_HEADERS:
                        self.send_header(name, value)
                body = b"" if reply.status in (204, 304) else reply.body
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:  # quiet test output
                pass

        return _Handler


@pytest.fixture(name="fixture_server")
def serve_fixtures() -> Iterator[FixtureServer]:
    """A started FixtureServer on 127.0.0.1 (ephemeral port), stopped after the test."""
    server = FixtureServer().start()
    try:
        yield server
    finally:
        server.stop()
