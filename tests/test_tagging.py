"""Tagging: the starter rules on real care language, the rule syntax and its errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from social_watch.tagging import DEFAULT_TAG_RULES, PhraseMatcher, Tagger

TAGGER = Tagger()


def test_default_rules_order_and_shape() -> None:
    assert list(DEFAULT_TAG_RULES) == [
        "complaint",
        "review",
        "undelivered",
        "order",
        "vip",
        "discount",
        "billing",
        "question",
    ]
    for tag, patterns in DEFAULT_TAG_RULES.items():
        assert isinstance(patterns, tuple) and patterns, tag
        assert all(isinstance(p, str) and p.strip() for p in patterns), tag


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The mug arrived BROKEN, absolutely terrible packaging", {"complaint"}),
        ("worst customer service ever, never again @shopco", {"complaint"}),
        ("Not happy with the jacket, the zip fell apart after a week", {"complaint"}),
        ("I want to return these shoes, wrong size", {"complaint"}),
        ("Love my new dress from @shopco!!! 5 stars", {"review"}),
        ("just got my order and it's gorgeous 😍", {"review", "order"}),
        ("highly recommend, great quality", {"review"}),
        ("My parcel never arrived", {"undelivered"}),
        ("Where is my order??", {"undelivered", "order", "question"}),
        ("where's my parcel, tracking hasn’t updated in 5 days", {"undelivered", "question"}),
        ("package still not delivered and looks lost", {"undelivered"}),
        ("The tracking hasn't\nupdated since Monday", {"undelivered"}),
        ("I ordered two lamps last week", {"order"}),
        ("Checkout keeps failing, can I place an order by DM", {"order", "question"}),
        ("Is the summer sale still on? Any promo code?", {"discount", "question"}),
        ("20% off everything this weekend", {"discount"}),
        ("I was charged twice, please send the invoice", {"billing"}),
        ("Still waiting for my refund", {"complaint", "billing"}),
        ("How do I change my size", {"question"}),
        ("Just wondering when will the blue one be back in stock", {"question", "order"}),
        ("Journalist here, press inquiry about your recall", {"vip"}),
        ("Thanks, all good now.", set()),
        ("", set()),
    ],
)
def test_default_rules_on_care_language(text: str, expected: set[str]) -> None:
    assert set(TAGGER.tags(text)) == expected


def test_tags_come_in_rule_order_without_duplicates() -> None:
    text = "Where is my order? Charged twice, never arrived, never again. Code SAVE10 failed."
    tags = TAGGER.tags(text)
    assert len(tags) == len(set(tags))
    order = list(DEFAULT_TAG_RULES)
    assert list(tags) == sorted(tags, key=order.index)
    assert tags == ("complaint", "undelivered", "order", "discount", "billing", "question")


@pytest.mark.parametrize(
    "text",
    [
        "the package is a codependent mess",  # "code" inside a word
        "saleable goods",  # "sale" inside a word
        "the lostfound box",  # "lost" inside a word
        "unordered list",  # "ordered" inside a word
    ],
)
def test_keywords_match_whole_words_only(text: str) -> None:
    assert TAGGER.tags(text) == ()


def test_case_whitespace_punctuation_and_apostrophes_are_flexible() -> None:
    assert TAGGER.tags("NEVER   ARRIVED") == ("undelivered",)
    assert TAGGER.tags("(broken)") == ("complaint",)
    assert TAGGER.tags("“broken”😡") == ("complaint",)
    assert TAGGER.tags("😡broken😡") == ("complaint",)
    assert TAGGER.tags("it hasn’t arrived") == ("undelivered",)
    assert TAGGER.tags("it hasn't arrived") == ("undelivered",)


def test_vip_by_followers() -> None:
    assert TAGGER.tags("hello", followers=10_000) == ("vip",)
    assert TAGGER.tags("hello", followers=9_999) == ()
    assert TAGGER.tags("broken and lost", followers=50_000) == ("complaint", "undelivered", "vip")
    assert Tagger(vip_followers=None).tags("hello", followers=10**9) == ()
    assert Tagger(vip_followers=100).tags("hello", followers=100) == ("vip",)


def test_vip_by_followers_without_a_vip_rule_comes_last() -> None:
    tagger = Tagger({"complaint": ["broken"]})
    assert tagger.tags("broken", followers=20_000) == ("complaint", "vip")
    assert tagger.tags("broken", followers=1) == ("complaint",)


def test_custom_rules_keywords_and_regexes() -> None:
    tagger = Tagger(
        {
            "shoes": ["sneakers", "running shoes"],
            "size": [r"re:\bsize\s*\d{1,2}\b", "re:EU ?4[0-9]"],
            "brand": ["@shopco", "#blackfriday"],
            "sad": [":("],
        },
        vip_followers=None,
    )
    assert tagger.tags("Running   Shoes in SIZE 42 please") == ("shoes", "size")
    assert tagger.tags("eu43 sneakers") == ("shoes", "size")
    assert tagger.tags("hey @ShopCo #BlackFriday :(") == ("brand", "sad")
    assert tagger.tags("#blackfridays are long") == ()
    assert tagger.tags("nothing here") == ()


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"size": ["ok", "re:([a-z"]}, "size[1]: invalid regular expression: "),
        ({"x": ["re:*"]}, "x[0]: invalid regular expression: "),
        ({"x": ["   "]}, "x[0]: empty pattern"),
        ({"x": ["re:"]}, "x[0]: empty regular expression"),
        ({"x": "broken"}, "x: expected a list of patterns"),
    ],
)
def test_invalid_rules_name_tag_and_index(rules: dict, message: str) -> None:
    with pytest.raises(ValueError) as info:
        Tagger(rules)
    assert str(info.value).startswith(message)


def test_empty_rules_and_empty_tag() -> None:
    assert Tagger({}).tags("broken", followers=None) == ()
    assert Tagger({"x": []}).tags("broken") == ()


def test_hostile_texts() -> None:
    long = ("lorem ipsum dolor sit amet " * 2000) + "it never arrived"
    assert TAGGER.tags(long) == ("undelivered",)
    assert TAGGER.tags("\x00\ud800 broken \U0001f4a9") == ("complaint",)
    assert TAGGER.tags("İstanbul BROKEN ß") == ("complaint",)
    assert TAGGER.tags("🙂" * 1000) == ()
    assert TAGGER.tags("?" * 10_000) == ("question",)


def test_phrase_matcher_reports_overlapping_phrases() -> None:
    matcher = PhraseMatcher({"a": ["where is my order"], "b": ["my order"], "c": ["order"]})
    assert matcher.matching("so where is my order now") == {"a", "b", "c"}
    assert matcher.labels == ("a", "b", "c")


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300), st.one_of(st.none(), st.integers(-5, 10**7)))
def test_tags_never_fail_and_are_known(text: str, followers: int | None) -> None:
    tags = TAGGER.tags(text, followers=followers)
    assert set(tags) <= set(DEFAULT_TAG_RULES)
    assert len(tags) == len(set(tags))
