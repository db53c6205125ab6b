"""The web inbox's outbox worker: a reply request answers at once, a thread posts it.

The request commits the outbox row (``replies.enqueue``, guards re-checked under the write
lock) and hands it here. Until a worker takes the row it is marked as held by this
process, so a second click, a second tab or a colleague meanwhile is told a reply is
being sent instead of recording another. The worker posts it with ``outbox.send``, which
records every outcome (sent, failed, unknown); unknown rows are settled by the periodic
``replies.retry_all`` pass, which asks the network before it posts anything again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any

from social_watch import db as dbmod
from social_watch import outbox, replies
from social_watch.config import Config
from social_watch.connector import Connector
from social_watch.models import Mention

log = logging.getLogger(__name__)

QUEUED = -1  # the _IN_FLIGHT holder of a row recorded by a request, not yet taken by a worker


class Sender:
    def __init__(
        self,
        db_path: str,
        env: Mapping[str, str],
        clock: Callable[[], datetime],
        workers: int = 2,
        *,
        password_env: str | None = None,
    ) -> None:
        self._db_path = db_path
        self._env = env
        self._clock = clock
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sw-outbox")
        self._db = dbmod.PerThread(db_path, password_env=password_env)
        self._futures: set[Future[Any]] = set()
        self._lock = threading.Lock()

    def hand_over(self, row: dict[str, Any], connector: Connector, mention: Mention) -> None:
        """Post ``row`` (just recorded by this thread) from a worker thread."""
        outbox._IN_FLIGHT[row["key"]] = QUEUED
        future = self._pool.submit(self._post, row, connector, mention)
        with self._lock:
            self._futures.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: Future[Any]) -> None:
        with self._lock:
            self._futures.discard(future)

    def _post(self, row: dict[str, Any], connector: Connector, mention: Mention) -> None:
        outbox._IN_FLIGHT[row["key"]] = threading.get_ident()  # this thread sends it now
        try:
            result = outbox.send(self._db(), row, connector, mention, clock=self._clock)
            log.info("outbox %s: %s", result.outbox_id, result.status)
        except Exception:
            log.exception("outbox %s: the worker stopped", row["id"])
        finally:
            outbox._IN_FLIGHT.pop(row["key"], None)
            connector.close()

    def retry(self, config: Config) -> None:
        """Settle what an earlier run left unresolved (in a worker, never twice at once)."""

        def run() -> None:
            try:
                replies.retry_all(self._db(), config, env=self._env, clock=self._clock)
            except Exception:
                log.exception("outbox retry failed")

        self._pool.submit(run)

    def wait(self, timeout: float | None = None) -> None:
        """Until every handed-over reply is settled (tests, shutdown)."""
        with self._lock:
            futures = list(self._futures)
        for future in futures:
            future.result(timeout)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)
