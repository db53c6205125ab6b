"""The import's enrichment equals a plain per-text, per-rule reference (issue 16).

``Pipeline``'s ``Enricher`` remembers results of repeated texts and the tagger matches all
keywords of all tags in one pass; both exist for speed only. This test recomputes every
value the slow, obvious way (score each text on its own, search each tag's phrases one by
one) on a realistic mixed-language sample: the generated stream (``bench/gen.py``: reposts,
copy-pasted complaints, brand replies) and the labelled general texts of
``bench/sentiment_*general.jsonl`` (cs, sk, pl, uk, ru, de, en) with their language given,
left out and "und". A faster enrichment that changes one label, tag or flag fails here.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from bench.gen import CONFIG_TOML, iter_lines
from social_watch import config as cfg
from social_watch import sentiment
from social_watch.pipeline import Enricher, EnrichValues
from social_watch.sensitive import SensitiveDetector
from social_watch.tagging import DEFAULT_TAG_RULES
from tests.helpers import NOW

BENCH = Path(__file__).resolve().parent.parent / "bench"
CUSTOM_TAGS = """
[tags]
rules = { shipping = ["dhl", "parcel", "re:\\\\bzásilk"], complaint = ["terrible"] }
vip_followers = 5000
"""


def sample() -> list[tuple[str, str | None, int | None]]:
    """(text, lang, followers) as the import hands them to enrichment, repeats included."""
    rng = random.Random(16)
    items = [
        (o["text"], o.get("lang"), o["author"].get("followers"))
        for o in iter_lines(2500, seed=16, days=5, now=NOW)
    ]
    for path in sorted(BENCH.glob("sentiment_*general.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            extra = rng.choice(["", " @shopexample", " objednávka #123456, jan@example.com"])
            for lang in (row["lang"], None, "und"):
                items.append((row["text"] + extra, lang, rng.choice([None, 10, 20_000])))
    # copy-pasted texts come back with other authors (the vip tag differs) and languages
    items += [(t, lang, f) for t, lang, f in rng.sample(items, 600)]
    items += [(t, lang, 50_000) for t, lang, _f in rng.sample(items, 200)]
    rng.shuffle(items)
    return items


def reference_tags(
    rules: Mapping[str, Sequence[str]], vip: int | None, text: str, followers: int | None
) -> tuple[str, ...]:
    """Each phrase searched on its own: whole words in order, any punctuation between."""
    lowered = text.lower()
    words = " " + " ".join(re.findall(r"\w+", lowered)) + " "
    found = set()
    for tag, patterns in rules.items():
        for pattern in patterns:
            if pattern.startswith("re:"):
                hit = re.search(pattern[3:], text, re.IGNORECASE) is not None
            elif pattern[0].isalnum() or pattern[0] == "_":
                hit = " " + " ".join(re.findall(r"\w+", pattern.lower())) + " " in words
            else:  # "% off", "#blackfriday": as written
                source = r"\s+".join(re.escape(p) for p in pattern.lower().split())
                if pattern[-1].isalnum() or pattern[-1] == "_":
                    source += r"(?!\w)"
                hit = re.search(source, lowered) is not None
            if hit:
                found.add(tag)
    if vip is not None and followers is not None and followers >= vip:
        found.add("vip")
    order = list(rules) + ([] if "vip" in rules else ["vip"])
    return tuple(t for t in order if t in found)


def reference(
    config: cfg.Config, text: str, lang: str | None, followers: int | None
) -> EnrichValues:
    """What one mention's enrichment must be, computed from scratch for this text."""
    result, detected = sentiment.score_with_language(text, lang)
    label, compound = result.label, result.compound
    thresholds = config.section("sentiment")
    if label != "unknown":
        pos, neg = thresholds["positive_threshold"], thresholds["negative_threshold"]
        label = "positive" if compound >= pos else "negative" if compound <= neg else "neutral"
    if detected is not None and (lang is None or sentiment.undetermined(lang)):
        lang = detected
    reasons = SensitiveDetector().reasons(text)
    if label == "positive":
        reasons = tuple(r for r in reasons if not r.startswith("topic:"))
    tags_conf = config.section("tags")
    rules: dict[str, Sequence[str]] = dict(DEFAULT_TAG_RULES)
    if tags_conf["rules"]:
        rules = dict(DEFAULT_TAG_RULES) if tags_conf["extend_defaults"] else {}
        for tag, patterns in tags_conf["rules"].items():
            rules[tag] = tuple(rules.get(tag, ())) + tuple(patterns)
    tags = reference_tags(rules, tags_conf["vip_followers"], text, followers)
    return label, compound, tags, reasons, lang


@pytest.mark.parametrize("extra", ["", CUSTOM_TAGS], ids=["default-rules", "custom-rules"])
def test_the_fast_enrichment_equals_the_per_text_reference(tmp_path, extra):
    path = tmp_path / "social-watch.toml"
    path.write_text(CONFIG_TOML + extra, encoding="utf-8")
    config = cfg.load(str(path), env={})
    enricher = Enricher(config)
    items = sample()
    fast = [enricher.enrich_values(*item) for item in items]
    again = [enricher.enrich_values(*item) for item in items]  # now from the cache
    assert again == fast
    mismatches = [
        (item, got, want)
        for item, got in zip(items, fast, strict=True)
        if got != (want := reference(config, *item))
    ]
    assert mismatches == []
    # the sample covers what the shortcuts must get right
    labels = {v[0] for v in fast}
    assert labels == {"positive", "negative", "neutral", "unknown"}
    assert {v[4] for v in fast} >= {"en", "cs", "sk", "pl", "uk", "ru", "de", None}
    assert any("vip" in v[2] for v in fast) and any(v[3] for v in fast)
    if extra:
        assert any("shipping" in v[2] for v in fast)
