"""Label mentions with the care team's starter tags (complaint, undelivered, billing, ...).

Labels are what makes a social inbox workable: agents filter by them, reports count them,
and a complaint or an undelivered parcel must never hide among compliments. The rules are
plain keyword phrases a care lead can edit in the config (``tags.<tag>`` lists), with
``re:<regex>`` as an escape hatch.

Tagging runs on every mention of every poll, so it must stay far cheaper than sentiment
scoring. All keyword phrases of all tags are compiled into one trie-shaped regular
expression that the engine tries only at word starts; ``re:`` rules are searched one by one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from itertools import pairwise, repeat

__all__ = ["DEFAULT_TAG_RULES", "TAG_PATTERN", "TAG_RULE", "Tagger"]

#: A tag name: lower-case letters (any script), digits, '-' and '_', starting with a letter
#: or digit, so '+-c', '+bad tag' and a stray option such as '--json' never become tags.
TAG_PATTERN = re.compile(r"[^\W_][\w-]{0,39}")
TAG_RULE = "letters, digits, '-' and '_', starting with a letter or digit (up to 40 characters)"

DEFAULT_TAG_RULES: dict[str, tuple[str, ...]] = {
    # Returns, warranty claims and plain unhappiness: the thing a care team must not miss.
    "complaint": (
        "broken",
        "damaged",
        "defective",
        "faulty",
        "terrible",
        "awful",
        "horrible",
        "worst",
        "never again",
        "not happy",
        "unhappy",
        "not impressed",
        "disappointed",
        "disappointing",
        "unacceptable",
        "ridiculous",
        "useless",
        "rubbish",
        "garbage",
        "poor quality",
        "poor service",
        "bad service",
        "rude",
        "scam",
        "ripped off",
        "complaint",
        "complain",
        "return",
        "returns",
        "returning",
        "send it back",
        "sent it back",
        "warranty",
        "wrong item",
        "wrong size",
        "wrong colour",
        "wrong color",
        "missing item",
        "doesn't work",
        "does not work",
        "stopped working",
        "not working",
        "fell apart",
        "still waiting",
        "no answer",
        "no response",
        "no reply",
        "ignored",
        "fed up",
        "sick of",
        "shocking",
        "appalling",
        "joke",
    ),
    # Public praise worth a thank-you (and a retweet).
    "review": (
        "love my",
        "love it",
        "love them",
        "loving my",
        "obsessed with",
        "5 stars",
        "five stars",
        "10/10",
        "highly recommend",
        "would recommend",
        "recommend",
        "just got my",
        "just received my",
        "finally got my",
        "so happy with",
        "really happy with",
        "great quality",
        "amazing quality",
        "best purchase",
        "unboxing",
        "haul",
    ),
    # Parcels that never came, got lost or bounced back.
    "undelivered": (
        "never arrived",
        "hasn't arrived",
        "has not arrived",
        "not arrived",
        "didn't arrive",
        "did not arrive",
        "still not here",
        "not delivered",
        "wasn't delivered",
        "was not delivered",
        "never delivered",
        "not been delivered",
        "not received",
        "haven't received",
        "have not received",
        "never received",
        "didn't receive",
        "did not receive",
        "where is my order",
        "where's my order",
        "where is my parcel",
        "where's my parcel",
        "where is my package",
        "where's my package",
        "where is my delivery",
        "where's my delivery",
        "lost",
        "missing parcel",
        "missing package",
        "tracking hasn't updated",
        "tracking has not updated",
        "tracking not updated",
        "tracking hasn't moved",
        "tracking says delivered",
        "marked as delivered",
        "stuck in transit",
        "still in transit",
        "returned to sender",
        "bounced",
        "failed delivery",
        "delivery failed",
    ),
    # People ordering through messages because the shop failed them.
    "order": (
        "ordered",
        "my order",
        "place an order",
        "place order",
        "placing an order",
        "want to order",
        "like to order",
        "checkout",
        "check out page",
        "add to cart",
        "add to basket",
        "pre-order",
        "preorder",
        "back in stock",
        "out of stock",
    ),
    # Press, partners and big accounts (large follower counts are added by ``Tagger``).
    "vip": (
        "vip",
        "influencer",
        "collab",
        "collaboration",
        "partnership",
        "journalist",
        "brand ambassador",
        "sponsored",
        "pr package",
        "press inquiry",
        "media inquiry",
    ),
    "discount": (
        "code",
        "discount",
        "discounts",
        "coupon",
        "coupons",
        "promo",
        "promo code",
        "voucher",
        "sale",
        "% off",
        "black friday",
        "cyber monday",
        "free shipping",
        "deal",
        "deals",
        "price match",
        "student discount",
    ),
    "billing": (
        "charged",
        "charge",
        "charges",
        "double charged",
        "overcharged",
        "invoice",
        "invoices",
        "receipt",
        "payment",
        "payments",
        "billed",
        "billing",
        "refund",
        "refunds",
        "refunded",
        "money back",
        "card declined",
        "declined",
        "transaction",
        "chargeback",
        "paypal",
        "klarna",
        "subscription",
    ),
    "question": (
        "?",
        "how do i",
        "how can i",
        "how long",
        "how much",
        "can i",
        "can you",
        "could you",
        "could i",
        "is there",
        "do you",
        "does anyone",
        "anyone know",
        "when will",
        "when is",
        "when does",
        "where can",
        "where is",
        "where's",
        "what is",
        "what's",
        "why is",
        "why has",
        "why does",
        "any update",
        "any news",
        "wondering",
    ),
}

_REGEX_PREFIX = "re:"

# ASCII text is cut into words with one table lookup per byte: every byte that is not
# [a-z0-9_] becomes a space. Other text goes through the Unicode-aware ``\W``.
_ASCII_SEPARATORS = bytes(
    b if (48 <= b <= 57 or 97 <= b <= 122 or b == 95 or b >= 128) else 32 for b in range(256)
)
_NON_WORD = re.compile(r"\W+")
_NO_LABELS: frozenset[str] = frozenset()
_NO_LABELS_FOREVER = repeat(_NO_LABELS)  # default argument stream for ``dict.get`` in ``map``


def _split_words(lowered: str) -> list[bytes]:
    """The words of an already lower-cased text, as UTF-8 bytes (cheap to build and hash).

    Punctuation and spaces split words; so does any non-word character (emoji, “quotes”),
    which only the few words that contain non-ASCII bytes need a closer look for.
    """
    words = lowered.encode("utf-8", "surrogatepass").translate(_ASCII_SEPARATORS).split()
    if lowered.isascii():
        return words
    result: list[bytes] = []
    for word in words:
        if word.isascii():
            result.append(word)
        else:
            cleaned = _NON_WORD.sub(" ", word.decode("utf-8", "surrogatepass"))
            result.extend(cleaned.encode("utf-8", "surrogatepass").split())
    return result


# Tagging and sensitive-topic detection usually look at the same text one after the other.
_last_words: tuple[str, list[bytes]] = ("", [])


def _words(lowered: str) -> list[bytes]:
    """``_split_words`` remembering the last text; callers must not change the list."""
    global _last_words
    last_text, last_words = _last_words
    if lowered == last_text:
        return last_words
    words = _split_words(lowered)
    _last_words = (lowered, words)
    return words


def _loose_regex(phrase: str) -> re.Pattern[str]:
    """A phrase that starts with punctuation ("?", "% off", "#blackfriday"), matched as written."""
    source = r"\s+".join(re.escape(part) for part in phrase.split())
    if phrase[-1].isalnum() or phrase[-1] == "_":
        source += r"(?!\w)"
    return re.compile(source)


def _compile_user_regex(label: str, index: int, source: str) -> re.Pattern[str]:
    try:
        return re.compile(source, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"{label}[{index}]: invalid regular expression: {exc}") from None


class PhraseMatcher:
    """Which labels of ``rules`` match a text: shared by :class:`Tagger` and topic detection.

    A pattern is a keyword or phrase, or ``re:<python regex>`` (case-insensitive).
    Keywords match case-insensitively as whole words, with any whitespace or punctuation
    between their words ("pre-order" also matches "pre order", "hasn't" also "hasn’t").
    A keyword that starts with punctuation ("?", "% off", "#blackfriday") is matched as
    written instead, anywhere in the text.

    Cost: one split of the text into words and set look-ups, whatever the number of
    keywords; each ``re:`` pattern adds one regex search.
    """

    def __init__(self, rules: Mapping[str, Sequence[str]]):
        self.labels: tuple[str, ...] = tuple(rules)
        single: dict[bytes, set[str]] = {}  # one-word keyword -> labels
        phrases: dict[tuple[bytes, bytes], dict[bytes, set[str]]] = {}  # pair -> " a b c "
        loose: dict[str, set[str]] = {}
        self._regexes: list[tuple[str, re.Pattern[str]]] = []
        for label, patterns in rules.items():
            if isinstance(patterns, str | bytes):
                raise ValueError(f"{label}: expected a list of patterns, not a single string")
            for index, pattern in enumerate(patterns):
                if not isinstance(pattern, str):
                    raise ValueError(f"{label}[{index}]: pattern must be a string")
                if pattern.startswith(_REGEX_PREFIX):
                    source = pattern[len(_REGEX_PREFIX) :]
                    if not source:
                        raise ValueError(f"{label}[{index}]: empty regular expression")
                    self._regexes.append((label, _compile_user_regex(label, index, source)))
                    continue
                phrase = " ".join(pattern.lower().split())
                if not phrase:
                    raise ValueError(f"{label}[{index}]: empty pattern")
                words = _words(phrase)
                if not words or not (phrase[0].isalnum() or phrase[0] == "_"):
                    loose.setdefault(phrase, set()).add(label)
                elif len(words) == 1:
                    single.setdefault(words[0], set()).add(label)
                else:
                    # Indexed by the first two words: a set intersection with the text's word
                    # pairs finds candidates, and only phrases of 3+ words need a second look.
                    needle = b" " + b" ".join(words) + b" " if len(words) > 2 else b""
                    group = phrases.setdefault((words[0], words[1]), {})
                    group.setdefault(needle, set()).add(label)
        # One table for words and word pairs: two C-level set intersections find every hit.
        self._table: dict[bytes | tuple[bytes, bytes], frozenset[str]] = {
            word: frozenset(labels) for word, labels in single.items()
        }
        self._long: dict[tuple[bytes, bytes], tuple[tuple[bytes, frozenset[str]], ...]] = {}
        for pair, group in phrases.items():
            short = group.pop(b"", set())
            if short:
                self._table[pair] = frozenset(short)
            if group:
                self._long[pair] = tuple((needle, frozenset(ls)) for needle, ls in group.items())
        self._word_keys: frozenset[bytes | tuple[bytes, bytes]] = frozenset(single)
        self._pair_keys = frozenset(phrases)
        self._long_keys = frozenset(self._long)
        self._loose = tuple(
            (phrase[0], frozenset(labels), None if len(phrase) == 1 else _loose_regex(phrase))
            for phrase, labels in loose.items()
        )

    def matching(self, text: str) -> set[str]:
        """The labels with at least one pattern found in ``text`` (unordered)."""
        lowered = text.lower()
        return self.matching_words(text, lowered, _words(lowered))

    def matching_words(self, text: str, lowered: str, words: list[bytes]) -> set[str]:
        """``matching`` for a caller that already has ``text.lower()`` and its words."""
        found: set[str] = set()
        table = self._table
        hits: frozenset[bytes | tuple[bytes, bytes]] = self._word_keys.intersection(words)
        if len(words) > 1:
            pairs = self._pair_keys.intersection(pairwise(words))
            if pairs:
                hits = hits.union(pairs)
                long_pairs = self._long_keys.intersection(pairs)
                joined = b" " + b" ".join(words) + b" " if long_pairs else b""
                for pair in long_pairs:
                    for needle, labels in self._long[pair]:
                        if needle in joined:
                            found |= labels
        found.update(*map(table.get, hits, _NO_LABELS_FOREVER))
        for first_char, labels, regex in self._loose:
            if (
                first_char in lowered
                and not labels <= found
                and (regex is None or regex.search(lowered))
            ):
                found |= labels
        for label, user_regex in self._regexes:
            if label not in found and user_regex.search(text):
                found.add(label)
        return found


class Tagger:
    """Tags for one mention, in rule order, without duplicates."""

    def __init__(
        self,
        rules: Mapping[str, Sequence[str]] | None = None,
        *,
        vip_followers: int | None = 10_000,
    ):
        self._matcher = PhraseMatcher(DEFAULT_TAG_RULES if rules is None else rules)
        self._vip_followers = vip_followers
        order = self._matcher.labels
        # Big accounts are VIPs even when the rules have no "vip" entry: tag them last then.
        self._order = order if "vip" in order or vip_followers is None else (*order, "vip")

    @property
    def tag_names(self) -> tuple[str, ...]:
        """Every tag this tagger can produce, in output order."""
        return self._order

    def tags(self, text: str, *, followers: int | None = None) -> tuple[str, ...]:
        found = self._matcher.matching(text)
        if (
            followers is not None
            and self._vip_followers is not None
            and followers >= self._vip_followers
        ):
            found.add("vip")
        if not found:
            return ()
        return tuple(tag for tag in self._order if tag in found)
