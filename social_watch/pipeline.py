"""The one ingest pipeline every source goes through:
normalize → deduplicate → score sentiment → tag → detect sensitive content → store.

Connectors and ``import`` produce ``Mention``; this module decides what each one is (the
brand's own post, a repost with nothing to say, an ignored author, or a mention that needs
an answer), adds what social-watch knows about it, and hands batches to the store.
Everything here except ``ingest`` is pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from social_watch import sentiment, store
from social_watch.clock import Clock, utcnow
from social_watch.config import Config
from social_watch.importer import EARLIEST, LATEST, MAX_INT
from social_watch.models import Enrichment, IngestResult, Mention, Sentiment
from social_watch.sensitive import SensitiveDetector
from social_watch.sla import BusinessHours, due_at, from_config
from social_watch.store import mentions
from social_watch.store.base import Store
from social_watch.tagging import DEFAULT_TAG_RULES, Tagger

BATCH_SIZE = 1000


def business_hours(config: Config) -> BusinessHours | None:
    return from_config(config.queue["business_hours"])


def _norm_handle(handle: str) -> str:
    return handle.strip().lstrip("@").lower()


@dataclass
class BrandIdentity:
    """Who the brand is on each network; matches 'user' against 'user@instance' too."""

    handles: dict[str, set[str]]

    def __post_init__(self) -> None:
        # Every mention is asked about; the local parts ("user" of "user@instance") are
        # computed once here instead of once per brand handle per mention.
        self._local_parts = {
            network: {h.split("@", 1)[0] for h in own} for network, own in self.handles.items()
        }
        self._plain_local_parts = {
            network: {h.split("@", 1)[0] for h in own if "@" not in h}
            for network, own in self.handles.items()
        }

    @classmethod
    def from_config(cls, config: Config) -> BrandIdentity:
        handles: dict[str, set[str]] = {}
        for network, value in config.brand_handles.items():
            values = [value] if isinstance(value, str) else list(value)
            handles[network] = {_norm_handle(v) for v in values if v.strip()}
        return cls(handles)

    def is_brand(self, network: str, handle: str) -> bool:
        own = self.handles.get(network)
        if not own:
            return False
        h = _norm_handle(handle)
        if h in own:
            return True
        # 'user' matches any brand handle 'user@…'; 'user@a' matches a brand 'user' (no
        # instance) only: two instances are two different accounts
        if "@" not in h:
            return h in self._local_parts[network]
        return h.split("@", 1)[0] in self._plain_local_parts[network]


def with_thresholds(result: Sentiment, pos: float, neg: float) -> Sentiment:
    """``result`` labelled by the config's ``[sentiment]`` thresholds (``unknown`` stays)."""
    if result.label == "unknown" or (pos, neg) == (0.05, -0.05):
        return result
    c = result.compound
    return Sentiment("positive" if c >= pos else "negative" if c <= neg else "neutral", c)


# (sentiment label, compound, tags, sensitive reasons, language): an Enrichment's fields
EnrichValues = tuple[str, float, tuple[str, ...], tuple[str, ...], str | None]

# Reposts, quotes and copy-pasted complaints repeat a text word for word; its enrichment is
# remembered (least recently used out). At 200,000 generated mentions 16,384 entries catch
# 42 % of them, for ~6 MB; a longer text is rarely repeated and costs more to keep.
ENRICH_CACHE_SIZE = 16_384
ENRICH_CACHE_MAX_TEXT = 1_000


class Enricher:
    """Sentiment, tags and sensitive flags for one text: pure, built once from config."""

    def __init__(self, config: Config):
        tags = config.section("tags")
        rules: dict[str, Sequence[str]] | None = None
        if tags["rules"]:
            rules = dict(DEFAULT_TAG_RULES) if tags["extend_defaults"] else {}
            for tag, patterns in tags["rules"].items():
                rules[tag] = tuple(rules.get(tag, ())) + tuple(patterns)
        self.tagger = Tagger(rules, vip_followers=tags["vip_followers"])
        sens = config.section("sensitive")
        kwargs: dict[str, Any] = {}
        if sens["order_pattern"]:
            kwargs["order_pattern"] = sens["order_pattern"]
        if sens["topics"]:
            kwargs["topics"] = sens["topics"]
        self.detector = SensitiveDetector(**kwargs)
        thresholds = config.section("sentiment")
        self.pos = thresholds["positive_threshold"]
        self.neg = thresholds["negative_threshold"]
        self._vip_followers: int | None = tags["vip_followers"]
        self._remembered = lru_cache(maxsize=ENRICH_CACHE_SIZE)(self._values)

    def sentiment(self, text: str, lang: str | None) -> Sentiment:
        return self._scored(text, lang)[0]

    def _scored(self, text: str, lang: str | None) -> tuple[Sentiment, str | None]:
        """Sentiment under the configured thresholds, and the language detection found."""
        result, detected = sentiment.score_with_language(text, lang)
        return with_thresholds(result, self.pos, self.neg), detected

    def enrich(self, m: Mention) -> Enrichment:
        return rated(self.enrichment(self.enrich_values(m.text, m.lang, m.author.followers)), m)

    def enrich_values(self, text: str, lang: str | None, followers: int | None) -> EnrichValues:
        """What ``enrich`` computes, as plain values (cheap to send between processes).

        Followers only matter as "a big account or not" (the vip tag), so that is what the
        remembered result of a repeated text is keyed by.
        """
        if len(text) > ENRICH_CACHE_MAX_TEXT:
            return self._values(text, lang, followers)
        vip = self._vip_followers
        big = vip is not None and followers is not None and followers >= vip
        return self._remembered(text, lang, vip if big else None)

    def _values(self, text: str, lang: str | None, followers: int | None) -> EnrichValues:
        s, detected = self._scored(text, lang)
        if detected is not None and (lang is None or sentiment.undetermined(lang)):
            lang = detected  # "und" from the network is no better than none
        reasons = self.detector.reasons(text)
        if s.label == "positive":
            # "refund came in two days, great service" names a topic but needs no e-mail;
            # personal data always counts, whatever the tone.
            reasons = tuple(r for r in reasons if not r.startswith("topic:"))
        tags = self.tagger.tags(text, followers=followers)
        return s.label, s.compound, tags, reasons, lang

    @staticmethod
    def enrichment(values: EnrichValues) -> Enrichment:
        label, compound, tags, reasons, lang = values
        return Enrichment(Sentiment(label, compound), tags, reasons, lang)


