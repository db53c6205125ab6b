"""How long a reply is, the way each network counts it, before anything is sent.

A reply refused by the network after the agent wrote it wastes the minutes that matter
most, and a hand-written approximation is wrong exactly on the texts customers send
(emoji with skin tones, ZWJ families, CJK, combining accents). So each rule delegates to
a well-kept implementation of the network's own counting:

- X: 280 *weighted* characters, counted by ``twitter-text-parser`` (Twitter's own
  algorithm: URLs count 23, CJK count 2, an emoji sequence counts 2).
- Bluesky: 300 graphemes (``grapheme``, Unicode extended grapheme clusters).
- Mastodon: 500 characters where every http(s) URL counts 23 and a remote mention
  ``@user@domain`` counts as ``@user`` (Mastodon's ``StatusLengthValidator``, which
  counts grapheme clusters).
- Reddit: 10,000 characters (code points) per comment.

Importing this module imports no network library; the counting libraries load on first use.
"""

from __future__ import annotations

import re

from social_watch.connector import LengthRule
from social_watch.errors import UsageError

RULES: dict[str, LengthRule] = {
    "x": LengthRule(280, "twitter"),
    "bluesky": LengthRule(300, "graphemes"),
    "mastodon": LengthRule(500, "url23"),
    "reddit": LengthRule(10_000, "chars"),
}
_UNITS = {
    "twitter": "weighted characters",
    "graphemes": "characters (graphemes)",
    "url23": "characters (URLs count 23)",
    "chars": "characters",
}
MASTODON_URL_LENGTH = 23
# Mastodon counts "@user@example.social" as "@user" (the local part only).
_REMOTE_MENTION = re.compile(r"(?<![\w/])(@[A-Za-z0-9_]+)@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


class TooLong(UsageError):
    """The reply does not fit the network's length rule; nothing was sent."""

    def __init__(self, count: int, rule: LengthRule, where: str):
        self.count = count
        self.rule = rule
        over = count - rule.limit
        super().__init__(
            f"reply too long for {where}: {count} of {rule.limit} {_UNITS[rule.counting]}, "
            f"{over} over; shorten it or move the answer to e-mail (`to-email`)"
        )


def rule_for(network: str) -> LengthRule | None:
    """The length rule of a network; None where social-watch cannot post anyway."""
    return RULES.get(network)


def count(rule: LengthRule, text: str) -> int:
    """``text``'s length as the network of ``rule`` counts it."""
    if rule.counting == "twitter":
        from twitter_text import parse_tweet

        return int(parse_tweet(text).weightedLength)
    if rule.counting == "graphemes":
        import grapheme

        return int(grapheme.length(text))
    if rule.counting == "url23":
        return _mastodon_length(text)
    if rule.counting == "chars":
        return len(text)
    raise ValueError(f"unknown counting {rule.counting!r}")


def _mastodon_length(text: str) -> int:
    import grapheme
    from twitter_text import extract_urls_with_indices

    parts: list[str] = []
    urls = 0
    last = 0
    for found in extract_urls_with_indices(text, extract_urls_without_protocol=False):
        start, end = found["indices"]
        if not found["url"].lower().startswith(("http://", "https://")):
            continue
        parts.append(text[last:start])
        urls += 1
        last = end
    parts.append(text[last:])
    rest = _REMOTE_MENTION.sub(r"\1", "".join(parts))
    return int(grapheme.length(rest)) + urls * MASTODON_URL_LENGTH


def check_length(network_or_rule: str | LengthRule | None, text: str) -> tuple[int, int | None]:
    """(count, limit) of ``text``; raises ``TooLong`` saying by how much it is over.

    A network without a rule (the replay connector's own network) returns its plain
    character count and ``None`` as the limit.
    """
    if isinstance(network_or_rule, LengthRule):
        rule: LengthRule | None = network_or_rule
        where = f"a {network_or_rule.limit}-character post"
    else:
        rule = rule_for(network_or_rule) if network_or_rule else None
        where = str(network_or_rule)
    if rule is None:
        return len(text), None
    n = count(rule, text)
    if n > rule.limit:
        raise TooLong(n, rule, where)
    return n, rule.limit


def describe(network: str, n: int, limit: int | None) -> str:
    """'84/280 weighted characters' for dry runs and confirmations."""
    rule = rule_for(network)
    if limit is None or rule is None:
        return f"{n} characters"
    return f"{n}/{limit} {_UNITS[rule.counting]}"
