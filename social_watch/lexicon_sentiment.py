"""Lexicon-and-rules sentiment for cs, sk, pl, uk, ru and de.

Why: VADER reads only English, so Czech, Slovak, Polish, Ukrainian, Russian and German
mentions were ``unknown`` and the digest, the negative-spike alert and "most negative
first" were blind for the shops this tool is for. This scorer is VADER's idea in small:
each word's valence from a per-language lexicon (``social_watch/data/lexicons/``, general
everyday vocabulary and care vocabulary), made stronger by an intensifier before it
("velmi", "bardzo", "очень", "sehr"), weaker by a diminisher, flipped by a negator within
three words ("nie", "не", "nicht", "kein"; German "nicht" also after the word) or by a
negating prefix on the word itself (Czech/Slovak "ne-": "nedorazilo", "nefunguje"; Polish
"nie-", Russian/Ukrainian "не-"). Slavic negative concord ("nič nevychádza", "nikto
neodpovedá") is one negation, not two. Then phrases ("mam dość", "на жаль"), emoji and
emoticons, bare-bracket smileys ("спасибо)))", "устал((("), laughter ("haha", "хаха",
"xD"), "!!" as a weak lean when nothing else speaks, exclamation marks, questions that
imply failure ("kde je moje objednávka?"), waiting counted out ("už tři dny", "seit drei
Tagen") and cheap sarcasm markers ("díky za nic").

Inflection: entries are stems; a token matches the longest stem it starts with (at least
three letters) with an ending of at most four letters, or six after a stem of six or
more ("przegr|aliśmy"), cached per token, so "skvělý/skvělá/skvělou" all find "skvěl".
``word$`` entries match the whole word only. Czech, Slovak, Polish and German words
written without diacritics ("dziekuje", "dakujem", German "schoen") are looked up folded.
A lemmatizer was measured instead (simplemma: ~800 MB and ~6 s to load the six
languages' data) and not taken: the import's memory must stay flat.

Each language's file loads the first time a text in that language is scored.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from social_watch.emoji_valence import EMOJI_VALENCE

__all__ = ["SUPPORTED", "lexicon_compound"]

_DATA = Path(__file__).parent / "data" / "lexicons"
SUPPORTED = frozenset({"cs", "sk", "pl", "uk", "ru", "de"})

_TOKEN_RE = re.compile(r"[^\W\d_]+", re.UNICODE)
_NEG_SCALAR = -0.74  # VADER's factor for a negated word
_PREFIX_SCALAR = -0.9  # a negating prefix is stronger: "nefunguje" is plainly negative
_MIN_STEM = 3
_MAX_ENDING = 4
# a long stem may carry a longer ending: "отвратительн|ая", "przegr|aliśmy", "zomrel|i"
_LONG_STEM = 6
_MAX_LONG_ENDING = 6
_ALPHA = 15.0  # VADER's normalisation constant

# language-free signals (VADER scale)
_EMOJI = EMOJI_VALENCE

_EMOTICON_RE = re.compile(
    r"(?<!\w)(:-?\)+|:-?D\b|;-?\)|<3|:-?\(+|:'\(|:-?/(?!/)|>:\(|:-?[pP*](?!\w)|\^_?\^)", re.I
)
_REPEAT_RE = re.compile(r"([()])\1+")
_EMOTICON: dict[str, float] = {
    ":)": 2.0,
    ":-)": 2.0,
    ":d": 2.5,
    ":-d": 2.5,
    ";)": 1.5,
    ";-)": 1.5,
    "<3": 2.5,
    ":(": -2.0,
    ":-(": -2.0,
    ":'(": -2.5,
    ":/": -1.0,
    ":-/": -1.0,
    ">:(": -3.0,
    ":p": 1.5,
    ":-p": 1.5,
    ":*": 2.0,
    ":-*": 2.0,
    "^^": 2.0,
    "^_^": 2.0,
}
# Russian and Ukrainian writers smile with bare brackets: "спасибо)))", "устал((("
# (not a numbered list: "1) ... 2) ...")
_BRACKETS_RE = re.compile(r"(?<![(:;=\d])\){1,}(?!\w)|(?<![):;=8])\({2,}")
_BRACKET_WEIGHT = 1.5
# laughter, in any script: "haha", "hehe", "lol", "хаха", "ахах", "хех", "ржу", "jaja"
_LAUGH_RE = re.compile(
    r"(?<!\w)(?:a?(?:ha){2,}h?|a?(?:he){2,}|lol+|lmao|rofl|x+d+|а?(?:ха){2,}х?|(?:хе){2,}|"
    r"ржу|ржунимагу|лол|хд)(?!\w)"
)
_LAUGH_WEIGHT = 1.5
# "!!" or more with nothing else to go on leans positive (greetings, cheers, congratulations)
_BANG_LEAN = 0.6

# questions that imply a failure, per language (the shop has not done something)
_FAILURE_QUESTION = {
    "cs": re.compile(
        r"\b(kde je|kde jsou|kdy (konečně|mi|dorazí|přijde)|proč (ne|jste ne|mi ne)|jak dlouho)"
    ),
    "sk": re.compile(
        r"\b(kde je|kde sú|kedy (konečne|mi|dorazí|príde)|prečo (ne|ste ne|mi ne)|ako dlho)"
    ),
    "pl": re.compile(
        r"\b(gdzie jest|gdzie są|kiedy (w końcu|wreszcie|dotrze|przyjdzie)|dlaczego nie|czemu nie|jak długo)"
    ),
    "ru": re.compile(
        r"(где мой|где моя|где мои|где заказ|когда (уже|наконец|придёт|придет)|почему (не|до сих)|сколько можно|сколько ждать)"
    ),
    "uk": re.compile(
        r"(де мій|де моя|де мої|де замовлення|коли (вже|нарешті|прийде)|чому (не|досі)|скільки можна|скільки чекати)"
    ),
    "de": re.compile(
        r"\b(wo ist|wo bleibt|wann (kommt|endlich|bekomme)|warum (nicht|kein|immer noch)|wie lange (noch|soll|muss))"
    ),
}
_FAILURE_QUESTION_WEIGHT = 0.5
# waiting counted out: "už tři dny", "już od tygodnia", "seit drei Tagen", "уже две недели"
_N = r"(?:\d+|\w{2,8})"
_WAITING = {
    "cs": re.compile(
        r"\b(?:už|již|čekám) (?:skoro |téměř |přes )?" + _N + r" (?:dn[yíů]|týdn|týden|hodin|měsíc)"
    ),
    "sk": re.compile(
        r"\b(?:už|čakám) (?:skoro |takmer |vyše )?" + _N + r" (?:dn[ií]|týžd|hodín|hodiny|mesiac)"
    ),
    "pl": re.compile(
        r"\b(?:już|czekam|od) (?:prawie |ponad )?(?:"
        + _N
        + r" )?(?:dni|dzień|tydzień|tygodni|godzin|miesią)"
    ),
    "ru": re.compile(
        r"(?:уже|жду) (?:почти |больше |более )?(?:" + _N + r" )?(?:дн|день|недел|час|месяц)"
    ),
    "uk": re.compile(
        r"(?:вже|чекаю) (?:майже |понад )?(?:" + _N + r" )?(?:дн|день|тижд|годин|місяц)"
    ),
    "de": re.compile(
        r"\b(?:seit|schon) (?:fast |über |mehr als )?" + _N + r" (?:tag|woche|stunde|monat)"
    ),
}
_WAITING_WEIGHT = 1.5
_SARCASM_RE = re.compile(
    r"(\bjasně\b|\bjasne\b|\bjasne,|\bno jasne|\bну да\b|\bну конечно|\bну звісно|\bja klar\b|\bna toll\b|\bdanke für nichts|\bdíky za nic|\bvďaka za nič|\bdzięki za nic|\bспасибо за ничего|\bдякую за ніщо)"
)


@dataclass(frozen=True)
class _Lexicon:
    lang: str
    stems: dict[str, float]
    exact: dict[str, float]
    phrases: re.Pattern[str] | None
    phrase_values: dict[str, float]
    negators: frozenset[str]
    boosters: dict[str, float]
    neg_prefixes: tuple[str, ...]
    folded_stems: dict[str, float]
    folded_exact: dict[str, float]


@cache
def _lexicon(lang: str) -> _Lexicon:
    text = (_DATA / f"{lang}.tsv").read_text("utf-8")
    stems: dict[str, float] = {}
    exact: dict[str, float] = {}
    phrases: dict[str, float] = {}
    negators: set[str] = set()
    boosters: dict[str, float] = {}
    prefixes: list[str] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line:
            continue
        parts = line.split("\t")
        if parts[0] == "!neg":
            negators.add(parts[1])
        elif parts[0] == "!int":
            boosters[parts[1]] = float(parts[2])
        elif parts[0] == "!negprefix":
            prefixes.append(parts[1])
        elif parts[0].endswith("$"):  # a whole word only: "git$" is not "gitara"
            exact[parts[0][:-1]] = float(parts[1])
        elif "_" in parts[0]:  # a phrase: "mam_dość", "на_жаль"
            phrases[parts[0].replace("_", " ")] = float(parts[1])
        else:
            stems[parts[0]] = float(parts[1])
    folded_stems: dict[str, float] = {}
    folded_exact: dict[str, float] = {}
    if lang in _FOLD_LANGS:
        # many tweets skip diacritics ("dziekuje", "dakujem", "dosc"): the folded entries
        # answer ASCII tokens the real ones do not know
        for src, dst in ((stems, folded_stems), (exact, folded_exact)):
            for key, value in src.items():
                # German writes ü as "ue"; a bare "u" would make "schön" into "schon"
                folded = key.translate(_UMLAUTS) if lang == "de" else fold(key)
                # a short folded stem hits too many other words ("mił" -> "mil|iony")
                short = src is stems and len(folded) < _MIN_FOLDED_STEM
                if folded != key and folded not in src and not short:
                    dst.setdefault(folded, value)
        if lang != "de":
            negators |= {fold(w) for w in negators}
            boosters.update({fold(w): f for w, f in boosters.items() if fold(w) not in boosters})
            phrases.update({fold(p): v for p, v in phrases.items() if fold(p) not in phrases})
    pattern = (
        re.compile(
            r"(?<!\w)(?:" + "|".join(map(re.escape, sorted(phrases, key=len, reverse=True))) + ")"
        )
        if phrases
        else None
    )
    return _Lexicon(
        lang,
        stems,
        exact,
        pattern,
        phrases,
        frozenset(negators),
        boosters,
        tuple(prefixes),
        folded_stems,
        folded_exact,
    )


def _stem_value(stems: dict[str, float], tok: str, exact: dict[str, float]) -> float | None:
    v = exact.get(tok)
    if v is not None:
        return v
    if tok in stems:
        return stems[tok]
    # an ending is a few letters: "skvěl|ého"; longer rests are other words ("beste|llung"),
    # unless the stem itself is long ("rozczarowan|iem")
    n = len(tok)
    for k in range(n - 1, max(_MIN_STEM, n - _MAX_LONG_ENDING) - 1, -1):
        if n - k > _MAX_ENDING and k < _LONG_STEM:
            break
        v = stems.get(tok[:k])
        if v is not None:
            return v
    return None


@lru_cache(maxsize=200_000)
def _word_value(lang: str, tok: str) -> float:
    """Valence of one lowercased token: by stem, else a negating prefix + stem."""
    lex = _lexicon(lang)
    v = _stem_value(lex.stems, tok, lex.exact)
    if v is not None:
        return v
    for p in lex.neg_prefixes:
        if tok.startswith(p) and len(tok) - len(p) >= _MIN_STEM + 1:
            v = _stem_value(lex.stems, tok[len(p) :], lex.exact)
            if v is not None:
                return v * _PREFIX_SCALAR
    if lex.folded_stems and tok.isascii():
        v = _stem_value(lex.folded_stems, tok, lex.folded_exact)
        if v is not None:
            return v
        for p in lex.neg_prefixes:
            if tok.startswith(p) and len(tok) - len(p) >= _MIN_STEM + 1:
                v = _stem_value(lex.folded_stems, tok[len(p) :], lex.folded_exact)
                if v is not None:
                    return v * _PREFIX_SCALAR
    return 0.0


_FOLD_LANGS = frozenset({"cs", "sk", "pl", "de"})
_MIN_FOLDED_STEM = 4
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})  # "schoen", "fuer"
_FOLD_EXTRA = str.maketrans({"ł": "l", "Ł": "L", "ß": "ss", "ø": "o", "đ": "d"})


def fold(word: str) -> str:
    """``word`` without diacritics: "dziękuję" → "dziekuje", "ďakujem" → "dakujem"."""
    decomposed = unicodedata.normalize("NFD", word.translate(_FOLD_EXTRA))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_CLAUSE_RE = re.compile(r"[,.;:!?()\n]+|\s[-–]\s")


def _whole_words(patterns: dict[str, str]) -> dict[str, re.Pattern[str]]:
    """Per language, one regex matching any of its alternatives as whole words."""
    return {lang: re.compile(rf"(?<!\w)(?:{p})(?!\w)") for lang, p in patterns.items()}


# Greetings open most messages to a shop and are no mood: "Dobrý den, objednávka
# nedorazila" is a complaint, "Dzień dobry, czy wysyłacie na Słowację?" a question, but
# "dobrý"/"dobry"/"добрый"/"guten" score as praise. They are dropped before scoring and
# still count as a sign of the language (short texts are placed by what the lexicon knows).
# So are the sign-offs ("S pozdravem", "С уважением", "Mit freundlichen Grüßen"), which end
# as many messages: "Paket nicht angekommen. MfG" is no praise. A wish ("miłego dnia",
# "schönen Tag") is kept: it is friendly, and scored so.
_GREETING_RE = _whole_words(
    {
        "cs": r"dobr[ýyée] (?:den|r[áa]no|odpoledne|ve[čc]er)|dobrou noc|zdrav[íi]m"
        r"|s pozdravem",
        "sk": r"dobr[ýyée] (?:de[ňn]|r[áa]no|popoludnie|ve[čc]er)|zdrav[íi]m|s pozdravom",
        "pl": r"dzie[ńn] dobry|dobry wiecz[óo]r|witam(?: serdecznie)?"
        r"|pozdrawiam(?: serdecznie)?|z powa[żz]aniem",
        "ru": r"добр(?:ый|ое|ого) (?:день|вечер|утро|дня|вечера|утра)|доброй ночи"
        r"|с уважением|приветствую",
        # "Вітаю," opens a message; "вітаю з ..." congratulates
        "uk": r"добр(?:ий|ого|е) (?:день|вечір|ранок|дня|вечора|ранку)|на добраніч"
        r"|вітаю(?: вас)?(?! (?:вас )?(?:з|зі|із)(?!\w))|з повагою",
        "de": r"guten (?:tag|morgen|abend)|(?:mit )?freundlichen? gr[üu](?:ß|ss)en?"
        r"|(?:viele|liebe|beste|herzliche) gr[üu](?:ß|ss)e|mfg|lg",
    }
)
# "Děkuji", "Dziękuję", "Спасибо", "Danke" close most messages to a shop. After a
# complaint or a question that is politeness ("thanks for your answer", "thanks in
# advance"), not praise, and its +2.5 turned "the parcel has not arrived. Thank you."
# positive. So a thanks counts only when the rest of the message is not negative and asks
# nothing: "Děkuji!", "Děkuji za rychlé doručení" stay praise (English: the care layer).
_THANKS_RE = _whole_words(
    {
        "cs": r"d[ěe]kuj\w*|d[íi]ky|d[íi]k",
        "sk": r"[ďd]akuj\w*|v[ďd]aka",
        "pl": r"dzi[ęe]kuj\w*|dzi[ęe]ki",
        "ru": r"спасиб\w*|благодар\w*",
        "uk": r"дяку\w*|спасиб\w*",
        "de": r"danke\w*|dank|vielen dank",
    }
)
# A request without a question mark ("chtěla bych se zeptat, jestli ...", "prosím o ..."):
# its thanks is a closing formula too.
_REQUEST_RE = _whole_words(
    {
        "cs": r"zeptat|dotaz\w*|prosím|prosim",
        "sk": r"sp[ýy]ta[ťt]|op[ýy]ta[ťt]|otázk\w*|prosím|prosim",
        "pl": r"zapyta[ćc]|pytani\w*|prosz[ęe]",
        "ru": r"подскажите|вопрос\w*|пожалуйста|спросить",
        "uk": r"підкажіть|питання|будь ласка|запитати",
        "de": r"frage\w*|bitte",
    }
)
# "but": what follows weighs more than what went before (VADER's 0.5 / 1.5)
_BUT_RE = re.compile(r"\b(?:ale|lecz|jednak|však|но|але|однако|проте|aber|jedoch)\b")
_NEG_WINDOW = 3  # a negator reaches three words on, within its clause: "nie je to dobré"
# German negates after the verb too: "funktioniert nicht", "gefällt mir gar nicht"
_NEG_AFTER = frozenset({"de"})
# only these follow what they negate; "kein" stands before its noun ("keine Antwort")
_NEG_AFTER_WORDS = frozenset({"nicht", "nie", "niemals", "nimmer"})


def guess_language(text: str) -> str | None:
    """A supported language from its letters alone, for text too short for py3langid.

    Only letters that one of the six languages owns among them count: ř ů ě (cs),
    ľ ĺ ŕ ô ä (sk), ą ę ł ś ź ż ń (pl), і ї є ґ (uk), ы э ъ ё (ru), ß ü ö (de).
    """
    low = text.lower()
    if _UK_RE.search(low):
        return "uk"
    if _CYR_RE.search(low):
        return "ru"
    if _CS_RE.search(low):
        return "cs"
    if _SK_RE.search(low):
        return "sk"
    if _PL_RE.search(low):
        return "pl"
    if _DE_RE.search(low):
        return "de"
    return None


_UK_RE = re.compile("[іїєґ]")
_CYR_RE = re.compile("[а-яё]")
_CS_RE = re.compile("[řůě]")
_SK_RE = re.compile("[ľĺŕôä]")
_PL_RE = re.compile("[ąęłśźżń]")
_DE_RE = re.compile("[ßüö]")


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Function words one sister language uses and the other does not (cs/sk, uk/ru).
_OWN_WORDS = {
    "cs": _wordset(
        "jsem jsme jste jsi se jak co proč když který která které tohle tahle moc taky "
        "ještě mě mně jen jenom nebo bych není nejsem jsou tady teď protože díky kdy hned "
        "proto nikdo nic všechno dneska"
    ),
    "sk": _wordset(
        "som sme ste sa ako čo prečo keď ktorý ktorá ktoré toto táto veľmi tiež ešte ma "
        "mne len alebo nie sú aj teraz pretože vďaka kedy hneď preto nikto nič všetko "
        "teda"
    ),
    "uk": _wordset(
        "це що як та й дуже мені мене ви ми він вона воно вони чому коли знову вже ще "
        "цей ця немає було був буде де хто добрий добре зараз тепер також тому бо чи "
        "щось шо його цього цю можна треба тиждень чекаю отримав отримала замовлення "
        "посилка посилку посилки вчора ласка жодного навіть лише"
    ),
    "ru": _wordset(
        "это что как и но очень мне меня вы мы он она оно они почему когда снова уже "
        "ещё этот эта нет было был будет где кто ничего никто сейчас сегодня вчера "
        "неделю можно надо только пожалуйста его этого получил получила заказ деньги "
        "хорошо жду ждать теперь также сих"
    ),
}
_SISTERS = {"cs": "sk", "sk": "cs", "ru": "uk", "uk": "ru"}


def _lexicon_hits(tokens: list[str], lang: str) -> int:
    return sum(1 for t in tokens if _word_value(lang, t))


def sister_vote(text: str, lang: str) -> str:
    """``lang`` or its sister (cs/sk, uk/ru), whichever the text's own words favour.

    Each side scores its function words that the other lacks ("jsem"/"som", "що"/"что")
    and the words its lexicon knows ("гарна", "набридло" are Ukrainian lexicon words);
    a tie keeps ``lang``.
    """
    other = _SISTERS.get(lang)
    if other is None:
        return lang
    mine, sister = _sister_scores(text, lang, other)
    return other if sister > mine else lang


def _sister_scores(text: str, lang: str, other: str) -> tuple[int, int]:
    tokens = _TOKEN_RE.findall(text.lower())
    own = _OWN_WORDS[lang]
    theirs = _OWN_WORDS[other]
    mine = sum(t in own and t not in theirs for t in tokens) + _lexicon_hits(tokens, lang)
    sister = sum(t in theirs and t not in own for t in tokens) + _lexicon_hits(tokens, other)
    return mine, sister


def told_apart(text: str, lang: str) -> bool:
    """Does anything in ``text`` choose ``lang`` over its sister (cs/sk, uk/ru)?

    Letters one of the two owns do, and so do more of one side's words; "Супер!" or "Balík"
    is as much the one as the other, so a short text like it claims no language.
    """
    other = _SISTERS.get(lang)
    if other is None:
        return True
    low = text.lower()
    owned = {"cs": _CS_RE, "sk": _SK_RE, "uk": _UK_RE, "ru": re.compile("[ыэъё]")}
    if owned[lang].search(low) or owned[other].search(low):
        return True
    mine, sister = _sister_scores(text, lang, other)
    return mine != sister


def refine_language(text: str, lang: str) -> str:
    """Correct py3langid's usual confusions (cs/sk, ru/uk): first by the letters each
    owns, then by the words each uses (``sister_vote``)."""
    if lang in ("cs", "sk"):
        low = text.lower()
        cs, sk = bool(_CS_RE.search(low)), bool(_SK_RE.search(low))
        if cs != sk:
            return "cs" if cs else "sk"
        return sister_vote(text, lang)
    if lang in ("ru", "uk"):
        low = text.lower()
        if _UK_RE.search(low):
            return "uk"
        if re.search("[ыэъё]", low):
            return "ru"
        return sister_vote(text, lang)
    return lang


# loanwords every lexicon knows and English shares: they place no text in a language
_LOANS = _wordset("super top cool ok okay nice wow mega bravo extra hit love lol")


def best_lexicon(text: str, candidates: tuple[str, ...]) -> str | None:
    """The candidate whose lexicon knows the most words of ``text`` (at least one),
    loanwords shared with English ("super", "ok") aside."""
    tokens = [t for t in _TOKEN_RE.findall(text.lower()) if t not in _LOANS]
    best, hits = None, 0
    for lang in candidates:
        n = _lexicon_hits(tokens, lang)
        if n > hits:
            best, hits = lang, n
    return refine_language(text, best) if best is not None else None


def _words_total(
    lex: _Lexicon, text: str, after: bool, weight: float, total: float
) -> tuple[float, bool]:
    """``total`` plus the weighted valence of the words of ``text``, and whether any."""
    found = False
    for clause in _CLAUSE_RE.split(text):
        toks = _TOKEN_RE.findall(clause)
        for i, tok in enumerate(toks):
            v = _word_value(lex.lang, tok)
            if not v or tok in lex.negators:
                continue
            found = True
            before = toks[max(0, i - _NEG_WINDOW) : i]
            # Slavic negative concord: "nič nevychádza", "nikto neodpovedá" are one negation
            concord = not after and tok.startswith(lex.neg_prefixes)
            if (not concord and any(t in lex.negators for t in before)) or (
                after and any(t in _NEG_AFTER_WORDS for t in toks[i + 1 : i + 1 + _NEG_WINDOW])
            ):
                v *= _NEG_SCALAR
            if i and toks[i - 1] in lex.boosters:
                v *= lex.boosters[toks[i - 1]]
            total += v * weight
    return total, found


def _clauses_total(lex: _Lexicon, lang: str, low: str) -> tuple[float, bool]:
    """The words' valence, the clause after the last "but" weighing more."""
    total = 0.0
    signal = False
    buts = [m.start() for m in _BUT_RE.finditer(low)]
    but = buts[-1] if buts else None
    cut = but if but is not None else 0
    for start, part in ((0, low[:cut]), (cut, low[cut:])):
        weight = 1.0 if but is None else 0.5 if start == 0 else 1.5
        total, found = _words_total(lex, part, lang in _NEG_AFTER, weight, total)
        signal = signal or found
    return total, signal


