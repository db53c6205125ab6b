"""Throughput of the cs/sk/pl/uk/ru/de scorer per language beside plain VADER, same run.

Texts: the hand-written care messages (tests/data/care_lang/*.jsonl) and the own general
dev and held-out tweets (bench/sentiment_*_general.jsonl), per language, repeated to
about 2,000 texts. Three rates per language, best of 5 passes:

- ``given``: ``score(text, lang)``, the network told the language, per-token cache warm
  (as during a long import, where the same words come back);
- ``cold``: each distinct text once, the per-token cache cleared before the pass (every
  word looked up afresh: the worst case);
- ``detect``: ``score(text)``, language detected (py3langid) as when the network gives none.

Plain VADER (``score_plain``) on the same texts is the baseline; the floor is 5,000 texts/s
per core for non-English text.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from social_watch import lexicon_sentiment, sentiment  # noqa: E402

FILES = (
    *sorted((ROOT / "tests" / "data" / "care_lang").glob("*.jsonl")),
    ROOT / "bench" / "sentiment_dev_general.jsonl",
    ROOT / "bench" / "sentiment_heldout_general.jsonl",
)
FLOOR = 5_000


def rate(fn: Callable[[str], object], texts: list[str], before: Callable[[], None]) -> float:
    best = float("inf")
    for _ in range(5):
        before()
        t = time.perf_counter()
        for x in texts:
            fn(x)
        best = min(best, time.perf_counter() - t)
    return len(texts) / best


def main() -> None:
    items = [
        json.loads(line)
        for path in FILES
        for line in path.read_text("utf-8").splitlines()
        if line.strip()
    ]
    langs = sorted({it["lang"] for it in items})
    sentiment.warm_up()
    for lang in langs:  # lazy loads out of the timing
        sentiment.score("x", lang)
    nothing = lambda: None  # noqa: E731
    clear = lexicon_sentiment._word_value.cache_clear
    print(f"{'lang':5}{'texts':>7}{'VADER':>9}{'given':>9}{'cold':>9}{'detect':>9}  floor")
    for lang in langs:
        base = [it["text"] for it in items if it["lang"] == lang]
        texts = base * (2000 // len(base) + 1)
        plain = rate(sentiment.score_plain, texts, nothing)
        given = rate(lambda x, lang=lang: sentiment.score(x, lang), texts, nothing)
        cold = rate(lambda x, lang=lang: sentiment.score(x, lang), base, clear)
        detect = rate(sentiment.score, texts, nothing)
        ok = "ok" if min(given, cold) >= FLOOR else "BELOW"
        print(
            f"{lang:5}{len(texts):7}{plain:9.0f}{given:9.0f}{cold:9.0f}{detect:9.0f}  {ok}"
            f"  (given {given / plain:.2f}x VADER, detect {detect / plain:.2f}x)"
        )


if __name__ == "__main__":
    main()
