"""The one normalized shape that crosses every boundary: connectors produce ``Mention``,
the pipeline enriches it, the store keeps it. Times are always aware UTC datetimes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

STATUSES = ("open", "claimed", "answered", "moved_to_email", "dismissed", "done")
OPEN_STATUSES = ("open", "claimed")
SENTIMENT_LABELS = ("positive", "neutral", "negative", "unknown")
DISMISS_REASONS = ("spam", "no-reply-needed", "duplicate", "other")


@dataclass(frozen=True)
class Author:
    handle: str
    name: str | None = None
    followers: int | None = None


@dataclass(frozen=True)
class Mention:
    """A public post that names the brand, as one network reported it."""

    network: str
    native_id: str
    text: str
    created_at: datetime
    author: Author
    url: str | None = None
    lang: str | None = None
    conversation_id: str | None = None
    in_reply_to: str | None = None
    query: str | None = None  # which query or stream found it
    is_repost: bool = False  # a retweet/boost with no text of its own
    rating: float | None = None  # a review's stars, 0.5-5 (None for posts and comments)
    raw: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    # ``raw`` as JSON text when the source already had it (an import line): stored as is,
    # which saves encoding the payload again. Must decode to ``raw``.
    raw_json: str | None = field(default=None, compare=False, repr=False)

    @property
    def global_id(self) -> str:
        return f"{self.network}:{self.native_id}"


@dataclass(frozen=True)
class Sentiment:
    label: str  # one of SENTIMENT_LABELS
    compound: float


@dataclass(frozen=True)
class Enrichment:
    """What social-watch adds to a mention: pure functions of its text and the config."""

    sentiment: Sentiment
    tags: tuple[str, ...]
    sensitive_reasons: tuple[str, ...]
    lang: str | None

    @property
    def sensitive(self) -> bool:
        return bool(self.sensitive_reasons)


@dataclass(frozen=True)
class IngestResult:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    ignored: int = 0  # brand's own reposts, ignored authors: counted, never queued
    answered_natively: int = 0

    def __add__(self, other: IngestResult) -> IngestResult:
        return IngestResult(
            self.new + other.new,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
            self.ignored + other.ignored,
            self.answered_natively + other.answered_natively,
        )
