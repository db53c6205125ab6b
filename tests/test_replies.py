"""Replies: templates, signatures, guards, dry runs and the demo flow, through the CLI.

Each test checks what was printed, what reached the (fake) network, and the rows written.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import NOW, mention_line
from respond_fakes import posts, write_config

from social_watch import config as cfg
from social_watch import replies
from social_watch.errors import UsageError


@pytest.fixture
def setup(tmp_path: Path, cli: Any, write_jsonl: Any) -> dict[str, Any]:
    config = write_config(tmp_path)
    lines = [
        mention_line(id="101", text="@shopexample where is my order? it's late", handle="alice"),
        mention_line(
            id="102",
            text="@shopexample you charged me twice, refund please",
            handle="carol",
        ),
        mention_line(network="hackernews", id="103", text="Shop Example outage again", handle="hn"),
        mention_line(id="104", text="@shopexample love the new jacket!", handle="bob"),
    ]
    path = write_jsonl(lines)
    db = tmp_path / "sw.db"
    result = cli("import", str(path), "--config", str(config), "--db", str(db))
    assert result.exit_code == 0, result.output
    return {"config": str(config), "db": str(db), "remote": tmp_path / "remote", "cli": cli}


def run(s: dict[str, Any], *args: str) -> Any:
    return s["cli"](*args, "--config", s["config"], "--db", s["db"])


def rows(s: dict[str, Any], sql: str, *params: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(s["db"])
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def item_id(s: dict[str, Any], native_id: str) -> int:
    return int(rows(s, "SELECT id FROM mentions WHERE native_id = ?", native_id)[0][0])


# --- composing ---------------------------------------------------------------------------


def test_starter_templates_render_signed_and_fit_x() -> None:
    from social_watch.lengths import check_length
    from social_watch.models import Author, Mention

    config = cfg.validate(
        {"agents": {"jana": {"name": "Jana Novak", "signature": "^JN"}}, "email": _email()}
    )
    target = Mention("x", "1", "hi", NOW, Author("alice", "Alice Smith"))
    for name in replies.STARTER_TEMPLATES:
        text = replies.compose(
            config, {}, target, "jana", text=None, template=name, extra={"reference": "SW-7Q2K"}
        )
        assert text.startswith("Hi Alice,") and text.endswith(" ^JN"), text
        assert check_length("x", text)[0] <= 280
    note = replies.compose(
        config,
        {},
        target,
        "jana",
        text=None,
        template="move-to-email",
        extra={"reference": "SW-7Q2K"},
    )
    assert "care@shop.example" in note and "SW-7Q2K" in note


def _email() -> dict[str, Any]:
    return {"host": "127.0.0.1", "from": "sw@shop.example", "to": ["care@shop.example"]}


def test_config_templates_override_and_extend_the_starter_set() -> None:
    config = cfg.validate(
        {
            "templates": {
                "thanks": {"text": "Cheers {{ customer }} from {{ brand }}!"},
                "restock": {"text": "Back in stock next week, {{ customer_name }}."},
            }
        }
    )
    known = replies.templates(config)
    assert known["thanks"]["text"].startswith("Cheers")
    assert {"restock", "sorry-delay", "where-is-my-order", "move-to-email"} <= set(known)


def test_an_undefined_variable_or_sandbox_escape_fails_before_anything_is_sent(setup):
    first = item_id(setup, "101")
    result = run(setup, "reply", str(first), "Hi {{ first_name }}", "--as", "jana")
    assert result.exit_code == 2
    assert "'first_name' is undefined" in result.stderr and "customer_name" in result.stderr
    # Typed text is not a template (tests/test_reply_text.py); a configured one is sandboxed.
    path = Path(setup["config"])
    path.write_text(
        path.read_text() + "\n[templates.escape]\ntext = \"{{ ''.__class__.__mro__ }}\"\n",
        encoding="utf-8",
    )
    result = run(setup, "reply", str(first), "--template", "escape", "--as", "jana")
    assert result.exit_code == 2 and "not allowed" in result.stderr
    result = run(setup, "reply", str(first), "--template", "move-to-email", "--as", "jana")
    assert result.exit_code == 2 and "to-email" in result.stderr
    assert posts(setup["remote"]) == []
    assert rows(setup, "SELECT COUNT(*) FROM outbox") == [(0,)]


def test_signature_sign_rules() -> None:
    assert replies.sign("Hi there", "^JN") == "Hi there ^JN"
    assert replies.sign("Hi\nthere", "– Jana") == "Hi\nthere\n\n– Jana"
    assert replies.sign("Hi there ^JN", "^JN") == "Hi there ^JN"
    profile = replies.agent_profile(cfg.validate({"agents": {"x1": {"name": "Priya Shah"}}}), "x1")
    assert replies.signature(profile) == "– Priya"


# --- sending -----------------------------------------------------------------------------


def test_dry_run_prints_exactly_what_and_where_and_changes_nothing(setup):
    first = item_id(setup, "101")
    result = run(
        setup, "reply", str(first), "--template", "sorry-delay", "--as", "jana", "--dry-run"
    )
    assert result.exit_code == 0, result.stderr
    assert "Would post on x (connector fakex) as jana, in reply to @alice" in result.output
    assert "Hi Alice, we're sorry your order is taking longer" in result.output
    assert "^JN" in result.output and "/280 weighted characters" in result.output
    assert posts(setup["remote"]) == []
    assert rows(setup, "SELECT COUNT(*) FROM outbox") == [(0,)]
    assert rows(setup, "SELECT status FROM mentions WHERE id = ?", first) == [("open",)]


def test_a_reply_is_posted_once_and_answers_the_item(setup):
    first = item_id(setup, "101")
    assert run(setup, "claim", str(first), "--as", "jana").exit_code == 0
    result = run(
        setup,
        "reply",
        str(first),
        "Hi {{ customer_name }}, it ships today!",
        "--as",
        "jana",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.output)
    assert data["outbox"]["status"] == "sent" and data["text"] == "Hi Alice, it ships today! ^JN"
    (post,) = posts(setup["remote"])
    assert post["text"] == "Hi Alice, it ships today! ^JN" and post["key"] == data["outbox"]["key"]
    status, by, at = rows(
        setup,
        "SELECT status, first_response_by, first_response_at FROM mentions WHERE id = ?",
        first,
    )[0]
    assert (status, by) == ("answered", "jana") and at
    ((details,),) = rows(setup, "SELECT details FROM actions WHERE action = 'replied'")
    assert json.loads(details)["text"] == "Hi Alice, it ships today! ^JN"
    listed = json.loads(run(setup, "outbox", "--json").output)
    assert [(r["status"], r["remote_url"]) for r in listed] == [
        ("sent", "https://x.example/status/remote-1")
    ]


def test_a_private_thread_is_refused_with_the_reasons_unless_forced(setup):
    second = item_id(setup, "102")
    result = run(setup, "reply", str(second), "Sorry about that!", "--as", "jana")
    assert result.exit_code == 1
    assert "looks private (topic:" in result.stderr and f"to-email {second}" in result.stderr
    assert posts(setup["remote"]) == []
    assert run(setup, "reply", str(second), "Sorry!", "--as", "jana", "--force").exit_code == 0
    assert len(posts(setup["remote"])) == 1


@pytest.mark.parametrize(
    "text",
    [
        "Hi, we'll call you on +44 7700 900123",
        "We wrote to alice.smith@gmail.com",
        "Your order #4412345 is on its way",
        "Card 4111 1111 1111 1111 was refunded",
    ],
)
def test_personal_data_in_the_reply_is_refused(setup, text):
    first = item_id(setup, "101")
    result = run(setup, "reply", str(first), text, "--as", "jana")
    assert result.exit_code == 1 and "personal data" in result.stderr, result.stderr
    assert "to-email" in result.stderr
    assert posts(setup["remote"]) == []


def test_the_help_desk_address_is_not_personal_data(setup, tmp_path):
    path = Path(setup["config"])
    path.write_text(
        path.read_text()
        + "\n[email]\nhost = 'h'\nfrom = 'sw@shop.example'\nto = 'care@shop.example'\n"
    )
    first = item_id(setup, "101")
    result = run(setup, "reply", str(first), "Please write to care@shop.example", "--as", "jana")
    assert result.exit_code == 0, result.stderr


def test_someone_elses_claim_is_refused_unless_forced(setup):
    first = item_id(setup, "101")
    run(setup, "claim", str(first), "--as", "tom")
    result = run(setup, "reply", str(first), "On it!", "--as", "jana")
    assert result.exit_code == 1 and "claimed by tom" in result.stderr
    assert run(setup, "reply", str(first), "On it!", "--as", "jana", "--force").exit_code == 0


def test_an_item_a_colleague_closed_is_not_answered_in_public_unless_forced(setup):
    spam, done = item_id(setup, "101"), item_id(setup, "104")
    assert run(setup, "dismiss", str(spam), "--reason", "spam", "--as", "tom").exit_code == 0
    note = ["--note", "answered by phone"]
    assert run(setup, "done", str(done), *note, "--as", "tom").exit_code == 0
    result = run(setup, "reply", str(spam), "Sorry to hear that!", "--as", "jana")
    assert result.exit_code == 1
    assert re.search(rf"mention {spam} was closed as spam by tom \d+ s ago", result.stderr)
    assert "--force" in result.stderr
    result = run(setup, "reply", str(done), "Sorry to hear that!", "--as", "jana")
    assert result.exit_code == 1
    assert "closed (done) by tom" in result.stderr and "answered by phone" in result.stderr
    assert posts(setup["remote"]) == []
    forced = run(setup, "reply", str(done), "One more thing!", "--as", "jana", "--force")
    assert forced.exit_code == 0, forced.stderr
    assert len(posts(setup["remote"])) == 1


def test_a_colleagues_answer_since_my_claim_is_named(setup):
    first = item_id(setup, "101")
    run(setup, "claim", str(first), "--as", "jana")
    assert run(setup, "reply", str(first), "Tom here!", "--as", "tom", "--force").exit_code == 0
    result = run(setup, "reply", str(first), "Jana here!", "--as", "jana")
    assert result.exit_code == 1
    # Wall-clock seconds may tick between the two commands on a loaded machine.
    assert re.search(r"already answered by tom \d+ s ago: 'Tom here!", result.stderr)
    assert len(posts(setup["remote"])) == 1


def test_a_native_brand_answer_seen_by_a_poll_blocks_the_reply(setup, write_jsonl):
    first = item_id(setup, "101")
    run(setup, "claim", str(first), "--as", "jana")
    brand = mention_line(
        id="201",
        text="@alice it ships today!",
        handle="shopexample",
        in_reply_to="101",
        created_at=NOW,
    )
    assert run(setup, "import", str(write_jsonl([brand], "brand.jsonl"))).exit_code == 0
    result = run(setup, "reply", str(first), "Jana here!", "--as", "jana")
    assert result.exit_code == 1
    assert "already answered by brand:shopexample" in result.stderr
    assert posts(setup["remote"]) == []


def test_read_only_networks_point_at_to_email(setup):
    hn = item_id(setup, "103")
    result = run(setup, "reply", str(hn), "Sorry!", "--as", "jana")
    assert result.exit_code == 2
    assert "hackernews is read-only" in result.stderr and f"to-email {hn}" in result.stderr


def test_too_long_says_by_how_much(setup):
    first = item_id(setup, "101")
    result = run(setup, "reply", str(first), "a" * 300, "--as", "jana")
    assert result.exit_code == 2
    assert "304 of 280 weighted characters, 24 over" in result.stderr


def test_no_connector_for_the_network_says_what_to_configure(tmp_path, cli, write_jsonl):
    db = tmp_path / "plain.db"
    cli("import", str(write_jsonl([mention_line(network="mastodon", id="9")])), "--db", str(db))
    result = cli("reply", "1", "Hi", "--as", "jana", "--db", str(db))
    assert result.exit_code == 2 and "[connectors.mastodon]" in result.stderr


def test_compose_needs_text_or_template() -> None:
    from social_watch.models import Author, Mention

    target = Mention("x", "1", "hi", NOW, Author("alice"))
    with pytest.raises(UsageError, match="TEXT or --template"):
        replies.compose(cfg.validate({}), {}, target, "jana", text=None, template=None)


# --- the demo, end to end ---------------------------------------------------------------


def test_demo_claim_reply_outbox_queue_and_to_email(cli):
    assert cli("demo", "--db", "demo.db").exit_code == 0
    before = json.loads(cli("queue", "--json", "--limit", "0", "--db", "demo.db").output)
    target = next(i for i in before if i["network"] == "x" and not i["sensitive"])
    assert cli("claim", str(target["id"]), "--as", "jana", "--db", "demo.db").exit_code == 0
    result = cli(
        "reply", str(target["id"]), "--template", "thanks", "--as", "jana", "--db", "demo.db"
    )
    assert result.exit_code == 0, result.stderr
    listed = json.loads(cli("outbox", "--json", "--db", "demo.db").output)
    assert listed[0]["status"] == "sent" and listed[0]["text"].endswith("^JN")
    after = json.loads(cli("queue", "--json", "--limit", "0", "--db", "demo.db").output)
    assert len(after) == len(before) - 1

    private = next(i for i in after if i["sensitive"] and i["network"] not in ("hackernews", "rss"))
    result = cli("to-email", str(private["id"]), "--as", "tom", "--db", "demo.db")
    assert result.exit_code == 0, result.stderr
    assert "the e-mail is printed, not sent" in result.output
    assert "Subject: [SW-" in result.output and "Reference: SW-" in result.output
    assert "Content-Transfer-Encoding" not in result.output  # decoded for a person to read
    shown = json.loads(cli("show", str(private["id"]), "--json", "--db", "demo.db").output)
    assert shown["status"] == "moved_to_email"
    moved = [a for a in shown["actions"] if a["action"] == "moved_to_email"]
    assert moved and moved[0]["details"]["reference"].startswith("SW-")
    notes = json.loads(cli("outbox", "--json", "--status", "sent", "--db", "demo.db").output)
    assert notes[0]["kind"] == "handoff" and notes[0]["reference"] in notes[0]["text"]


def test_the_same_agent_replying_twice_is_refused_until_the_customer_writes_again(
    setup, write_jsonl
):
    first = item_id(setup, "101")
    assert run(setup, "claim", str(first), "--as", "jana").exit_code == 0
    text = "Sorry to hear that, we are checking it now."
    assert run(setup, "reply", str(first), text, "--as", "jana").exit_code == 0
    again = run(setup, "reply", str(first), text, "--as", "jana")
    assert again.exit_code == 1
    assert "already answered by jana" in again.stderr and "'Sorry to hear that" in again.stderr
    assert "--force" in again.stderr
    assert len(posts(setup["remote"])) == 1
    # --force is the deliberate way to post another answer.
    assert (
        run(setup, "reply", str(first), "One more thing!", "--as", "jana", "--force").exit_code == 0
    )
    assert len(posts(setup["remote"])) == 2
    # A follow-up from the customer after the answer is a new question: a reply is allowed.
    later = mention_line(
        id="105",
        text="@shopexample still nothing arrived",
        handle="alice",
        in_reply_to="101",
        created_at=NOW + timedelta(minutes=1),
    )
    assert run(setup, "import", str(write_jsonl([later], "later.jsonl"))).exit_code == 0
    follow = item_id(setup, "105")
    answer = run(
        setup, "reply", str(follow), "Checking with the courier.", "--as", "jana", "--force"
    )
    assert answer.exit_code == 0, answer.stderr
    assert len(posts(setup["remote"])) == 3


@pytest.mark.parametrize(
    ("name", "handle", "greeting"),
    [
        ("Jane Doe", "jane_d", "Jane"),
        ("jane.doe@gmail.com", "jane_d", "@jane_d"),
        ("Jane jane.doe@gmail.com", "jane_d", "@jane_d"),
        ("+420 601 234 567", "jane_d", "@jane_d"),
        ("601 234 567", "jane_d", "@jane_d"),
        ("jane.doe\uff20gmail.com", "jane_d", "@jane_d"),
        ("jane.doe@gmail.com", "jane@mastodon.example", "@jane"),
        ("jane.doe@gmail.com", "420601234567", "there"),
        (None, "jane_d", "@jane_d"),
        (None, "user8372", "@user8372"),
    ],
)
def test_the_greeting_never_uses_a_name_that_is_personal_data(name, handle, greeting):
    from social_watch.models import Author

    config = cfg.Config(None, {"brand": {"name": "Shop Example"}})
    assert replies.public_name(config, Author(handle, name, 10)) == greeting


def test_the_hand_off_reference_is_not_personal_data_even_when_all_digits():
    """References are drawn from 2-9 and letters: SW-2345 must not trip the reply guard."""
    config = cfg.Config(None, {"brand": {"name": "Shop Example"}})
    note = "please write to our care team with reference SW-2345 and we'll answer"
    assert replies.personal_data(config, note, reference="SW-2345") == []
    assert replies.personal_data(config, note.replace("SW-2345", "1234567"), reference="SW-2345")


@pytest.mark.parametrize(
    ("network", "name", "handle", "greeting"),
    [
        # the review portals store the reviewer's display name as the handle: no "@"
        ("google_reviews", None, "Tereza Malá", "Tereza"),
        ("trustpilot", None, "John D.", "John"),
        ("heureka", None, "Martina z Brna", "Martina"),
        ("heureka", None, "jana.novak@seznam.cz", "there"),  # personal data: never
        # no one to name: anonymous reviewers and Facebook comments without `from`
        ("google_reviews", None, "anonymous", "there"),
        ("facebook", None, "anonymous", "there"),
        ("facebook", "Jana Nováková", "2315682678452791", "Jana"),
        ("facebook", None, "2315682678452791", "there"),  # the name withheld: not the id
        ("youtube", None, "@jananovak", "@jananovak"),
        ("x", None, "anonymous", "@anonymous"),  # on X that is someone's handle
    ],
)
def test_the_greeting_on_networks_whose_handles_are_names(network, name, handle, greeting):
    from social_watch.models import Author

    config = cfg.Config(None, {"brand": {"name": "Shop Example"}})
    assert replies.public_name(config, Author(handle, name, None), network) == greeting


def test_a_real_mention_beside_replayed_ones_is_not_answered_in_the_local_outbox(
    tmp_path: Path, cli: Any, write_jsonl: Any
) -> None:
    """A replay source polled into the database once does not make every mention a demo
    one: a reply to a real X mention needs the X connector, not the local outbox."""
    replay_file = tmp_path / "rp.jsonl"
    replay_file.write_text(
        mention_line(network="mastodon", id="r1", text="hello", handle="bob@m.s") + "\n",
        encoding="utf-8",
    )
    config = tmp_path / "rp.toml"
    config.write_text(
        '[brand]\nname = "Shop"\n[agents.jana]\nname = "Jana"\nsignature = "^JN"\n'
        f"[connectors.replay]\npath = {json.dumps(str(replay_file))}\n",
        encoding="utf-8",
    )
    db = tmp_path / "rp.db"
    opts = ("--config", str(config), "--db", str(db))
    assert cli("poll", *opts).exit_code == 0
    real = write_jsonl([mention_line(id="1899", text="@shop where is my parcel", handle="ann")])
    assert cli("import", str(real), *opts).exit_code == 0

    result = cli("reply", "x:1899", "Hi Ann, sorry for the wait", "--as", "jana", *opts)
    assert result.exit_code == 2
    assert "no connector configured for x" in result.output
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0
        status = conn.execute("SELECT status FROM mentions WHERE global_id = 'x:1899'")
        assert status.fetchone()[0] == "open"
    finally:
        conn.close()

    # the replayed mention is still answered in the local outbox, as in the demo
    result = cli("reply", "mastodon:r1", "Hi Bob", "--as", "jana", *opts)
    assert result.exit_code == 0, result.output
    assert "nothing left this machine" in result.output


def test_a_closed_refusal_of_to_email_offers_to_move_it_not_to_answer_it():
    from social_watch.cli import cli_hint
    from social_watch.errors import Refused

    refused = Refused("mention 4 was closed (done) by tom", guard="closed", item_id=4)
    assert cli_hint(refused, "to-email").endswith("--force to move it anyway")
    assert cli_hint(refused, "reply").endswith("--force to answer it anyway")


def test_a_demo_sample_that_moved_with_its_install_means_the_bundled_one(tmp_path: Path) -> None:
    from social_watch.demo import sample_path

    bundled = replies.replayed_ids(str(sample_path()))
    assert bundled and all(":" in gid for gid in bundled)
    assert replies.replayed_ids(str(tmp_path / "gone" / "demo_mentions.jsonl")) == bundled
    assert replies.replayed_ids(str(tmp_path / "gone" / "other.jsonl")) == frozenset()
