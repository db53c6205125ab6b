"""Live updates: every open page hears when the store changes and who is on which item.

One watcher thread asks the store's ``data_version`` (SQLite's ``PRAGMA data_version``,
PostgreSQL's WAL position) on its own connection a few times a second; it moves whenever
any other connection (a request, `watch`, `import`, another `serve`) commits. Each change becomes a ``queue`` event to every open
page, which then fetches what it shows. Presence ("Petr is replying…") is not stored: it
lives here, in memory, and expires when a page stops saying it is there.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

log = logging.getLogger("social_watch.web")
POLL_SECONDS = 0.25
HEARTBEAT_SECONDS = 15.0
PRESENCE_TTL = timedelta(seconds=40)  # a page repeats its presence every 15 s
PRESENCE_STATES = ("viewing", "typing", "left")


@dataclass(frozen=True)
class Presence:
    item_id: int
    agent: str
    name: str
    state: str
    at: datetime


class Hub:
    """Fan-out of events to the open pages (asyncio queues fed from any thread)."""

    def __init__(
        self, db_path: str, clock: Callable[[], datetime], *, password_env: str | None = None
    ) -> None:
        self._db_path = db_path
        self._password_env = password_env
        self._clock = clock
        self._subscribers: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[str | None]]] = set()
        self._lock = threading.Lock()
        self._presence: dict[tuple[int, str], Presence] = {}
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # --- the watcher ----------------------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._watch, name="sw-live", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                loop.call_soon_threadsafe(queue.put_nowait, None)
        if self._thread is not None:
            self._thread.join(5)

    def _watch(self) -> None:
        from social_watch import db as dbmod

        store = dbmod.connect(self._db_path, password_env=self._password_env)
        try:
            last = store.data_version()
            while not self._stop.wait(POLL_SECONDS):
                try:
                    version = store.data_version()
                except Exception as exc:  # busy, being replaced, a server restart: next tick
                    log.debug("live updates: %s", exc)
                    continue
                if version != last:
                    last = version
                    self.publish("queue", {})
        finally:
            store.close()

    # --- subscribers ----------------------------------------------------------------------

    def publish(self, event: str, data: dict[str, Any]) -> None:
        message = f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
        with self._lock:
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(queue.put_nowait, message)

    async def stream(
        self, allowed: Callable[[], Awaitable[bool]] | None = None
    ) -> AsyncIterator[str]:
        """One page's event stream until it goes away, the server stops, or ``allowed``
        says its agent may no longer see it (disabled, logged out, a new password): the
        login was checked when the stream opened, and it may stay open for hours."""
        self.start()
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        entry = (loop, queue)
        with self._lock:
            self._subscribers.add(entry)
        try:
            yield "retry: 2000\n\n"
            while not self._stop.is_set():
                try:
                    message = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    message = ": still here\n\n"
                if message is None or (allowed is not None and not await allowed()):
                    return
                yield message
        finally:
            with self._lock:
                self._subscribers.discard(entry)

    # --- presence -------------------------------------------------------------------------

    def set_presence(self, item_id: int, agent: str, name: str, state: str) -> None:
        now = self._clock()
        key = (item_id, agent)
        with self._lock:
            if state == "left":
                self._presence.pop(key, None)
            else:
                self._presence[key] = Presence(item_id, agent, name, state, now)
        self.publish("presence", {"id": item_id, "agent": agent, "name": name, "state": state})

    def present(self, item_id: int | None = None) -> list[Presence]:
        """Who is on an item (or on any) now, the typing ones first."""
        now = self._clock()
        with self._lock:
            for key, p in list(self._presence.items()):
                if p.at + PRESENCE_TTL <= now:
                    del self._presence[key]
            found = [p for p in self._presence.values() if item_id in (None, p.item_id)]
        return sorted(found, key=lambda p: (p.state != "typing", p.at))
