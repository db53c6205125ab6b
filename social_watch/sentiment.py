"""Sentiment for customer care: find the complaints plain VADER misses.

Why this module exists
----------------------
A care team must never miss a negative mention. Plain VADER, tuned for general social
text, finds well under half of the complaints customers send to shops: politeness
("hi, could you please help, thanks") and product words read as positive, and care
language ("still waiting", "where is my order?", "charged twice") is not in its lexicon.
It also reads only English, and scores @-handles and URLs as if they were words.

``score(text, lang)`` therefore runs VADER with a *customer-care layer*; ``score_plain``
is the unmodified baseline. ``bench/sentiment_eval.py`` measures both on
``tests/data/care_sentiment.jsonl`` (dev split for tuning, test split held out);
``bench/sentiment_blind.py`` does the same on ``tests/data/care_sentiment_blind.jsonl``,
written and labelled before this module was read (tune half for tuning, holdout half
held out).

What the care layer does, in order
----------------------------------
1. **Clean** (``clean_for_scoring``): drop @handles and URLs, keep hashtag words without
   ``#``, straighten curly apostrophes. A brand handle like ``@united`` or ``@bestbuy``
   is not sentiment.
2. **Language**: a given or detected cs/sk/pl/uk/ru/de text is scored by the
   lexicon-and-rules scorer in ``lexicon_sentiment`` (lexicons under ``data/lexicons``,
   loaded lazily); any other non-English language gives ``unknown`` (compound 0.0):
   VADER would call most foreign complaints "neutral" and hide them.
   Network codes meaning "undetermined" ("und", "zxx", "qme", ...) count as not given.
   Without ``lang`` a cheap pre-check (no non-ASCII letters and at least two common
   English function words) accepts English without calling py3langid; only otherwise
   is py3langid consulted (lazily imported, restricted to common languages), and only a
   confident non-English result becomes ``unknown``. A single function word that other
   languages share ("is", "was", "on", ...) does not make a short text English.
3. **Care lexicon**: VADER's lexicon (a private copy) is adjusted once, at no cost per
   text. Words that are politeness or routine in care messages lose their valence
   ("please", "help", "support", "care", "like", "hope", "free", "credit", "united",
   "promised", ...), and so do thread acknowledgements ("ok", "yes") and request words
   ("I'd like to", "order number"); care-failure words gain one ("delayed", "late",
   "cancelled", "waiting", "overcharged", "faulty", "crashing", "ghosted", "mouldy", ...),
   as do complaint hashtags written as one word ("neveragain", "epicfail"). A word that
   VADER uses only as a booster ("incredible") is scored when the care lexicon gives it a
   valence, and emoji whose description VADER cannot score ("👍", "❤️" with its variation
   selector) read as thanks.
4. **Care rules**: one pass of compiled regular expressions finds *complaint cues* and
   *resolution cues*, each with a weight. Complaint cues are rules, not sentences:

   - waiting and durations ("still waiting", "on hold", "for 3 weeks", "10 days ago");
   - no answer ("no reply", "nobody", "never heard back", "is anyone there?");
   - not arrived / not working ("hasn't arrived", "not received", "doesn't work",
     "can't log in", "keeps crashing"), lost / damaged / wrong / missing items;
   - money: "charged twice", "I was charged", "took my money", "hidden fee",
     refunds that are missing, pending or requested, "cancelled", "scam"; the price as
     the complaint ("costs a fortune", "daylight robbery"; "expensive" is a care word);
   - worse than the shop said: "3 days later than promised", "smaller than pictured";
   - "still" + negation or failure, "again" after a failure (but "will order again" is
     praise), "never ... again", "not ... yet", "yet another";
   - questions that imply failure: "where is my ...", "why haven't/isn't/does it ...",
     "how long do I have to wait", "how many times", "when will I get ...",
     "what's going on", "any update";
   - negated satisfaction ("not happy", "not impressed", "not good enough");
   - complaint vocabulary ("disappointed", "unacceptable", "fed up", "waste of", ...);
   - politeness that masks a complaint: "thanks for nothing", "thanks for ruining ...",
     "couldn't care less", "thanks, but ...", "I've
     been patient but", "I appreciate ... however", "following up again", "please
     sort/fix/refund ..." (a bare "please help" is politeness, not a cue), "I already
     sent/tried/paid ...";
   - broken promises about money and products: "paid for ... but", "... but still",
     "my bill went up", "price doubled", "stopped working", "barely a year old",
     "another delay", "deleting the app", "taking my business elsewhere";
   - sarcasm only where the marker is clear: "love how", "so much for", "yeah right",
     "/s", "#not", eye-roll/angry emoji.

   Resolution cues keep praise positive even when it mentions a past problem: "refund
   came through", "sorted it quickly", "thanks for the quick reply", "thanks for looking
   into it", "arrived early", "highly recommend", "will order again", "I'll always fly
   with you", "can't wait" (not "can't wait any longer"), "no hassle".
5. **Combine**: with ``n`` = complaint weight and ``p`` = resolution weight, if
   ``n > p`` the positive part of VADER's compound is damped (politeness and sarcasm
   carry no praise once a failure is named) and ``n - p`` is subtracted; if ``p > n``,
   a negative compound is damped and ``p - n`` added. With no cue, a positive compound
   of a question is damped: "do you have a loyalty card?" is a request, not praise; and
   a negative compound of an information request ("how do I cancel?", "can I pay by
   card?", "is there a fee?", "just checking if my flight is affected") is damped: its
   negative words are the topic, not the customer's mood. The result is clipped to
   [-1, 1].

Labels use VADER's usual thresholds, compound >= 0.05 positive, <= -0.05 negative.
Thresholds from ±0.05 to ±0.2 were measured on the dev split: they differ by at most one
item, so the standard ones stay (and ``score`` and ``score_plain`` stay comparable).

Speed: ingest scores every mention, so ``score`` must cost about what plain VADER costs.
Regexes are compiled once at import, VADER and py3langid load lazily and once, the
language pre-check avoids py3langid for typical English text, and the care analyzer
skips VADER's per-character emoji loop for ASCII text (same result, see
``_CareAnalyzer``).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

from social_watch.models import Sentiment

__all__ = [
    "clean_for_scoring",
    "detect_language",
    "score",
    "score_detail",
    "score_plain",
    "supported_languages",
    "undetermined",
]

POSITIVE_THRESHOLD = 0.05
NEGATIVE_THRESHOLD = -0.05

# --------------------------------------------------------------------------- cleaning

_URL_RE = re.compile(
    r"(?:https?://|www\.)\S+|\b[a-z0-9-]+\.(?:com|co|ly|io|me|gl|net|org)/\S*", re.I
)
# an @handle: at start or after a non-word char (so e-mail addresses' domains also go)
_HANDLE_RE = re.compile(r"(?<![\w@])@\w+|\S+@\S+\.\w+")
_HASH_RE = re.compile(r"(?<![\w&])#(?=\w)")
_SPACES_RE = re.compile(r"[ \t]{2,}")
_RT_RE = re.compile(r"^RT\s*:?\s*", re.I)


def clean_for_scoring(text: str) -> str:
    """The text the customer wrote: no @handles, no URLs, hashtags without ``#``.

    Curly apostrophes become ``'`` so that contractions ("haven’t") match VADER's
    negation list and the care rules. Whitespace left behind is collapsed.
    """
    if "@" in text:
        text = _HANDLE_RE.sub("", text)
    if "/" in text or "www." in text:
        text = _URL_RE.sub("", text)
    if "#" in text:
        text = _HASH_RE.sub("", text)
    if "\u2019" in text:
        text = text.replace("\u2019", "'")
    if text.startswith(("RT", "rt")):
        text = _RT_RE.sub("", text)
    if "  " in text or "\t" in text:
        text = _SPACES_RE.sub(" ", text)
    return text.strip()


# --------------------------------------------------------------------------- language


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Languages py3langid may answer with: the common ones on social networks. Restricting
# the model avoids exotic guesses (Latin, Walloon, ...) for short English tweets.
_LANGID_LANGS = sorted(
    _wordset(
        "en de fr es it pt nl cs sk pl sv da no fi is et lv lt hu ro bg hr sr sl uk ru el tr "
        "ar he fa hi ur bn ta th vi id ms tl ja ko zh ca eu gl ga cy sq mk"
    )
)
# Function words that are English and rarely words of the languages above.
_EN_FUNCTION_WORDS = _wordset(
    """the and you your you're my i i'm im i've i'd it it's its is are was were have has
    had been this that with for not what why where when how can can't just got get
    still but please thanks thank order of do does did don't doesn't didn't be we our
    they their there at if or any would could should from about after than then who
    which will won't haven't hasn't isn't wasn't aren't yet again an on up out off into
    by as one two us he she his her them ever never very really too now today thank
    received delivered arrived ordered bought anyone someone anything nothing"""
)
# Of those, words that are also common function words of other Latin-script languages
# ("pakket is beschadigd", "was ist los", "on arrive"): alone they do not make English.
_SHARED_WORDS = _wordset("is was an on be we do die me has had her one by as at of or")
_NON_ASCII_LETTER_RE = re.compile(
    "[\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff\u0530-\u06ff\u0900-\u0dff\u0e00-\u0eff"
    "\u10a0-\u10ff\u1100-\u11ff\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]"
)
_LETTERS_RE = re.compile(r"[^\W\d_]")
_UNDETERMINED = frozenset({"und", "zxx", "qme", "qht", "qam", "qst", "qct", "art", "mis", ""})
_MIN_LETTERS = 8  # below this there is nothing to tell a language from
_NON_EN_CONFIDENCE = 0.6  # py3langid probability needed to call a text non-English
_DETECT_CONFIDENCE = 0.5  # below this detect_language says None

_identifier: Any = None
_lock = threading.Lock()


def _get_identifier() -> Any:
    global _identifier
    if _identifier is None:
        with _lock:
            if _identifier is None:
                _identifier = _load_identifier()
    return _identifier


def _load_identifier() -> Any:
    """py3langid restricted to ``_LANGID_LANGS``, from the unpacked copy in the user's
    cache when there is one (``langid_model``). Any surprise in the model file: the
    stock loader."""
    from social_watch import langid_model

    try:
        return langid_model.load(_LANGID_LANGS)
    except Exception:  # another py3langid layout: its own loader
        from py3langid import langid

        ident = langid.LanguageIdentifier.from_model_file(langid.MODEL_FILE, norm_probs=True)
        ident.set_languages(_LANGID_LANGS)
        # set_languages keeps the full model to reset to; nothing here resets
        ident._full_model = (ident.nb_ptc, ident.nb_pc, ident.nb_classes)
        return ident


def _looks_english(cleaned: str, words: set[str] | None = None) -> bool:
    """Cheap pre-check: plain Latin text with common English function words.

    ``words`` are the lowercased tokens of ``cleaned`` if the caller already has them.
    """
    if not cleaned.isascii() and _NON_ASCII_LETTER_RE.search(cleaned):
        return False
    if words is None:
        words = set(_TOKEN_RE.findall(cleaned.lower()))
    found = _EN_FUNCTION_WORDS.intersection(words)
    hits = len(found)
    # one hit in a short text is enough, unless that word is also Dutch/German/French/...
    return hits >= 2 or (hits == 1 and len(words) <= 6 and found.isdisjoint(_SHARED_WORDS))


def _detect(cleaned: str, words: set[str] | None = None) -> tuple[str | None, float]:
    """(language, confidence) of an already cleaned text; (None, 0.0) if too short."""
    if _looks_english(cleaned, words):
        return "en", 1.0
    if len(_LETTERS_RE.findall(cleaned)) < _MIN_LETTERS:
        return None, 0.0
    lang, prob = _get_identifier().classify(cleaned)
    return lang, prob


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of ``text`` ("en", "de", "cs", ...), or None when too short/unsure.

    Handles, URLs and hashtag signs are ignored. English is recognised by a cheap
    function-word check; py3langid (restricted to common languages) is used otherwise.
    """
    lang, prob = _detect(clean_for_scoring(text))
    if lang is None or prob < _DETECT_CONFIDENCE:
        return None
    return lang


