"""One poll of one source: cursor → connector → pipeline → store, in one transaction per page.

The runner owns the error policy so connectors stay simple: a rate limit is recorded with
its reset time and returned (never slept on), a failure is recorded and returned, a bad item
is counted and logged by id. A burst larger than a page is read to the end, each page
committed with the cursor that covers it, up to ``max_pages`` (the rest on the next poll).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from social_watch import store
from social_watch.clock import iso
from social_watch.connector import Connector, Skipped, Source
from social_watch.errors import AuthError, ConfigError, ConnectorError, RateLimited, Unreachable
from social_watch.pipeline import Pipeline, unstorable
from social_watch.store.base import Store

log = logging.getLogger("social_watch.runner")
MAX_PAGES = 20


@dataclass
class PollSummary:
    source: str
    fetched: int = 0
    new: int = 0
    updated: int = 0
    duplicates: int = 0
    ignored: int = 0
    skipped: int = 0
    pages: int = 0
    more: bool = False
    error: str | None = None
    error_kind: str | None = None  # auth, rate_limited, transient, config
    rate_limit_reset: datetime | None = None
    skipped_ids: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "ok": self.ok,
            "fetched": self.fetched,
            "new": self.new,
            "updated": self.updated,
            "duplicates": self.duplicates,
            "ignored": self.ignored,
            "skipped": self.skipped,
            "pages": self.pages,
            "more": self.more,
            "error": self.error,
            "error_kind": self.error_kind,
            "rate_limit_reset": iso(self.rate_limit_reset),
        }


def poll_source(
    db: Store,
    pipeline: Pipeline,
    connector: Connector,
    source: Source,
    *,
    max_pages: int = MAX_PAGES,
) -> PollSummary:
    summary = PollSummary(source.key)
    clock = pipeline.clock
    while True:
        started = clock()
        cursor = store.load_cursor(db, source.key)
        try:
            result = connector.poll(source, cursor)
        except RateLimited as exc:
            summary.error, summary.error_kind = str(exc), "rate_limited"
            summary.rate_limit_reset = exc.reset_at
        except AuthError as exc:
            summary.error, summary.error_kind = str(exc), "auth"
        except ConfigError as exc:
            summary.error, summary.error_kind = str(exc), "config"
        except Unreachable as exc:
            summary.error, summary.error_kind = str(exc), "unreachable"
        except ConnectorError as exc:
            summary.error, summary.error_kind = str(exc), "transient"
        except Exception as exc:  # a connector bug must not stop the other connectors
            summary.error, summary.error_kind = f"unexpected {type(exc).__name__}", "error"
            log.debug("%s: unexpected error", source.key, exc_info=True)
        if summary.error:
            _record_failure(db, source, started, clock(), summary)
            # The caller reports the failure (poll prints it, watch logs it once).
            log.info("%s: %s", source.key, summary.error)
            return summary
        bad = [(m, unstorable(m)) for m in result.mentions]
        if any(why for _, why in bad):
            result = replace(
                result,
                mentions=[m for m, why in bad if not why],
                skipped=[*result.skipped, *(Skipped(m.native_id, w) for m, w in bad if w)],
            )
        for s in result.skipped:
            log.warning("%s: skipped item %s: %s", source.key, s.item_id, s.reason)
        poll: dict[str, Any] = {
            "source": source.key,
            "started_at": iso(started),
            "finished_at": iso(clock()),
            "fetched": len(result.mentions) + len(result.skipped),
            "skipped": len(result.skipped),
            "rate_limit_reset": iso(result.rate_limit_reset),
        }
        mentions = [m if m.query else replace(m, query=source.key) for m in result.mentions]
        counts = pipeline.ingest(db, mentions, source=source.key, cursor=result.cursor, poll=poll)
        summary.pages += 1
        summary.fetched += len(result.mentions) + len(result.skipped)
        summary.new += counts.new
        summary.updated += counts.updated
        summary.duplicates += counts.unchanged
        summary.ignored += counts.ignored
        summary.skipped += len(result.skipped)
        summary.skipped_ids += [s.item_id or "?" for s in result.skipped]
        summary.rate_limit_reset = result.rate_limit_reset
        summary.more = result.more
        if not result.more or summary.pages >= max_pages:
            return summary


def _record_failure(
    db: Store, source: Source, started: datetime, finished: datetime, s: PollSummary
) -> None:
    from social_watch import db as dbmod

    with dbmod.write(db):
        store.record_poll(
            db,
            {
                "source": source.key,
                "started_at": iso(started),
                "finished_at": iso(finished),
                "error": s.error,
                "rate_limit_reset": iso(s.rate_limit_reset),
            },
        )


def poll_connector(db: Store, pipeline: Pipeline, connector: Connector) -> list[PollSummary]:
    """Every source of one connector; a failing source does not stop the others."""
    return [poll_source(db, pipeline, connector, source) for source in connector.sources()]
