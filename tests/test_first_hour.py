"""What a new user meets in the first hour (issue 11), through the CLI on a real SQLite file."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from social_watch import db as dbmod
from tests.conftest import mention_line


@pytest.fixture
def inbox(cli, write_jsonl):
    now = datetime.now(UTC)
    path = write_jsonl(
        [
            mention_line(
                id="1",
                text="@shopexample my parcel never arrived",
                handle="ann",
                created_at=now - timedelta(minutes=40),
            ),
            mention_line(
                id="2",
                text="@shopexample do you ship to Canada?",
                handle="ben",
                created_at=now - timedelta(minutes=10),
            ),
            mention_line(
                id="3",
                text="cheap followers here",
                handle="spam",
                created_at=now - timedelta(minutes=5),
            ),
        ]
    )
    assert cli("import", str(path)).exit_code == 0
    return path


# --- §6 every action speaks JSON ----------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (["done", "1", "--as", "jana"], "done"),
        (["dismiss", "3", "--reason", "spam", "--as", "jana"], "dismissed"),
        (["label", "2", "neg", "--as", "jana"], "open"),
        (["tag", "2", "+vip", "-question"], "open"),
    ],
)
def test_actions_print_the_changed_item_as_show_json(cli, inbox, args, status):
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    mention_id = int(args[1])
    assert data["id"] == mention_id and data["status"] == status
    shown = json.loads(cli("show", args[1], "--json").output)
    assert set(data) == set(shown)
    assert data["thread"] == shown["thread"] and data["actions"] == shown["actions"]


def test_release_json_and_label_json(cli, inbox):
    assert cli("claim", "1", "--as", "jana").exit_code == 0
    released = json.loads(cli("release", "1", "--as", "jana", "--json").output)
    assert released["status"] == "open" and released["claimed_by"] is None
    labelled = json.loads(cli("label", "2", "neg", "--json").output)
    assert labelled["thread"][0]["sentiment"]["label"] == "negative"
    tagged = json.loads(cli("tag", "2", "+vip", "--json").output)
    assert "vip" in tagged["thread"][0]["tags"] and "-json" not in tagged["thread"][0]["tags"]
    bulk = json.loads(cli("label", "neutral", "--where", "author=spam", "--json").output)
    assert bulk == {"labelled": 1, "sentiment": "neutral"}


# --- §5 tag names are validated -------------------------------------------------------------


def tags_of(mention_id: int) -> list[str]:
    db = dbmod.connect("social-watch.db")
    return json.loads(
        db.conn.execute("SELECT tags FROM mentions WHERE id = ?", (mention_id,)).fetchone()[0]
    )


@pytest.mark.parametrize("change", ["+-c", "+bad tag", "-", "+", "+a/b", "+" + "x" * 41])
def test_bad_tag_names_are_refused(cli, inbox, change):
    before = tags_of(2)
    result = cli("tag", "2", change)
    assert result.exit_code == 2 and "bad tag name" in result.output
    assert tags_of(2) == before


def test_tag_options_are_options_not_tags(cli, inbox):
    before = tags_of(2)
    unknown = cli("tag", "2", "--nosuch")
    assert unknown.exit_code == 2 and "no such option: --nosuch" in unknown.output
    assert len(unknown.output.strip().splitlines()) == 1
    only_json = cli("tag", "2", "--json")
    assert only_json.exit_code == 2 and tags_of(2) == before
    hot = cli("tag", "2", "+HOT", "+Lieferung_spät")
    assert hot.exit_code == 0 and tags_of(2)[-2:] == ["hot", "lieferung_spät"]
    assert cli("tag", "2", "-hot").exit_code == 0  # '-h' is not help on this command
    assert "hot" not in tags_of(2)


# --- §3 show: what the team sent is part of the conversation ----------------------------------


def test_show_puts_the_teams_replies_in_the_conversation(cli):
    assert cli("demo").exit_code == 0
    db = dbmod.connect("social-watch.db")
    outbox_id, mention_id, agent, text, sent_at = db.conn.execute(
        "SELECT id, mention_id, agent, text, sent_at FROM outbox WHERE kind = 'reply' "
        "AND status = 'sent' ORDER BY id LIMIT 1"
    ).fetchone()
    data = json.loads(cli("show", str(mention_id), "--json").output)
    (reply,) = [r for r in data["replies"] if r["outbox_id"] == outbox_id]
    assert reply["agent"] == agent and reply["text"] == text and reply["status"] == "sent"
    assert reply["sent_at"] == sent_at and reply["in_reply_to"] == mention_id
    lines = cli("show", str(mention_id)).output.splitlines()
    title = next(i for i, line in enumerate(lines) if line.lstrip().startswith("↳"))
    assert f"{sent_at}  {agent} · reply to [{mention_id}] · sent" in lines[title]
    assert text.split()[0] in lines[title + 1]
    # after the message it answers, before the History
    message = next(i for i, line in enumerate(lines) if line.startswith(f"[{mention_id}]"))
    assert message < title < lines.index("History")


# --- §5 dismissed spam and duplicates are no highlight --------------------------------------


def test_dismissed_spam_and_duplicates_leave_the_digest_highlights(cli, write_jsonl):
    now = datetime.now(UTC)
    lines = [
        mention_line(
            id="10",
            text="AMAZING!!! love love love it, best free followers here 😍",
            handle="bot",
            created_at=now - timedelta(hours=2),
        ),
        mention_line(
            id="11",
            text="I love the new coat, thank you so much!",
            handle="ann",
            created_at=now - timedelta(hours=3),
        ),
        mention_line(
            id="12",
            text="worst service ever, awful, never again",
            handle="ben",
            created_at=now - timedelta(hours=4),
        ),
        mention_line(
            id="13",
            text="worst service ever, awful, never again!!",
            handle="ben2",
            created_at=now - timedelta(hours=4),
        ),
    ]
    assert cli("import", str(write_jsonl(lines))).exit_code == 0
    assert cli("dismiss", "x:10", "--reason", "spam", "--as", "jana").exit_code == 0
    assert cli("dismiss", "x:13", "--reason", "duplicate", "--as", "jana").exit_code == 0
    data = json.loads(cli("digest", "--since", "24h", "--format", "json").output)
    assert data["volume"]["mentions"] == 4  # still counted
    assert data["left_out_of_highlights"] == 2
    assert [m["author"]["handle"] for m in data["most_positive"]] == ["ann"]
    assert [m["author"]["handle"] for m in data["most_negative"]] == ["ben"]
    for fmt in ("text", "markdown", "html"):
        out = cli("digest", "--since", "24h", "--format", fmt).output
        assert "free followers" not in out and "ben2" not in out, fmt
        assert "2 mentions dismissed as spam or duplicates" in out, fmt
        assert "counted in volume, left out of the highlights" in out, fmt


# --- §5 the demo's people and brand never reach a real configuration -----------------------


@pytest.mark.parametrize(
    ("drop", "named"),
    [
        (("[brand]", "[agents.jana]", "[agents.tom]"), ["[brand] name", "[agents.jana]"]),
        (("[agents.jana]", "[agents.tom]"), ["[agents.jana]"]),
        (("[brand]",), ["[brand] name"]),
    ],
)
def test_a_real_reply_without_brand_or_agent_config_is_refused(
    tmp_path, cli, write_jsonl, drop, named
):
    from respond_fakes import posts, write_config

    path = write_config(tmp_path)
    sections = path.read_text(encoding="utf-8").split("\n[")
    kept = [s for s in sections if not any(("[" + s).startswith(d) for d in drop)]
    path.write_text("\n[".join(kept), encoding="utf-8")
    jsonl = write_jsonl([mention_line(id="101", text="@shopexample where is my order?")])
    common = ("--config", str(path), "--db", str(tmp_path / "sw.db"))
    assert cli("import", str(jsonl), *common).exit_code == 0
    result = cli("reply", "1", "Hi, checking now", "--as", "jana", *common)
    assert result.exit_code == 2, result.output
    assert len(result.stderr.strip().splitlines()) == 1
    for what in named:
        assert what in result.stderr
    assert "nothing was sent" in result.stderr and "^JN" not in result.output
    assert posts(tmp_path / "remote") == []
    db = dbmod.connect(tmp_path / "sw.db")
    assert db.conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0


def test_the_demo_still_signs_with_its_own_people(cli):
    assert cli("demo").exit_code == 0
    item = json.loads(cli("queue", "--json", "--network", "x", "--limit", "1").output)[0]
    dry = cli("reply", str(item["id"]), "Thanks for telling us!", "--as", "jana", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "^JN" in dry.output


# --- §6 the outbox listing ----------------------------------------------------------------


def test_outbox_filters_count_the_whole_outbox_and_the_listing_has_a_header(cli):
    assert cli("demo").exit_code == 0
    db = dbmod.connect("social-watch.db")
    total = db.conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
    assert total > 10
    none = cli("outbox", "--status", "unknown")
    assert (
        none.exit_code == 0
        and none.output.strip() == f"No outbox rows match ({total} in the outbox)."
    )
    listing = cli("outbox", "--limit", "3").output.splitlines()
    assert listing[0].split()[:3] == ["ID", "STATUS", "KIND"] and "WHEN (UTC)" in listing[0]
    newest = db.conn.execute("SELECT id, sent_at FROM outbox ORDER BY id DESC LIMIT 1").fetchone()
    assert listing[1].split()[0] == str(newest[0])
    assert newest[1][:16].replace("T", " ") in listing[1]
    assert listing[-1] == f"… {total - 3} more (--limit 0 shows all)"


def test_a_demo_reply_says_where_it_went_and_links_the_thread(cli):
    assert cli("demo").exit_code == 0
    item = json.loads(cli("queue", "--json", "--network", "x", "--limit", "1").output)[0]
    result = cli("reply", str(item["id"]), "Thanks for telling us!", "--as", "jana")
    assert result.exit_code == 0, result.output
    assert (
        "posted in the demo (kept in the local database, nothing left this machine)"
        in result.output
    )
    assert f"the thread: {item['url']}" in result.output
    assert "local-sw-" not in result.output


def test_a_real_reply_prints_its_link(tmp_path, cli, write_jsonl):
    from respond_fakes import write_config

    path = write_config(tmp_path)
    common = ("--config", str(path), "--db", str(tmp_path / "sw.db"))
    jsonl = write_jsonl([mention_line(id="101", text="@shopexample where is my order?")])
    assert cli("import", str(jsonl), *common).exit_code == 0
    result = cli("reply", "1", "Hi, checking now", "--as", "jana", *common)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Outbox 1: posted: https://x.example/status/remote-1"


# --- §6 the demo, run again -----------------------------------------------------------------


def _states(path: str) -> list[tuple]:
    db = dbmod.connect(path)
    try:
        return db.conn.execute(
            "SELECT global_id, status, created_at, first_response_by, claimed_by FROM mentions "
            "ORDER BY global_id"
        ).fetchall()
    finally:
        db.close()


def test_demo_again_says_what_is_there_and_works_nothing_more(cli):
    import time_machine

    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        first = cli("demo")
        same_clock = cli("demo", "--db", "other.db")
    assert first.exit_code == 0 and "0 already there" in first.output
    assert _states("social-watch.db") == _states("other.db")  # the same clock, the same inbox
    before = _states("social-watch.db")
    total = len(before)
    with time_machine.travel(start + timedelta(hours=3), tick=False):
        again = cli("demo")
    assert again.exit_code == 0
    assert f"{total} sample mentions already there, nothing new" in again.output
    assert _states("social-watch.db") == before  # nothing was worked behind the user's back
    assert same_clock.exit_code == 0


# --- §6 the README tells a new user the truth -------------------------------------------------


def test_readme_fixtures_quickstart_and_the_demo_database():
    import fnmatch
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert "../shared/fixtures" not in readme and "`tests/fixtures/`" in readme
    assert (root / "tests" / "fixtures" / "README.md").exists()
    quick = readme.split("## Quickstart")[1].split("\n## ")[0]
    assert "same `.venv`" in quick
    commands = [line for line in quick.splitlines() if " && " in line and ".venv/bin/" in line]
    assert len(commands) == 2 and commands[0].startswith("python3 -m venv .venv")
    # One self-contained test command, run verbatim by CI: setup.sh reuses (or creates) .venv.
    test_command = "bash tests/setup.sh && .venv/bin/python -m pytest"
    assert commands[1] == test_command
    ci = (root / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert [line for line in ci if "-m pytest" in line] == [test_command]
    setup = (root / "tests" / "setup.sh").read_text(encoding="utf-8")
    assert "python3 -m venv .venv" in setup and "pip install -q -e '.[test]'" in setup
    assert "apt-get install -y -qq chromium" in setup and "/usr/bin/chromium" in setup
    assert "`social-watch.db` in the current folder" in quick
    ignored = [
        line.strip()
        for line in (root / ".gitignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for name in ("social-watch.db", "social-watch.db-wal", "social-watch.db-shm", "demo.db"):
        assert any(fnmatch.fnmatch(name, pattern) for pattern in ignored), name


def test_label_says_the_label_it_stored_not_the_short_form_typed(cli, inbox):
    assert cli("label", "1", "neg").output.strip() == "Mention 1: negative (model said negative)."
    bulk = cli("label", "POS", "--where", "author=spam")
    assert bulk.output.strip() == "Labelled 1 mention(s) positive."