def undetermined(lang: str) -> bool:
    """True for a code that names no language ("und", "zxx", X's "qme", ...)."""
    return lang.lower() in _UNDETERMINED


def _is_english_code(lang: str) -> bool:
    return lang.lower().replace("_", "-").split("-", 1)[0] == "en"


# --------------------------------------------------------------------------- VADER

# The care lexicon: valences replacing VADER's for care messages (VADER's scale, -4..4).
_CARE_LEXICON: dict[str, float] = {
    # politeness and routine care words: not praise in a message to a shop
    "please": 0.0,
    "clearly": 0.0,  # "clearly 27.5, not 26.5", "clearly used": emphasis, not praise
    "pls": 0.0,
    "plz": 0.0,
    "help": 0.0,
    "helps": 0.0,
    "support": 0.0,
    "care": 0.0,
    "cares": 0.0,
    "like": 0.0,
    "hope": 0.3,
    "hoping": 0.3,
    "free": 0.4,
    "credit": 0.0,
    "united": 0.0,
    "sure": 0.3,
    "promise": 0.0,
    "promised": 0.0,
    "kindly": 0.3,
    "share": 0.0,
    "ready": 0.3,
    # acknowledgements in a thread ("@X ok", "yes", "DM sent") are not praise
    "ok": 0.0,
    "okay": 0.0,
    "lol": 0.3,
    "wow": 0.6,
    "joke": -1.5,
    "resolved": 1.2,
    "yes": 0.0,
    "want": 0.0,
    "save": 0.8,
    "saved": 0.8,
    "sorry": -0.1,
    "po": 0.0,
    "sharing": 0.0,
    "loyalty": 0.0,
    "gift": 0.0,
    "quick": 0.6,
    "number": 0.0,
    "fast": 0.6,
    "obsessed": 1.0,
    # praise VADER does not know
    "incredible": 2.8,
    "smooth": 1.5,
    "seamless": 2.0,
    "speedy": 1.5,
    "prompt": 1.0,
    "reliable": 1.5,
    "magic": 1.5,
    "comfy": 1.5,
    "chuffed": 2.5,
    "unreal": 1.0,
    "legend": 2.0,
    "legends": 2.0,
    # care failures VADER does not know (or under-weights)
    "waiting": -0.8,
    "waited": -0.8,
    "late": -1.0,
    "delayed": -1.6,
    "delay": -1.4,
    "delays": -1.4,
    "cancelled": -1.4,
    "canceled": -1.4,
    "overdue": -1.4,
    "stranded": -1.8,
    "overbooked": -1.8,
    "unsafe": -2.0,
    "overheats": -2.0,
    "overheating": -2.0,
    "inconsistent": -1.2,
    "dies": -1.5,
    "bumped": -1.2,
    "yelled": -2.0,
    "screamed": -2.0,
    "filthy": -2.5,
    "smelly": -1.5,
    "cramped": -1.2,
    "clueless": -2.0,
    "stuck": -1.3,
    "overcharged": -2.2,
    "ripoff": -2.5,
    "faulty": -1.8,
    "damaged": -2.0,
    "smashed": -1.8,
    "squashed": -1.4,
    "crushed": -1.6,
    "dented": -1.4,
    "leaking": -1.4,
    "scratched": -1.2,
    "scratches": -1.0,
    "cracked": -1.4,
    # damage in a parcel, as a customer names it ("a massive crack down the side")
    "crack": -1.4,
    "cracks": -1.4,
    "chipped": -1.4,
    "stained": -1.2,
    "frayed": -1.2,
    "fraying": -1.2,
    "ripped": -1.4,
    # silence and broken things, as customers say it
    "crickets": -1.2,
    "greyed": -1.2,  # "my downloads are greyed out"
    "grayed": -1.2,
    "404": -1.5,
    "lie": -1.5,
    "soaked": -1.0,
    "ruined": -2.2,
    "expired": -1.0,
    "crashing": -1.6,
    "crashed": -1.6,
    "crashes": -1.6,
    "glitch": -1.2,
    "outage": -1.6,
    "unanswered": -1.6,
    "unresponsive": -1.6,
    "ghosted": -1.8,
    "declined": -0.8,
    "hacked": -1.8,
    "compromised": -1.5,
    "gutted": -2.2,
    "shambles": -2.4,
    "rubbish": -1.8,
    "yikes": -1.2,
    "pending": -0.4,
    "escalated": -0.8,
    "unhelpful": -1.9,
    "slow": -1.2,
    "slower": -1.0,
    "slowest": -1.8,
    "nightmare": -2.5,
    "hassle": -1.2,
    "fuss": -0.8,
    "cold": -0.8,
    "mouldy": -1.8,
    "moldy": -1.8,
    "stale": -1.2,
    "inedible": -2.0,
    "undercooked": -1.5,
    "soggy": -1.0,
    "overpriced": -1.5,
    # price complaints ("love it but so expensive"); a question about the price is an
    # information request, and the combine step damps its negative reading
    "expensive": -1.0,
    "pricey": -0.8,
    "extortionate": -2.0,
    # hashtags are scored as their word; these compounds are common in complaints
    "neveragain": -2.5,
    "epicfail": -2.5,
    "notimpressed": -2.0,
    "customerservicefail": -2.5,
    "badservice": -2.0,
    "poorservice": -2.0,
    "worstservice": -2.5,
}

