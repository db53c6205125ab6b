"""What a spike alert says: the worst mentions, what they talk about, where, and why it fired.

Separate from ``alerts`` (the rule and its state) because this is wording and examples for
people: the same text goes to the terminal, the Slack-compatible webhook and the e-mail.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from social_watch.alerts import AlertRun, ScopeResult
from social_watch.config import Config
from social_watch.stopwords import stopwords
from social_watch.store import alerts as alert_store
from social_watch.store.base import Store
from social_watch.untrusted import plain

_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_HANDLE = re.compile(r"@[\w.-]+")
_WORD = re.compile(r"[^\W\d_]{3,}(?:['’][^\W\d_]+)?")
STOPWORDS = stopwords()  # every shop language (data/stopwords.txt)


@dataclass(frozen=True)
class Summary:
    """What the team reads first: the worst mentions, what they talk about, where."""

    top: tuple[dict[str, Any], ...]
    terms: tuple[tuple[str, int], ...]
    networks: tuple[tuple[str, int], ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "top": list(self.top),
            "terms": [{"term": t, "count": n} for t, n in self.terms],
            "networks": dict(self.networks),
        }


def terms(
    texts: Sequence[str], limit: int = 8, skip: frozenset[str] = frozenset()
) -> tuple[tuple[str, int], ...]:
    """Most common words across texts (each counted once per text): no handles, links,
    stopwords, nor the ``skip`` words (the brand's own name: it is in every mention)."""
    counter: Counter[str] = Counter()
    for text in texts:
        words = _WORD.findall(_HANDLE.sub(" ", _URL.sub(" ", text.casefold())))
        counter.update({w for w in words if w not in STOPWORDS and w not in skip})
    ranked = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    return tuple(ranked[:limit])


def summarize(
    db: Store,
    keywords: Sequence[str] | None,
    start: datetime,
    end: datetime,
    top: int = 5,
    skip: frozenset[str] = frozenset(),
) -> Summary:
    """Negative mentions of one scope in the window: top by sentiment, terms, networks."""
    rows = alert_store.negative_mentions(db, keywords, start, end)
    networks = Counter(r[1] for r in rows)
    # One entry per distinct text: a copied complaint or a repost wave shows once, with a count.
    seen: dict[str, dict[str, Any]] = {}
    for r in rows:
        key = " ".join(r[4].casefold().split())
        if key in seen:
            seen[key]["same_text"] += 1
        elif len(seen) < top:
            seen[key] = {
                "id": r[0],
                "network": r[1],
                "url": r[2],
                "author": r[3],
                "text": r[4],
                "created_at": r[5],
                "same_text": 1,
            }
    return Summary(
        top=tuple(seen.values()),
        terms=terms([r[4] for r in rows], skip=skip),
        networks=tuple(sorted(networks.items(), key=lambda kv: (-kv[1], kv[0]))),
    )


# --- words for people -------------------------------------------------------------------


def _hm(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "?"


def _minutes(value: timedelta) -> str:
    minutes = value.total_seconds() / 60
    return f"{minutes / 60:g} h" if minutes >= 120 and minutes % 60 == 0 else f"{minutes:g} min"


def describe_scope(s: ScopeResult, window: timedelta) -> list[str]:
    v = s.verdict
    head = {
        "fired": "ALERT",
        "reminder": "STILL FIRING",
        "ongoing": "ongoing",
        "settling": "settling",
        "recovered": "recovered",
        "calm": "calm" if v.judged else "not enough history",  # cannot judge: not "calm"
    }[s.event]
    lines = [
        f"{head}: {s.label} — {v.observed} negative of {v.total} mentions in the last "
        f"{_minutes(window)}"
    ]
    if s.event in ("ongoing", "settling"):
        still = "still going on" if s.event == "ongoing" else "below the threshold now"
        lines.append(
            f"  spike since {_hm(s.started_at)}, {still}; already alerted, "
            f"no new alert before {_hm(s.next_alert_at)}"
        )
    elif s.event == "recovered":
        lines.append("  the spike is over: back within the baseline")
    if v.z is not None:
        lines.append(
            f"  baseline: median {v.median:g}, MAD {v.mad:g} (spread used {v.spread:.2f}) over "
            f"{len(v.samples)} windows {list(v.samples)}"
        )
        ratio = f"{v.ratio:.1f}×" if v.ratio is not None else "n/a (median 0)"
        lines.append(f"  factor {ratio}, modified z-score {v.z:.2f}")
    if v.share is not None:
        base = f"{v.baseline_share:.0%}" if v.baseline_share is not None else "n/a"
        lines.append(f"  negative share {v.share:.0%} (baseline {base})")
    lines.append(f"  {'rule fired' if v.fired else 'rule'}: {v.reason}")
    if s.summary and (s.summary.top or s.summary.terms):
        nets = ", ".join(f"{n} {c}" for n, c in s.summary.networks)
        lines.append(f"  networks: {nets}")
        lines.append("  terms: " + ", ".join(f"{t} ({n})" for t, n in s.summary.terms))
        lines.append("  top negative mentions:")
        for m in s.summary.top:
            text = plain(m["text"])  # customer text: no escape sequence
            text = text if len(text) <= 140 else text[:139] + "…"
            same = f" (×{m['same_text']})" if m["same_text"] > 1 else ""
            lines.append(f"    - [{m['network']}] @{plain(m['author'])}: {text}{same}")
            if m["url"]:
                lines.append(f"      {plain(m['url'])}")
    return lines


def describe(run: AlertRun, scopes: Sequence[ScopeResult] | None = None) -> str:
    """The readable summary `social-watch alert` prints and notifications carry."""
    lines = [
        f"Negative-spike check at {_hm(run.now)}: window {_minutes(run.window)}, "
        f"baseline {run.baseline.total_seconds() / 86400:g} days"
    ]
    for s in run.scopes if scopes is None else scopes:
        lines += describe_scope(s, run.window)
    return "\n".join(lines)


def notification(config: Config, run: AlertRun, scopes: Sequence[ScopeResult]) -> Any:
    from social_watch.notify import Notification

    names = ", ".join(s.label for s in scopes)
    title = f"{config.brand_name}: negative spike ({names})"
    return Notification(title=title, text=describe(run, scopes))


def recovery_notification(config: Config, run: AlertRun, scopes: Sequence[ScopeResult]) -> Any:
    from social_watch.notify import Notification

    names = ", ".join(s.label for s in scopes)
    return Notification(
        title=f"{config.brand_name}: negative spike over ({names})", text=describe(run, scopes)
    )
