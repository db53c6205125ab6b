"""Sensitive data: what must move to a private channel, and masking that never leaks it."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from social_watch.sensitive import (
    DEFAULT_ORDER_PATTERN,
    DEFAULT_TOPICS,
    Finding,
    SensitiveDetector,
    luhn_valid,
)

DETECTOR = SensitiveDetector()


def kinds(text: str) -> list[tuple[str, str]]:
    return [(f.kind, f.value) for f in DETECTOR.find(text)]


# -- cards ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    ["4111111111111111", "5555555555554444", "378282246310005", "6011111111111117",
     "4222222222222", "6011000990139424", "4111 1111 1111 1111", "5555-5555-5555-4444",
     "3782 822463 10005"],
)  # fmt: skip
def test_luhn_valid_cards_are_found(number: str) -> None:
    text = f"I paid with {number} yesterday"
    assert kinds(text) == [("card", number)]
    masked = DETECTOR.mask(text)
    assert masked == "I paid with [card] yesterday"


@pytest.mark.parametrize(
    "number", ["4111111111111112", "1234 5678 9012 3456", "5555-5555-5555-4445"]
)
def test_luhn_invalid_numbers_are_not_cards(number: str) -> None:
    assert all(f.kind != "card" for f in DETECTOR.find(f"number {number} here"))


def test_luhn() -> None:
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")
    assert luhn_valid("0")


def test_card_inside_a_longer_number_is_not_a_card() -> None:
    assert kinds("ref 44111111111111111111") == []


# -- phones ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "phone",
    ["+44 20 7946 0958", "+420 601 234 567", "(555) 123-4567", "0601 234 567", "555-123-4567",
     "555.123.4567", "+1 (555) 123-4567", "07700 900123", "+4915112345678"],
)  # fmt: skip
def test_phones_are_found(phone: str) -> None:
    assert kinds(f"call me on {phone} please") == [("phone", phone)]
    assert kinds(f"{phone}") == [("phone", phone)]


def test_bare_digit_runs_need_phone_context() -> None:
    assert kinds("call me 5551234567") == [("phone", "5551234567")]
    assert kinds("my number is 601 234 567") == [("phone", "601 234 567")]
    assert kinds("we sold 5551234567 units") == []
    assert kinds("that is 3 500 000 people") == []


@pytest.mark.parametrize(
    "text",
    [
        "Ordered on 2024-01-15, arrived 15.01.2024 at 10:30",
        "It cost $1,299.99 and then €1 234 567",
        "Paid 1299 99 EUR for it",
        "Between 2019 2020 and 1999-2005",
        "tracking number 9400 1000 0000 0000 0000",
        "tracking 1Z999AA10123456784",
        "Tracking no: 1234 5678 9012",
        "order 1234567 is late",
        "invoice 12345678 is wrong",
        "I have 12 345 678 followers",
        "Opening hours 09:00-17:30, 7 days a week",
        "05/11/2024",
    ],
)
def test_things_that_only_look_like_phones(text: str) -> None:
    assert all(f.kind != "phone" for f in DETECTOR.find(text)), DETECTOR.find(text)


def test_phone_after_a_date_is_still_found() -> None:
    assert ("phone", "0601 234 567") in kinds("2024-01-15 0601 234 567")


# -- e-mail ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "email",
    ["jo@example.com", "jo.doe+tag@mail.example.co.uk", "J_O-1@sub-domain.shop", "josé@exämple.de"],
)
def test_emails_are_found(email: str) -> None:
    assert kinds(f"write to {email}.") == [("email", email)]


@pytest.mark.parametrize(
    "text", ["@shopco help", "hi @shop.co", "user@localhost", "a @ b.com", "me@x.c", "@@@"]
)
def test_handles_and_broken_addresses_are_not_emails(text: str) -> None:
    assert all(f.kind != "email" for f in DETECTOR.find(text))


# -- order numbers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["#123456", "order 1234567", "ORD-12345", "order no. 12345678", "Order number: 98765",
     "order #55555", "Order nr 1234"],
)  # fmt: skip
def test_order_numbers(value: str) -> None:
    assert kinds(f"about {value}, thanks") == [("order_number", value)]


@pytest.mark.parametrize("text", ["#2024 was great", "#1 fan", "ordered 12345 items", "order 12"])
def test_not_order_numbers(text: str) -> None:
    assert all(f.kind != "order_number" for f in DETECTOR.find(text))


def test_configurable_order_pattern() -> None:
    custom = SensitiveDetector(order_pattern=r"\bSO-[A-Z]{2}\d{4}\b")
    assert [(f.kind, f.value) for f in custom.find("my so-ab1234 and #123456")] == [
        ("order_number", "so-ab1234")
    ]
    assert custom.mask("SO-XY9999 late") == "[order] late"
    none = SensitiveDetector(order_pattern=None)
    assert none.find("order 1234567") == []
    assert re.compile(DEFAULT_ORDER_PATTERN)  # the default is a plain regex


@pytest.mark.parametrize("pattern", ["([0-9]", "*", "(?P<x>a)(?P<x>b)"])
def test_invalid_order_pattern(pattern: str) -> None:
    with pytest.raises(ValueError, match=r"^invalid regular expression: "):
        SensitiveDetector(order_pattern=pattern)


# -- addresses ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("send it to 221B Baker Street please", "221B Baker Street"),
        ("Ship to Hauptstraße 5, 10115 Berlin.", "Hauptstraße 5, 10115 Berlin"),
        ("I live at 123 Main St, Apt 4 and", "123 Main St, Apt 4"),
        ("10 Downing Street, London SW1A 2AA", "10 Downing Street, London SW1A 2AA"),
        ("742 Evergreen Terrace, Springfield, IL 62704", "742 Evergreen Terrace, Springfield, IL 62704"),
        ("Flat 2, 14 High Road", "Flat 2, 14 High Road"),
        ("Berliner Str. 12a", "Berliner Str. 12a"),
        ("my address is 4 Privet Drive, Little Whinging", "4 Privet Drive, Little Whinging"),
        ("My new address is: 55 rue Oberkampf, 75011 Paris! ok", "55 rue Oberkampf, 75011 Paris"),
    ],
)  # fmt: skip
def test_addresses(text: str, value: str) -> None:
    assert kinds(text) == [("address", value)]
    assert "[address]" in DETECTOR.mask(text)


@pytest.mark.parametrize(
    "text",
    ["I waited 3 days on the way", "2 weeks on the road", "my address is wrong on the order",
     "during 5 days", "bought 2 pairs at the store on Main St"],
)  # fmt: skip
def test_not_addresses(text: str) -> None:
    assert all(f.kind != "address" for f in DETECTOR.find(text))


def test_address_that_runs_into_a_phone_is_cut_not_dropped() -> None:
    text = "my address is 12 Oak Lane, Springfield; call 555-123-4567"
    assert kinds(text) == [("address", "12 Oak Lane, Springfield"), ("phone", "555-123-4567")]
    assert DETECTOR.mask(text) == "my address is [address]; call [phone]"


# -- reasons, topics, mask ------------------------------------------------------------------


def test_reasons_kinds_then_topics_in_stable_order() -> None:
    text = "Refund for #123456 please, I'm jo@example.com"
    assert DETECTOR.reasons(text) == ("email", "order_number", "topic:refund")
    text = "I'll sue! charged twice, locked out, password reset failed, refund me. +44 20 7946 0958"
    assert DETECTOR.reasons(text) == (
        "phone",
        "topic:refund",
        "topic:billing",
        "topic:password",
        "topic:account",
        "topic:legal",
    )


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("Where is my money back?", "refund"),
        ("There's a charge on my bank statement I don't recognise", "billing"),
        ("Your invoice is wrong", "billing"),
        ("forgot my password", "password"),
        ("I can't log in", "account"),
        ("my account was hacked", "account"),
        ("I'm talking to my lawyer", "legal"),
        ("filing a chargeback", "legal"),
        ("this is a GDPR request", "legal"),
    ],
)
def test_topics(text: str, topic: str) -> None:
    assert f"topic:{topic}" in DETECTOR.reasons(text)
    assert DETECTOR.find(text) == []  # topics are reasons, not personal data


def test_custom_topics_replace_defaults() -> None:
    detector = SensitiveDetector(topics={"health": ["allergy", "re:pregnan(t|cy)"]})
    assert detector.reasons("Pregnant and the lotion gave me an allergy; refund!") == (
        "topic:health",
    )
    assert set(DEFAULT_TOPICS) == {"refund", "billing", "password", "account", "legal"}


def test_nothing_sensitive() -> None:
    for text in ["", "Love the new colours!", "😍😍😍", "   \n\t ", "size 10 in blue?"]:
        assert DETECTOR.find(text) == []
        assert DETECTOR.reasons(text) == ()
        assert DETECTOR.mask(text) == text


def test_mask_everything_and_keep_the_rest() -> None:
    text = (
        "Hi! Order #123456 never came. Card 4111 1111 1111 1111 was charged. "
        "Reach me at jo@example.com or +44 20 7946 0958, 221B Baker Street. Ta"
    )
    masked = DETECTOR.mask(text)
    assert masked == (
        "Hi! [order] never came. Card [card] was charged. "
        "Reach me at [email] or [phone], [address]. Ta"
    )
    assert not re.search(r"\d{3}", masked)
    assert "@" not in masked


def test_findings_are_spans_of_the_text_in_order_without_overlap() -> None:
    text = "jo@example.com 4111111111111111 #123456 +44 20 7946 0958 221B Baker Street"
    findings = DETECTOR.find(text)
    assert [f.kind for f in findings] == ["email", "card", "order_number", "phone", "address"]
    for finding in findings:
        assert isinstance(finding, Finding)
        assert text[finding.start : finding.end] == finding.value
    assert all(a.end <= b.start for a, b in itertools.pairwise(findings))


def test_masking_cannot_create_a_new_email_or_card() -> None:
    text = "jo@example.com4111111111111111"
    masked = DETECTOR.mask(text)
    assert all(f.kind not in ("email", "card") for f in DETECTOR.find(masked))
    assert "4111" not in masked and "@" not in masked


def test_hostile_texts_are_fast_and_safe() -> None:
    long = "a" * 100_000 + " @" + "b" * 100_000 + ".com " + "1" * 50_000
    assert DETECTOR.find(long) == []
    assert DETECTOR.mask("x@" * 20_000) == "x@" * 20_000
    digits = " ".join(["12"] * 20_000)
    DETECTOR.find(digits)
    assert DETECTOR.mask("\x00\ud800 jo@example.com") == "\x00\ud800 [email]"
    assert DETECTOR.reasons("İİİ ß refund 🙂") == ("topic:refund",)


def test_mask_never_leaves_the_digits_of_card_phone_or_email() -> None:
    samples = [
        "card 5555-5555-5555-4444, ok?",
        "call (555) 123-4567 now",
        "mail me: jo.doe99@example.com!",
        "+420 601 234 567 / 378282246310005",
    ]
    for text in samples:
        masked = DETECTOR.mask(text)
        for finding in DETECTOR.find(text):
            assert finding.value not in masked
            digits = re.sub(r"\D", "", finding.value)
            if len(digits) >= 4:
                assert digits not in re.sub(r"\D", "", masked)


# -- properties -----------------------------------------------------------------------------

_pieces = st.sampled_from(
    ["jo@example.com", "4111 1111 1111 1111", "4111111111111111", "+44 20 7946 0958", "@",
     "#123456", ".", " ", "-", "1", "0", "a", "ß", "😀", "\n", "order ", "221B Baker Street",
     "x.y@z.io", "5555-5555-5555-4444"]
)  # fmt: skip
_texts = st.one_of(st.text(max_size=200), st.lists(_pieces, max_size=25).map("".join))


@settings(max_examples=300, deadline=None)
@given(_texts)
def test_property_mask_leaves_no_email_or_card(text: str) -> None:
    findings = DETECTOR.find(text)
    masked = DETECTOR.mask(text)
    assert all(f.kind not in ("email", "card") for f in DETECTOR.find(masked))
    for finding in findings:
        if finding.kind in ("email", "card"):
            assert masked.count(finding.value) < text.count(finding.value)


@settings(max_examples=200, deadline=None)
@given(_texts)
def test_property_findings_are_ordered_disjoint_spans(text: str) -> None:
    findings = DETECTOR.find(text)
    for finding in findings:
        assert 0 <= finding.start < finding.end <= len(text)
        assert text[finding.start : finding.end] == finding.value
    assert all(a.end <= b.start for a, b in itertools.pairwise(findings))
    reasons = DETECTOR.reasons(text)
    assert len(reasons) == len(set(reasons))
    assert {f.kind for f in findings} == {r for r in reasons if not r.startswith("topic:")}


@pytest.mark.parametrize(
    "text",
    [
        "Meine Bestellung 5571239 ist nie angekommen",
        "Bestellnr. 88123 fehlt",
        "objednávka č. 2024113 nedorazila",
        "mi pedido 77120345 no llega",
        "ma commande n° 554433 est perdue",
        "zamówienie nr 123456",
    ],
)
def test_order_numbers_in_other_languages(text):
    assert "order_number" in SensitiveDetector().reasons(text)


@pytest.mark.parametrize("text", ["my fedi account is new", "free of charge delivery, nice"])
def test_everyday_words_are_not_topics(text):
    assert SensitiveDetector().reasons(text) == ()


# -- the stricter guard on public replies (issue 17) -----------------------------------------

STRICT = SensitiveDetector(strict=True)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Your order number is 1234567", "order_number"),
        ("Your order (1234567) shipped", "order_number"),
        ("ref 1234567", "order_number"),
        ("your reference is 1234567", "order_number"),
        ("Ref: 1234-5678", "order_number"),
        ("objednávka č. 1234567", "order_number"),
        ("card ending 1111", "card"),
        ("Visa ending in 4242", "card"),
        ("last four digits 1111", "card"),
        ("card **** **** **** 1111", "card"),
        ("jane dot doe at gmail dot com", "email"),
        ("jane(at)gmail(dot)com", "email"),
        ("jane [at] gmail [dot] com", "email"),
        ("jane.doe\uff20gmail.com", "email"),  # a fullwidth ＠
        ("jane.doe\ufe6bgmail.com", "email"),  # a small ﹫
        ("1Z999AA10123456784", "tracking"),
        ("1Z 999 AA1 01 2345 6784", "tracking"),
        ("tracking number 9400 1000 0000 0000 0000", "tracking"),
        ("CZ65 0800 0000 1920 0014 5399", "iban"),
        ("DE89370400440532013000", "iban"),
        ("SK3112000000198742637541", "iban"),
        ("PL61 1090 1014 0000 0712 1981 2874", "iban"),
        ("GB82 WEST 1234 5698 7654 32", "iban"),
        ("601 234 567", "phone"),
        ("512-345-678", "phone"),
        ("+420 601 234 567", "phone"),
        ("00420 601 234 567", "phone"),
        ("+421 905 123 456", "phone"),
        ("0905 123 456", "phone"),
        ("+48 512 345 678", "phone"),
        ("(+420) 601234567", "phone"),
        ("+44 20 7946 0958", "phone"),
        ("\uff16\uff10\uff11 \uff12\uff13\uff14 \uff15\uff16\uff17", "phone"),  # fullwidth digits
        ("Vinohradská 12, 120 00 Praha 2", "address"),
        ("Hlavná 5, 811 01 Bratislava", "address"),
        ("ul. Marszałkowska 10/12, 00-590 Warszawa", "address"),
        ("Hauptstraße 5, 10115 Berlin", "address"),
    ],
)
def test_the_reply_guard_catches_each_way_people_write_personal_data(text: str, kind: str) -> None:
    found = STRICT.find(f"Hi! {text}, thanks")
    assert kind in [f.kind for f in found], found
    assert "[" in STRICT.mask(f"Hi! {text}, thanks")


@pytest.mark.parametrize(
    "text",
    [
        "Hi Jana, we'll reply within 24 hours. ^JN",
        "Please call us on our hotline, we're happy to help!",
        "The jacket costs 199 Kč and ships today.",
        "Orders over 1000 Kč ship free, 2 490 Kč for the bundle.",
        "Order by 14:00 for next-day delivery.",
        "Use code SAVE20 for 20% off your next order.",
        "We ship within 2-3 working days.",
        "Our shop is open 9-17, Monday to Friday.",
        "Version 2.4.1 of the app fixes it.",
        "We've been around since 2019!",
        "Thanks @jana_doe, we're at the shop all day.",
        "Your tracking link is in the shipping confirmation e-mail.",
        "Visit us at shop dot com",
        "It arrives on 12.12.2026 between 8:00 and 12:00.",
        "We sold 10 000 pieces in 2024.",
        "Returns are free within 30 days.",
        "Case closed, happy to help :)",
        "That's €19.99, or $24.99 in the US store.",
        "Order 2 or more and save 10%",
        "The last 4 items are in stock",
        "Our Prague store on Vinohradská opens at 10.",
        "please write to our care team with reference SW-7Q2K",
    ],
)
def test_the_reply_guard_lets_ordinary_replies_through(text: str) -> None:
    assert STRICT.find(text) == []


def test_a_fullwidth_address_is_masked_in_place() -> None:
    text = "mail jane\uff20example.com now"
    assert DETECTOR.mask(text) == "mail [email] now"  # also outside the reply guard
    assert kinds(text) == [("email", "jane\uff20example.com")]


def test_an_iban_needs_its_checksum() -> None:
    found = STRICT.find("code CZ65 0800 0000 1920 0014 5390")
    assert "iban" not in [f.kind for f in found]


def test_the_reply_command_refuses_each_new_form(tmp_path, cli) -> None:
    from conftest import mention_line
    from respond_fakes import posts, write_config

    config = write_config(tmp_path)
    (tmp_path / "m.jsonl").write_text(mention_line(id="101") + "\n")
    args = ["--config", str(config), "--db", str(tmp_path / "sw.db")]
    assert cli("import", str(tmp_path / "m.jsonl"), *args).exit_code == 0
    for text in ("Your order number is 1234567", "jane dot doe at gmail dot com"):
        result = cli("reply", "1", f"Hi, {text}", "--as", "jana", *args)
        assert result.exit_code == 1 and "personal data" in result.stderr + result.output
    assert posts(tmp_path / "remote") == []
