"""The `import` command as a library function: stream a JSONL file through the pipeline."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import IO, Any

import sqlite_utils

from social_watch.config import Config
from social_watch.errors import UsageError
from social_watch.importer import Rejected, read_jsonl
from social_watch.models import IngestResult, Mention
from social_watch.pipeline import Pipeline

KEEP_REJECTED = 1000  # report the first ones; count all, so memory stays flat


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
    db: sqlite_utils.Database,
    config: Config,
    file: str,
    *,
    progress: bool = False,
    pipeline: Pipeline | None = None,
) -> ImportResult:
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

        def mentions() -> Iterator[Mention]:
            for item in read_jsonl(fh):
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

        for counts in pipeline.ingest_stream(db, mentions()):
            result.counts = result.counts + counts
    if progress and result.lines >= 5000:
        sys.stderr.write("\r" + " " * 40 + "\r")
    return result