def _bracket_mood(text: str) -> float:
    """Bare brackets as smileys: more ")" than "(" smiles, "((" frowns; (asides) cancel."""
    opened = text.count("(")
    closed = text.count(")")
    smiles = sum(len(m) for m in _BRACKETS_RE.findall(text) if m[0] == ")")
    frowns = sum(len(m) for m in _BRACKETS_RE.findall(text) if m[0] == "(")
    if closed > opened and smiles:
        return _BRACKET_WEIGHT
    if opened > closed and frowns:
        return -_BRACKET_WEIGHT
    return 0.0


def lexicon_compound(text: str, lang: str) -> tuple[float, bool]:
    """(compound in [-1, 1], whether any signal was found) of a cleaned text."""
    lex = _lexicon(lang)
    low = text.lower()
    signal = False
    greeting = _GREETING_RE.get(lang)
    if greeting is not None:
        low, greeted = greeting.subn(" ", low)
        signal = greeted > 0
    # the words are scored without the thanks, which are weighed at the end (in their
    # context: "moc děkuju" is boosted); phrases see them all
    total, found = _clauses_total(lex, lang, low)
    signal = signal or found
    thanks = 0.0
    thanks_re = _THANKS_RE.get(lang)
    if thanks_re is not None:
        without, thanked = thanks_re.subn(" ", low)
        if thanked:
            with_thanks = total
            total, _ = _clauses_total(lex, lang, without)
            thanks = with_thanks - total
    if lex.phrases is not None:
        for m in lex.phrases.findall(low):
            total += lex.phrase_values[m]
            signal = True
    if not text.isascii():
        for ch in text:
            e = _EMOJI.get(ch)
            if e is not None:
                total += e
                signal = True
    for m in _EMOTICON_RE.findall(low):
        total += _EMOTICON.get(_REPEAT_RE.sub(r"\1", m), 0.0)
        signal = True
    if ")" in text or "(" in text:
        brackets = _bracket_mood(text)
        if brackets:
            total += brackets
            signal = True
    if _LAUGH_RE.search(low):
        total += _LAUGH_WEIGHT
        signal = True
    q = _FAILURE_QUESTION.get(lang)
    if q is not None and q.search(low):
        total -= 4 * _FAILURE_QUESTION_WEIGHT
        signal = True
    w = _WAITING.get(lang)
    if w is not None and w.search(low):
        total -= _WAITING_WEIGHT
        signal = True
    if thanks > 0 and total >= 0 and "?" not in text:
        request = _REQUEST_RE.get(lang)
        if request is None or not request.search(low):
            total += thanks  # gratitude, not a closing formula
    if _SARCASM_RE.search(low):
        total = -abs(total) - 1.5
        signal = True
    if total and "!" in text:
        total += math.copysign(min(text.count("!"), 4) * 0.292, total)
    elif not total and "!!" in text:
        total = _BANG_LEAN
        signal = True
    compound = total / math.sqrt(total * total + _ALPHA)
    return compound, signal
