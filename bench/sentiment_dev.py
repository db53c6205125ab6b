"""Own dev set: general (not care) tweets per language, scored beside plain VADER.

Usage: .venv/bin/python bench/sentiment_dev.py [--data PATH] [--errors] [--detect]

``bench/sentiment_dev_general.jsonl`` holds short general tweets (weather, sport, films,
food, moods, politics) written by the project's developers, not taken from any corpus,
labelled positive/negative (German also neutral). It is a sanity check that the lexicons
are general, not a yardstick: it is small and was written by the people who wrote the
lexicons. Scored as the judge's sets are: pl, ru, sk, cs, uk binary (a ``neutral`` or
``unknown`` answer is a miss), de three classes. ``--detect`` leaves ``lang`` out, so
language detection decides too.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from social_watch.sentiment import score_detail, score_plain  # noqa: E402

DATA = Path(__file__).resolve().parent / "sentiment_dev_general.jsonl"


def macro_f1(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> float:
    f1s = []
    for label in labels:
        tp = sum(g == p == label for g, p in zip(gold, pred, strict=True))
        fp = sum(p == label != g for g, p in zip(gold, pred, strict=True))
        fn = sum(g == label != p for g, p in zip(gold, pred, strict=True))
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1s.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
    return sum(f1s) / len(f1s)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--errors", action="store_true", help="list misclassified items")
    ap.add_argument("--detect", action="store_true", help="do not pass the language")
    args = ap.parse_args(argv)
    items = [json.loads(x) for x in args.data.read_text("utf-8").splitlines() if x.strip()]
    print(
        f"{'lang':5}{'n':>4}{'macroF1':>9}{'acc':>7}{'neutral':>8}{'unk':>6}{'lang ok':>8}"
        f"{'VADER F1':>9}"
    )
    for lang in sorted({it["lang"] for it in items}):
        part = [it for it in items if it["lang"] == lang]
        gold = [it["label"] for it in part]
        labels = sorted(set(gold))
        res = [score_detail(it["text"], None if args.detect else lang) for it in part]
        pred = [s.label for s, _ in res]
        used = [u for _, u in res]
        plain = [score_plain(it["text"]).label for it in part]
        n = len(part)
        acc = sum(g == p for g, p in zip(gold, pred, strict=True)) / n
        print(
            f"{lang:5}{n:4}{macro_f1(gold, pred, labels):9.3f}{acc:7.3f}"
            f"{pred.count('neutral') / n:8.2f}{pred.count('unknown') / n:6.2f}"
            f"{sum(u == lang for u in used) / n:8.2f}{macro_f1(gold, plain, labels):9.3f}"
        )
        if args.errors:
            for it, (s, u) in zip(part, res, strict=True):
                if s.label != it["label"]:
                    print(
                        f"   ! {it['label']:>8} -> {s.label:<8} {s.compound:+.2f} [{u}] {it['text']}"
                    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
