"""Behaviour of the care-tuned sentiment scorer (social_watch.sentiment)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from social_watch import sentiment
from social_watch.models import SENTIMENT_LABELS, Sentiment
from social_watch.sentiment import (
    clean_for_scoring,
    detect_language,
    score,
    score_plain,
    supported_languages,
)

DATA = Path(__file__).parent / "data" / "care_sentiment.jsonl"
BLIND = Path(__file__).parent / "data" / "care_sentiment_blind.jsonl"


def _load(path: Path = DATA) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


ITEMS = _load()
BLIND_ITEMS = _load(BLIND)


def _labels(items: list[dict[str, str]], fn: Callable[[str], Sentiment]) -> list[str]:
    return [fn(it["text"]).label for it in items]


def _neg_recall(gold: list[str], pred: list[str]) -> float:
    neg = [p for g, p in zip(gold, pred, strict=True) if g == "negative"]
    return sum(p == "negative" for p in neg) / len(neg)


def _accuracy(gold: list[str], pred: list[str]) -> float:
    return sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold)


# ---------------------------------------------------------------- the data set


def test_data_set_shape() -> None:
    assert len(ITEMS) >= 300
    test = [it for it in ITEMS if it["split"] == "test"]
    assert len(test) >= 100
    for it in ITEMS:
        assert set(it) == {"text", "label", "lang", "split"}
        assert it["split"] in ("dev", "test")
        if it["lang"] in supported_languages():
            assert it["label"] in ("positive", "neutral", "negative")
        else:
            assert it["label"] == "unknown"
    assert len({it["text"] for it in ITEMS}) == len(ITEMS)


def test_held_out_split_beats_plain_vader() -> None:
    test = [it for it in ITEMS if it["split"] == "test"]
    gold = [it["label"] for it in test]
    care = _labels(test, score)
    plain = _labels(test, score_plain)
    assert _neg_recall(gold, care) >= 0.8
    assert _neg_recall(gold, care) >= _neg_recall(gold, plain) + 0.25
    assert _accuracy(gold, care) >= 0.8
    assert _accuracy(gold, care) >= _accuracy(gold, plain) + 0.15
    # precision on negatives does not collapse for the recall
    flagged = [g for g, p in zip(gold, care, strict=True) if p == "negative"]
    assert sum(g == "negative" for g in flagged) / len(flagged) >= 0.8


def test_blind_set_shape() -> None:
    """Written and labelled before the scorer was read; halves fixed before any score."""
    assert len(BLIND_ITEMS) >= 400
    for it in BLIND_ITEMS:
        assert set(it) - {"lang"} == {"text", "label", "half"}
        assert it["label"] in ("positive", "neutral", "negative")
        assert it["half"] in ("tune", "holdout")
    assert len({it["text"] for it in BLIND_ITEMS}) == len(BLIND_ITEMS)
    holdout = [it for it in BLIND_ITEMS if it["half"] == "holdout"]
    assert abs(2 * len(holdout) - len(BLIND_ITEMS)) <= 1


def _blind_label(it: dict[str, str]) -> str:
    lang = it.get("lang")
    return (score(it["text"], lang) if lang else score(it["text"])).label


def test_blind_holdout_beats_plain_vader() -> None:
    # Non-English items keep their human label, so ``unknown`` counts as a miss here.
    holdout = [it for it in BLIND_ITEMS if it["half"] == "holdout"]
    gold = [it["label"] for it in holdout]
    care = [_blind_label(it) for it in holdout]
    plain = _labels(holdout, score_plain)
    assert _neg_recall(gold, care) >= 0.8
    assert _neg_recall(gold, care) >= _neg_recall(gold, plain) + 0.3
    assert _accuracy(gold, care) >= _accuracy(gold, plain) + 0.15
    flagged = [g for g, p in zip(gold, care, strict=True) if p == "negative"]
    assert sum(g == "negative" for g in flagged) / len(flagged) >= 0.85


# ---------------------------------------------------------------- API contract


@pytest.mark.parametrize(
    "text",
    ["", "   ", "@brand", "https://t.co/x", "#hashtag", "ok", "🙃", "?!", "WHERE IS MY ORDER"],
)
def test_edge_cases_return_valid_sentiment(text: str) -> None:
    for s in (score(text), score(text, "en"), score_plain(text)):
        assert isinstance(s, Sentiment)
        assert s.label in SENTIMENT_LABELS
        assert -1.0 <= s.compound <= 1.0


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_any_text_scores_in_range(text: str) -> None:
    s = score(text)
    assert s.label in SENTIMENT_LABELS
    assert -1.0 <= s.compound <= 1.0


# ---------------------------------------------------------------- cleaning


def test_clean_drops_handles_and_urls_keeps_hashtag_words() -> None:
    cleaned = clean_for_scoring("@united lost my bag https://t.co/abc #fail www.x.com/y")
    assert "united" not in cleaned
    assert "http" not in cleaned and "www" not in cleaned
    assert "fail" in cleaned and "#" not in cleaned
    assert clean_for_scoring("haven’t") == "haven't"


@pytest.mark.parametrize("handle", ["@united", "@bestbuy", "@LoveBeauty", "@HappyShop"])
def test_handles_are_not_sentiment(handle: str) -> None:
    s = score(f"{handle} is my order shipped from the Leeds warehouse")
    assert s.label == "neutral"
    assert score(f"{handle} https://t.co/happy-love-best").label == "neutral"


def test_url_words_are_not_sentiment() -> None:
    assert score("Order 123 update https://shop.example.com/love-great-best").label == "neutral"


# ---------------------------------------------------------------- language


@pytest.mark.parametrize("lang", ["es", "fr", "FR", "pt-BR", "nl", "hu"])
def test_given_non_english_lang_is_unknown(lang: str) -> None:
    assert score("my order never arrived, worst service", lang) == Sentiment("unknown", 0.0)


@pytest.mark.parametrize("lang", ["en", "en-US", "en_GB", "EN", "und", "zxx", ""])
def test_english_or_undetermined_lang_is_scored(lang: str) -> None:
    assert score("my order never arrived, worst service", lang).label == "negative"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Mi pedido todavía no ha llegado y nadie responde a mis correos.", "es"),
        ("Toujours pas de remboursement après trois semaines, c'est inadmissible", "fr"),
    ],
)
def test_detected_non_english_is_unknown(text: str, code: str) -> None:
    assert detect_language(text) == code
    assert score(text).label == "unknown"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Meine Bestellung ist immer noch nicht angekommen, ich warte seit zwei Wochen.", "de"),
        ("Objednávka pořád nedorazila, už čekám týden. Co se děje?", "cs"),
    ],
)
def test_detected_supported_language_is_scored(text: str, code: str) -> None:
    assert detect_language(text) == code
    assert sentiment.score_with_language(text) == (score(text), code)
    assert score(text).label == "negative"


def test_detect_language_english_and_too_short() -> None:
    assert detect_language("@shop where is my order? it has been two weeks") == "en"
    assert detect_language("@shop 👍") is None
    assert detect_language("ok") is None


def test_english_fast_path_does_not_call_langid(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom() -> None:
        raise AssertionError("py3langid called for plain English")

    monkeypatch.setattr(sentiment, "_get_identifier", boom)
    assert score("Hi, my parcel still hasn't arrived and it's been a week").label == "negative"
    assert detect_language("do you ship to Canada? thanks for the help") == "en"


# ---------------------------------------------------------------- the care layer


@pytest.mark.parametrize(
    "text",
    [
        "Hi, could you please help? My order still hasn't arrived, thanks so much!",
        "Thanks for nothing. Third email and zero answers.",
        "I've been patient but it's been a month and still no refund.",
        "Where is my order? Paid for express delivery five days ago.",
        "why haven't I received my money back yet?",
        "Hello, I was charged twice for the same order. Could you check please?",
        "Lovely, another 'delivery attempted' note while I was home all day 🙄",
        "I love how next day delivery means a week lol",
        "Ordered a birthday present 10 days ago and nothing has arrived",
        "your app keeps crashing at checkout",
        "Not happy with the quality at all, the sole came off",
    ],
)
def test_complaints_are_negative_even_when_polite(text: str) -> None:
    assert score(text).label == "negative"


@pytest.mark.parametrize(
    "text",
    [
        "Huge thanks, parcel arrived a day early and the jumper is gorgeous 😍",
        "Got my refund within 2 days, smooth process, thank you",
        "Was worried my order was lost but it turned up today, thanks for the quick reply",
        "Problem solved in one message, brilliant service",
        "Will definitely be ordering again, great quality",
    ],
)
def test_praise_stays_positive(text: str) -> None:
    assert score(text).label == "positive"


@pytest.mark.parametrize(
    "text",
    [
        "do you ship to Canada?",
        "@ShopCo what are your opening hours on Sunday?",
        "Is there a student discount?",
        "Can I change the delivery address on my order?",
        "Do gift cards expire?",
        "Can I order to a PO box?",
    ],
)
def test_plain_questions_stay_neutral(text: str) -> None:
    assert score(text).label == "neutral"


@pytest.mark.parametrize(
    "text",
    [
        "@ShopCo thanks, but the replacement is broken too",
        "@ShopCo thank you for the reply however my parcel is still at the depot",
        "@ShopCo I already sent you the photos twice",
        "@ShopCo paid for next day delivery but it came 4 days later",
        "@ShopCo my card doesn't work on the app",
        "@ShopCo the headphones won't connect to my laptop",
        "@ShopCo store credit hasn't been added to my account",
        "@ShopCo tracking marked delivered, nothing here",
        "@ShopCo the kettle stopped working, it's barely two months old",
        "@ShopCo my subscription price just doubled",
        "@ShopCo brilliant, another missed delivery",
        "@ShopCo website is down on sale day",
        "@ShopCo the bread was mouldy #neveragain",
        "@ShopCo hello?? is anyone going to reply",
        "@ShopCo where was my driver today?",
    ],
)
def test_care_failures_are_negative(text: str) -> None:
    assert score(text).label == "negative", sentiment._fired_rules(text)


@pytest.mark.parametrize(
    "text",
    [
        "@ShopCo ok",
        "@ShopCo okay will do",
        "@ShopCo yes",
        "@ShopCo DM sent",
        "@ShopCo order number sent via DM",
        "@ShopCo please help, how do I update my card details?",
        "@ShopCo how do I cancel my membership?",
        "@ShopCo can I pay in store?",
        "@ShopCo I'd like to know if the blue one comes in a large",
        "@ShopCo just checking if my flight is affected by the strike",
    ],
)
def test_acknowledgements_and_requests_are_neutral(text: str) -> None:
    assert score(text).label == "neutral", sentiment._fired_rules(text)


@pytest.mark.parametrize(
    "text",
    [
        "@ShopCo 👍",
        "@ShopCo ❤️",
        "@ShopCo the new menu is incredible",
        "@ShopCo can't wait for my order to arrive!",
        "@ShopCo not bad at all",
        "@ShopCo no problem, thanks",
        "@ShopCo thanks for looking into it",
        "@ShopCo free returns is why I'll always shop with you",
        "@ShopCo parcel arrived two days early, customer for life",
    ],
)
def test_praise_and_thanks_are_positive(text: str) -> None:
    assert score(text).label == "positive", sentiment._fired_rules(text)


def test_sarcastic_cant_wait_is_still_a_complaint() -> None:
    assert score("@ShopCo can't wait to spend another hour on hold").label == "negative"


def test_one_shared_function_word_does_not_make_english() -> None:
    # "is" is Dutch too: a short Dutch complaint goes to language detection, not VADER
    assert score("@ShopCo pakket is beschadigd aangekomen").label == "unknown"


def test_score_plain_is_plain_vader_on_raw_text() -> None:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    ref = SentimentIntensityAnalyzer()
    for it in ITEMS[:60]:
        compound = ref.polarity_scores(it["text"])["compound"]
        assert score_plain(it["text"]).compound == compound
    assert score_plain("@united thanks").label == "positive"  # the baseline's known flaw


# ---------------------------------------------------------------- speed machinery is exact


def test_fast_vader_equals_vader() -> None:
    fast = sentiment._make_care_analyzer(care_lexicon=False)
    plain = sentiment._get_plain()
    extra = [
        "VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!",
        "At least it isn't a horrible book.",
        "The book was only kind of good.",
        "Today only kinda sux! But I'll get by, lol",
        "never so good, without doubt great 😍😍x 🙃done",
    ]
    for text in [it["text"] for it in ITEMS] + extra:
        assert fast.polarity_scores(text) == plain.polarity_scores(text), text


_VADER_VOCAB = (
    "not never no so this without doubt kind of good GREAT bad but very kinda "
    "the bomb least at 😍 🙃 ! ? , . sux lol"
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_VADER_VOCAB.split()), max_size=14))
def test_fast_vader_equals_vader_generated(words: list[str]) -> None:
    text = " ".join(words)
    fast = sentiment._make_care_analyzer(care_lexicon=False)
    assert fast.polarity_scores(text) == sentiment._get_plain().polarity_scores(text)


def test_rule_gate_never_changes_the_cues() -> None:
    for it in ITEMS + BLIND_ITEMS:
        low = clean_for_scoring(it["text"]).lower()
        toks, words = sentiment._tokens(low)
        gated = sentiment._care_cues(low, toks, words)
        fired = sentiment._fired_rules(it["text"])
        weights = {name: w for name, w, _t, _p in sentiment._RULES}
        assert len(weights) == len(sentiment._RULES)  # names are unique
        ungated_neg = sum(weights[n] for n in fired if weights[n] > 0)
        ungated_pos = -sum(weights[n] for n in fired if weights[n] < 0)
        assert gated == pytest.approx((ungated_neg, ungated_pos)), it["text"]


def test_the_language_score_detects_is_the_one_detect_language_gives():
    import json
    from pathlib import Path

    data = Path(__file__).parent / "data"
    texts = [
        json.loads(line)["text"]
        for name in ("care_sentiment.jsonl", "care_sentiment_blind.jsonl")
        for line in (data / name).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    found = found_en = 0
    for text in texts:
        result, detected = sentiment.score_with_language(text)
        assert result == sentiment.score(text)
        if result.label == "unknown":
            assert detected == sentiment.detect_language(text), text
            found += detected is not None
        elif detected == "en":
            # the English scorer answered a text detection calls English: stored as en
            assert sentiment.detect_language(text) == "en", text
            found_en += 1
        elif detected is not None:
            # scored by a language's lexicon: that language, named even when a short
            # text left detect_language unsure
            assert detected in supported_languages() - {"en"}, text
            assert sentiment.detect_language(text) in (detected, None), text
            found += 1
    assert found >= 10  # the sets hold enough non-English texts for this to mean something
    assert found_en >= 10


@pytest.mark.parametrize(
    "text",
    [
        "0/10 would recommend",
        "@shopexample 0/10, would recommend to my enemies",
        "1/5 stars, never again",
        "zero out of ten",
        "would not recommend",
        "thanks for nothing",
        "how do I avoid paying for the return?",
    ],
)
def test_sarcastic_and_bottom_scores_are_negative(text: str) -> None:
    assert sentiment.score(text).label == "negative"


def test_a_top_score_stays_positive() -> None:
    assert sentiment.score("10/10 would recommend").label == "positive"


@pytest.mark.parametrize(
    "text",
    [
        "@united overbooked and bumped me off the flight",
        "@SouthwestAir the plane is filthy",
        "@united gate agent couldn't care less",
        "@united thanks for ruining my vacation",
        "@Chase why is there a $35 fee on my account",
        "@Verizon how is my bill $80 more than last month",
        "@Dell laptop overheats and shuts down constantly",
    ],
)
def test_more_complaints_to_brands(text: str) -> None:
    assert score(text).label == "negative"


def test_couldnt_be_happier_is_praise() -> None:
    assert score("thanks for the help, couldn't be happier").label == "positive"


# --------------------------------------------------------------------------- emoji


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("love these trainers 🔥🔥", "positive"),  # VADER reads "fire": negative
        ("Shop Example clearance 90% OFF 🔥 all sizes, today only", "positive"),
        ("order cancelled for the third time 💔", "negative"),  # VADER: "heart", positive
        ("the soup in the box was 🤮", "negative"),  # VADER: nothing
        ("delivered the next morning 🤩", "positive"),
        ("not 🔥 at all, the sole came off", "negative"),  # negation still applies
    ],
)
def test_an_emoji_means_in_english_what_it_means_elsewhere(text: str, label: str) -> None:
    assert score(text, "en").label == label


def test_every_clear_emoji_has_the_same_sign_in_english_and_the_lexicon_languages() -> None:
    """The one table (``emoji_valence``) decides, except where the care layer reads the
    emoji itself (complaint cues) or keeps it neutral on purpose (🙏, 👏)."""
    from social_watch.emoji_valence import EMOJI_VALENCE

    cues = sentiment._emoji_cues()
    checked = 0
    for emoji, valence in EMOJI_VALENCE.items():
        if abs(valence) < sentiment._EMOJI_MIN_VALENCE or emoji in cues:
            continue
        if emoji in sentiment._EMOJI_KEEP_VADER:
            continue
        english = sentiment._get_care().polarity_scores(f"the parcel {emoji}")["compound"]
        polish = score(f"paczka {emoji}", "pl").compound
        assert english * valence > 0 and polish * valence > 0, emoji
        checked += 1
    assert checked >= 40


def test_the_kept_emoji_stay_as_vader_reads_them() -> None:
    """🙏 is a request's "please" (neutral in care), 👏 as often sarcastic as not."""
    plain = sentiment._make_care_analyzer(care_lexicon=False)
    for emoji in sentiment._EMOJI_KEEP_VADER:
        care = sentiment._get_care()
        assert care.emojis[emoji] == plain.emojis[emoji]


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("@shopexample the dresser arrived with a massive crack down the side", "negative"),
        ("mug arrived chipped and the box was stained", "negative"),
        ("the upper is already fraying at the toe box", "negative"),
        ("own 3 pairs of the linen trousers, zero regrets", "positive"),  # "zero" negates
        ("no regrets ordering the big sofa", "positive"),
        ("I regret ordering from you", "negative"),
        ("just ordered for the first time, fingers crossed the sizing is good", "positive"),
        ("for the third time, where is my order", "negative"),
        ('my refund was promised "within 5 working days". Today is day 12.', "negative"),
        ("day 9. nothing from you", "negative"),
        ("day 2 of my holiday and loving the new bag", "positive"),
        ("we were promised free returns", "negative"),
        ("it showed up in 6 days. can I at least get the shipping fee back?", "negative"),
        ("at least it arrived in the end, thanks", "positive"),
        ("ordered on the 3rd and it's been sat in the hub ever since", "negative"),
        ("been loving them ever since", "positive"),
        ("the tracking link in your email goes to a 404 page", "negative"),
        ("tried twitter too, crickets", "negative"),
        ("how do I change the address on an order that hasn't shipped?", "neutral"),
        ("my order hasn't arrived", "negative"),
        ("my downloaded songs are greyed out", "negative"),
        ("Good evening, I would like to return a jacket", "neutral"),  # a greeting, no praise
        ("Hi, good morning! the jacket is great", "positive"),
        ("good afternoon, my parcel never arrived", "negative"),
        ("my order is late. thanks", "negative"),  # a closing thanks is politeness
        ("the box was damaged. Many thanks", "negative"),
        ("thanks!", "positive"),
        ("arrived today, thanks", "positive"),
        ("Do you ship to Norway? Best regards", "neutral"),  # a sign-off is no praise
        ("love it! have a great day", "positive"),
        ("Love your stuff but my order is 5 days late", "negative"),
        ("Honestly expected better from you guys", "negative"),
        ("looks great in the photos, in reality it's a cheap thin fabric", "negative"),
        ("Ordered a medium, got a small. Again.", "negative"),
        ("ordered the blue one and received the blue one, perfect", "positive"),
        ("will definitely order again.", "positive"),
        ("Been trying to get through to customer service all morning", "negative"),
        ("Received someone else's order, where's mine?", "negative"),
        ("My parcel is sitting in a depot 200 miles away", "negative"),
        ("the quality has gone downhill lately", "negative"),
        ("not late at all, arrived early", "positive"),
        # the price as the complaint, and as a plain question
        ("love the dress but it is so expensive", "negative"),
        ("love the new collection but shipping to Slovakia costs a fortune", "negative"),
        ("not expensive at all, great quality", "positive"),
        ("is shipping to Slovakia expensive?", "neutral"),
        ("how expensive is express delivery?", "neutral"),
        # worse than the shop said, and better
        ("refund arrived 3 days later than promised", "negative"),
        ("the jacket is smaller than pictured", "negative"),
        ("arrived sooner than expected, love it", "positive"),
        ("much better than expected", "positive"),
        ("the final price was less than quoted, thank you!", "positive"),
        ("cost less than expected, great deal!", "positive"),
        ("the queue was shorter than expected, great service", "positive"),
        ("fewer than expected issues, thanks team", "positive"),
        ("delivery took less than promised, amazing", "positive"),
        ("costs a fortune but worth it", "positive"),
        ("the size guide says 26.5 cm, mine are clearly 27.5. Which one is right?", "neutral"),
        ("clearly the best shop in town", "positive"),
    ],
)
def test_care_words_a_shop_hears(text: str, label: str) -> None:
    assert score(text, "en").label == label


@pytest.mark.parametrize("text", ["שלום", "مرحبا", "你好", "こんにちは", "Γεια σας"])
def test_a_short_text_in_a_script_no_scorer_reads_is_unknown_not_neutral(text: str) -> None:
    assert score(text).label == "unknown"


@pytest.mark.parametrize(("text", "label"), [("👍", "positive"), ("ok 👍", "positive")])
def test_emoji_alone_are_still_scored(text: str, label: str) -> None:
    assert score(text).label == label