# Emoji whose VADER description carries no valence ("thumbs up", "raising hands"), given
# one in care messages: a bare "👍" or "❤️" in a thread is thanks.
_CARE_EMOJI: dict[str, str] = {
    "\U0001f44d": "thumbs up good",
    "\U0001f44c": "ok hand good",
    "\U0001f64c": "raising hands yay",
    "\u2705": "check mark button good",
    "\U0001f4af": "hundred points good",
}
# VADER reads an emoji as its Unicode name, and some names say the opposite of what the
# emoji means in a message or nothing at all: "fire" is negative (🔥 is praise: "love
# these 🔥"), "broken heart" positive (its "heart"), "face vomiting" and "star-struck"
# neutral. Those take the valence the lexicon languages give them
# (``emoji_valence``), so "love it 🔥" reads the same in English as in
# Polish. Not 🙏 (a request's "please", which the care lexicon keeps neutral) nor 👏 (as
# often sarcastic as not: "awesome job losing my bag 👏"); the complaint emoji (🙄 😡 …)
# are a care cue (``_RULES``) and keep VADER's reading.
_EMOJI_KEEP_VADER = frozenset("\U0001f64f\U0001f44f")
_EMOJI_MIN_VALENCE = 1.5  # a clear meaning; milder ones (💀, 😈) are left to VADER


def _make_care_analyzer(care_lexicon: bool = True) -> Any:
    """VADER for care; ``care_lexicon=False`` gives plain VADER's results (for tests)."""
    from vaderSentiment.vaderSentiment import (
        BOOSTER_DICT,
        N_SCALAR,
        NEGATE,
        SPECIAL_CASES,
        SentimentIntensityAnalyzer,
        SentiText,
    )

    # "zero regrets", "zero issues": a shop's customers negate with "zero" as with "no"
    negate = frozenset(NEGATE) | ({"zero"} if care_lexicon else frozenset())

    class _CareAnalyzer(SentimentIntensityAnalyzer):
        """VADER with the care lexicon and a faster, equivalent emoji pass.

        VADER replaces emoji by their descriptions in a per-character Python loop. No
        key of its emoji table is ASCII, so ASCII text passes through unchanged and
        non-ASCII text is handled by one regex substitution that inserts the same
        spaces as the original loop (a space before a description unless it starts
        the text or follows a space). Words outside the lexicon get VADER's 0 without a
        method call, and the negation and idiom checks lowercase only the words they
        look at instead of the whole sentence for every lexicon word. Results equal
        VADER's (checked by tests on the data set and on generated text).
        """

        _NON_ASCII = re.compile(r"[^\x00-\x7f]")
        _boosters: Any = BOOSTER_DICT

        def polarity_scores(self, text: str) -> dict[str, float]:
            if not text.isascii():
                emojis = self.emojis
                src = text

                def _desc(m: re.Match[str]) -> str:
                    ch = m.group()
                    desc = emojis.get(ch)
                    if desc is None:
                        return ch
                    i = m.start()
                    return (" " + desc) if i and src[i - 1] != " " else desc

                text = self._NON_ASCII.sub(_desc, src)
            text = text.strip()
            sentitext = SentiText(text)
            sentiments: list[float] = []
            words = sentitext.words_and_emoticons
            booster = self._boosters
            lexicon = self.lexicon
            last = len(words) - 1
            for i, item in enumerate(words):
                low = item.lower()
                # VADER appends 0 for boosters, "kind of" and words outside its lexicon;
                # doing that here skips a method call per ordinary word.
                if (
                    low not in lexicon
                    or low in booster
                    or (low == "kind" and i < last and words[i + 1].lower() == "of")
                ):
                    sentiments.append(0)
                    continue
                sentiments = self.sentiment_valence(0, sentitext, item, i, sentiments)
            sentiments = self._but_check(words, sentiments)
            return self.score_valence(sentiments, text)

        @staticmethod
        def _negation_check(
            valence: float, words: list[str], start_i: int, i: int
        ) -> float:  # same logic as VADER's
            if start_i == 0:
                w1 = words[i - 1].lower()
                if w1 in negate or "n't" in w1:
                    valence = valence * N_SCALAR
            elif start_i == 1:
                w2, w1 = words[i - 2].lower(), words[i - 1].lower()
                if w2 == "never" and (w1 == "so" or w1 == "this"):
                    valence = valence * 1.25
                elif w2 == "without" and w1 == "doubt":
                    pass
                elif w2 in negate or "n't" in w2:
                    valence = valence * N_SCALAR
            elif start_i == 2:
                w3, w2, w1 = words[i - 3].lower(), words[i - 2].lower(), words[i - 1].lower()
                if (w3 == "never" and (w2 == "so" or w2 == "this")) or (w1 == "so" or w1 == "this"):
                    valence = valence * 1.25
                elif w3 == "without" and (w2 == "doubt" or w1 == "doubt"):
                    pass
                elif w3 in negate or "n't" in w3:
                    valence = valence * N_SCALAR
            return valence

        @staticmethod
        def _special_idioms_check(valence: float, words: list[str], i: int) -> float:
            l0, l1 = words[i].lower(), words[i - 1].lower()
            l2, l3 = words[i - 2].lower(), words[i - 3].lower()
            twoone = f"{l2} {l1}"
            threetwoone = f"{l3} {l2} {l1}"
            threetwo = f"{l3} {l2}"
            for seq in (f"{l1} {l0}", f"{l2} {l1} {l0}", twoone, threetwoone, threetwo):
                if seq in SPECIAL_CASES:
                    valence = SPECIAL_CASES[seq]
                    break
            n = len(words)
            if n - 1 > i:
                zeroone = f"{l0} {words[i + 1].lower()}"
                if zeroone in SPECIAL_CASES:
                    valence = SPECIAL_CASES[zeroone]
            if n - 1 > i + 1:
                zeroonetwo = f"{l0} {words[i + 1].lower()} {words[i + 2].lower()}"
                if zeroonetwo in SPECIAL_CASES:
                    valence = SPECIAL_CASES[zeroonetwo]
            for n_gram in (threetwoone, threetwo, twoone):
                if n_gram in BOOSTER_DICT:
                    valence = valence + BOOSTER_DICT[n_gram]
            return valence

    analyzer = _CareAnalyzer()
    if care_lexicon:
        # VADER skips booster words as sentiment ("incredible" boosts, it never praises);
        # a word the care lexicon scores is scored.
        analyzer._boosters = frozenset(BOOSTER_DICT).difference(
            w for w, v in _CARE_LEXICON.items() if v
        )
        analyzer.emojis = {**analyzer.emojis, **_CARE_EMOJI}
        # U+FE0F after an emoji ("❤️") would glue to the description's last word
        analyzer.emojis["\ufe0f"] = ""
        lexicon = analyzer.lexicon
        for word, valence in _CARE_LEXICON.items():
            if valence == 0.0:
                # removed, not zeroed: VADER turns a zero-valence word in CAPS negative
                lexicon.pop(word, None)
            else:
                lexicon[word] = valence
        _agree_on_emoji(analyzer)
    return analyzer


def _agree_on_emoji(analyzer: Any) -> None:
    """Give an emoji whose VADER reading contradicts (or misses) its shared valence that
    valence, as a word of its own in the lexicon (negation and boosters still apply)."""
    from social_watch.emoji_valence import EMOJI_VALENCE

    cues = _emoji_cues()
    for emoji, valence in EMOJI_VALENCE.items():
        if abs(valence) < _EMOJI_MIN_VALENCE or emoji in _EMOJI_KEEP_VADER or emoji in cues:
            continue
        compound = analyzer.polarity_scores(emoji)["compound"]
        if compound * valence > 0:
            continue  # VADER's description already says it
        token = "emoji" + "".join(f"{ord(ch):x}" for ch in emoji)
        analyzer.emojis[emoji] = token
        analyzer.lexicon[token] = valence


def _emoji_cues() -> frozenset[str]:
    pattern = next(p for name, _w, _t, p in _RULES if name == "emoji")
    assert pattern is not None and pattern.startswith("[") and pattern.endswith("]")
    return frozenset(pattern[1:-1])


_plain_analyzer: Any = None
_care_analyzer: Any = None


def _get_plain() -> Any:
    global _plain_analyzer
    if _plain_analyzer is None:
        with _lock:
            if _plain_analyzer is None:
                from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

                _plain_analyzer = SentimentIntensityAnalyzer()
    return _plain_analyzer


def _get_care() -> Any:
    global _care_analyzer
    if _care_analyzer is None:
        with _lock:
            if _care_analyzer is None:
                _care_analyzer = _make_care_analyzer()
    return _care_analyzer


def warm_up() -> None:
    """Load everything ``score`` may need now (VADER, the care analyzer, py3langid)."""
    _get_care()
    _get_identifier()


def _label(compound: float) -> str:
    if compound >= POSITIVE_THRESHOLD:
        return "positive"
    if compound <= NEGATIVE_THRESHOLD:
        return "negative"
    return "neutral"


# --------------------------------------------------------------------------- care rules

