"""Throughput of the cs/sk/pl/uk/ru/de scorer per language beside plain VADER, same run.

Texts: tests/data/lexicon_care.jsonl (the hand-written care messages), repeated; the
lexicon's per-token cache is warm after the first pass, as it is during an import.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from social_watch import sentiment

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "lexicon_care.jsonl"


def rate(fn, texts: list[str]) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        for x in texts:
            fn(x)
        best = min(best, time.perf_counter() - t)
    return len(texts) / best


def main() -> None:
    items = [json.loads(line) for line in DATA.read_text("utf-8").splitlines() if line]
    all_texts = [it["text"] for it in items] * 200
    sentiment.score_plain("warm up")
    print(f"   plain VADER      {rate(sentiment.score_plain, all_texts):8.0f} texts/s")
    for lang in sorted({it["lang"] for it in items}):
        texts = [it["text"] for it in items if it["lang"] == lang] * 1000
        r = rate(lambda x, lang=lang: sentiment.score(x, lang), texts)
        print(f"   score(lang={lang!r}) {r:8.0f} texts/s")


if __name__ == "__main__":
    main()
