"""Large imports on two cores: enrichment of the next batches while this one is stored.

Scoring sentiment, tags and sensitive content is pure (a function of a mention's text,
language and follower count and of the config) and costs about as much as everything
else an import does together (reading, validating, storing). So a large import hands the
enrichment of upcoming batches to one worker process while the main process reads,
classifies and stores; the main process also enriches a batch itself whenever the worker
already has enough queued, so neither core waits for the other for long.

What reaches the database is exactly what the in-process path writes: the same batches,
stored in the same order, one transaction each, with enrichment computed by the same
``Enricher.enrich_values``; only where that pure function runs differs.

- Small imports stay in one process: the first ``PARALLEL_AFTER`` lines go through the
  plain path, and only a longer stream starts the worker (stdin included).
- The worker is forked after the models (VADER, the care rules, py3langid) are loaded
  and the heap is frozen (``gc.freeze``), so it shares their pages copy-on-write instead
  of loading its own copies. Without ``fork`` (Windows; macOS, where fork is unsafe) or
  with one CPU, everything stays in process.
- Memory stays flat: at most ``MAX_PENDING`` batches are read ahead of the store.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import datetime
from itertools import islice

from social_watch import sentiment, store
from social_watch.models import IngestResult, Mention
from social_watch.pipeline import Enricher, EnrichValues, Pipeline, rated
from social_watch.store.base import Store

PARALLEL_AFTER = 5000  # lines before a worker process is worth starting
MAX_PENDING = 8  # batches read but not stored yet (enriched, at the worker or queued)
# The executor's feeder thread hands batches to the worker and takes results back; it needs
# the GIL, which the main thread (storing) otherwise gives up only every 5 ms. Waiting for
# it left the worker idle a third of a large import (measured: 13.6 s -> 12.0 s at 200 k).
SWITCH_INTERVAL = 0.0005

Item = tuple[str, str | None, int | None]  # (text, lang, followers): what enrichment reads

_worker_enricher: Enricher | None = None  # set before the fork; the worker inherits it


def _enrich_batch(items: list[Item]) -> list[EnrichValues]:
    """In the worker: enrich one batch (the Enricher came with the fork)."""
    enricher = _worker_enricher
    assert enricher is not None
    return [enricher.enrich_values(*item) for item in items]


def _exit_with_parent(parent: int) -> None:
    """In the worker: end when the importing process is gone.

    A parent killed by SIGTERM or SIGKILL never shuts the pool down, and the worker, which
    inherited the write end of its own call queue, would wait for work forever (holding the
    caller's stdout and stderr open)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _ready() -> int:
    return os.getpid()


def can_fork() -> bool:
    """A second process that inherits the loaded models, and a core for it to run on."""
    if sys.platform in ("win32", "darwin") or "fork" not in multiprocessing.get_all_start_methods():
        return False
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return cpus >= 2


def start_worker(enricher: Enricher) -> ProcessPoolExecutor:
    """One forked worker sharing the parent's loaded models (copy-on-write)."""
    global _worker_enricher
    # Load what the worker (and the parent) may need, so the fork shares one copy.
    sentiment.warm_up()
    _worker_enricher = enricher
    gc.collect()
    gc.freeze()  # the child's collector leaves the inherited objects (and their pages) alone
    try:
        pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_exit_with_parent,
            initargs=(os.getpid(),),
        )
        pool.submit(_ready).result()  # fork now, while the heap is frozen
    finally:
        gc.unfreeze()
    return pool


class _Batch:
    """Read mentions with their classification; enrichment local or at the worker."""

    def __init__(self, pipeline: Pipeline, mentions: list[Mention]):
        self.mentions = mentions
        self.kinds = [pipeline.classify(m) for m in mentions]
        self.items: list[Item] = [
            (m.text, m.lang, m.author.followers)
            for m, kind in zip(mentions, self.kinds, strict=True)
            if kind is not None
        ]
        self.future: Future[list[EnrichValues]] | None = None
        self.values: list[EnrichValues] | None = None

    def waiting(self) -> bool:
        """Queued or running at the worker."""
        return self.future is not None and not self.future.done()

    def store(self, pipeline: Pipeline, db: Store) -> IngestResult:
        values = self.values if self.values is not None else self.future.result()  # type: ignore[union-attr]
        to_enrichment = Enricher.enrichment
        prepared: list[store.Prepared] = []
        ignored = 0
        it = iter(values)
        for m, kind in zip(self.mentions, self.kinds, strict=True):
            if kind is None:
                ignored += 1
            else:
                prepared.append(store.Prepared(m, rated(to_enrichment(next(it)), m), *kind))
        now: datetime = pipeline.clock()
        return store.ingest(db, prepared, now=now, ignored=ignored)


def ingest_stream(
    pipeline: Pipeline,
    db: Store,
    mentions: Iterable[Mention],
    *,
    batch_size: int,
    workers: int | None = None,
    parallel_after: int | None = None,
) -> Iterator[IngestResult]:
    """``Pipeline.ingest_stream`` with enrichment on a second core for long streams.

    ``workers``: None decides (one worker if the platform can fork and has two CPUs),
    0 keeps everything in process, 1 asks for the worker. ``parallel_after``: lines before
    the worker starts (default ``PARALLEL_AFTER``). Yields each batch's result.
    """
    if parallel_after is None:
        parallel_after = PARALLEL_AFTER
    it = iter(mentions)
    batches = iter(lambda: list(islice(it, batch_size)), [])
    use_worker = can_fork() if workers is None else (workers > 0 and can_fork())
    seen = 0
    for batch in batches:
        yield pipeline.ingest(db, batch)
        seen += len(batch)
        if use_worker and seen >= parallel_after:
            break
    else:
        return
    pool = start_worker(pipeline.enricher)
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(min(switch_interval, SWITCH_INTERVAL))
    try:
        enrich_here = pipeline.enricher.enrich_values
        pending: deque[_Batch] = deque()

        def steal() -> bool:
            """Enrich here the newest batch the worker has not started; False if none."""
            for job in reversed(pending):
                if job.future is not None and job.future.cancel():
                    job.future = None
                    job.values = [enrich_here(*item) for item in job.items]
                    return True
            return False

        for mentions_ in batches:
            job = _Batch(pipeline, mentions_)
            job.future = pool.submit(_enrich_batch, job.items)
            pending.append(job)
            # Store what is enriched, oldest first. With the read-ahead full, the worker
            # is the slower side: rather than wait for it, enrich one of its batches here.
            while pending and (not pending[0].waiting() or len(pending) >= MAX_PENDING):
                if pending[0].waiting() and steal():
                    continue
                yield pending.popleft().store(pipeline, db)
        while pending:
            if pending[0].waiting() and steal():
                continue
            yield pending.popleft().store(pipeline, db)
    finally:
        sys.setswitchinterval(switch_interval)
        pool.shutdown(wait=True, cancel_futures=True)