_NUM = (
    r"(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|several|"
    r"few|a few|couple of|a couple of|many|thirteen|fourteen|fifteen|sixteen|seventeen|"
    r"eighteen|nineteen|twenty|thirty|forty|fifty|sixty)"
)
_UNIT = r"(?:min(?:ute)?s?|mins|hours?|hrs?|days?|business days|working days|weeks?|wks?|months?)"
_NEG = (
    r"(?:not|no|never|n't|cannot|can't|cant|won't|wont|don't|dont|didn't|didnt|doesn't|doesnt"
    r"|couldn't|couldnt|wouldn't|wouldnt)"
)
_NOT_ARRIVED = (
    r"(?:arrived?|received?|delivered|come|came|shipped|dispatched|turned up|shown up|showed up|"
    r"heard(?: back| anything)?|replied|responded|answered|got back|get back|called(?: me)? back|"
    r"refunded|fixed|resolved|sorted|work(?:ed|ing|s)?|applied|apply|accept(?:ed)?|load(?:ed|ing)?|"
    r"open(?:ed|ing)?|updated|moved|sync(?:ed|ing|s)?|connect(?:ed|ing|s)?|play(?:ed|ing|s)?|"
    r"turn(?:ed|ing)? on|boot(?:ed|ing|s)?|charg(?:e|ed|ing)|go(?:ne)? through|show(?:ed|n)?|"
    r"been (?:delivered|refunded|contacted|answered|resolved|added|credited|processed|paid|"
    r"returned|collected|picked up|sent|posted|approved|honou?red|applied|fixed|sorted))"
)

_UNITS = "min mins minute minutes hour hours hr hrs day days week weeks wk wks month months"
_DAYS = "monday tuesday wednesday thursday friday saturday sunday"
_NEGS = (
    "not no never n't cannot can't cant won't wont don't dont didn't didnt doesnt couldnt wouldnt"
)
_CONTACTS = "messages emails calls times dms tweets chats tickets"
_FEW = r"two|three|four|five|six|seven|eight|nine|ten|several|many|multiple|countless|numerous"

