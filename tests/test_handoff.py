"""to-email against a real SMTP server (aiosmtpd on 127.0.0.1): e-mail first, then the note.

Checks the MIME parts and headers the help desk receives, that a hostile display name or
text with CR/LF and ``Bcc:`` never adds a header or a recipient, and that a failed e-mail
(STARTTLS required but not offered) posts nothing and changes no status.
"""

from __future__ import annotations

import json
import re
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from conftest import mention_line
from respond_fakes import posts, write_config

from social_watch import db as dbmod

pytestmark = pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL

HOSTILE = "Eve\r\nBcc: victim@evil.example\r\nX-Injected: yes"


def setup(
    tmp_path: Path, cli: Any, write_jsonl: Any, port: int, security: str = "none"
) -> dict[str, Any]:
    config = write_config(tmp_path, email_port=port, security=security)
    lines = [
        json.loads(
            mention_line(
                id="101",
                text="@shopexample charged twice!\r\nBcc: victim@evil.example\nmail me at eve@home.example",
                handle="eve",
            )
        ),
        json.loads(
            mention_line(network="hackernews", id="103", text="refund took 11 days", handle="hn")
        ),
    ]
    lines[0]["author"]["name"] = HOSTILE
    db = tmp_path / "sw.db"
    path = write_jsonl([json.dumps(line) for line in lines])
    assert cli("import", str(path), "--config", str(config), "--db", str(db)).exit_code == 0
    return {"cli": cli, "config": str(config), "db": str(db), "remote": tmp_path / "remote"}


def run(s: dict[str, Any], *args: str) -> Any:
    return s["cli"](*args, "--config", s["config"], "--db", s["db"])


def status(s: dict[str, Any], mention_id: int) -> str:
    db = dbmod.connect(s["db"])  # the backend's database behind that path
    try:
        return str(db.scalar("SELECT status FROM mentions WHERE id = ?", (mention_id,)))
    finally:
        db.close()


def test_to_email_sends_a_safe_mime_message_then_posts_the_note(tmp_path, cli, write_jsonl, smtp):
    sink, port = smtp
    s = setup(tmp_path, cli, write_jsonl, port)
    result = run(s, "to-email", "1", "--as", "jana")
    assert result.exit_code == 0, result.stderr
    (envelope,) = sink.envelopes
    assert envelope.rcpt_tos == ["care@shop.example"]
    msg = message_from_bytes(envelope.original_content, policy=policy.default)
    assert msg["Bcc"] is None and msg["X-Injected"] is None
    reference = msg["X-Social-Watch-Reference"]
    assert reference.startswith("SW-") and len(reference) == 7
    assert set(reference[3:]) <= set("23456789ABCDEFGHJKMNPQRSTUVWXYZ")
    assert msg["Subject"].startswith(f"[{reference}] x @eve: ")
    assert "\n" not in msg["Subject"] and msg["From"] == "social-watch@shop.example"
    parts = [p.get_content_type() for p in msg.walk()]
    assert parts == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "application/json",
    ]
    text = msg.get_body(("plain",)).get_content()
    assert "Why private: " in text and "topic:" in text and "eve@home.example" in text
    html = msg.get_body(("html",)).get_content()
    assert "<script" not in html and "Eve" in html
    # The public note gives the reference and the help desk, never the customer's data.
    (post,) = posts(s["remote"])
    assert reference in post["text"] and "care@shop.example" in post["text"]
    assert "eve@home.example" not in post["text"] and post["text"].endswith("^JN")
    assert status(s, 1) == "moved_to_email"
    shown = json.loads(run(s, "show", "1", "--json").output)
    moved = next(a for a in shown["actions"] if a["action"] == "moved_to_email")
    assert moved["details"]["reference"] == reference
    assert shown["first_response_by"] == "jana"

    again = run(s, "to-email", "1", "--as", "jana")
    assert (
        again.exit_code == 1
        and f"already moved to e-mail with reference {reference}" in again.stderr
    )
    assert len(sink.envelopes) == 1 and len(posts(s["remote"])) == 1


def test_starttls_required_but_refused_posts_nothing(tmp_path, cli, write_jsonl, smtp):
    sink, port = smtp
    s = setup(tmp_path, cli, write_jsonl, port, security="starttls")
    result = run(s, "to-email", "1", "--as", "jana")
    assert result.exit_code == 1 and "does not offer STARTTLS" in result.stderr
    assert sink.envelopes == [] and posts(s["remote"]) == []
    assert status(s, 1) == "open"
    assert json.loads(run(s, "outbox", "--json").output) == []


