"""Large imports on two cores: the next chunks of lines are turned into rows while this
batch is stored.

Everything an import does before the database is pure: decoding and validating a line,
classifying the mention, scoring sentiment, tags and sensitive content, building its row
(``parse_lines``: a function of the line and the config). It costs more than storing the
rows. So a large import hands chunks of lines to one worker process, which sends back the
rows, while the main process reads the file and stores; whenever the worker is behind, the
main process parses one of its queued chunks itself, so neither core waits for long.

What reaches the database is exactly what the in-process path writes: the same rows (both
sides run ``parse_lines``), cut into the same batches of ``batch_size`` mentions, stored in
the same order, one transaction each; only where the pure part runs differs.

- Small imports stay in one process: the first ``PARALLEL_AFTER`` lines go through the
  plain path, and only a longer stream starts the worker (stdin included).
- The worker is forked after the models (VADER, the care rules, py3langid) are loaded
  and the heap is frozen (``gc.freeze``), so it shares their pages copy-on-write instead
  of loading its own copies. Without ``fork`` (Windows; macOS, where fork is unsafe) or
  with one CPU, everything stays in process.
- Memory stays flat: at most ``MAX_PENDING`` chunks are read ahead of the store.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice

from social_watch import sentiment, store
from social_watch.importer import Rejected, TooLong, read_jsonl
from social_watch.models import IngestResult
from social_watch.pipeline import Pipeline
from social_watch.store.base import Store

PARALLEL_AFTER = 5000  # lines before a worker process is worth starting
MAX_PENDING = 8  # chunks read but not stored yet (parsed, at the worker or queued)
# The executor's feeder thread hands batches to the worker and takes results back; it needs
# the GIL, which the main thread (storing) otherwise gives up only every 5 ms. Waiting for
# it left the worker idle a third of a large import (measured: 13.6 s -> 12.0 s at 200 k).
SWITCH_INTERVAL = 0.0005

Line = bytes | str | TooLong
# A chunk's mentions as rows (None: a mention never stored, such as a repost) and its bad lines
Parsed = tuple[list[store.NewRow | None], list[Rejected]]

_worker_pipeline: Pipeline | None = None  # set before the fork; the worker inherits it


def parse_lines(pipeline: Pipeline, start: int, lines: list[Line]) -> Parsed:
    """Validate, classify and enrich a chunk of import lines (the first numbered ``start``)
    into the rows of its mentions: all of a batch's work that needs no database."""
    rows: list[store.NewRow | None] = []
    rejected: list[Rejected] = []
    prepare, new_row = pipeline.prepare, store.new_row
    for item in read_jsonl(lines, start=start):
        if type(item) is Rejected:
            rejected.append(item)
            continue
        p = prepare(item)  # type: ignore[arg-type]
        rows.append(None if p is None else new_row(p))
    return rows, rejected


def _parse_at_worker(start: int, lines: list[Line]) -> Parsed:
    """In the worker: ``parse_lines`` with the pipeline that came with the fork."""
    assert _worker_pipeline is not None
    return parse_lines(_worker_pipeline, start, lines)


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


def start_worker(pipeline: Pipeline) -> ProcessPoolExecutor:
    """One forked worker sharing the parent's loaded models (copy-on-write)."""
    global _worker_pipeline
    # Load what the worker (and the parent) may need, so the fork shares one copy.
    sentiment.warm_up()
    _worker_pipeline = pipeline
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


class _Chunk:
    """Lines of the file, parsed here or at the worker."""

    def __init__(self, start: int, lines: list[Line]):
        self.start = start
        self.lines = lines
        self.future: Future[Parsed] | None = None
        self.parsed: Parsed | None = None

    def waiting(self) -> bool:
        """Queued or running at the worker."""
        return self.future is not None and not self.future.done()

    def result(self) -> Parsed:
        if self.parsed is not None:
            return self.parsed
        assert self.future is not None
        return self.future.result()