# The rules: (name, weight, triggers, pattern). Weight > 0 is a complaint cue, < 0 a
# resolution cue. A rule is tried only when one of its trigger tokens is in the text
# (tokens are ``[\w']+`` of the lowercased text, plus "n't" when a contraction is present
# and "<nonascii>" for emoji); every match of the pattern contains a trigger, so the gate
# only saves time (tests check it never changes a result). A rule without a pattern fires
# on its trigger tokens alone. Patterns match the lowercased cleaned text and must start
# at a word boundary (checked in ``_care_cues``) unless the name is in _NO_BOUNDARY.
_RULES: list[tuple[str, float, str, str | None]] = [
    # ---- politeness that masks a complaint
    ("thanks_for_nothing", 0.9, "nothing", r"thanks? (?:you )?for nothing"),
    # "thanks for ruining my trip": thanks for a harm is sarcasm
    (
        "thanks_for_harm",
        1.0,
        "ruining ruin wasting losing breaking cancelling canceling ignoring nothing",
        r"thanks? (?:you )?(?:so much |again )?for (?:ruining|ruin|wasting|losing|breaking|"
        r"cancell?ing|ignoring)",
    ),
    ("couldnt_care_less", 1.0, "less", r"(?:could ?n[o']?t|could not) care less"),
    ("couldnt_be_happier", -1.0, "happier", r"(?:could ?n[o']?t|could not) be happier"),
    # a charge questioned: "why is there a $35 fee", "how is my bill $80 more"
    (
        "why_fee",
        0.8,
        "why how",
        r"(?:why (?:is|are) there|why was i|why am i|how is my (?:bill|charge|invoice))"
        r"(?: \S+){0,4}? (?:fees?|charged?|charges|billed|more|higher)\b",
    ),
    ("had_to_return", 0.6, "return", r"had to (?:return|send back|send it back)"),
    # a bottom score ("0/10 would recommend", "1/5 stars") is sarcasm whatever follows it
    (
        "bottom_score",
        1.4,
        "0 1 2 zero",
        r"(?:0|1|2|zero) ?(?:/|out of) ?(?:10|ten|5|five)\b",
    ),
    (
        "patient",
        0.45,
        "patient",
        r"(?:been|being|have been|i've been|i was|we've been) (?:very |so |more than "
        r"|extremely )?patient",
    ),
    ("appreciate_but", 0.35, "appreciate", r"appreciate (?:\S+ ){0,8}?\S*,? (?:but|however)"),
    (
        "thanks_but",
        0.4,
        "thanks thank thx",
        r"(?:thanks|thank you|thx)(?: \S+){0,6}?,? (?:but|however)\b",
    ),
    (
        "already_done",
        0.4,
        "already",
        r"already (?:\w+ )?(?:paid|sent|tried|done|did|told|explained|given|provided|called"
        r"|contacted|reset|restarted|reinstalled|replied|submitted|filled|returned|answered)",
    ),
    (
        "follow_up",
        0.35,
        "follow following chasing",
        r"follow(?:ing)?[- ]up (?:again|on (?:my|our|the|case|ticket|order|complaint))"
        r"|chasing (?:my|this|up|again)",
    ),
    (
        "please_fix",
        0.3,
        "please kindly pls plz",
        r"(?:please|kindly|pls|plz) (?:\w+ )?(?:help (?:me )?(?:asap|now|urgently|immediately)"
        r"|sort|fix|resolve|respond|reply|refund|look into|explain|get back|call|contact|stop"
        r"|escalate|answer"
        r"|send (?:my|the|a replacement))",
    ),
    (
        "what_now",
        0.35,
        "what what's how",
        r"(?:now what|what now|what am i supposed to do|what do i do now|what's going on"
        r"|what is going on|what is happening|what's happening|what's the hold ?up"
        r"|how does that even happen|how is this (?:ok|okay|acceptable|possible))",
    ),
    (
        "anyone_there",
        0.45,
        "anyone any anybody someone even ever actually hello going gonna",
        r"(?:is |are )?(?:any ?one|any ?body|someone) (?:there|home|reading|listening|working)"
        r"|(?:any ?one|any ?body|someone|you) (?:ever )?(?:going to|gonna) (?:respond|reply"
        r"|answer|help|call|get back|fix|refund|contact)|hello ?\?"
        r"|do you (?:even|guys ever|ever|actually) (?:read|answer|reply|respond|care|check|look)"
        r"|actually (?:answer|reply|respond|read|look at|help|get back|call)",
    ),
    ("any_update", 0.3, "any", r"any (?:update|news|progress|word|idea when)"),
    (
        "repeat_contact",
        0.4,
        _CONTACTS,
        r"(?:sent|called|emailed|messaged|contacted|tried|asked|rang|phoned|dm'd|tweeted)"
        r" (?:you |them |\w+ )?(?:\d+|" + _FEW + r") (?:messages|emails|calls|times|dms|tweets)"
        r"|(?:\d+|" + _FEW + r") (?:messages|emails|calls|dms|tweets|chats|tickets) (?:later"
        r"|now|already|so far|and still|and no|this week|in)",
    ),
    # ---- waiting, durations
    (
        "waiting",
        0.45,
        "waiting hold queue waited counting since",
        r"(?:still|been|keep|kept|left|am|i'm|im|we're|are|was) waiting|waiting (?:for|on|since"
        r"|in)|on hold|hold music|in (?:a|the) queue|waited (?:in|for|all|over|\d)|and counting"
        r"|(?:open|pending|waiting|stuck|sitting|been) since",
    ),
    ("duration", 0.35, _UNITS, "_duration"),
    ("ago", 0.2, "ago", "_ago"),
    (
        "that_was",
        0.2,
        _UNITS + " " + _DAYS,
        r"(?:it's|its|it has|that was|it was) (?:been |now )?(?:"
        + _NUM
        + r" "
        + _UNIT
        + r"|a week|a month|(?:mon|tues|wednes|thurs|fri|satur|sun)day)",
    ),
    # ---- not arrived / no answer / not working
    ("not_done", 0.5, _NEGS, _NEG + r"(?: \w+)?(?: yet| even| ever| been)? " + _NOT_ARRIVED),
    (
        "hasnt_done",
        0.5,
        "hasn't hasnt haven't havent not yet isn't wasn't n't",
        # not after "that"/"which": "an order that hasn't shipped" names the order a
        # question is about ("how do I change the address on ..."), it does not complain
        r"(?<!that )(?<!which )"
        r"(?:hasn't|hasnt|haven't|havent|has not|have not|yet to|still not|still hasn't"
        r"|still haven't|isn't|is not|wasn't)(?: \w+)? " + _NOT_ARRIVED,
    ),
    (
        "no_reply",
        0.5,
        "no zero not without never",
        r"(?:no|zero|not a|not one|not a single|without (?:a|any)|never (?:got|had|received)"
        r" (?:a|any))(?: single)? (?:reply|replies|response|responses|answer|answers|update"
        r"|updates|word|call|calls|email|contact|communication|info|information|news|help"
        r"|feedback|acknowledg\w*|explanation|apology|resolution|refund|tracking|sign"
        r"|delivery attempt|one (?:answers|replies|responds|picks up|calls|cares))",
    ),
    ("nobody", 0.4, "nobody noone", None),
    (
        "nobody_phrase",
        0.4,
        "no nothing nothing's",
        r"no one|no-one|nothing has|nothing's|nothing arrived|nothing yet|still nothing"
        r"|nothing (?:here|there|came|turned up|at all)"
        r"|no call, no",
    ),
    (
        "not_here",
        0.4,
        "not isn't wasn't never n't",
        r"(?:not|isn't|is not|wasn't|never) (?:here|there|in the box|included|in stock"
        r"|what i ordered|as described|the same)",
    ),
    (
        "cant_do",
        0.4,
        "won't wont can't cant cannot couldn't unable impossible failed fails refuses refused n't",
        r"(?:won't|wont|can't|cant|cannot|couldn't|unable to|impossible to|failed to|fails to"
        r"|refuses to|refused to) (?:even )?(?:log|login|sign|access|get|find|track|reach"
        r"|contact|check ?out|pay|use|open|load|cancel|build|connect|download|apply|return"
        r"|change|talk|speak|order|update|reset|see|answer|respond|reply|pick up|deliver"
        r"|explain|sync|play|print|charge|book|redeem|add|verify|activate|install|stream|watch)"
        r"|(?:can't|cant|cannot|couldn't) even",
    ),
    (
        "keeps",
        0.4,
        "keep keeps kept",
        r"keeps? (?:on )?(?:\w+ing|telling|saying|sending|asking|charging)|kept (?:\w+ing)",
    ),
    (
        "every_time",
        0.3,
        "time",
        r"every (?:single )?time|each time",
    ),
    (
        "problem_word",
        0.3,
        "lost missing stolen damaged broken smashed crushed squashed dented leaking ripped torn "
        "soaked ruined rotten expired faulty defective scratches scratched cracked shattered "
        "error glitch glitches bug buggy outage stuck stranded crash crashes crashed crashing "
        "unusable malfunctioning hacked compromised",
        None,
    ),
    (
        "problem_phrase",
        0.3,
        "dead empty wrong used down logged logs locked declined failed exist ordered delivered "
        "date past",
        r"dead on arrival|empty box|wrong (?:item|size|colou?r|order|address|product|one|thing"
        r"|parcel|shoes?)|(?:sent|got|received|delivered|given) (?:me )?(?:the |a )?wrong"
        r"|not what i ordered|used (?:\w+ )?as new|(?:is|are|was|went) down|down (?:again|for)"
        r"|logs? (?:me )?out|logged (?:me )?out|locked out|account (?:is |was )?locked"
        r"|payment (?:declined|failed)|order (?:shows as|is) failed|doesn't exist"
        r"|(?:says|shows|marked|marked as|showing|shown as) (?:it was |it's |as )?delivered"
        r"|(?:app|site|website|internet|wifi|wi-fi|broadband|service|servers?|network|system"
        r"|signal|phones?|lines?|checkout|platform|psn) (?:is |are |was |went |been |still )?down\b"
        r"|out of date|past (?:its|the) (?:use|sell|best)",
    ),
    # ---- money
    (
        "charged",
        0.5,
        "charged billed debited took taken take deducted double over overcharged charging money "
        "charge hidden restocking cancellation chargeback",
        r"(?:charged|billed|debited|took|taken|take|deducted)(?: me| us| my card| my account)?"
        r" (?:twice|double|two times|again|extra|more|for (?:something|an?|bags|items?|things"
        r"|returns)|without|but|\d+ times|a £|a \$|£|\$|€)|double[- ]charged|over ?charged"
        r"|charged me|charging me|(?:i|we) (?:was|were|got|been|have been|keep getting|am being"
        r"|are being|still got) (?:charged|billed)|(?:took|taken|take|kept|keep|have|has|keeping)"
        r" (?:all )?(?:my|our|the) money|my money back|where(?:'s| is) (?:my|the) money"
        r"|charge you for|hidden (?:fee|charge)|restocking fee|cancellation fee|charge back"
        r"|chargeback",
    ),
    (
        "refund_missing",
        0.45,
        "refund",
        r"(?:no|still no|waiting (?:on|for) (?:my|a|the)|where(?:'s| is) (?:my|the)|want a"
        r"|need a|like a|request(?:ed|ing)? a|demand(?:ing)? a|get a|give me a|issue a"
        r"|asked for a|chase (?:my|the)|promised (?:a|my|me a))(?: full)? refund|refund one"
        r"|refund (?:is |was |has |had |still |never |been )*(?:still|pending|not|never|yet"
        r"|delayed|promised|denied|refused|rejected)",
    ),
    ("cancelled", 0.35, "cancelled canceled cancelling canceling cancellation", None),
    (
        "scam",
        0.55,
        "scam scams scammed scammer scammers scamming fraud fraudulent fraudster fraudsters "
        "ripoff thief thieves",
        None,
    ),
    (
        "scam_phrase",
        0.55,
        "rip ripped con daylight",
        r"rip(?:ped)?[- ]?off|con artists?|daylight robbery",
    ),
    # ---- still / again / yet
    (
        "still_fail",
        0.45,
        "still back",
        r"still (?:\w+ ){0,2}?(?:no|not|nothing|waiting|wait|haven't|hasn't|isn't|doesn't|don't"
        r"|can't|cannot|won't|didn't|aren't|pending|broken|missing|stuck|says|shows|showing"
        r"|down|charging|getting|at the|in transit|processing|unresolved|listed|advertised)"
        r"|(?:is|are) still (?:there|happening|the same|an issue|a problem|going on)"
        r"|(?:issue|problem) is back",
    ),
    (
        "never_again",
        0.55,
        "again gave give giving",
        r"(?:never|not|won't|wont|will not|n't|no longer|not be) (?:\w+ ){0,4}?again"
        r"|never again|gave up|give up|giving up",
    ),
    (
        "order_again",
        -0.3,
        "again would always",
        r"(?:order(?:ed|ing)?|buy(?:ing)?|bought|shop(?:ping)?|use|using|fly(?:ing)?|book(?:ing)?"
        r"|recommend) (?:\w+ )?(?:\w+ )?again|would (?:order|buy|recommend)"
        r"|(?:i'll|i will|will|i'd|i) always (?:fly|shop|order|use|buy|choose|book|come back)",
    ),
    ("failed_again", 0.4, "again", "_failed_again"),
    (
        "again_marker",
        0.4,
        "again twice second third fourth fifth 2nd 3rd 4th 5th time row",
        r"yet again|once again|again[?!]|happened (?:again|twice)|twice now|(?:second|third"
        r"|fourth|fifth|2nd|3rd|4th|5th) (?:time|email|call|message|attempt|exchange|complaint"
        r"|damaged|one)|for the (?!first |1st )\w+ time|in a row",
    ),
    ("not_yet", 0.35, "yet", _NEG + r" (?:\S+ ){0,4}?yet|yet another"),
    # late by a count, a worse-than-expected product, the wrong thing sent, a wait at a depot
    (
        "late_by",
        0.4,
        "late",
        r"\b\d+ (?:min(?:ute)?s?|hours?|hrs?|days?|weeks?) late\b"
        r"|(?:is|was|are|were|running|arrived|came|delivered) (?:\w+ )?late\b",
    ),
    ("expected_better", 0.5, "expected hoped", r"(?:expected|hoped for) (?:much )?(?:better|more)"),
    ("in_reality", 0.4, "reality", r"in reality"),
    (
        "ordered_got",
        0.5,
        "ordered",
        # something else than ordered: "ordered a medium, got a small" (not "the blue one
        # and received the blue one")
        r"ordered (?:a |an |the )(\w+)(?: \w+)?,? (?:but |and )?(?:got|received|they sent)"
        r"(?: me)? (?:a |an |the )(?!\1\b)\w+",
    ),
    ("someone_elses", 0.5, "else's", r"someone else's (?:order|parcel|package|item)"),
    (
        "cant_get_through",
        0.5,
        "trying tried through hold",
        r"(?:trying|tried) to (?:get through|reach|contact|get hold)|can'?t get (?:through|hold)",
    ),
    (
        "stuck_at_depot",
        0.4,
        "sitting sat stuck",
        r"(?:sitting|sat|stuck) (?:in|at) (?:a |the |your )?(?:\w+ )?"
        r"(?:depot|warehouse|hub|sorting|customs|post office)",
    ),
    ("downhill", 0.5, "downhill", r"(?:gone|going|went) downhill"),
    # a failure told in one word after it: "got a small. Again."
    ("again_alone", 0.4, "again", r"(?:^|[.!?] *)again[.!?]*$"),
    # counting the days of a wait: "today is day 12", "day 17. not a peep"
    (
        "day_count",
        0.35,
        "day",
        r"(?:today is|it's|its|now|we're on|this is) day \d{1,3}\b|^day \d{1,3}(?:[.!,:]|$)",
    ),
    # the least a customer still asks for: "can I at least get the shipping fee back?"
    (
        "at_least",
        0.35,
        "least",
        r"(?:can|could|would|will) (?:i|you|we|someone) (?:\w+ )?at least"
        r"|at least (?:reply|answer|respond|acknowledge|tell|let|refund|give|send|apologi[sz]e)",
    ),
    # a parcel that has not moved since: "it's been sat in the hub ever since"
    (
        "ever_since",
        0.35,
        "since",
        r"(?:sat|sitting|stuck|waiting|nothing|silence|no (?:word|reply|update|news))\b"
        r".{0,60}\bever since",
    ),
    # what the shop said would happen, told back: "was promised within 5 working days"
    ("was_promised", 0.3, "promised", r"(?:was|were|been|got) promised\b"),
    # worse than the shop said: "3 days later than promised", "smaller than pictured"
    (
        "than_promised",
        0.4,
        "than",
        # a wait or a quality worse than said; a size only against what was shown (a
        # price or a queue "less/shorter than expected" is good news)
        r"(?:later|longer|slower|worse) than (?:promised|advertised|stated|quoted|expected"
        r"|described|estimated|you said|they said|it said)\b"
        r"|(?:smaller|thinner|shorter) than (?:advertised|described|pictured|shown"
        r"|(?:on |in )?(?:the |your )?(?:website|site|app|listing|description|photos?"
        r"|pictures?))\b",
    ),
    # the price as the complaint: "shipping costs a fortune", "daylight robbery"
    (
        "costs_a_fortune",
        0.4,
        "fortune leg robbery",
        # not "costs a fortune but worth it"
        r"cost(?:s|ed|ing)? (?:me |us )?(?:a (?:small )?fortune|an arm and a leg)"
        r"(?!.{0,30}\bworth)|daylight robbery",
    ),
    (
        "another_fail",
        0.4,
        "another",
        r"another (?:\w+ )?(?:delay|delayed|outage|cancell?ation|cancell?ed|excuse|missed|late"
        r"|wrong|broken|failed|failure|issue|problem|error|charge|fee|hour|week|month"
        r"|\"?delivery attempt)",
    ),
    (
        "paid_but",
        0.4,
        "paid paying",
        r"(?:paid|paying) (?:for )?(?:\S+ ){0,5}?(?:but|and still|yet)\b",
    ),
    ("but_still", 0.35, "still", r"but (?:\S+ ){0,3}?still\b"),
    (
        "price_up",
        0.45,
        "doubled raised hiked increased up higher jumped risen",
        r"(?:doubled|raised|hiked|increased|put up|jacked up)(?: \w+)? (?:my |the |our |your )?"
        r"(?:price|prices|bill|rate|premium|fees?|subscription|cost)"
        r"|(?:price|bill|rate|premium|subscription|cost)s? (?:has |have |just |is |went |gone )*"
        r"(?:[$£€]?\d+ )?(?:doubled|up|higher|increased|jumped|risen)",
    ),
    (
        "churn",
        0.45,
        "deleting deleted uninstall uninstalled uninstalling switching elsewhere",
        r"(?:deleting|deleted|uninstall(?:ed|ing)?) (?:the |your |this )?app|switching to"
        r"|elsewhere",
    ),
    (
        "early_failure",
        0.4,
        "old",
        r"(?:only|barely|just|less than|not even|under) (?:\d+|a|an|one|two|three|four|five|six"
        r"|seven|eight|nine|ten|eleven|twelve) (?:days?|weeks?|months?|years?) old",
    ),
    (
        "stopped_working",
        0.4,
        "stop stops stopped",
        r"stop(?:s|ped)? (?:working|responding|loading|charging|syncing|connecting|playing)",
    ),
    # ---- questions that imply failure
    (
        "where_is",
        0.5,
        "where where's wheres",
        r"where(?:'s| is| are|s| the hell is| was| were| did) (?:my|our|the|me|your driver)",
    ),
    (
        "why_fail",
        0.45,
        "why",
        r"why (?:haven't|hasn't|have not|has not|isn't|is not|can't(?! every| all| more| other)"
        r"|cannot|won't|doesn't|does not|didn't|did not|don't|aren't|wasn't|is it so|is this so"
        r"|am i|do i (?:have to|keep|need to)|does it (?:take|say|keep)|would you|did you"
        r"|are you|is my|has my|have i|was my|do you keep|does my|is there no|does this|the hell"
        r"|on earth|tf)",
    ),
    (
        "how_long",
        0.45,
        "how",
        r"how (?:much )?long(?:er)? (?:do|will|must|should|does it take|am|is it going to|until)"
        r"(?: i| we| it)?(?: have to| need to| going to)? (?:wait|keep|be waiting|take to "
        r"(?:reply|respond|answer|refund|fix))|how many (?:more )?times|how much longer"
        r"|how hard is it",
    ),
    (
        "when_will",
        0.35,
        "when",
        r"when (?:will|do|can|should|am) (?:i|we) (?:get|receive|see|hear|be getting|expect"
        r"|actually)",
    ),
    (
        "help_q",
        0.3,
        "help who what",
        r"help\s*[?!]|who do i (?:contact|complain|speak|talk)|what do i do",
    ),
    # ---- negated satisfaction, complaint vocabulary
    (
        "not_happy",
        0.4,
        _NEGS + " isn't wasn't",
        r"(?:not|never|n't|isn't|wasn't|is not) (?:very |too |so |at all |really |particularly )?"
        r"(?:happy|impressed|good enough|acceptable|ok|okay|cool|fair|great|good|pleased"
        r"|satisfied|right|fun|helpful|normal)(?! at all)",
    ),
    (
        "complaint_word",
        0.35,
        "disappointed disappointing disappointment frustrated frustrating frustration "
        "unacceptable ridiculous useless pathetic disgrace disgraceful appalling shocking "
        "shambles nightmare complaint complaints escalate escalated escalating escalation worst "
        "terrible horrible awful rubbish garbage gutted disaster rude incompetent unbelievable "
        "slowest unhelpful clueless",
        None,
    ),
    (
        "complaint_phrase",
        0.35,
        "joke fed sick tired enough circles waste regret regrets regretting regretted complain "
        "complained complaining poor lack avoid stars star copy hung apology sorry apologised "
        "apologized",
        r"(?:is a|absolute|what a|such a) joke|fed up|sick of|tired of|had enough"
        r"|going in circles|waste of|(?<!never )(?<!no )(?<!zero )(?<!not )(?<!don't )(?<!dont )regret\w*|(?<!can't )(?<!cant )complain(?:ed|ing)?\b"
        r"|poor (?:service|quality|communication|packaging)|lack of|(?<!to )avoid|zero stars"
        r"|(?:one|1) star|copy[- ]paste|hung up|not (?:a|one) (?:single )?(?:apology|sorry)"
        r"|(?:nobody|no one) (?:even )?apologi[sz]ed",
    ),
    # ---- sarcasm, only with clear markers
    (
        "sarcasm",
        0.45,
        "love so yeah cool s thanks great well nice brilliant",
        r"love how|love it when|so much for|yeah right|cool cool|/s$"
        r"|thanks a lot\b(?=.*\b(?:not|no|never|hours|days|weeks|later|late|rebook)|$)"
        r"|great job\.?$|well done\.?$|nice\.$|brilliant\.",
    ),
    ("emoji", 0.3, "<nonascii>", r"[🙃🙄😒😤😡🤬😠👎😑😩😫💩🤦]"),
    # ---- resolution cues (negative weight): praise that mentions a past problem
    (
        "arrived_well",
        -0.35,
        "arrived came turned here delivered",
        r"(?:arrived|came|turned up|here|delivered)(?: \w+)? (?:early|today|quickly|fast|safely"
        r"|safe|on time|in perfect|perfectly|next day|next morning|within|in \d+ (?:days?"
        r"|hours?)|the next|ahead|a day early|exactly)",
    ),
    (
        "sorted",
        -0.45,
        "sorted fixed resolved solved sorting fixing resolving replaced replacing refunded "
        "processed answered handled",
        r"(?:sorted|fixed|resolved|solved|sorting|fixing|resolving|replaced|replacing|refunded"
        r"|processed|answered|handled)(?: \S+){0,4}? (?:quickly|fast|so fast|in minutes|in \d+"
        r"|within|straight away|immediately|right away|now|no questions|no hassle|no fuss"
        r"|same day|personally|painless)|fixed (?:it|everything)|reset fixed",
    ),
    ("all_sorted", -0.45, "all", r"all sorted"),
    (
        "problem_solved",
        -0.45,
        "problem issue",
        r"(?:problem|issue) (?:solved|sorted|fixed|resolved)",
    ),
    (
        "thanks_for_fixing",
        -0.45,
        "thanks thank",
        r"thanks?(?: you)?(?: so much| very much| again)? for (?:sorting|fixing|resolving"
        r"|taking care|looking after|looking into|waiving|catching|all (?:the|your) help"
        r"|the (?:quick|fast|speedy|prompt|swift)|your (?:help|quick|fast)|helping|getting back"
        r"|replacing|finding|holding|the reminder|the price match|the birthday|the note"
        r"|the upgrade)",
    ),
    (
        "refund_done",
        -0.45,
        "refund got received refunded",
        r"refund (?:came through|arrived|processed|was processed|received|went through)"
        r"|(?:got|received) (?:my|the) (?:refund|replacement|money back)|refunded (?:the|my|it)"
        r" (?:\w+ )?(?:within|in|straight|immediately)",
    ),
    ("praise_word", -0.35, "kudos shoutout", None),
    (
        "recommend",
        -0.35,
        "recommend",
        r"(?:highly|totally|definitely|would|strongly|fully|100%) recommend",
    ),
    (
        "praise",
        -0.35,
        "above made five 5 10 spot fair shout props hats life early ahead changer gamechanger",
        r"above and beyond|made my day|five stars|5 stars|10/10|spot on|fair play|shout out"
        r"|props to|hats off|customer for life|(?:a|one|two|\d+) days? early|ahead of schedule"
        r"|game ?changer",
    ),
    (
        "no_hassle",
        -0.35,
        "no",
        r"no (?:hassle|fuss|problems?|issues?|questions asked)(?! (?:with|for))",
    ),
    ("cant_complain", -0.35, "can't cant", r"can'?t complain"),
    (
        "cant_wait",
        -0.35,
        "can't cant cannot",
        r"(?:can't|cant|cannot) wait(?! (?:any|much|that|this|so|forever|all|longer)\b)",
    ),
    (
        "never_better",
        -0.35,
        "never",
        r"never (?:had a (?:problem|issue)|disappointed|let me down|(?:looked|felt|been|tasted"
        r"|sounded|worked) better)",
    ),
    (
        "praise_phrase",
        -0.35,
        "packed customer helpful much massive huge",
        r"well packed|happy customer|so helpful|thank you so much|thanks so much|massive thanks"
        r"|huge thanks",
    ),
    ("impressed", -0.35, "impressed", r"(?<!not )(?<!never )impressed"),
]
_NO_BOUNDARY = frozenset({"emoji"})


