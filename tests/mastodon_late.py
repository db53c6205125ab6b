"""A loopback HTTP server that imitates the parts of Mastodon a reply touches, slowly.

``POST /api/v1/statuses`` honours ``Idempotency-Key`` the way the server documents it: a
repeat of a key answers with the status the first request created. A repeat that arrives
while the first request is still being worked on waits for it (one status per key). The
first POST can be *held* (``hold_first``): the server has the request but creates the
status only when the test sets ``release``, which is how "the server posts it 4 s later,
after the client timed out or was killed" is ordered without sleeping. ``mode`` makes the
answer ambiguous after the status was created: ``"nonjson"`` (200 with an HTML body) or
``"noid"`` (200 with JSON that has no ``id``).

Also served: ``GET /api/v1/accounts/verify_credentials`` (the brand) and
``GET /api/v1/statuses/:id/context`` (the brand's replies as descendants), which is what
``find_reply`` reads. Status bodies start from the recorded ``mastodon/status_reply.json``.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "mastodon"
BRAND_ID = "117020565693913441"
WAIT = 20.0  # a safety net only: every wait below is released by an event


class LateMastodon:
    def __init__(self) -> None:
        self.statuses: list[dict[str, Any]] = []  # every status created: the public posts
        self.posts: list[str | None] = []  # the Idempotency-Key of every POST received
        self.by_key: dict[str, dict[str, Any]] = {}
        self.working: dict[str, threading.Event] = {}
        self.hold_first = False
        self.mode = "ok"
        self.first_arrived = threading.Event()  # the held request is on the server
        self.second_arrived = threading.Event()  # any later POST reached the server
        self.release = threading.Event()  # create the held status now
        self.first_done = threading.Event()  # the held status exists
        self.lock = threading.Lock()
        self._template = json.loads((FIXTURES / "status_reply.json").read_text())
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> LateMastodon:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def _create(self, body: dict[str, Any], key: str | None) -> dict[str, Any]:
        with self.lock:
            n = len(self.statuses) + 1
            status = json.loads(json.dumps(self._template))
            status["id"] = str(118000000000000000 + n)
            status["in_reply_to_id"] = body.get("in_reply_to_id")
            status["content"] = f"<p>{body.get('status')}</p>"
            status["url"] = f"{self.url}/@shopexample/{status['id']}"
            status["account"]["id"] = BRAND_ID
            self.statuses.append(status)
            if key:
                self.by_key[key] = status
        return status

    def post(self, body: dict[str, Any], key: str | None) -> tuple[int, bytes, str]:
        with self.lock:
            first = not self.posts
            self.posts.append(key)
            done = self.working.get(key) if key else None
            if key and done is None and key not in self.by_key:
                self.working[key] = threading.Event()
        if not first:
            self.second_arrived.set()
        if key and key in self.by_key and done is None:
            return self._answer(self.by_key[key])
        if done is not None:  # the same key is being worked on: one status per key
            done.wait(WAIT)
            return self._answer(self.by_key[key])  # type: ignore[index]
        if first and self.hold_first:
            self.first_arrived.set()
            self.release.wait(WAIT)
        status = self._create(body, key)
        if key:
            self.working.pop(key).set()
        if first:
            self.first_done.set()
        return self._answer(status)

    def _answer(self, status: dict[str, Any]) -> tuple[int, bytes, str]:
        if self.mode == "nonjson":
            return 200, b"<html><body>Status posted</body></html>", "text/html"
        if self.mode == "noid":
            return 200, json.dumps({"ok": True}).encode(), "application/json"
        return 200, json.dumps(status).encode(), "application/json"

    def context(self, status_id: str) -> dict[str, Any]:
        with self.lock:
            mine = [s for s in self.statuses if s["in_reply_to_id"] == status_id]
        return {"ancestors": [], "descendants": mine}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
                with contextlib.suppress(OSError):  # the client may be dead (kill -9)
                    self.send_response(status)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                if path == "/api/v1/accounts/verify_credentials":
                    me = {"id": BRAND_ID, "username": "shopexample", "acct": "shopexample"}
                    self._send(200, json.dumps(me).encode())
                elif path.startswith("/api/v1/statuses/") and path.endswith("/context"):
                    status_id = path.split("/")[4]
                    self._send(200, json.dumps(server.context(status_id)).encode())
                else:
                    self._send(404, b'{"error": "Record not found"}')

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path.split("?")[0] != "/api/v1/statuses":
                    self._send(404, b'{"error": "Record not found"}')
                    return
                status, data, kind = server.post(body, self.headers.get("Idempotency-Key"))
                self._send(status, data, kind)

        return Handler


@contextlib.contextmanager
def late_mastodon() -> Iterator[LateMastodon]:
    server = LateMastodon().start()
    try:
        yield server
    finally:
        server.stop()
