"""The digest: content on a hand-built store, every format, escaping, masking, real SMTP.

The hostile mention carries ``<script>``, an attribute break-out with ``onerror``, a
``javascript:`` link, an ANSI escape and a CR/LF header-injection attempt in its text,
author name and handle; every format must show it as harmless text.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from email import message_from_bytes, policy
from typing import Any

import pytest
from helpers import NOW, make_config, mention, open_db, pipeline

from social_watch import digest, stats
from social_watch.errors import ConfigError

pytestmark = pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL

HOSTILE_TEXT = (
    '@shopexample <script>alert(1)</script> "><img src=x onerror=alert(2)> \x1b[31mred '
    "mail jo@example.com\r\nBcc: victim@evil.example"
)
HOSTILE_NAME = '"><img src=x onerror=alert(3)>\r\nBcc: victim@evil.example'
CONFIG = {
    "digest": {
        "recipients": ["marketing@shop.example"],
        "competitors": {"othershop": ["othershop"]},
    },
}


def label(db: Any, native_id: str, value: str, compound: float) -> None:
    with db.write():
        db.conn.execute(
            "UPDATE mentions SET sentiment_override = ?, sentiment_compound = ? "
            "WHERE native_id = ?",
            (value, compound, native_id),
        )


def store(tmp_path: Any, extra: dict[str, Any] | None = None) -> Any:
    """Yesterday: 4 mentions about delivery. Today: 6, three about a broken zipper."""
    config = make_config({**CONFIG, **(extra or {})})
    db = open_db(tmp_path)
    before = [
        mention(f"p{i}", f"@shopexample delivery was fine {i}", handle=f"old{i}", minutes_ago=1500)
        for i in range(4)
    ]
    today = [
        mention("z1", "broken zipper on my new jacket", handle="ann", minutes_ago=60),
        mention("z2", "@shopexample broken zipper again", handle="bo", minutes_ago=50),
        mention("z3", "the broken zipper story continues", handle="cy", minutes_ago=40),
        mention("h1", HOSTILE_TEXT, handle="<b>eve</b>", minutes_ago=30, followers=50_000),
        mention("o1", "othershop is cheaper than shopexample", handle="dan", minutes_ago=20),
        mention("g1", "love the new coats", handle="gus", minutes_ago=10, followers=900),
    ]
    pipeline(config).ingest(db, [*before, *today])
    with db.write():
        db.conn.execute(
            "UPDATE mentions SET author_name = ?, url = 'javascript:alert(4)' "
            "WHERE native_id = 'h1'",
            (HOSTILE_NAME,),
        )
    for i in range(4):
        label(db, f"p{i}", "positive" if i < 3 else "negative", 0.5 if i < 3 else -0.4)
    for nid, value, compound in (
        ("z1", "negative", -0.6),
        ("z2", "negative", -0.7),
        ("z3", "neutral", 0.0),
        ("h1", "negative", -0.9),
        ("o1", "neutral", 0.0),
        ("g1", "positive", 0.8),
    ):
        label(db, nid, value, compound)
    return db, config


def build(tmp_path: Any, **kw: Any) -> dict[str, Any]:
    db, config = store(tmp_path, **kw)
    return digest.build(db, config, period=stats.period(now=NOW, since="24h"), now=NOW)


def test_volume_sentiment_and_change(tmp_path):
    data = build(tmp_path)
    assert data["volume"] == {"mentions": 6, "previous": 4, "change": 2, "change_pct": 50.0}
    s = data["sentiment"]
    assert (s["negative"], s["neutral"], s["positive"]) == (3, 2, 1)
    assert s["net"] == -50.0  # (1 − 3) / (1 + 3)
    assert s["previous_net"] == 50.0  # (3 − 1) / 4
    assert s["net_change"] == -100.0
    assert data["networks"][0]["network"] == "x" and data["networks"][0]["change_pct"] == 50.0


def test_extremes_authors_tags_terms_and_share_of_voice(tmp_path):
    data = build(tmp_path)
    assert [m["id"] for m in data["most_negative"]][:1] == [
        m["id"] for m in data["most_negative"] if m["compound"] == -0.9
    ]
    assert data["most_positive"][0]["text"] == "love the new coats"
    assert data["top_authors"][0]["followers"] == 50_000
    terms = [t["term"] for t in data["rising_terms"]]
    assert terms[0] == "broken zipper"
    assert "broken" not in terms and "zipper" not in terms  # inside the phrase
    assert "delivery" not in terms
    voice = {v["name"]: v for v in data["share_of_voice"]}
    assert voice["othershop"]["mentions"] == 1
    assert voice["Shop Example"]["mentions"] == 6  # o1 names the brand too
    assert voice["Shop Example"]["share"] == round(6 / 7, 4)
    assert data["service"]["needing_answer"] == 6


def test_rising_terms_needs_a_minimum_count_and_a_real_rise():
    now = Counter({"zipper": 5, "order": 20, "rare": 2})
    before = Counter({"order": 20})
    terms = digest.rising_terms(now, 100, before, 100)
    assert [t["term"] for t in terms] == ["zipper"]
    assert terms[0]["ratio"] == 6.0  # (5 + 1) / (0 + 1): same totals, add-one smoothing


def test_personal_data_is_masked_in_every_format(tmp_path):
    data = build(tmp_path)
    for fmt in digest.FORMATS:
        out = digest.render(data, fmt)
        assert "jo@example.com" not in out, fmt
        assert "[email]" in out.replace("\\", ""), fmt


def test_html_escapes_every_piece_of_mention_text(tmp_path):
    html = digest.render(build(tmp_path), "html")
    assert "<script" not in html
    assert "<img" not in html  # the attribute break-out stays text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in html
    assert "&lt;b&gt;eve&lt;/b&gt;" in html
    assert "javascript:" not in html  # the hostile link is not a link
    assert "\x1b" not in html
    assert "<svg" in html and "<rect" in html  # the chart is inline SVG
    assert "<style" not in html and "<link" not in html  # inline CSS only


def test_markdown_and_text_show_markup_as_characters(tmp_path):
    data = build(tmp_path)
    md = digest.render(data, "markdown")
    assert "<script>" not in md and "\\<script\\>" in md
    assert "javascript:" not in md
    text = digest.render(data, "text")
    assert "\x1b" not in text and "\r" not in text
    assert "<script>alert(1)</script>" in text  # plain text shows it as it is: harmless
    assert json.loads(digest.render(data, "json"))["volume"]["mentions"] == 6


def test_empty_store_renders_every_format(tmp_path):
    db = open_db(tmp_path)
    data = digest.build(db, make_config(), period=stats.period(now=NOW), now=NOW)
    for fmt in digest.FORMATS:
        assert digest.render(data, fmt)
    assert data["share_of_voice"] is None


def email(port: int) -> dict[str, Any]:
    return {
        "email": {
            "host": "127.0.0.1",
            "port": port,
            "security": "none",
            "from": "social-watch@shop.example",
        }
    }


def test_send_daily_digest_to_a_real_smtp_server(tmp_path, smtp):
    sink, port = smtp
    db, config = store(tmp_path, email(port))
    sent = digest.send_daily_digest(db, config, {}, NOW)
    assert sent.recipients == ("marketing@shop.example",)
    assert sent.period.end - sent.period.start == timedelta(hours=24)
    [envelope] = sink.envelopes
    assert envelope.rcpt_tos == ["marketing@shop.example"]  # never the injected Bcc
    msg = message_from_bytes(envelope.content, policy=policy.default)
    assert msg.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in msg.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    assert msg["Bcc"] is None and "victim" not in str(msg["To"])
    assert set(msg.keys()) <= {
        "From", "To", "Subject", "Message-ID", "Auto-Submitted", "MIME-Version",
        "Content-Type", "Content-Transfer-Encoding", "X-Peer", "X-MailFrom", "X-RcptTo",
    }  # fmt: skip
    assert msg["Subject"].strip().startswith("Shop Example digest, last 24 hours: 6 mentions")
    html = msg.get_body(("html",)).get_content()
    assert "&lt;script&gt;" in html and "<script" not in html
    plain = msg.get_body(("plain",)).get_content()
    assert "broken zipper" in plain and "jo@example.com" not in plain


def test_send_needs_recipients(tmp_path):
    db = open_db(tmp_path)
    with pytest.raises(ConfigError, match="recipients"):
        digest.send_daily_digest(db, make_config(email(25)), {}, NOW)


def test_cli_digest_formats_and_send(tmp_path, cli, smtp):
    sink, port = smtp
    db, _ = store(tmp_path)
    del db
    config = tmp_path / "social-watch.toml"
    config.write_text(
        '[brand]\nname = "Shop Example"\n[brand.handles]\nx = "shopexample"\n'
        '[digest]\nrecipients = ["marketing@shop.example"]\n'
        f'[email]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
        'from = "sw@shop.example"\n',
        encoding="utf-8",
    )
    base = ["--config", str(config), "--db", str(tmp_path / "sw.db")]
    # the CLI's clock is real time; the store is around NOW, so ask for that window
    window = ["--from", "2026-11-23T10:00:00Z", "--to", "2026-11-24T10:00:00Z"]
    out = cli("digest", *base, *window, "--format", "markdown")
    assert out.exit_code == 0 and "broken zipper" in out.output
    cli("digest", *base, *window, "--format", "html", "-o", str(tmp_path / "d.html"))
    assert "<svg" in (tmp_path / "d.html").read_text(encoding="utf-8")
    sent = cli("digest", *base, *window, "--send")
    assert sent.exit_code == 0 and "marketing@shop.example" in sent.output
    assert len(sink.envelopes) == 1


def test_sentiment_per_language(tmp_path):
    config = make_config(CONFIG)
    db = open_db(tmp_path)
    pipeline(config).ingest(
        db,
        [
            mention("e1", "@shopexample still waiting for my refund", minutes_ago=30),
            mention("c1", "Objednávka nedorazila, hrozné", lang="cs", minutes_ago=20),
            mention("c2", "Děkuji, skvělá obsluha", lang="cs", minutes_ago=15),
            mention("c3", "Skvělý obchod, doporučuji", lang="cs", minutes_ago=10),
            mention("s1", "@shopexample 👎", minutes_ago=5),
        ],
    )
    data = digest.build(db, config, period=stats.period(now=NOW, since="24h"), now=NOW)
    by_lang = {row["lang"]: row for row in data["languages"]}
    assert data["languages"][0]["lang"] == "cs"  # most mentions first
    assert by_lang["cs"]["mentions"] == 3
    assert by_lang["cs"]["sentiment"]["positive"] == 2
    assert by_lang["cs"]["sentiment"]["negative"] == 1
    assert by_lang["cs"]["net"] == pytest.approx(100 / 3, abs=0.1)
    assert by_lang["en"]["sentiment"]["negative"] == 1  # no language told: detected
    assert by_lang["und"]["mentions"] == 1  # too short to tell: no false language
    text = digest.render(data, "text")
    assert "BY LANGUAGE" in text and "\n  cs " in text
    assert "## By language" in digest.render(data, "markdown")
    assert "By language" in digest.render(data, "html")


# --- the chart in a browser and in a mail client (issue 11.6) ---------------------------------


def test_no_axis_label_is_cut_off_at_either_edge(tmp_path):
    import re

    html = digest.render(build(tmp_path), "html")
    width = float(re.search(r'viewBox="0 0 (\d+) \d+"', html).group(1))
    ticks = re.findall(
        r'<text x="([\d.]+)" y="[\d.]+" text-anchor="(\w+)"[^>]*>([^<]+)</text>', html
    )
    ticks = [(float(x), anchor, text) for x, anchor, text in ticks if not text.isdigit()]
    assert len(ticks) >= 2
    for x, anchor, text in ticks:
        extent = len(text) * digest.TICK_CHAR
        left, right = {"start": (x, x + extent), "end": (x - extent, x)}.get(
            anchor, (x - extent / 2, x + extent / 2)
        )
        assert left >= 0 and right <= width, (text, anchor, x)
    # 57 hourly buckets: labels every 8th, the last on the very last bar at the right edge
    from datetime import datetime as dt

    start = dt(2026, 11, 22, tzinfo=NOW.tzinfo)
    buckets = [
        {
            "start": (start + timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            **dict.fromkeys(digest.LABELS, 1),
        }
        for h in range(57)
    ]
    svg = digest._svg({"buckets": buckets, "bucket_hours": 1}, "UTC")
    last = svg["bars"][-1]
    assert last["tick"] == "Tue 08:00" and last["anchor"] == "end" and last["tx"] <= svg["width"]
    assert svg["bars"][0]["anchor"] in ("middle", "start")


def test_the_mailed_digest_has_no_svg_but_a_table_chart_and_a_fluid_layout(tmp_path, smtp):
    sink, port = smtp
    db, config = store(tmp_path, email(port))
    digest.send_daily_digest(db, config, {}, NOW)
    [envelope] = sink.envelopes
    msg = message_from_bytes(envelope.content, policy=policy.default)
    html = msg.get_body(("html",)).get_content()
    assert "<svg" not in html and "<rect" not in html
    assert 'data-chart="table"' in html
    assert 1 <= html.count("data-bucket=") <= digest.MAIL_ROWS
    # fluid below 640 px: no fixed 640 px width, figures and columns wrap as inline blocks
    import re

    assert "max-width:640px" in html and 'width="640"' not in html
    assert re.search(r"(?<!max-)width:640px", html) is None
    assert "display:inline-block" in html
    browser = digest.render(
        digest.build(db, config, period=stats.period(now=NOW, since="24h"), now=NOW), "html"
    )
    assert "<svg" in browser and 'data-chart="table"' not in browser


def test_the_mail_chart_merges_buckets_to_stay_short():
    buckets = [{"start": "x", **dict.fromkeys(digest.LABELS, 0), "negative": i} for i in range(72)]
    rows = digest._rows(buckets, [f"b{i}" for i in range(72)])
    assert len(rows) == 24 and rows[0]["label"] == "b0" and rows[1]["label"] == "b3"
    assert [r["total"] for r in rows[:2]] == [0 + 1 + 2, 3 + 4 + 5]
    assert sum(r["total"] for r in rows) == sum(range(72))


def test_facebook_and_review_authors_are_named_not_shown_as_handles(tmp_path):
    """'@2315682678452791' or '@Tereza Malá' in a digest mailed to marketing means nothing."""
    config = make_config(CONFIG)
    db = open_db(tmp_path)
    pipeline(config).ingest(
        db,
        [
            mention(
                "f1",
                "Objednávka nedorazila, hrozné",
                network="facebook",
                handle="2315682678452791",
                lang="cs",
                minutes_ago=20,
            ),
            mention(
                "g1", "Terrible, never again", network="google_reviews", handle="x", minutes_ago=10
            ),
        ],
    )
    with db.write():
        db.conn.execute(
            "UPDATE mentions SET author_name = 'Jana Nováková', url = NULL WHERE native_id = 'f1'"
        )
        db.conn.execute(
            "UPDATE mentions SET author_handle = 'Tereza Malá', author_name = NULL "
            "WHERE native_id = 'g1'"
        )
    data = digest.build(db, config, period=stats.period(now=NOW, since="24h"), now=NOW)
    for fmt in ("text", "markdown", "html"):
        out = digest.render(data, fmt)
        assert "Jana Nováková" in out and "Tereza Malá" in out, fmt
        assert "2315682678452791" not in out and "@Tereza" not in out, fmt