_UNIT_SET = _wordset(_UNITS)
_NUM_SET = _wordset(
    """a an one two three four five six seven eight nine ten eleven twelve several few couple
    many thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty thirty forty
    fifty sixty full whole"""
)
_BEFORE_DURATION = _wordset(
    """for over after since been another than almost nearly took takes taking wait waited
    waiting hold about more least further past last now"""
)
_AFTER_DURATION = _wordset("for to later")
_AND_DURATION = _wordset("still no nothing counting")
_FAILURES = _wordset(
    """down late delayed broken wrong lost charged cancelled canceled crashed crashing crashes
    failed missing damaged happened same problem issue error item back stuck declined"""
)


def _number_before(toks: list[str], j: int) -> int:
    """Index of the number before the unit at ``j`` ("3 weeks", "two full weeks"), or -1."""
    for k in (j - 1, j - 2):
        if k >= 0 and (toks[k].isdigit() or toks[k] in _NUM_SET):
            return k
    return -1


def _duration(toks: list[str]) -> bool:
    """A waiting time: "for 3 weeks", "been over a month", "55 minutes and counting"."""
    n = len(toks)
    for j, tok in enumerate(toks):
        if tok not in _UNIT_SET:
            continue
        k = _number_before(toks, j)
        if k < 0:
            continue
        if (k >= 1 and toks[k - 1] in _BEFORE_DURATION) or (
            k >= 2 and toks[k - 2] in _BEFORE_DURATION
        ):
            return True
        if j + 1 < n and (
            toks[j + 1] in _AFTER_DURATION
            or (toks[j + 1] == "and" and j + 2 < n and toks[j + 2] in _AND_DURATION)
        ):
            return True
    return False


