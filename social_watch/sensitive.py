"""Spot personal data and private topics in public mentions, and mask them.

Social networks are public: anything personal (order numbers, addresses, payment or account
problems) must move to e-mail or a direct message, and must not be copied into digests,
reports or logs. ``SensitiveDetector`` tells the agent *why* a mention should go private
(``reasons``) and gives everyone else a copy without the personal data (``mask``).

The detectors are heuristics tuned for customer-care messages: they prefer masking a
harmless number to leaking a phone number, yet keep dates, times, prices, years and
tracking codes readable. Cheap prefilters (``@`` present, any digit present) keep the
common case - a text without personal data - to a few microseconds.

``strict=True`` is the guard on the brand's own public replies: nothing identifying may
go out there, so it also refuses what stays readable in a customer's message - "ref
1234567", "your order (1234567)", "card ending 1111", tracking codes (UPS 1Z…), IBANs
(mod-97 checked), e-mail addresses spelled out ("jane dot doe at gmail dot com"), CZ/SK/PL
mobile numbers without a "call" before them, and CZ/SK/PL street addresses with a
postcode. Fullwidth forms ("＠", "６０１") are read as ASCII everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from social_watch.tagging import PhraseMatcher, _words

__all__ = [
    "DEFAULT_ORDER_PATTERN",
    "DEFAULT_TOPICS",
    "KINDS",
    "Finding",
    "SensitiveDetector",
    "luhn_valid",
]

# "#123456", "order 1234567", "ORD-12345", "order no. 12345678", "Order number: 12345".
# Compiled case-insensitively. A bare "#" needs 5+ digits so "#2024" stays a hashtag.
# It starts with a character class so the regex engine can skip ahead quickly.
DEFAULT_ORDER_PATTERN = (
    r"[#oO](?:(?<![\w#]#)[0-9]{5,12}"
    r"|(?<![\w#][oO])[rR][dD](?:[eE][rR])?(?:[ \t]*(?:number|num|nr|no|id|ref)\.?)?"
    r"[ \t]*[:#-]?[ \t]*#?[0-9]{4,12})(?!\w)"
    # the same in the languages customers write to shops in: de, cs, es, fr, nl, pl
    r"|(?<!\w)(?:bestell(?:ung|nummer|nr)|auftrag(?:snummer)?|objedn[aá]vk[ayuo]"
    r"|pedido|commande|bestelling|zam[oó]wieni[ae])\.?"
    r"(?:[ \t]*(?:nr|no|n[oº°]|č|num)\.?)?[ \t]*[:#-]?[ \t]*#?[0-9]{4,12}(?!\w)"
)

DEFAULT_TOPICS: dict[str, tuple[str, ...]] = {
    "refund": (
        "refund", "refunds", "refunded", "refunding", "money back", "reimburse",
        "reimbursed", "reimbursement", "return label",
    ),
    "billing": (
        "charged", "double charged", "charged twice", "overcharged", "invoice", "invoices",
        "payment", "payments", "billed", "billing", "bank statement", "card declined",
        "transaction",
    ),
    "password": (
        "password", "passwords", "reset password", "reset my password", "passcode",
        "verification code", "2fa", "one time code",
    ),
    "account": (
        "my account", "your account", "customer account", "login", "log in", "logged out",
        "sign in", "signin",
        "locked out", "hacked", "compromised", "username", "deactivated", "suspended",
    ),
    "legal": (
        "lawyer", "lawyers", "attorney", "solicitor", "sue", "suing", "lawsuit",
        "legal action", "court", "small claims", "chargeback", "gdpr", "data protection",
        "trading standards", "consumer rights", "ombudsman",
    ),
}  # fmt: skip

KINDS: tuple[str, ...] = (
    "email", "phone", "card", "order_number", "address", "iban", "tracking",
)  # fmt: skip
# Cheap prefilter for the default order pattern: one of these must be in the lowered text.
_ORDER_HINTS = ("ord", "bestell", "auftrag", "objedn", "pedido", "commande", "zam")
# who wins an overlap
_PRIORITY = ("card", "iban", "email", "order_number", "tracking", "phone", "address")
_MASKS = {
    "email": "[email]",
    "phone": "[phone]",
    "card": "[card]",
    "order_number": "[order]",
    "address": "[address]",
    "iban": "[iban]",
    "tracking": "[tracking]",
}


@dataclass(frozen=True)
class Finding:
    """One piece of personal data: ``text[start:end] == value``."""

    kind: str
    start: int
    end: int
    value: str


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum every payment card number passes (ASCII digits only)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


# Found from the "@" (a literal the engine jumps to), then the local part is read backwards.
# Lengths are bounded so hostile input cannot make matching quadratic.
_EMAIL_DOMAIN = re.compile(r"@(?:[^\W_][\w-]{0,62}\.){1,8}[^\W\d_]{2,24}(?![\w-]|\.[^\W_])")
_EMAIL_LOCAL = re.compile(r"[\w.%+-]{1,64}\Z")
_ANY_DIGIT = re.compile(r"[0-9]")
_DIGIT_RUN = re.compile(r"[0-9]+")
_NOT_DIGIT_BYTES = bytes(b for b in range(256) if not 48 <= b <= 57)

# 13-19 digits, single spaces or dashes between groups, not part of a longer number.
_CARD = re.compile(r"(?<![0-9][ -])(?<!\+)[0-9](?:[ -]?[0-9]){12,18}(?![ -]?[0-9])")

# Phone-shaped: optional +country code, optional (area), groups split by one space, dot or
# dash. Python then rules out what only looks like a phone (see ``_phone_ok``).
_PHONE = re.compile(
    r"(?<![\w+#$€£¥%/.,:-])"
    r"(?:\+[0-9]{1,3}[ .-]?)?"
    r"(?:\([0-9]{1,5}\)[ .-]?)?"
    r"[0-9]{1,12}(?:[ .-][0-9]{1,12}){0,6}"
    r"(?![\w%€£$¥]|[.,:/-]?[0-9])"
)
_DATE = re.compile(r"[0-9]{1,4}([./-])[0-9]{1,2}\1[0-9]{1,4}")
_YEAR = re.compile(r"(?:19|20)[0-9]{2}")
_THOUSANDS = re.compile(r"[0-9]{1,3}(?:([ .])[0-9]{3})(?:\1[0-9]{3})*")
_GROUP_SPLIT = re.compile(r"[ .-]")
# The words just before a number say what it is: "tracking number 1234 5678 9012" is not a
# phone, "call me on 601 234 567" is.
_NOT_PHONE_WORDS = frozenset(
    b"tracking track trace order ord invoice inv ref reference parcel package shipment "
    b"consignment awb account acct customer iban sku item case ticket receipt serial "
    b"transaction confirmation usd eur gbp czk chf rs kr".split()
)
_FILLER_WORDS = frozenset(b"number num no nr code id is was my the your our".split())
_PHONE_WORDS = frozenset(
    b"call phone tel telephone mobile cell cellphone whatsapp sms text ring reach contact "
    b"number nr no".split()
)
_CURRENCY_AFTER = re.compile(
    r"\s?(?:[$€£¥₹]|(?:usd|eur|gbp|czk|chf|kč|kc|dollars?|euros?|pounds?|bucks|pcs|items|"
    r"units|km|kg|miles|points|followers|views|likes)\b)",
    re.IGNORECASE,
)

_STREET_WORDS = (
    r"street|st|road|rd|avenue|ave|av|lane|ln|drive|dr|boulevard|blvd|court|ct|way|place|pl|"
    r"square|sq|terrace|close|crescent|cres|highway|hwy|parkway|pkwy|row|mews|grove|gardens|"
    r"walk|hill"
)
# Words that, right before a number, make "3 days on the way" a false street line.
_NOT_STREET_NAME = (
    r"(?!(?i:on|the|a|an|in|of|to|for|my|your|our|and|or|by|at|per|from|this|that|all|more|"
    r"days?|weeks?|months?|hours?|minutes?|mins?|times?|items?|pcs|orders?|people|years?)\b)"
)
_CITY = r"[A-Z][a-z\u00c0-\u024f][\w'-]*(?:[ \t]+[A-Z][a-z\u00c0-\u024f][\w'-]*){0,2}"
_POSTCODE = (
    r"(?:[A-Z]{1,2}[0-9][A-Z0-9]?[ \t]?[0-9][A-Z]{2}"  # UK: NW1 6XE, SW1A 2AA
    r"|[A-Z]{2}[ \t]+[0-9]{5}(?:-[0-9]{4})?"  # US state + ZIP: NY 10001
    r"|[0-9]{5}(?:-[0-9]{4})?|[0-9]{3}[ \t]?[0-9]{2})(?!\w)"  # ZIP, DE PLZ, CZ/SK PSČ
)
# ", London NW1 6XE", ", Springfield, IL 62704", ", 10115 Berlin"
_TAIL = (
    r"(?:,?[ \t]+" + _CITY + r")?(?:,?[ \t]+" + _POSTCODE + r")?"
    r"(?:,?[ \t]+" + _CITY + r"(?<=[a-z]))?"
)
# "221B Baker Street", "123 Main St, Apt 4", "10 Downing Street, London SW1A 2AA";
# matched at a house number.
_STREET_LINE = re.compile(
    r"(?<![\w.,])[0-9]{1,5}[A-Za-z]?,?[ \t]+"
    + _NOT_STREET_NAME
    + r"(?:[^\W\d_][\w'-]*[ \t]+){1,3}(?i:"
    + _STREET_WORDS
    + r")\b(?:\.(?=,))?"
    r"(?:,?[ \t]*(?i:apt|apartment|suite|ste|unit|flat|floor|fl)\.?[ \t]*#?[0-9]{1,5}[A-Za-z]?"
    r"|,?[ \t]*#[0-9]{1,5})?" + _TAIL
)
_STREET_WORD_SET = frozenset(_STREET_WORDS.encode().split(b"|"))
# "Hauptstraße 5", "Berliner Str. 12a": the street comes before the number, so this is
# matched on the text just before a house number. ("Vinohradská 12" has no street word.)
_STREET_SUFFIXES = ("str", "gasse", "weg", "platz", "allee", "damm", "ulice", "náměstí")
_SUFFIX_STREET_BEFORE = re.compile(
    r"(?<!\w)(?:[A-ZÄÖÜ][\w'-]*[ \t]+(?=(?i:straße|strasse|str\.)))?[^\W\d_]*"
    r"(?i:straße|strasse|str\.|gasse|weg|platz|allee|damm|ulice|náměstí|nábřeží)[ \t]*\Z"
)
_SUFFIX_STREET_NUMBER = re.compile(r"[0-9]{1,4}(?:/[0-9]{1,4})?[a-z]?(?![\w/-])" + _TAIL)
_ADDRESS_HINT = re.compile(r"address(?:[ \t]+is|:)[ \t]*:?[ \t]*")  # on lower-cased text
_ADDRESS_HINT_VALUE = re.compile(r"[^\n!?;]{3,120}?(?=[.!?;]?[ \t]*(?:\n|$)|[!?;]|\.[ \t])")
_UNIT_BEFORE = re.compile(
    r"(?i:flat|apt|apartment|unit|suite|no\.?)[ \t]*#?[0-9]{1,5}[A-Za-z]?,?[ \t]*$"
)


# Fullwidth forms ("＠", "６０１") read as their ASCII twins: one code point for one, so
# every position found in the translated text is the same position in the original.
_FULLWIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0xFE6B: 0x40, 0x3002: 0x2E}
_HAS_FULLWIDTH = re.compile("[\uff01-\uff5e\ufe6b\u3002]")

# --- the stricter guard for public replies (``strict=True``) ------------------------------
# A reply the brand posts must carry no identifier at all, so these also catch what a
# customer's own message may keep readable (tracking codes, "ref 1234567").
_ID_WORDS = (
    r"order|orders|ord|ref|reference|invoice|inv|account|acct|customer|booking|"
    r"confirmation|case|ticket|receipt|contract|claim|return|rma|"
    r"objedn[aá]vk[ayuo]|faktur[ayu]|bestellung|zam[oó]wieni[ae]"
)
# "order number is 1234567", "order (1234567)", "ref: 1234567", "your reference is 1234567".
# Only filler may stand between the word and the number: "orders over 1000 Kč" is a price.
_ID_NUMBER = re.compile(
    r"(?<!\w)(?:" + _ID_WORDS + r")(?:[ \t]*(?:number|num|nr|no|n[oº°]|č|id|code|is|was|"
    r"[:#(\[-]))*\.?[ \t]*[(\[#]?[ \t]*(?:[A-Z]{1,4}-?)?[0-9](?:[ -]?[0-9]){3,15}(?![\w%])",
    re.IGNORECASE,
)
# "card ending 1111", "Visa ending in 4242", "ends with 1111", "last four digits 1111",
# "**** 1111", "xxxx-xxxx-xxxx-1111".
_CARD_WORDS = re.compile(
    r"(?:card|visa|master ?card|maestro|amex|debit|credit|account|karta|kart[ayę])\b",
    re.IGNORECASE,
)
_CARD_END = re.compile(
    r"(?<!\w)(?:end(?:s|ing)?(?:[ \t]+(?:in|with|on))?|last[ \t]+(?:4|four)(?:[ \t]+digits)?"
    r"(?:[ \t]+(?:are|is|of))?)[ \t]*[:#-]?[ \t]*[0-9]{4}(?![0-9])",
    re.IGNORECASE,
)
_CARD_MASKED = re.compile(r"(?:[*x•X]{4}[ -]?){1,3}[0-9]{4}(?![0-9])")
# "jane dot doe at gmail dot com", "jane(at)gmail(dot)com", "jane [at] gmail [dot] com".
_AT = r"(?:[ \t]*[(\[{<][ \t]*at[ \t]*[)\]}>][ \t]*|[ \t]+at[ \t]+)"
_DOT = r"(?:[ \t]*[(\[{<][ \t]*dot[ \t]*[)\]}>][ \t]*|[ \t]+dot[ \t]+|\.)"
_SPELLED_EMAIL = re.compile(
    r"(?<![\w.+-])(?!(?:us|me|you|them|him|her|it|look|visit|write|email|mail|here|there|"
    r"home|work|shop|store|is|are|be|we|i)\b)[\w+-]{1,64}(?:"
    + _DOT
    + r"[\w+-]{1,64}){0,4}"
    + _AT
    + r"[^\W_][\w-]{0,62}(?:"
    + _DOT
    + r"[^\W_][\w-]{0,62}){0,4}"
    + _DOT
    + r"(?:com|net|org|info|biz|io|eu|cz|sk|pl|de|at|ch|uk|co|hu|fr|es|it|nl|me|email)(?!\w)",
    re.IGNORECASE,
)
# UPS (1Z + 16, spaces allowed), and any long code after a parcel word.
_TRACKING = re.compile(
    r"(?<![\w])1Z(?:[ ]?[0-9A-Z]){16}(?![\w])"
    r"|(?<!\w)(?i:tracking|track|trace|parcel|package|shipment|consignment|awb|z[aá]sielk[ay]"
    r"|z[aá]silk[ayu]|przesy[lł]k[ai])(?:[ \t]*(?i:number|num|nr|no|id|code|is|[:#-]))*"
    r"[ \t]*(?=[A-Z0-9 -]*[0-9])[A-Z0-9](?:[ -]?[A-Z0-9]){9,29}(?![\w])"
)
# IBAN: country, check digits, then 11-30 letters or digits (groups of 4 allowed); the
# mod-97 check keeps product codes out.
_IBAN = re.compile(r"(?<![\w])[A-Z]{2}[0-9]{2}(?:[ ]?[A-Z0-9]){11,30}(?![\w])")
# "(+420) 601234567", and "601 234 567" / "512-345-678" (3-3-3, how CZ, SK and PL write
# mobiles) without a word like "call" before it.
_PHONE_PAREN_CC = re.compile(r"\(\+[0-9]{1,3}\)[ .-]?[0-9](?:[ .-]?[0-9]){6,12}(?![0-9])")
_PHONE_333 = re.compile(
    r"(?<![\w+#$€£¥%/.,:-])[1-9][0-9]{2}([ .-])[0-9]{3}\1[0-9]{3}(?![\w%€£$¥]|[.,:/-]?[0-9])"
)
# "Vinohradská 12, 120 00 Praha 2", "ul. Marszałkowska 10/12, 00-590 Warszawa",
# "Hlavná 5, 811 01 Bratislava": a street, a number, a postcode and a town.
_UPPER = "A-ZÁČĎÉĚÍĹĽŇÓÔŘŔŠŤÚŮÝŽĄĆĘŁŃŚŹŻÄÖÜ"
_LOWER = "a-záäčďéěíĺľňóôřŕšťúůýžąćęłńśźżöüß"
_WORD = f"[{_UPPER}][{_LOWER}]+"  # a capitalised word: Vinohradská, Marszałkowska
_NAME = f"{_WORD}(?:[ \t]+[{_UPPER}{_LOWER}][{_LOWER}]+){{0,2}}"  # up to three words
_HOUSE = r"[ \t]+[0-9]{1,4}(?:/[0-9]{1,4})?[a-z]?"  # 12, 10/12, 5a
_CEE_ADDRESS = re.compile(
    r"(?<!\w)(?:(?i:ul|ulica|ulice|nám|náměstí)\.?[ \t]*)?" + _NAME + _HOUSE
    + r",?[ \t]+(?:[0-9]{3}[ \t]?[0-9]{2}|[0-9]{2}-[0-9]{3})[ \t]+" + _WORD
    + r"(?:[ \t]+[0-9]{1,2}(?![0-9]))?"
)  # fmt: skip
_PL_STREET = re.compile(r"(?<!\w)(?i:ul|al|os|pl)\.[ \t]*" + _NAME + _HOUSE)


def iban_valid(value: str) -> bool:
    """The ISO 13616 mod-97 check every IBAN passes."""
    compact = value.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    moved = compact[4:] + compact[:4]
    digits = "".join(str(int(ch, 36)) for ch in moved)
    return int(digits) % 97 == 1


def _strict_spans(text: str, candidates: list[tuple[int, int, str]]) -> None:
    """The identifiers only a public reply must never carry (see ``strict``)."""
    digit = _ANY_DIGIT.search(text) is not None
    if digit:
        for m in _ID_NUMBER.finditer(text):
            if not _CURRENCY_AFTER.match(text, m.end()) and not _YEAR.fullmatch(
                _DIGIT_RUN.findall(m.group())[-1]
            ):
                candidates.append((m.start(), m.end(), "order_number"))
        for m in _CARD_END.finditer(text):
            if (
                _CARD_WORDS.search(text, max(0, m.start() - 40), m.start())
                or m.group()[:4].lower() == "last"
            ):
                candidates.append((m.start(), m.end(), "card"))
        candidates.extend((m.start(), m.end(), "card") for m in _CARD_MASKED.finditer(text))
        for m in _TRACKING.finditer(text):
            candidates.append((m.start(), m.end(), "tracking"))
        for m in _IBAN.finditer(text):
            if iban_valid(m.group()):
                candidates.append((m.start(), m.end(), "iban"))
        for m in _PHONE_PAREN_CC.finditer(text):
            candidates.append((m.start(), m.end(), "phone"))
        for m in _PHONE_333.finditer(text):
            if not _CURRENCY_AFTER.match(text, m.end()) and text[
                max(0, m.start() - 2) : m.start()
            ].strip()[-1:] not in ("$", "€", "£", "¥"):
                candidates.append((m.start(), m.end(), "phone"))
        for pattern in (_CEE_ADDRESS, _PL_STREET):
            candidates.extend((m.start(), m.end(), "address") for m in pattern.finditer(text))
    lowered = text.lower()
    if " at " in lowered or "at)" in lowered or "at]" in lowered or "at}" in lowered:
        candidates.extend((m.start(), m.end(), "email") for m in _SPELLED_EMAIL.finditer(text))


def _is_local_char(char: str) -> bool:
    return char.isalnum() or char in "_.%+-"


def _phone_ok(text: str, start: int, end: int) -> bool | None:
    """Is phone-shaped ``text[start:end]`` a phone number? None: no, but a part may be."""
    value = text[start:end]
    digits = sum(map(str.isdigit, value))
    if digits > 15:
        return None
    if digits < 7:
        return False
    before = text[max(0, start - 30) : start]
    if before and before.rstrip()[-1:] in ("$", "€", "£", "¥", "₹"):
        return False
    if _CURRENCY_AFTER.match(text, end):
        return False
    words = _words(before.lower())[-8:]
    while words and (words[-1] in _FILLER_WORDS or words[-1].isdigit()):
        words.pop()  # "tracking number 9400 1000 | 0000 0000" is still a tracking number
    if words and words[-1] in _NOT_PHONE_WORDS:
        return False
    if _DATE.fullmatch(value):
        return False
    groups = _GROUP_SPLIT.split(value)
    if len(groups) > 1 and all(_YEAR.fullmatch(group) for group in groups):
        return False  # "2019-2020", "1999 2005"
    if value[0] in "+(0":
        return True
    if len(groups) == 1 or _THOUSANDS.fullmatch(value):
        # "5551234567" or "3 500 000": only with a word like "call" or "phone" before it.
        return not _PHONE_WORDS.isdisjoint(_words(before.lower())[-4:])
    return True


def _find_phones(
    text: str, runs: list[tuple[int, int]], candidates: list[tuple[int, int, str]]
) -> None:
    covered = -1
    for start, _ in runs:
        if start < covered:
            continue
        if start and text[start - 1] in "+(":
            start -= 1
        m = _PHONE.match(text, start)
        if m is None:
            continue
        verdict = _phone_ok(text, start, m.end())
        if verdict is not None:  # None: too long, a phone may hide in a later run
            covered = m.end()
        if verdict:
            candidates.append((start, m.end(), "phone"))


def _has_address_hint(lowered: str, words: list[bytes] | None) -> bool:
    """Could ``lowered`` hold an address? A street word, a street suffix or "address"."""
    if "address" in lowered or any(suffix in lowered for suffix in _STREET_SUFFIXES):
        return True
    return not _STREET_WORD_SET.isdisjoint(_words(lowered) if words is None else words)


def _find_addresses(
    text: str, lowered: str, runs: list[tuple[int, int]], candidates: list[tuple[int, int, str]]
) -> None:
    """Street lines and "my address is ..." around the digit runs of ``text``."""
    for start, end in runs:
        if end - start <= 5:
            m = _STREET_LINE.match(text, start)
            if m is not None:
                unit = _UNIT_BEFORE.search(text, max(0, start - 20), start)
                candidates.append((unit.start() if unit else start, m.end(), "address"))
    if any(suffix in lowered for suffix in _STREET_SUFFIXES):
        for start, end in runs:
            if end - start <= 4:
                street = _SUFFIX_STREET_BEFORE.search(text, max(0, start - 60), start)
                number = _SUFFIX_STREET_NUMBER.match(text, start) if street else None
                if street is not None and number is not None:
                    candidates.append((street.start(), number.end(), "address"))
    if "address" in lowered and len(lowered) == len(text):  # same positions in both
        for hint in _ADDRESS_HINT.finditer(lowered):
            value = _ADDRESS_HINT_VALUE.match(text, hint.end())
            if value and _ANY_DIGIT.search(value.group()):
                candidates.append((value.start(), value.end(), "address"))


class SensitiveDetector:
    """Personal data (``find``, ``mask``) and private topics (``reasons``) in a text."""

    def __init__(
        self,
        order_pattern: str | None = DEFAULT_ORDER_PATTERN,
        topics: Mapping[str, Sequence[str]] | None = None,
        *,
        strict: bool = False,
    ):
        # strict: the guard on a brand's public reply, which also refuses what a customer
        # may keep readable (tracking codes, "ref 1234567", "card ending 1111", IBANs,
        # spelled-out e-mail addresses, CZ/SK/PL mobile numbers and addresses).
        self._strict = strict
        self._order: re.Pattern[str] | None = None
        if order_pattern:
            try:
                self._order = re.compile(order_pattern, re.IGNORECASE)
            except re.error as exc:
                raise ValueError(f"invalid regular expression: {exc}") from None
        # The default pattern needs a digit: texts without digits can skip it.
        self._order_needs_digit = order_pattern == DEFAULT_ORDER_PATTERN
        topic_rules = DEFAULT_TOPICS if topics is None else topics
        self._topics = PhraseMatcher(topic_rules)
        self._topic_reasons = tuple((name, f"topic:{name}") for name in self._topics.labels)

    def find(self, text: str) -> list[Finding]:
        """Personal data in ``text``: non-overlapping, in text order."""
        return [
            Finding(kind, start, end, text[start:end])
            for start, end, kind in self._spans(text, text.lower(), None)
        ]

    def _spans(
        self, text: str, lowered: str, words: list[bytes] | None
    ) -> list[tuple[int, int, str]]:
        """``find`` as sorted (start, end, kind) tuples; ``words`` as in ``_words(lowered)``."""
        if _HAS_FULLWIDTH.search(text):
            text = text.translate(_FULLWIDTH)
            lowered = text.lower()
            words = None
        candidates: list[tuple[int, int, str]] = []  # (start, end, kind), strongest kinds first
        if "@" in text:
            for m in _EMAIL_DOMAIN.finditer(text):
                at = m.start()
                local = _EMAIL_LOCAL.search(text, max(0, at - 64), at)
                if local is not None and not (
                    local.start() > 0 and _is_local_char(text[local.start() - 1])
                ):
                    candidates.append((local.start(), m.end(), "email"))
        # Counting ASCII digits: delete every other byte, in C.
        digits = len(text.encode("utf-8", "surrogatepass").translate(None, _NOT_DIGIT_BYTES))
        if self._order is not None and (
            not self._order_needs_digit
            or (digits >= 4 and ("#" in text or any(h in lowered for h in _ORDER_HINTS)))
        ):
            candidates.extend(
                (m.start(), m.end(), "order_number")
                for m in self._order.finditer(text)
                if m.end() > m.start()
            )
        hint = digits > 0 and _has_address_hint(lowered, words)
        if digits >= 7 or (digits and hint):
            runs = [m.span() for m in _DIGIT_RUN.finditer(text)]
            if digits >= 13:
                for start, _ in runs:
                    card = _CARD.match(text, start)
                    if card and luhn_valid(card.group().replace(" ", "").replace("-", "")):
                        candidates.insert(0, (start, card.end(), "card"))  # cards beat all
            if digits >= 7:
                _find_phones(text, runs, candidates)
            if hint:
                _find_addresses(text, lowered, runs, candidates)
        if self._strict:
            _strict_spans(text, candidates)
        if not candidates:
            return []
        if len(candidates) == 1:
            return candidates
        return self._resolve(text, candidates)

    @staticmethod
    def _resolve(text: str, candidates: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
        """Keep the strongest of overlapping candidates; addresses are cut, not dropped."""
        rank = {kind: index for index, kind in enumerate(_PRIORITY)}
        candidates.sort(key=lambda c: rank[c[2]])  # stable: text order within a kind
        taken: list[tuple[int, int, str]] = []
        for start, end, kind in candidates:
            overlapping = [s for s, e, _ in taken if s < end and start < e]
            if overlapping and kind == "address":
                # An address that runs into a phone number: keep the part before it.
                end = min(overlapping)
                while end > start and text[end - 1] in " \t,;:":
                    end -= 1
                if end - start < 3 or any(s < end and start < e for s, e, _ in taken):
                    continue
            elif overlapping:
                continue
            taken.append((start, end, kind))
        taken.sort()
        return taken

    def reasons(self, text: str) -> tuple[str, ...]:
        """Why this mention should go private: data kinds, then ``topic:<name>``, no dupes."""
        lowered = text.lower()
        words = _words(lowered)
        kinds = {kind for _, _, kind in self._spans(text, lowered, words)}
        topics = self._topics.matching_words(text, lowered, words)
        if not kinds and not topics:
            return ()
        found = [kind for kind in KINDS if kind in kinds]
        found.extend(reason for name, reason in self._topic_reasons if name in topics)
        return tuple(found)

    def mask(self, text: str) -> str:
        """``text`` with every piece of personal data replaced by ``[email]``, ``[card]``, ...

        Masking can join text into a new e-mail address or card number ("jo@example.com"
        right before a card number). It repeats until none is left: every round removes an
        "@" or at least 13 digits, so it ends.
        """
        spans = self._spans(text, text.lower(), None)
        while spans:
            parts: list[str] = []
            position = 0
            for start, end, kind in spans:
                parts.append(text[position:start])
                parts.append(_MASKS[kind])
                position = end
            parts.append(text[position:])
            text = "".join(parts)
            spans = [s for s in self._spans(text, text.lower(), None) if s[2] in ("email", "card")]
        return text