def test_read_only_networks_get_the_e_mail_only(tmp_path, cli, write_jsonl, smtp):
    sink, port = smtp
    s = setup(tmp_path, cli, write_jsonl, port)
    result = run(s, "to-email", "2", "--as", "jana")
    assert result.exit_code == 0, result.stderr
    assert "no public note" in result.output
    assert len(sink.envelopes) == 1 and posts(s["remote"]) == []
    assert status(s, 2) == "moved_to_email"


def test_dry_run_shows_the_e_mail_and_the_note_and_sends_nothing(tmp_path, cli, write_jsonl, smtp):
    sink, port = smtp
    s = setup(tmp_path, cli, write_jsonl, port)
    result = run(s, "to-email", "1", "--as", "jana", "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert "Would e-mail care@shop.example" in result.output and "Would post on x" in result.output
    assert sink.envelopes == [] and posts(s["remote"]) == [] and status(s, 1) == "open"
    # the code shown is not the one a real run keeps, and the preview says so
    shown = re.search(r"Reference: (SW-\w{4})", result.output)
    assert shown and f"Note: {shown.group(1)} is an example" in result.output


def test_without_an_email_section_says_what_to_configure(tmp_path, cli, write_jsonl):
    config = write_config(tmp_path)
    db = tmp_path / "sw.db"
    cli(
        "import", str(write_jsonl([mention_line(id="5")])), "--config", str(config), "--db", str(db)
    )
    result = cli("to-email", "1", "--as", "jana", "--config", str(config), "--db", str(db))
    assert result.exit_code == 2 and "no [email] section" in result.stderr
    assert "host, from and to" in result.stderr


def test_a_note_template_that_repeats_personal_data_is_refused(tmp_path, cli, write_jsonl, smtp):
    sink, port = smtp
    s = setup(tmp_path, cli, write_jsonl, port)
    path = Path(s["config"])
    path.write_text(
        path.read_text()
        + '\n[templates.leaky]\ntext = "Hi {{ customer_name }}, ref {{ reference }}, seen eve@home.example"\n'
    )
    result = run(s, "to-email", "1", "--as", "jana", "--template", "leaky")
    assert result.exit_code == 1 and "personal data" in result.stderr
    assert sink.envelopes == [] and posts(s["remote"]) == [] and status(s, 1) == "open"


def _named(tmp_path: Path, cli: Any, write_jsonl: Any, port: int, name: str) -> dict[str, Any]:
    config = write_config(tmp_path, email_port=port)
    line = json.loads(
        mention_line(id="101", text="@shopexample I was charged twice!", handle="jane_d")
    )
    line["author"]["name"] = name
    db = tmp_path / "sw.db"
    path = write_jsonl([json.dumps(line)])
    assert cli("import", str(path), "--config", str(config), "--db", str(db)).exit_code == 0
    return {"cli": cli, "config": str(config), "db": str(db), "remote": tmp_path / "remote"}


@pytest.mark.parametrize(
    "name", ["jane.doe@gmail.com", "+420 601 234 567", "jane.doe\uff20gmail.com", "601234567"]
)
def test_a_display_name_that_is_personal_data_never_goes_into_the_note(
    tmp_path, cli, write_jsonl, smtp, name
):
    """to-email used to refuse (pointing to itself) and --force posted 'Hi jane.doe@…'."""
    sink, port = smtp
    s = _named(tmp_path, cli, write_jsonl, port, name)
    result = run(s, "to-email", "1", "--as", "jana")
    assert result.exit_code == 0, result.stderr
    (post,) = posts(s["remote"])
    assert post["text"].startswith("Hi @jane_d, ")
    assert name not in post["text"] and "gmail" not in post["text"]
    assert "601" not in post["text"] and "+420" not in post["text"]
    assert len(sink.envelopes) == 1  # the help desk still gets the whole thread


def test_a_personal_data_refusal_in_to_email_does_not_point_back_to_to_email(
    tmp_path, cli, write_jsonl, smtp
):
    sink, port = smtp
    s = _named(tmp_path, cli, write_jsonl, port, "Jane")
    config = Path(s["config"])
    config.write_text(
        config.read_text()
        + '\n[templates.leaky]\ntext = "Hi {{ customer_name }}, ref 1234567: {{ reference }}"\n'
    )
    result = run(s, "to-email", "1", "--as", "jana", "--template", "leaky")
    assert result.exit_code == 1
    assert "personal data" in result.stderr and "to-email 1" not in result.stderr
    assert posts(s["remote"]) == [] and sink.envelopes == []


def test_read_only_hand_offs_say_what_the_help_desk_can_do_instead(
    tmp_path, cli, write_jsonl, smtp
):
    sink, port = smtp
    s = setup(tmp_path, cli, write_jsonl, port)
    hn_url = "https://news.ycombinator.com/item?id=4242"
    rss_url = "https://blog.example/2026/12/lost-parcel"
    lines = [
        mention_line(
            network="hackernews", id="4242", text="Shop Example lost it", handle="pg2", url=hn_url
        ),
        mention_line(
            network="rss", id="r1", text="Shop Example lost my parcel", handle="blog", url=rss_url
        ),
    ]
    assert run(s, "import", str(write_jsonl(lines, "more.jsonl"))).exit_code == 0
    for mention_id, network in ((3, "hackernews"), (4, "rss")):
        result = run(s, "to-email", str(mention_id), "--as", "jana")
        assert result.exit_code == 0, result.stderr
        assert "what it can do instead" in result.output
        msg = message_from_bytes(sink.envelopes[-1].original_content, policy=policy.default)
        text = " ".join(msg.get_body(("plain",)).get_content().split())
        html = msg.get_body(("html",)).get_content()
        assert "answer the customer by e-mail" not in text
        assert (
            "No e-mail address" in text
            and "What you can do" in text
            and "No e-mail address" in html
        )
        url = hn_url if network == "hackernews" else rss_url
        assert url in text.split("What you can do")[1]
        if network == "hackernews":
            assert "answer in the thread from the brand's own Hacker News account" in text
            assert "news.ycombinator.com/user?id=pg2" in text
        else:
            assert "answer in its comments" in text
    assert posts(s["remote"]) == []


def test_the_html_part_links_only_http_urls(tmp_path, cli, write_jsonl, smtp):
    """A mention URL of ``javascript:alert(1)`` is text in the hand-off, never an href."""
    sink, port = smtp
    config = write_config(tmp_path, email_port=port)
    line = mention_line(id="201", text="@shopexample where is my refund?", handle="mal")
    data = json.loads(line)
    data["url"] = 'javascript:alert(1)//"><script>x</script>'
    db = tmp_path / "sw.db"
    path = write_jsonl([json.dumps(data)])
    assert cli("import", str(path), "--config", str(config), "--db", str(db)).exit_code == 0
    result = cli("to-email", "1", "--as", "jana", "--config", str(config), "--db", str(db))
    assert result.exit_code == 0, result.stderr
    (envelope,) = sink.envelopes
    msg = message_from_bytes(envelope.original_content, policy=policy.default)
    html = msg.get_body(("html",)).get_content()
    assert "href" not in html and "<script>" not in html
    assert "javascript:alert(1)" in html  # still shown to the help desk, as text


def test_the_reference_a_preview_showed_is_the_one_sent_if_still_free(
    tmp_path, cli, write_jsonl, smtp
):
    """The web inbox sends the preview's code back: what the agent read goes out."""
    import os

    from social_watch import config as cfg
    from social_watch import db as dbmod
    from social_watch import handoff
    from social_watch.clock import utcnow

    sink, port = smtp
    s = setup(tmp_path, cli, write_jsonl, port)
    config = cfg.load(s["config"], env={})
    db = dbmod.connect(s["db"])
    try:
        kw = {"env": os.environ, "clock": utcnow}
        shown = handoff.move_to_email(db, config, 1, "jana", dry_run=True, **kw).reference
        sent = handoff.move_to_email(db, config, 1, "jana", reference=shown, **kw)
        assert sent.reference == shown and shown in sink.envelopes[0].content.decode()
        # a code already taken, or not a code at all, is not used: a new one is drawn
        other = handoff.move_to_email(db, config, 2, "jana", reference=shown, **kw)
        assert other.reference != shown and handoff.REFERENCE_RE.fullmatch(other.reference)
        bogus = handoff.move_to_email(db, config, 2, "jana", reference="<b>x", dry_run=True, **kw)
        assert handoff.REFERENCE_RE.fullmatch(bogus.reference)
    finally:
        db.close()