def _ago(toks: list[str]) -> bool:
    """ "ordered 10 days ago": in a care message, time passing is usually the complaint."""
    for j, tok in enumerate(toks):
        if tok == "ago" and j >= 1:
            u = j - 1 if toks[j - 1] in _UNIT_SET else j - 2
            if u >= 1 and toks[u] in _UNIT_SET and _number_before(toks, u) >= 0:
                return True
    return False


def _failed_again(toks: list[str]) -> bool:
    """A failure word up to three words before "again": "lost my bag again"."""
    for j, tok in enumerate(toks):
        if tok == "again":
            for k in range(max(0, j - 3), j):
                if toks[k] in _FAILURES:
                    return True
    return False


_RULE_FUNCS: dict[str, Callable[[list[str]], bool]] = {
    "_duration": _duration,
    "_ago": _ago,
    "_failed_again": _failed_again,
}


def _needs_leading_boundary(pattern: str) -> bool:
    """False for a pattern that starts with a literal word and has no top-level ``|``:
    the regex engine then scans for that literal fast and the boundary is checked after.
    A leading ``\\b`` is cheaper for alternations."""
    if not pattern[:1].isalpha():
        return True
    depth = 0
    escaped = False
    for ch in pattern:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "|" and depth == 0:
            return True
    return False


# rule index -> (kind, regex or function, weight, check the left boundary after the match)
_TOKEN, _REGEX, _FUNC = 0, 1, 2
_COMPILED: list[tuple[int, Any, float, bool]] = []
for _name, _w, _trig, _pat in _RULES:
    if _pat is None:
        _COMPILED.append((_TOKEN, None, _w, False))
    elif _pat in _RULE_FUNCS:
        _COMPILED.append((_FUNC, _RULE_FUNCS[_pat], _w, False))
    elif _name in _NO_BOUNDARY:
        _COMPILED.append((_REGEX, re.compile(_pat), _w, False))
    elif _needs_leading_boundary(_pat):
        _COMPILED.append((_REGEX, re.compile(rf"\b(?:{_pat})"), _w, False))
    else:
        _COMPILED.append((_REGEX, re.compile(_pat), _w, True))
_TRIGGER_INDEX: dict[str, tuple[int, ...]] = {}
for _i, (_name, _w, _trig, _p) in enumerate(_RULES):
    for _tok in _trig.split():
        _TRIGGER_INDEX[_tok] = (*_TRIGGER_INDEX.get(_tok, ()), _i)
_TRIGGER_WORDS = frozenset(_TRIGGER_INDEX)
_TOKEN_RE = re.compile(r"[\w']+")

_DAMP_POSITIVE = 0.25  # share of VADER's positive compound kept once a failure is named
_DAMP_NEGATIVE = 0.5  # share of a negative compound kept when the story is a resolution
_DAMP_QUESTION = 0.1  # share of a positive compound kept for a question without praise
_DAMP_REQUEST = 0.1  # share of a negative compound kept for an info request without a cue
# An information request: "how do I cancel?", "can I pay with cash?", "is there a fee?".
# Without a complaint cue its negative words are the topic ("cancel", "lost card"), not
# the customer's mood. "why ..." and "where is my ..." are not here: they imply failure.
_REQUEST_RE = re.compile(
    r"(?:(?:hi|hello|hey|hiya|good (?:morning|afternoon|evening))\b[,!.]* )?"
    r"(?:how (?:do|can|should|would|does) (?:i|we|you|one)|(?:can|could|may|should) (?:i|we)"
    r"|(?:can|could|would) you (?:tell|let|confirm|advise|check)|is there|are there"
    r"|do you|does (?:the|your|my|it|this)|is it possible|what(?:'s| is| are) the"
    r"|what time|which|when (?:does|do|is|will the)|will (?:the|my|i|it|there)"
    r"|i'd like to (?:know|ask|check)|quick question|question\b|(?:just )?checking (?:if|whether)"
    r"|(?:i was |i'm |just )?wondering (?:if|whether)"
    # the price asked about, not complained of: "how expensive is express?", "is it pricey?"
    r"|how (?:much|expensive)\b|(?:is|are) (?:\S+ ){0,5}?(?:expensive|pricey|costly)\b[^.!]{0,30}\?)"
)


def _rule_fires(i: int, low: str, toks: list[str]) -> bool:
    kind, rx, _w, boundary = _COMPILED[i]
    if kind == _TOKEN:
        return True
    if kind == _FUNC:
        return bool(rx(toks))
    m = rx.search(low)
    while m is not None and boundary and m.start() and _is_word_char(low[m.start() - 1]):
        m = rx.search(low, m.start() + 1)
    return m is not None


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _tokens(low: str) -> tuple[list[str], set[str]]:
    """Tokens of a lowercased text in order, and as a set with the pseudo-tokens."""
    toks = _TOKEN_RE.findall(low)
    words = set(toks)
    if "n't" in low:
        words.add("n't")
    if not low.isascii():
        words.add("<nonascii>")
    return toks, words


def _care_cues(low: str, toks: list[str], words: set[str]) -> tuple[float, float]:
    """(complaint weight, resolution weight) of a lowercased cleaned text.

    ``words`` are its tokens (``_tokens``); they decide which rules are tried. Each rule
    counts once.
    """
    hit = words.intersection(_TRIGGER_WORDS)
    if not hit:
        return 0.0, 0.0
    rules: set[int] = set()
    for tok in hit:
        rules.update(_TRIGGER_INDEX[tok])
    neg = pos = 0.0
    for i in rules:
        if _rule_fires(i, low, toks):
            w = _COMPILED[i][2]
            if w > 0:
                neg += w
            else:
                pos -= w
    return neg, pos


