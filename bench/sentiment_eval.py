"""Evaluate social_watch.sentiment against plain VADER on the labelled care data set.

Usage: .venv/bin/python bench/sentiment_eval.py [--data PATH] [--errors dev|test] [--repeat N]

Prints, per split (dev, test): accuracy, macro-F1, negative recall and precision of
``score()`` (language detected, as when the network gives no language) and of
``score_plain()``; accuracy on the English items alone; then throughput (texts/s) of
``score`` and ``score_plain`` on the English texts, measured in the same run, and the
ratio. Tune rules on dev only; test is the held-out check.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from social_watch.sentiment import score, score_plain  # noqa: E402

DATA = ROOT / "tests" / "data" / "care_sentiment.jsonl"
LABELS = ("positive", "neutral", "negative", "unknown")


def load(path: Path = DATA) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def metrics(gold: Sequence[str], pred: Sequence[str]) -> dict[str, float]:
    """accuracy, macro-F1 over the gold labels present, negative recall and precision."""
    n = len(gold)
    acc = sum(g == p for g, p in zip(gold, pred, strict=True)) / n if n else 0.0
    f1s = []
    per: dict[str, tuple[float, float]] = {}
    for label in LABELS:
        if label not in gold:
            continue
        tp = sum(g == p == label for g, p in zip(gold, pred, strict=True))
        fp = sum(p == label and g != label for g, p in zip(gold, pred, strict=True))
        fn = sum(g == label and p != label for g, p in zip(gold, pred, strict=True))
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1s.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
        per[label] = (prec, rec)
    neg_p, neg_r = per.get("negative", (0.0, 0.0))
    return {
        "accuracy": acc,
        "macro_f1": sum(f1s) / len(f1s) if f1s else 0.0,
        "neg_recall": neg_r,
        "neg_precision": neg_p,
    }


def evaluate(items: Sequence[dict[str, str]]) -> dict[str, dict[str, float]]:
    gold = [it["label"] for it in items]
    care = [score(it["text"]).label for it in items]
    plain = [score_plain(it["text"]).label for it in items]
    out = {"score": metrics(gold, care), "score_plain": metrics(gold, plain)}
    en = [i for i, it in enumerate(items) if it["lang"] == "en"]
    out["score"]["en_accuracy"] = metrics([gold[i] for i in en], [care[i] for i in en])["accuracy"]
    out["score_plain"]["en_accuracy"] = metrics([gold[i] for i in en], [plain[i] for i in en])[
        "accuracy"
    ]
    return out


def throughput(fn: Callable[[str], object], texts: Sequence[str], repeat: int) -> float:
    """Best-of-``repeat`` texts per second."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for t in texts:
            fn(t)
        best = min(best, time.perf_counter() - t0)
    return len(texts) / best


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--errors", choices=("dev", "test"), help="list misclassified items")
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args(argv)

    items = load(args.data)
    for split in ("dev", "test"):
        part = [it for it in items if it["split"] == split]
        res = evaluate(part)
        print(f"== {split} ({len(part)} items)")
        print(f"   {'':12} {'acc':>6} {'macroF1':>8} {'negRec':>7} {'negPrec':>8} {'enAcc':>6}")
        for name in ("score", "score_plain"):
            m = res[name]
            print(
                f"   {name:12} {m['accuracy']:6.3f} {m['macro_f1']:8.3f} "
                f"{m['neg_recall']:7.3f} {m['neg_precision']:8.3f} {m['en_accuracy']:6.3f}"
            )
        if args.errors == split:
            for it in part:
                s = score(it["text"])
                if s.label != it["label"]:
                    print(f"   ! {it['label']:>8} -> {s.label:<8} {s.compound:+.2f} {it['text']}")

    texts = [it["text"] for it in items if it["lang"] == "en"]
    for t in texts[:5]:  # warm up: lazy loads out of the timing
        score(t)
        score_plain(t)
    plain_tps = throughput(score_plain, texts, args.repeat)
    care_tps = throughput(score, texts, args.repeat)
    care_en_tps = throughput(lambda t: score(t, "en"), texts, args.repeat)
    plain_tps = max(plain_tps, throughput(score_plain, texts, args.repeat))
    print(f"== throughput ({len(texts)} English texts, best of {args.repeat})")
    print(f"   score_plain      {plain_tps:9.0f} texts/s")
    print(f"   score            {care_tps:9.0f} texts/s   cost ratio {plain_tps / care_tps:.2f}x")
    print(
        f"   score(lang='en') {care_en_tps:9.0f} texts/s   cost ratio {plain_tps / care_en_tps:.2f}x"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