LOW_RATING = 2.0  # a review of this many stars or fewer is negative whatever its words
LOW_RATING_COMPOUND = -0.5


def rated(e: Enrichment, m: Mention) -> Enrichment:
    """A 1-2 star review is negative, however politely worded ("ok, just slow" at 1 star)."""
    if m.rating is None or m.rating > LOW_RATING:
        return e
    compound = min(e.sentiment.compound, LOW_RATING_COMPOUND)
    return Enrichment(Sentiment("negative", compound), e.tags, e.sensitive_reasons, e.lang)


def unstorable(m: Mention) -> str | None:
    """Why the store cannot take ``m`` (a bad item to skip), or None.

    A network controls these fields (a federated server its accounts' follower counts and
    dates); one value SQLite or the due-time arithmetic refuses would otherwise fail its
    whole page, every poll, and the cursor would never move past it.
    """
    if not EARLIEST <= m.created_at < LATEST:
        return f"created_at {m.created_at.isoformat()} is out of range"
    followers = m.author.followers
    if isinstance(followers, int) and not -MAX_INT <= followers <= MAX_INT:
        return "author followers count too large to store"
    texts: tuple[str | None, ...] = (m.text, m.native_id, m.author.handle, m.author.name, m.url)
    texts += (m.lang, m.conversation_id, m.in_reply_to, m.query)
    try:
        for value in texts:
            if isinstance(value, str):
                value.encode("utf-8")
        if m.raw is not None:
            mentions._dumps(m.raw).encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone UTF-16 surrogate, which is not a character"
    return None


class Pipeline:
    """Classify, enrich and store mentions; one instance per command or watch loop."""

    def __init__(self, config: Config, clock: Clock = utcnow):
        self.config = config
        self.clock = clock
        self.enricher = Enricher(config)
        self.brand = BrandIdentity.from_config(config)
        self.hours = business_hours(config)
        queue = config.queue
        self.target: timedelta = queue["target"]
        self.targets: dict[str, timedelta] = dict(queue["targets"])
        self.ignored_authors = {_norm_handle(h) for h in config.section("ingest")["ignore_authors"]}

    def target_for(self, network: str) -> timedelta:
        return self.targets.get(network, self.target)

    def is_ignored(self, m: Mention) -> bool:
        if m.is_repost and not m.text.strip():
            return True
        if m.is_repost and not self.brand.is_brand(m.network, m.author.handle):
            # a boost/retweet carries someone else's words; the original is what to answer
            return True
        h = _norm_handle(m.author.handle)
        return h in self.ignored_authors or f"{m.network}:{h}" in self.ignored_authors

    def classify(self, m: Mention) -> tuple[str, datetime | None] | None:
        """(kind, due time) of ``m``; None for what is never stored (reposts, ignored authors)."""
        if (m.is_repost or self.ignored_authors) and self.is_ignored(m):
            return None
        if self.brand.is_brand(m.network, m.author.handle):
            if m.is_repost:
                return None
            return "brand", None
        return "mention", due_at(m.created_at, self.target_for(m.network), self.hours)

    def prepare(self, m: Mention) -> store.Prepared | None:
        """None for what is never stored (reposts, ignored authors)."""
        kind = self.classify(m)
        if kind is None:
            return None
        return store.Prepared(m, self.enricher.enrich(m), *kind)

    def ingest(
        self,
        db: Store,
        mentions: Iterable[Mention],
        *,
        source: str | None = None,
        cursor: Any = None,
        poll: dict[str, Any] | None = None,
    ) -> IngestResult:
        """One transaction for all of ``mentions`` (and the cursor that covers them)."""
        batch: list[store.Prepared] = []
        ignored = 0
        for m in mentions:
            p = self.prepare(m)
            if p is None:
                ignored += 1
            else:
                batch.append(p)
        return store.ingest(
            db, batch, now=self.clock(), ignored=ignored, source=source, cursor=cursor, poll=poll
        )

    def ingest_stream(
        self, db: Store, mentions: Iterable[Mention], batch_size: int = BATCH_SIZE
    ) -> Iterator[IngestResult]:
        """Batches of ``batch_size``, one transaction each; yields each batch's result."""
        batch: list[Mention] = []
        for m in mentions:
            batch.append(m)
            if len(batch) >= batch_size:
                yield self.ingest(db, batch)
                batch = []
        if batch:
            yield self.ingest(db, batch)
