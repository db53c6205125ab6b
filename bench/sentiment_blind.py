"""Blind check of social_watch.sentiment against plain VADER on customer-care messages.

Usage: .venv/bin/python bench/sentiment_blind.py [--data PATH] [--errors tune|holdout]

The data (``tests/data/care_sentiment_blind.jsonl``) was written and labelled before the
scorer was read, and split into halves by a fixed shuffle before any score was looked at:
``tune`` is the half whose errors may guide changes, ``holdout`` is the check. Non-English
items keep their human label; ``lang`` is given on half of them (passed to ``score``, as a
network would), the rest rely on detection. An ``unknown`` prediction counts as a miss.

Prints, per half: accuracy, macro-F1 (over positive/neutral/negative), negative and
positive recall and precision for ``score()`` and ``score_plain()``, and how often
``score`` said ``unknown``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from social_watch.sentiment import score, score_plain  # noqa: E402

DATA = ROOT / "tests" / "data" / "care_sentiment_blind.jsonl"
GOLD_LABELS = ("positive", "neutral", "negative")


def load(path: Path = DATA) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def metrics(gold: Sequence[str], pred: Sequence[str]) -> dict[str, float]:
    pairs = list(zip(gold, pred, strict=True))
    n = len(pairs)
    out: dict[str, float] = {"accuracy": sum(g == p for g, p in pairs) / n if n else 0.0}
    f1s = []
    for label in GOLD_LABELS:
        tp = sum(g == p == label for g, p in pairs)
        fp = sum(p == label != g for g, p in pairs)
        fn = sum(g == label != p for g, p in pairs)
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1s.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
        out[f"{label[:3]}_precision"] = prec
        out[f"{label[:3]}_recall"] = rec
    out["macro_f1"] = sum(f1s) / len(f1s)
    out["unknown"] = sum(p == "unknown" for p in pred) / n if n else 0.0
    return out


def care_label(item: dict[str, str]) -> str:
    lang = item.get("lang")
    return (score(item["text"], lang) if lang else score(item["text"])).label


def evaluate(items: Sequence[dict[str, str]]) -> dict[str, dict[str, float]]:
    gold = [it["label"] for it in items]
    return {
        "score": metrics(gold, [care_label(it) for it in items]),
        "score_plain": metrics(gold, [score_plain(it["text"]).label for it in items]),
    }


COLUMNS = (
    ("acc", "accuracy"),
    ("macroF1", "macro_f1"),
    ("negRec", "neg_recall"),
    ("negPrec", "neg_precision"),
    ("posRec", "pos_recall"),
    ("posPrec", "pos_precision"),
    ("unk", "unknown"),
)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--errors", choices=("tune", "holdout"), help="list misclassified items")
    args = ap.parse_args(argv)

    items = load(args.data)
    for half in ("tune", "holdout"):
        part = [it for it in items if it["half"] == half]
        res = evaluate(part)
        print(f"== {half} ({len(part)} items)")
        print("   " + " " * 12 + "".join(f"{c:>8}" for c, _ in COLUMNS))
        for name in ("score", "score_plain"):
            m = res[name]
            print(f"   {name:12}" + "".join(f"{m[k]:8.3f}" for _, k in COLUMNS))
        if args.errors == half:
            for it in part:
                lang = it.get("lang")
                s = score(it["text"], lang) if lang else score(it["text"])
                if s.label != it["label"]:
                    print(f"   ! {it['label']:>8} -> {s.label:<8} {s.compound:+.2f} {it['text']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