def _fired_rules(text: str) -> list[str]:
    """Names of the care rules that fire on ``text``, every rule tried (for tests/debug)."""
    low = clean_for_scoring(text).lower()
    toks, words = _tokens(low)
    out = []
    for i, (name, _w, trig, pat) in enumerate(_RULES):
        if pat is None:
            if not words.isdisjoint(trig.split()):
                out.append(name)
        elif _rule_fires(i, low, toks):
            out.append(name)
    return out


# "Good evening, I'd like to return a jacket" is a request, not praise: an opening greeting
# is dropped before VADER reads the text (the care cues still see it).
_GREETING_EN = re.compile(
    r"^(?:(?:hi|hello|hey|dear \w+)[ ,!.]*)?good (?:morning|afternoon|evening)\b", re.I
)
# ... and so is a sign-off ("Kind regards, Anna"; a wish, "have a nice day", is friendly).
_SIGN_OFF_EN = re.compile(
    r"\b(?:(?:kind|best|warm|many) regards|regards)\b[^.!?\n]{0,40}[.!]*\s*$",
    re.I,
)


# "my order is late. thanks": a closing thanks after a complaint or a question is
# politeness, not praise (VADER's "thanks" is +1.9, more than "late" is negative); it counts
# only when the rest is not negative and asks nothing. "thanks!" alone stays thanks.
_CLOSING_THANKS_EN = re.compile(
    r"[\s,.!;:-]*\b(?:many thanks|thanks(?: a lot| so much| very much)?|thank you(?: so much"
    r"| very much)?|thx|cheers)(?: in advance)?[\s.!]*$",
    re.I,
)
_THANKS_WORDS = frozenset(("thanks", "thank", "thx", "cheers"))


def _care_compound(cleaned: str, low: str, toks: list[str], words: set[str]) -> float:
    text = _GREETING_EN.sub("", cleaned) if "good" in words else cleaned
    if "regards" in words:
        text = _SIGN_OFF_EN.sub("", text)
    care = _get_care()
    compound: float = care.polarity_scores(text)["compound"]
    if compound > 0 and not words.isdisjoint(_THANKS_WORDS):
        closing = _CLOSING_THANKS_EN.search(text)
        if closing is not None and closing.start() > 0:
            rest: float = care.polarity_scores(text[: closing.start()])["compound"]
            if rest < 0 or "?" in text:
                compound = rest
    neg, pos = _care_cues(low, toks, words)
    if neg > pos:
        if compound > 0:
            compound *= _DAMP_POSITIVE
        compound -= min(neg - pos, 1.0)
    elif pos > neg:
        if compound < 0:
            compound *= _DAMP_NEGATIVE
        compound += min(pos - neg, 1.0)
    elif compound > 0 and "?" in cleaned:
        # a question to a shop is a request, not praise: "do you have a loyalty card?"
        compound *= _DAMP_QUESTION
    elif compound < 0 and not neg and _REQUEST_RE.match(low):
        compound *= _DAMP_REQUEST
    return max(-1.0, min(1.0, compound))


# --------------------------------------------------------------------------- API


def score(text: str, lang: str | None = None) -> Sentiment:
    """Care-tuned sentiment of one mention text.

    ``lang`` is the network's language code if it has one; a non-English code gives
    ``Sentiment("unknown", 0.0)``. Without it the language is detected (cheaply) and
    only confidently non-English text is ``unknown``.
    """
    return score_with_language(text, lang)[0]


def score_with_language(text: str, lang: str | None = None) -> tuple[Sentiment, str | None]:
    """``score`` plus the language it detected (None when ``lang`` was given or nothing
    could be told: a text too short or unsure stays undetermined, never a guess).

    The detection is the expensive part of a non-English mention (py3langid); callers
    that store the language take it from here instead of detecting it a second time.
    Detected English is "en" exactly when ``detect_language`` would say so.
    """
    result, claimed, _ = _scored(text, lang)
    return result, claimed


def _scored(text: str, lang: str | None) -> tuple[Sentiment, str | None, str | None]:
    """(sentiment, the language claimed for the text, the scorer that answered: a
    lexicon's language or "en"; None for an ``unknown`` or empty text)."""
    if lang and lang.lower() not in _UNDETERMINED and not _is_english_code(lang):
        base = lang.lower().replace("_", "-").split("-", 1)[0]
        if base in _lexicon_langs():
            return _score_lexicon(clean_for_scoring(text), base), None, base
        return Sentiment("unknown", 0.0), None, None
    cleaned = clean_for_scoring(text)
    if not cleaned:
        return Sentiment("neutral", 0.0), None, None
    low = cleaned.lower()
    toks, words = _tokens(low)
    english: str | None = None
    if not lang or lang.lower() in _UNDETERMINED:
        detected, prob = _detect(cleaned, words)
        if detected == "en" and prob >= _DETECT_CONFIDENCE:
            english = "en"
        if detected is not None and detected != "en" and prob >= _NON_EN_CONFIDENCE:
            # prob >= _NON_EN_CONFIDENCE > _DETECT_CONFIDENCE: detect_language agrees
            from social_watch.lexicon_sentiment import refine_language

            detected = refine_language(cleaned, detected)
            if detected in _lexicon_langs():
                return _score_lexicon(cleaned, detected), detected, detected
            return Sentiment("unknown", 0.0), detected, None
        if detected != "en":
            # too short or unsure for py3langid: letters only one language has decide,
            # or its weak guess when that language's lexicon finds words it knows
            from social_watch.lexicon_sentiment import (
                best_lexicon,
                guess_language,
                lexicon_compound,
                refine_language,
                told_apart,
            )

            guessed = None if cleaned.isascii() else guess_language(cleaned)
            if guessed is not None:
                guessed = refine_language(cleaned, guessed)
                # scored either way; a language is claimed only when something chose it
                claimed = guessed if told_apart(cleaned, guessed) else None
                return _score_lexicon(cleaned, guessed), claimed, guessed
            if (
                detected in _lexicon_langs()
                and prob >= _WEAK_CONFIDENCE
                and lexicon_compound(cleaned, detected)[1]
            ):
                detected = refine_language(cleaned, detected)
                return _score_lexicon(cleaned, detected), detected, detected
            if not _looks_english(cleaned, words):
                # Latin text py3langid could not place: the lexicon that knows its words
                voted = best_lexicon(cleaned, _LATIN_LEXICONS)
                if voted is not None:
                    return _score_lexicon(cleaned, voted), voted, voted
    if not cleaned.isascii() and _foreign_script_only(cleaned):
        # "שלום", "你好": too short for py3langid, and no scorer reads these scripts
        return Sentiment("unknown", 0.0), None, None
    compound = round(_care_compound(cleaned, low, toks, words), 4)
    return Sentiment(_label(compound), compound), english, "en"


# the scripts the scorers read: Latin (English, Czech, Slovak, Polish, German), Cyrillic
_OUR_SCRIPTS_RE = re.compile(r"[A-Za-z\u00c0-\u024f\u1e00-\u1eff\u0400-\u052f]")


def _foreign_script_only(cleaned: str) -> bool:
    """Letters, and none of them in a script a scorer reads (emoji are not letters)."""
    return bool(_LETTERS_RE.search(cleaned)) and not _OUR_SCRIPTS_RE.search(cleaned)


def score_detail(text: str, lang: str | None = None) -> tuple[Sentiment, str | None]:
    """``score`` and the language that decided it: the given code (its base, "cs" for
    "cs-CZ"), else the detected one; "en" when the English care scorer answered; None
    only for an empty text or an undetected language that left the text ``unknown``.
    """
    if lang and lang.lower() not in _UNDETERMINED:
        base = lang.lower().replace("_", "-").split("-", 1)[0]
        return score_with_language(text, lang)[0], base
    result, claimed, used = _scored(text, lang)
    return result, used or claimed


def _lexicon_langs() -> frozenset[str]:
    from social_watch.lexicon_sentiment import SUPPORTED

    return SUPPORTED


_SISTER = {"cs": "sk", "sk": "cs", "ru": "uk", "uk": "ru"}
_LATIN_LEXICONS = ("cs", "sk", "pl", "de")
_WEAK_CONFIDENCE = 0.3  # a supported language this likely is tried when words say so


def _score_lexicon(cleaned: str, lang: str) -> Sentiment:
    """cs/sk/pl/uk/ru/de: the lexicon-and-rules scorer (``lexicon_sentiment``)."""
    from social_watch.lexicon_sentiment import lexicon_compound

    compound, signal = lexicon_compound(cleaned, lang)
    sister = _SISTER.get(lang)
    if not signal and sister is not None:
        # a close neighbour's word ("дякую" read as Russian): its lexicon may know it
        compound, signal = lexicon_compound(cleaned, sister)
    compound = round(compound, 4)
    return Sentiment(_label(compound), compound)


def supported_languages() -> frozenset[str]:
    """Languages ``score`` gives a real answer for (others are ``unknown``)."""
    return _lexicon_langs() | {"en"}


def score_plain(text: str) -> Sentiment:
    """The baseline: plain VADER on the raw text, thresholds ±0.05."""
    compound = float(_get_plain().polarity_scores(text)["compound"])
    return Sentiment(_label(compound), compound)
