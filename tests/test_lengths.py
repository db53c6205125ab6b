"""Length rules on the texts customers really send: URLs, emoji sequences, CJK, accents."""

from __future__ import annotations

import pytest

from social_watch.connector import LengthRule
from social_watch.lengths import RULES, TooLong, check_length, count

URL = "https://www.example.com/orders/track?id=ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789&lang=en"
SKIN_TONES = "👍🏽👋🏿"  # 4 code points, 2 emoji
ZWJ = "👩‍👩‍👧‍👦🏳️‍🌈"  # a family and a rainbow flag: 11 code points, 2 graphemes
FLAGS = "🇨🇿🇩🇪"  # regional indicator pairs
CJK = "注文はいつ届きますか"  # 10 characters
COMBINING = "Zoe\u0308 cafe\u0301 n\u0303"  # decomposed accents: 13 code points, 10 graphemes


@pytest.mark.parametrize(
    ("text", "x", "bluesky", "mastodon", "reddit"),
    [
        (f"Tracking: {URL}", 10 + 23, 10 + len(URL), 10 + 23, 10 + len(URL)),
        (SKIN_TONES, 4, 2, 2, 4),
        (ZWJ, 4, 2, 2, 11),
        (FLAGS, 4, 2, 2, 4),
        (CJK, 20, 10, 10, 10),
        (COMBINING, 10, 10, 10, 13),
        ("@alice@mastodon.social thanks!", 30, 30, 14, 30),
    ],
)
def test_each_network_counts_like_the_network(text, x, bluesky, mastodon, reddit):
    got = {name: count(rule, text) for name, rule in RULES.items()}
    assert got == {"x": x, "bluesky": bluesky, "mastodon": mastodon, "reddit": reddit}


def test_limits_are_the_networks_limits():
    assert {n: r.limit for n, r in RULES.items()} == {
        "x": 280,
        "bluesky": 300,
        "mastodon": 500,
        "reddit": 10_000,
    }


def test_exactly_at_the_limit_fits_and_one_over_says_by_how_much():
    assert check_length("x", "a" * 280) == (280, 280)
    assert check_length("x", CJK * 14) == (280, 280)  # 140 CJK characters are full
    with pytest.raises(TooLong, match=r"282 of 280 weighted characters, 2 over"):
        check_length("x", CJK * 14 + "你")
    assert check_length("bluesky", ZWJ * 150) == (300, 300)
    with pytest.raises(TooLong, match=r"301 of 300 characters \(graphemes\), 1 over"):
        check_length("bluesky", ZWJ * 150 + SKIN_TONES[:2])


def test_a_long_url_does_not_make_a_mastodon_or_x_reply_too_long():
    text = "a" * 476 + " " + URL  # 477 + 23 = 500 on Mastodon
    assert check_length("mastodon", text) == (500, 500)
    with pytest.raises(TooLong, match="1 over"):
        check_length("mastodon", "a" + text)
    with pytest.raises(TooLong):
        check_length("bluesky", text)


def test_reddit_allows_long_answers_and_rules_can_be_passed_directly():
    assert check_length("reddit", "word " * 2000) == (10_000, 10_000)
    assert check_length(LengthRule(5, "chars"), "hello") == (5, 5)
    with pytest.raises(TooLong, match="1 over"):
        check_length(LengthRule(5, "chars"), "hello!")


def test_networks_without_a_rule_only_count():
    assert check_length("replay", "x" * 20_000) == (20_000, None)
