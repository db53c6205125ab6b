"""The `import` command as a library function: stream a JSONL file through the pipeline."""

from __future__ import annotations

import gc
import os
import stat
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import IO, Any

from social_watch import parallel
from social_watch.config import Config
from social_watch.errors import UsageError
from social_watch.importer import Rejected, bounded_lines, read_jsonl
from social_watch.models import IngestResult, Mention
from social_watch.pipeline import BATCH_SIZE, Pipeline
from social_watch.store.base import Store

KEEP_REJECTED = 1000  # report the first ones; count all, so memory stays flat
LONG_FILE_BYTES = 2_000_000  # ~5,000 mentions: worth a worker process from the start
# Bytes a mention takes in an import file, for the store's estimate of what is coming
# (``Store.bulk_load``): 350 in bench/gen.py's files (with the raw payload); a file of
# smaller lines is underestimated, which only errs towards keeping the indexes.
BYTES_PER_MENTION = 350


@dataclass
class ImportResult:
    counts: IngestResult = field(default_factory=IngestResult)
    rejected: list[Rejected] = field(default_factory=list)
    rejected_total: int = 0
    lines: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "new": self.counts.new,
            "updated": self.counts.updated,
            "unchanged": self.counts.unchanged,
            "ignored": self.counts.ignored,
            "rejected": self.rejected_total,
            "answered_natively": self.counts.answered_natively,
            "errors": [{"line": r.line, "reason": r.reason} for r in self.rejected],
        }

    def describe(self) -> str:
        c = self.counts
        return (
            f"{c.new} new, {c.updated} updated, {c.unchanged} unchanged, "
            f"{c.ignored} ignored (brand reposts, ignored authors), {self.rejected_total} rejected"
        )


def run(
    db: Store,
    config: Config,
    file: str,
    *,
    progress: bool = False,
    pipeline: Pipeline | None = None,
    workers: int | None = None,
) -> ImportResult:
    """Stream ``file`` (a path, or ``-`` for stdin) through the pipeline, in batches.

    ``workers``: None lets a long import enrich on a second core when it can
    (``social_watch.parallel``), 0 keeps it in one process; the rows are the same.
    """
    pipeline = pipeline or Pipeline(config)
    result = ImportResult()
    with ExitStack() as stack:
        if file == "-":
            fh: IO[bytes] = sys.stdin.buffer
        else:
            try:
                fh = stack.enter_context(open(file, "rb"))
            except OSError as exc:
                raise UsageError(f"cannot read {file}: {exc.strerror}") from None
            if stat.S_ISCHR(os.fstat(fh.fileno()).st_mode):  # /dev/zero would never end
                raise UsageError(
                    f"cannot read {file}: a device, not a file (pipe it to 'import -')"
                )

        def mentions() -> Iterator[Mention]:
            for item in read_jsonl(bounded_lines(fh)):
                result.lines += 1
                if isinstance(item, Rejected):
                    result.rejected_total += 1
                    if len(result.rejected) < KEEP_REJECTED:
                        result.rejected.append(item)
                    continue
                yield item
                if progress and result.lines % 5000 == 0:
                    sys.stderr.write(f"\r{result.lines} lines read…")
                    sys.stderr.flush()

        # A file known to be long starts the worker at once; stdin and short files first
        # show that they are long (``parallel.PARALLEL_AFTER`` lines).
        size = os.fstat(fh.fileno()).st_size if file != "-" else None  # a pipe: unknown
        long_file = size is not None and size >= LONG_FILE_BYTES
        batches = parallel.ingest_stream(
            pipeline,
            db,
            mentions(),
            batch_size=BATCH_SIZE,
            workers=workers,
            parallel_after=0 if long_file else None,
        )
        # Batches free what they allocate by reference counting; the default collector
        # would still walk the young objects every 700 allocations (~5 % of an import).
        thresholds = gc.get_threshold()
        gc.set_threshold(max(thresholds[0], 50_000), *thresholds[1:])
        expected = None if size is None else size // BYTES_PER_MENTION
        stack.enter_context(db.bulk_load(expected_rows=expected))
        try:
            for counts in batches:
                result.counts = result.counts + counts
        finally:
            gc.set_threshold(*thresholds)
    if progress and result.lines >= 5000:
        sys.stderr.write("\r" + " " * 40 + "\r")
    return result
