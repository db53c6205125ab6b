"""cs/sk/pl/uk/ru/de sentiment: the labelled care messages, negation, inflection, languages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from social_watch import lexicon_sentiment, sentiment
from social_watch.models import Sentiment
from social_watch.sentiment import score

# one labelled file of care messages per language (tests/data/care_lang/<lang>.jsonl)
CARE_FILES = sorted((Path(__file__).parent / "data" / "care_lang").glob("*.jsonl"))
ITEMS = [
    json.loads(line)
    for path in CARE_FILES
    for line in path.read_text(encoding="utf-8").splitlines()
    if line.strip()
]


def test_every_language_has_labelled_messages() -> None:
    assert {p.stem for p in CARE_FILES} == set(lexicon_sentiment.SUPPORTED)
    langs = {it["lang"] for it in ITEMS}
    assert langs == set(lexicon_sentiment.SUPPORTED)
    for path in CARE_FILES:
        kinds = " ".join(json.loads(x)["kind"] for x in path.read_text("utf-8").splitlines())
        for kind in ("complaint", "thanks", "negated", "inflected", "emoji", "mixed", "question"):
            assert kind in kinds, (path.stem, kind)
    for lang in langs:
        labels = {it["label"] for it in ITEMS if it["lang"] == lang}
        assert {"positive", "negative"} <= labels, lang


@pytest.mark.parametrize("item", ITEMS, ids=lambda it: f"{it['lang']}:{it['text'][:30]}")
def test_labelled_care_message(item: dict[str, str]) -> None:
    assert score(item["text"], item["lang"]).label == item["label"], item["kind"]


@pytest.mark.parametrize(
    ("lang", "plain", "negated"),
    [
        ("cs", "Funguje to", "Nefunguje to"),  # the ne- prefix
        ("cs", "Je to dobré", "Není to dobré"),
        ("sk", "Je to dobré", "Nie je to dobré"),
        ("pl", "Działa świetnie", "Nie działa"),
        ("ru", "Работает", "Не работает"),
        ("uk", "Працює", "Не працює"),
        ("de", "Das ist gut", "Das ist nicht gut"),
        ("de", "Es funktioniert", "Es funktioniert nicht"),  # negation after the verb
    ],
)
def test_negation_flips(lang: str, plain: str, negated: str) -> None:
    assert score(plain, lang).label == "positive"
    assert score(negated, lang).label == "negative"


@pytest.mark.parametrize(
    ("lang", "forms"),
    [
        ("cs", ["skvělý", "skvělá", "skvělou", "skvělého"]),
        ("sk", ["výborný", "výbornú", "výborného"]),
        ("pl", ["świetny", "świetna", "świetnego", "świetnie"]),
        ("ru", ["отличный", "отличная", "отличного", "отлично"]),
        ("uk", ["чудовий", "чудова", "чудового", "чудово"]),
        ("de", ["großartig", "großartige", "großartigen"]),
    ],
)
def test_inflected_forms_share_a_valence(lang: str, forms: list[str]) -> None:
    for form in forms:
        assert score(form, lang).label == "positive", form


def test_a_german_compound_is_not_its_prefix() -> None:
    # "Bestellung" starts with "beste" (best): an ending is a few letters, not a word
    assert score("Bestellung", "de").label == "neutral"


def test_intensifier_and_diminisher() -> None:
    base = score("dobrý", "cs").compound
    assert score("velmi dobrý", "cs").compound > base > score("trochu dobrý", "cs").compound > 0


def test_later_clause_after_but_weighs_more() -> None:
    assert score("Dobré zboží, ale hrozná doprava", "cs").label == "negative"
    assert score("Hrozná doprava, ale skvělé zboží", "cs").label == "positive"


@pytest.mark.parametrize("lang", ["fr", "es", "hu", "it"])
def test_language_without_a_lexicon_is_unknown(lang: str) -> None:
    assert score("Objednávka nedorazila, hrozné 😡", lang) == Sentiment("unknown", 0.0)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Objednávka pořád nedorazila, je to hrozné", "cs"),
        ("Objednávka ešte neprišla, je to hrozné", "sk"),
        ("Zamówienie nadal nie dotarło, okropne", "pl"),
        ("Замовлення досі не прийшло, жахливо", "uk"),
        ("Заказ до сих пор не пришёл, это ужасно", "ru"),
    ],
)
def test_detected_language_is_reported_and_scored(text: str, code: str) -> None:
    result, detected = sentiment.score_with_language(text)
    assert detected == code
    assert result.label == "negative"


def test_short_text_is_placed_by_its_letters() -> None:
    assert lexicon_sentiment.guess_language("Díky, řešení") == "cs"
    assert lexicon_sentiment.guess_language("Дякую, їжа") == "uk"
    assert lexicon_sentiment.guess_language("plain ascii") is None
    result, detected = sentiment.score_with_language("Děkuji!")
    assert (result.label, detected) == ("positive", "cs")


def test_sarcasm_marker_reads_negative() -> None:
    assert score("Díky za nic", "cs").label == "negative"
    assert score("Danke für nichts", "de").label == "negative"


# --- general tweets (issue 14): everyday vocabulary and language-free signals -----------


@pytest.mark.parametrize(
    ("lang", "text", "label"),
    [
        ("pl", "Nienawidzę poniedziałków", "negative"),
        ("pl", "Gratulacje dla naszych siatkarzy!", "positive"),
        ("pl", "przegraliśmy 0:3, dno", "negative"),  # a long ending on a long stem
        ("ru", "Отвратительная погода", "negative"),
        ("ru", "Поздравляю с днём рождения!", "positive"),
        ("ru", "Никогда больше не буду покупать у них", "negative"),  # not "боль"
        ("sk", "Zomreli traja vojaci", "negative"),
        ("sk", "Ľúbim ťa, zlatko", "positive"),
        ("de", "Das gefällt mir gar nicht", "negative"),  # negation three words after
        ("de", "Geiler Abend mit den Jungs", "positive"),
        ("cs", "Nesnáším pondělky", "negative"),
        ("uk", "Обожнюю цю пісню", "positive"),
    ],
)
def test_general_vocabulary(lang: str, text: str, label: str) -> None:
    assert score(text, lang).label == label


@pytest.mark.parametrize(
    ("lang", "text", "label"),
    [
        ("sk", "Poslali ste mi zlú veľkosť a výmenu mám platiť ja?", "negative"),
        ("sk", "Ľúbim ťa, zlatko", "positive"),  # "zl" stays masked
        (
            "pl",
            "Zamówienie miało być w poniedziałek, a dziś jest piątek. Zero kontaktu.",
            "negative",
        ),
        ("pl", "Zero problemów, wszystko doszło szybko", "positive"),  # "zero" negates
        ("cs", "Kurýr nechal balík před domem v dešti, krabice byla promočená.", "negative"),
        ("sk", "Balík prišiel premočený", "negative"),
        ("uk", "Замовлення скасували без пояснень", "negative"),  # not only "скасов-"
        # the price as the complaint; "drog"/"дорог" alone (the road, "dear") stay masked
        ("pl", "Sukienka piękna, ale wysyłka jest za droga", "negative"),
        ("ru", "Платье красивое, но доставка очень дорогая", "negative"),
        ("uk", "Сукня гарна, але доставка дуже дорога", "negative"),
        ("pl", "Nie za drogie, dobra jakość, polecam", "positive"),
        ("pl", "Paczka jest w drodze, dziękuję", "positive"),
        ("ru", "Дорогой магазин, спасибо за подарок", "positive"),
    ],
)
def test_care_words_a_shop_hears(lang: str, text: str, label: str) -> None:
    assert score(text, lang).label == label


@pytest.mark.parametrize(
    ("lang", "question", "complaint"),
    [
        ("cs", "Dobrý den, posíláte zboží i na Slovensko?", "Dobrý den, objednávka nedorazila"),
        ("cs", "Dobry den, mate XL?", "Dobry den, objednavka stale nedorazila"),
        ("sk", "Dobrý deň, posielate aj do Česka?", "Dobrý deň, objednávka stále neprišla"),
        ("pl", "Dzień dobry, czy wysyłacie na Słowację?", "Dzień dobry, paczka nie dotarła"),
        ("ru", "Добрый день, есть ли доставка в Казахстан?", "Добрый день, заказ так и не пришёл"),
        ("uk", "Добрий день, чи є доставка до Польщі?", "Добрий день, замовлення досі не прийшло"),
        (
            "de",
            "Guten Tag, liefern Sie auch nach Österreich?",
            "Guten Tag, das Paket ist nie angekommen",
        ),
    ],
)
def test_a_greeting_is_no_mood(lang: str, question: str, complaint: str) -> None:
    """Most messages to a shop open with "good day"; it must not read as praise."""
    assert score(question, lang).label == "neutral"
    assert score(complaint, lang).label == "negative"
    assert score(question).label == "neutral"  # detected, the greeting still places it


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("sk", "Dnes mi nič nevychádza"),  # negative concord: one negation, not two
        ("cs", "Nic se mi nedaří"),
        ("pl", "Nikt nie odpowiada, niestety"),
        ("ru", "Никто не отвечает, ужасно"),
    ],
)
def test_slavic_double_negation_stays_negative(lang: str, text: str) -> None:
    assert score(text, lang).label == "negative"


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("ну ты даёшь)))", "positive"),  # bare brackets smile
        ("опять понедельник(((", "negative"),
        ("ахаха, ну ты даёшь", "positive"),  # laughter
        ("jutro się widzimy xD", "positive"),
        ("Góóól!!!", "positive"),  # "!!" with nothing else leans positive
        ("zdjęcie (wczoraj)", "neutral"),  # an aside is no smiley
        ("Jutro o 10 spotkanie w ratuszu", "neutral"),  # no signal: no false lean
    ],
)
def test_weak_signals_lean_to_a_side(text: str, label: str) -> None:
    lang = "ru" if not text.isascii() and any("а" <= c <= "я" for c in text) else "pl"
    assert score(text, lang).label == label


def test_whole_word_and_phrase_entries() -> None:
    assert score("git, działa", "pl").label == "positive"
    assert score("kupiłem gitarę", "pl").label == "neutral"  # "git$" is a whole word only
    assert score("mam dość", "pl").label == "negative"  # a phrase
    assert score("Boję się o przyszłość", "pl").label == "negative"  # not "przyszł" (arrived)


def test_agreement_rate_per_language(tmp_path: Path) -> None:
    from helpers import make_config, mention, open_db, pipeline

    from social_watch import store

    db = open_db(tmp_path)
    pipeline(make_config()).ingest(
        db,
        [
            mention("c1", "Objednávka nedorazila, hrozné", lang="cs"),  # model: negative
            mention("c2", "Skvělý obchod", lang="cs"),  # model: positive
            mention("p1", "Paczka nie dotarła", lang="pl-PL"),  # model: negative
            mention("e1", "where is my order?"),  # no language stored
        ],
    )
    with db.write():
        for nid, value in (("c1", "negative"), ("c2", "negative"), ("p1", "negative")):
            db.conn.execute(
                "UPDATE mentions SET sentiment_override = ? WHERE native_id = ?", (value, nid)
            )
    assert store.agreement_by_lang(db) == {
        "cs": {"reviewed": 2, "agreement": 0.5},
        "pl": {"reviewed": 1, "agreement": 1.0},
    }


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Гарна погода, йдемо гуляти", "uk"),  # no і/ї/є/ґ: the words decide
        ("Знову дощ, набридло", "uk"),
        ("Опять дождь, надоело", "ru"),
        ("Tahle vláda je katastrofa", "cs"),  # no ř/ů/ě: "tahle" is Czech
        ("Táto vláda je katastrofa, som sklamaný", "sk"),
        ("Zamówienie nadal nie dotarło", "pl"),
    ],
)
def test_sister_languages_are_told_apart(text: str, code: str) -> None:
    assert sentiment.score_detail(text)[1] == code


def test_sister_vote_keeps_the_guess_on_a_tie() -> None:
    assert lexicon_sentiment.sister_vote("Balík", "cs") == "cs"
    assert lexicon_sentiment.sister_vote("Balík", "sk") == "sk"


@pytest.mark.parametrize(
    ("lang", "text", "label"),
    [
        ("pl", "dziekuje za wszystko, jestes najlepsza", "positive"),  # dziękuję
        ("pl", "Mam dosc tej polityki", "negative"),  # a folded phrase: mam dość
        ("sk", "dakujem, bolo to uzasne", "positive"),  # ďakujem, úžasné
        ("cs", "neni to dobre", "negative"),  # a folded negator: není
        ("de", "Fuer mich war es schoen", "positive"),  # ue/oe for ü/ö
    ],
)
def test_text_without_diacritics(lang: str, text: str, label: str) -> None:
    assert score(text, lang).label == label


def test_fold() -> None:
    assert (
        lexicon_sentiment.fold("Dziękuję, łąka, ďakujem, Straße")
        == "Dziekuje, laka, dakujem, Strasse"
    )


def test_german_folds_umlauts_only_as_two_letters() -> None:
    assert score("Ich bin schon da", "de").label == "neutral"  # "schon" is not "schön"


def test_a_numbered_list_is_no_smiley() -> None:
    assert score("План: 1) купить хлеб 2) позвонить маме", "ru").label == "neutral"


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("cs", "Čekám už tři dny"),
        ("sk", "Už 5 dní nič"),
        ("pl", "czekam już od tygodnia"),
        ("ru", "жду уже две недели"),
        ("uk", "Чекаю вже тиждень"),
        ("de", "seit drei Tagen kein Internet"),
    ],
)
def test_waiting_counted_out_is_a_complaint(lang: str, text: str) -> None:
    assert score(text, lang).label == "negative"


def test_queue_does_not_load_the_lexicons() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from social_watch import cli, queue, sentiment; "
        "sentiment.score('where is my order?', 'en'); "
        "print('social_watch.lexicon_sentiment' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_detected_english_is_stored_as_en(tmp_path: Path) -> None:
    """A network without ``lang`` (Reddit, HN, RSS): the detected English is stored, so
    `db status` shows agreement for en; a text too short to tell stays ``und``."""
    from helpers import make_config, mention, open_db, pipeline, rows

    from social_watch import store

    db = open_db(tmp_path)
    pipeline(make_config()).ingest(
        db,
        [
            mention("e1", "@shopexample where is my order? it has been two weeks"),
            mention("e2", "still waiting for my refund, nobody answers"),
            mention("s1", "ok 👍"),  # nothing to tell a language from
            mention("s2", "@shopexample 😡"),
            mention("u1", "where is my order", lang="und"),  # the network did not know
        ],
    )
    langs = {r["native_id"]: r["lang"] for r in rows(db, "SELECT native_id, lang FROM mentions")}
    assert langs == {"e1": "en", "e2": "en", "s1": None, "s2": None, "u1": "en"}
    with db.write():
        db.conn.execute("UPDATE mentions SET sentiment_override = 'negative'")
    by_lang = store.agreement_by_lang(db)
    assert by_lang["en"] == {"reviewed": 3, "agreement": 1.0}
    assert by_lang["und"]["reviewed"] == 2


# --- gaps a user hits (issue 14, last pass) -----------------------------------------------


def test_sentiment_lang_without_a_lexicon_is_a_usage_error_naming_the_supported(cli) -> None:
    for code in ("xx", "fr"):
        result = cli("sentiment", "--lang", code, "c'est nul")
        assert result.exit_code == 2
        (line,) = result.stderr.strip().splitlines()
        assert f"'{code}'" in line and "cs, de, en, pl, ru, sk, uk" in line, line
        assert "leave --lang out" in line
    for code in ("CS", "cs-CZ", "cs_CZ"):
        ok = cli("sentiment", "--lang", code, "Objednávka nedorazila")
        assert ok.exit_code == 0 and ok.output.split("\t")[:3] == ["negative", "-0.4588", "cs"]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Добрий день", "uk"),  # no і/ї/є/ґ: 'добрий' is Ukrainian ('добрый' in Russian)
        ("Де посилка?", "uk"),  # 'де' where Russian says 'где'
        ("Коли буде доставка?", "uk"),
        ("Зараз нема часу", "uk"),
        ("Добрый день", "ru"),
        ("Где посылка?", "ru"),
        ("Кто мне ответит?", "ru"),
        ("Сейчас хорошо", "ru"),
    ],
)
def test_ukrainian_and_russian_short_texts_are_told_apart(text: str, code: str) -> None:
    assert sentiment.score_detail(text)[1] == code


def test_a_short_cyrillic_word_both_languages_share_names_no_language(tmp_path: Path) -> None:
    """'Супер!' is as Ukrainian as Russian: scored, but no language is claimed for it."""
    from helpers import make_config, mention, open_db, pipeline, rows

    result, detected = sentiment.score_with_language("Супер!")
    assert (result.label, detected) == ("positive", None)
    assert sentiment.score_with_language("Дякую!")[1] == "uk"  # its letters decide
    db = open_db(tmp_path)
    pipeline(make_config()).ingest(db, [mention("c1", "Супер!"), mention("c2", "Спасибо!")])
    langs = {r["native_id"]: r["lang"] for r in rows(db, "SELECT native_id, lang FROM mentions")}
    assert langs == {"c1": None, "c2": "ru"}


def test_russian_nobody_answers_is_negative() -> None:
    assert score("Мне не отвечают", "ru").label == "negative"
    assert score("Мені не відповідають", "uk").label == "negative"


@pytest.mark.parametrize(
    ("text", "label", "langs"),
    [
        ("Objednávka nedorazila, terrible service", "negative", {"cs", "en"}),
        ("Zamówienie nie dotarło. Very bad experience", "negative", {"pl", "en"}),
        ("Ordered on Monday, ещё не пришло", "negative", {"ru", "en"}),
        ("Dzięki, great service", "positive", {"pl", "en"}),
        ("Спасибо, great service", "positive", {"ru", "en"}),
    ],
)
def test_mixed_language_texts_keep_their_polarity(text: str, label: str, langs: set[str]) -> None:
    result, used = sentiment.score_detail(text)
    assert result.label == label and used in langs


@pytest.mark.parametrize(
    ("lang", "complaint", "question", "praise"),
    [
        (
            "cs",
            "Dobrý den, objednávka stále nedorazila. Děkuji za odpověď.",
            "Dobrý den, chtěla bych se zeptat, jestli máte velikost M. Děkuji",
            "Moc děkuji za rychlé doručení",
        ),
        (
            "sk",
            "Dobrý deň, tovar mi ešte neprišiel. Ďakujem za info.",
            "Dobrý deň, dá sa platiť aj kartou? Ďakujem",
            "Ďakujem, balík prišiel v poriadku",
        ),
        (
            "pl",
            "Dzień dobry, paczka nie dotarła do dzisiaj. Z góry dziękuję za pomoc.",
            "Dzień dobry, czy mogę zmienić adres dostawy? Dziękuję",
            "Dziękuję, wszystko doszło",
        ),
        (
            "ru",
            "Здравствуйте, заказ до сих пор не пришёл. Спасибо за ответ.",
            "Здравствуйте, можно ли оплатить картой? Спасибо",
            "Спасибо большое!",
        ),
        (
            "uk",
            "Вітаю, замовлення досі не отримала. Дякую за відповідь.",
            "Вітаю, чи можна оплатити карткою? Дякую",
            "Дякую за швидку доставку",
        ),
        (
            "de",
            "Hallo, meine Bestellung ist immer noch nicht da. Danke für Ihre Antwort.",
            "Hallo, kann ich auch mit Karte zahlen? Danke",
            "Vielen Dank, alles angekommen",
        ),
    ],
)
def test_a_closing_thanks_is_politeness(
    lang: str, complaint: str, question: str, praise: str
) -> None:
    """ "Thanks for your answer" after a complaint or a question is no praise; thanks for
    the thing itself is."""
    for given in (lang, None):
        assert score(complaint, given).label == "negative"
        assert score(question, given).label == "neutral"
        assert score(praise, given).label == "positive"


def test_help_the_noun_is_a_request_and_vitayu_a_greeting() -> None:
    assert score("Prosím o pomoc, balík nedorazil", "cs").label == "negative"
    assert score("Paní na infolince byla moc pomocná, děkuji", "cs").label == "positive"
    assert score("Ich bitte um Hilfe, das Paket ist nicht angekommen", "de").label == "negative"
    assert score("Вітаю з днем народження!", "uk").label == "positive"  # congratulations


@pytest.mark.parametrize(
    ("lang", "text", "label"),
    [
        ("pl", "Paczka nie dotarła. Pozdrawiam", "negative"),
        ("ru", "Заказ не пришёл. С уважением, Анна", "negative"),
        ("de", "Paket nicht angekommen. Mit freundlichen Grüßen", "negative"),
        ("cs", "Zdravím, máte skladem XL?", "neutral"),
        ("pl", "Witam, czy macie rozmiar XL?", "neutral"),
        ("pl", "Dzień dobry wszystkim, miłego dnia!", "positive"),  # a wish is friendly
        ("de", "Ich liebe diese Jacke", "positive"),  # not "liebe Grüße"
    ],
)
def test_a_sign_off_is_no_mood(lang: str, text: str, label: str) -> None:
    assert score(text, lang).label == label


def test_the_sentiment_command_labels_by_the_configured_thresholds(cli, tmp_path: Path) -> None:
    """What `sentiment` prints is what an import with the same config stores."""
    (tmp_path / "strict.toml").write_text("[sentiment]\npositive_threshold = 0.9\n")
    strict = cli("sentiment", "--config", str(tmp_path / "strict.toml"), "I love it")
    assert strict.exit_code == 0 and strict.output.startswith("neutral\t+0.6369")
    plain = cli("sentiment", "I love it")
    assert plain.output.startswith("positive\t+0.6369")


def test_the_sentiment_command_scores_beside_a_broken_config_unless_asked_for_it(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "social-watch.toml").write_text('databse = "x"\n')  # a typo, found by discovery
    found = cli("sentiment", "I love it")
    assert found.exit_code == 0 and found.output.startswith("positive")
    asked = cli("sentiment", "--config", "social-watch.toml", "I love it")
    assert asked.exit_code == 2