def _chunks(lines: Iterable[Line], size: int) -> Iterator[_Chunk]:
    it = iter(lines)
    start = 1
    while chunk := list(islice(it, size)):
        yield _Chunk(start, chunk)
        start += len(chunk)


def ingest_lines(
    pipeline: Pipeline,
    db: Store,
    lines: Iterable[Line],
    *,
    batch_size: int,
    workers: int | None = None,
    parallel_after: int | None = None,
    note: Callable[[int, list[Rejected]], None] | None = None,
) -> Iterator[IngestResult]:
    """Store an import's lines in batches of ``batch_size`` mentions, one transaction each;
    yields each batch's result.

    ``workers``: None decides (one worker if the platform can fork and has two CPUs),
    0 keeps everything in process, 1 asks for the worker. ``parallel_after``: lines before
    the worker starts (default ``PARALLEL_AFTER``). ``note(mentions, rejected)`` hears of
    each chunk as it is taken, in file order: how many mentions it held, and its bad lines.
    """
    if parallel_after is None:
        parallel_after = PARALLEL_AFTER
    chunks = _chunks(lines, batch_size)
    use_worker = can_fork() if workers is None else (workers > 0 and can_fork())
    buffer: list[store.NewRow | None] = []

    def stored(entries: list[store.NewRow | None]) -> IngestResult:
        rows = [r for r in entries if r is not None]
        ignored = len(entries) - len(rows)
        return store.ingest_rows(db, rows, now=pipeline.clock(), ignored=ignored)

    def take(parsed: Parsed) -> Iterator[IngestResult]:
        """A chunk's rows join the batch being filled; each full batch is stored."""
        rows, rejected = parsed
        if note is not None:
            note(len(rows), rejected)
        buffer.extend(rows)
        while len(buffer) >= batch_size:
            batch = buffer[:batch_size]
            del buffer[:batch_size]
            yield stored(batch)

    seen = 0
    if not (use_worker and parallel_after <= 0):
        for chunk in chunks:
            yield from take(parse_lines(pipeline, chunk.start, chunk.lines))
            seen += len(chunk.lines)
            if use_worker and seen >= parallel_after:
                break
        else:
            if buffer:
                yield stored(buffer)
            return
    pool = start_worker(pipeline)
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(min(switch_interval, SWITCH_INTERVAL))
    try:
        pending: deque[_Chunk] = deque()

        def steal() -> bool:
            """Parse here the newest chunk the worker has not started; False if none."""
            for job in reversed(pending):
                if job.future is not None and job.future.cancel():
                    job.future = None
                    job.parsed = parse_lines(pipeline, job.start, job.lines)
                    return True
            return False

        def oldest() -> Iterator[IngestResult]:
            job = pending.popleft()
            parsed = job.result()
            job.lines = []
            yield from take(parsed)

        def at_worker() -> int:
            return sum(1 for job in pending if job.future is not None)

        for job in chunks:
            job.future = pool.submit(_parse_at_worker, job.start, job.lines)
            pending.append(job)
            # Store what is parsed, oldest first; keep MAX_PENDING chunks queued at the worker,
            # so it never runs dry. When the oldest is not back yet and the worker has its
            # fill, this core would only wait: it parses the newest of the worker's chunks
            # instead. (Counting the chunks parsed here as queued stole one after another and
            # left the worker idle a third of the time.)
            while pending:
                if not pending[0].waiting():
                    yield from oldest()
                elif at_worker() < MAX_PENDING and len(pending) < 2 * MAX_PENDING:
                    break
                elif not steal():
                    yield from oldest()
        while pending:
            if pending[0].waiting() and steal():
                continue
            yield from oldest()
        if buffer:
            yield stored(buffer)
    finally:
        sys.setswitchinterval(switch_interval)
        pool.shutdown(wait=True, cancel_futures=True)
