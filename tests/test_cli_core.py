"""Every core command through click's CliRunner on a real SQLite file: output, exit code, rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from social_watch import db as dbmod
from tests.conftest import mention_line


def now_iso(minutes_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()


@pytest.fixture
def inbox(cli, write_jsonl):
    path = write_jsonl(
        [
            mention_line(
                id="1",
                text="@shopexample my parcel never arrived",
                created_at=datetime.now(UTC) - timedelta(minutes=40),
                handle="ann",
            ),
            mention_line(
                id="2",
                text="@shopexample do you ship to Canada?",
                created_at=datetime.now(UTC) - timedelta(minutes=10),
                handle="ben",
            ),
            mention_line(
                id="3",
                text="cheap followers here",
                created_at=datetime.now(UTC) - timedelta(minutes=5),
                handle="spam",
            ),
        ]
    )
    result = cli("import", str(path))
    assert result.exit_code == 0, result.output
    return path


def test_demo_builds_a_queue_and_is_safe_twice(cli):
    first = cli("demo")
    assert first.exit_code == 0, first.output
    assert "waiting" in first.output and "Try next:" in first.output
    again = cli("demo")
    assert again.exit_code == 0
    assert "sample mentions already there, nothing new" in again.output
    db = dbmod.connect("social-watch.db")
    total = db.conn.execute("SELECT COUNT(*) FROM mentions").fetchone()[0]
    assert total > 150
    networks = {r[0] for r in db.conn.execute("SELECT DISTINCT network FROM mentions")}
    assert networks == {
        *("x", "reddit", "mastodon", "bluesky", "hackernews", "rss"),
        *("facebook", "instagram", "heureka"),
    }
    ratings = dict(db.conn.execute("SELECT lang, rating FROM mentions WHERE network = 'heureka'"))
    assert ratings == {"cs": 2.0, "sk": 5.0}  # two reviews, one Czech, their stars kept
    states = {i["sla_state"] for i in json.loads(cli("queue", "--json", "--limit", "0").output)}
    assert {"breached", "ok"} <= states


def test_demo_refuses_a_database_with_real_mentions(cli, inbox):
    result = cli("demo")
    assert result.exit_code == 2
    assert "not demo data" in result.output
    assert cli("demo", "--db", "demo.db").exit_code == 0


def test_queue_json_and_text(cli, inbox):
    items = json.loads(cli("queue", "--json").output)
    assert [i["global_id"] for i in items] == ["x:2", "x:3", "x:1"]
    assert items[-1]["sla_state"] == "breached" and items[-1]["seconds_left"] < 0
    by_due = json.loads(cli("queue", "--json", "--sort", "due").output)
    assert [i["global_id"] for i in by_due] == ["x:1", "x:2", "x:3"]
    assert cli("queue", "--sort", "random").exit_code == 2
    text = cli("queue").output
    assert "3 waiting" in text and "@ann" in text and "over" in text


def test_the_daily_loop(cli, inbox):
    assert "Claimed 1 for jana" in cli("claim", "1", "--as", "jana").output
    held = cli("claim", "1", "--as", "tom")
    assert held.exit_code == 1 and "claimed by jana" in held.output
    mine = json.loads(cli("queue", "--mine", "--json", env={"SOCIAL_WATCH_AGENT": "jana"}).output)
    assert [i["id"] for i in mine] == [1]
    shown = cli("show", "1")
    assert "never arrived" in shown.output and "claimed" in shown.output
    data = json.loads(cli("show", "1", "--json").output)
    assert data["actions"][0]["action"] == "claimed"
    assert cli("done", "1", "--as", "jana").exit_code == 0
    assert cli("dismiss", "3", "--reason", "spam", "--as", "jana").exit_code == 0
    assert [i["id"] for i in json.loads(cli("queue", "--json").output)] == [2]
    assert cli("claim", "2", "--as", "jana").exit_code == 0
    assert cli("release", "2", "--as", "jana").exit_code == 0
    assert json.loads(cli("queue", "--json", "--unclaimed").output)[0]["id"] == 2


def test_agent_is_required_and_checked(cli, inbox, tmp_path):
    result = cli("claim", "1")
    assert result.exit_code == 2 and "SOCIAL_WATCH_AGENT" in result.output
    (tmp_path / "social-watch.toml").write_text('[agents.jana]\nname = "Jana"\n')
    result = cli("claim", "1", "--as", "zed")
    assert result.exit_code == 2 and "configured agents: jana" in result.output


def test_label_and_db_status_agreement(cli, inbox):
    assert cli("label", "1", "negative", "--as", "jana").exit_code == 0
    assert cli("label", "2", "negative", "--as", "jana").exit_code == 0
    status = json.loads(cli("db", "status", "--json").output)
    assert status["schema_version"] >= 2 and status["mentions"] == 3
    assert status["sentiment_reviewed"] == 2 and status["sentiment_agreement"] == 0.5
    assert "50% agreed" in cli("db", "status").output
    by_lang = status["sentiment_agreement_by_lang"]
    assert sum(r["reviewed"] for r in by_lang.values()) == 2
    # x sent no language: the detected English is what the agreement is counted under
    assert by_lang == {"en": {"reviewed": 2, "agreement": 0.5}}
    assert "\n  en              2 reviewed, 50% agreed with the model" in cli("db", "status").output
    bulk = cli("label", "neutral", "--where", "author=spam")
    assert bulk.exit_code == 0 and "Labelled 1" in bulk.output
    assert cli("label", "1", "happy").exit_code == 2


def test_tag_command(cli, inbox):
    result = cli("tag", "2", "+vip", "-question")
    assert result.exit_code == 0 and "vip" in result.output and "question" not in result.output


def test_unknown_id_is_a_clear_error(cli, inbox):
    result = cli("show", "99")
    assert result.exit_code == 2 and "no mention with id '99'" in result.output


def test_sentiment_command_args_and_stdin(cli):
    out = cli("sentiment", "still waiting for my refund", "love it!").output.splitlines()
    assert out[0].startswith("negative\t") and out[1].startswith("positive\t")
    lines = "\n".join(["where is my order??", "thanks, great service"] * 5000)
    result = cli("sentiment", "--json", input=lines)
    rows = [json.loads(x) for x in result.output.splitlines()]
    assert len(rows) == 10_000
    assert rows[0]["label"] == "negative" and rows[1]["label"] == "positive"
    assert set(rows[0]) >= {"label", "compound"}
    # a language without a lexicon: detected, it is 'unknown'; asked for, a usage error
    french = "Toujours pas de remboursement après trois semaines, c'est inadmissible"
    assert cli("sentiment", french).output.startswith("unknown\t+0.0000\tfr\t")
    assert cli("sentiment", "--lang", "fr", "tout va bien").exit_code == 2
    assert cli("sentiment", "--lang", "de", "alles gut").output.startswith("positive")


def test_sentiment_command_reports_the_language_used(cli):
    label, _compound, lang, text = cli("sentiment", "--lang", "cs", "Nefunguje to").output.split(
        "\t"
    )
    assert (label, lang, text) == ("negative", "cs", "Nefunguje to\n")
    rows = [
        json.loads(x)
        for x in cli(
            "sentiment",
            "--json",
            input="Zamówienie nadal nie dotarło, okropne\nwhere is my order?\n",
        ).output.splitlines()
    ]
    assert [(r["label"], r["lang"]) for r in rows] == [("negative", "pl"), ("negative", "en")]
    assert json.loads(cli("sentiment", "--json", "--lang", "pl-PL", "super").output)["lang"] == "pl"
    assert cli("sentiment", "--json", "--lang", "fr-FR", "bien").exit_code == 2


def test_import_reports_bad_lines_and_keeps_the_rest(cli, write_jsonl):
    path = write_jsonl(
        [
            mention_line(id="1"),
            "{not json",
            json.dumps(
                {
                    "network": "x",
                    "id": "2",
                    "text": "hi",
                    "created_at": "2026-11-24T10:00:00",
                    "author": {"handle": "a"},
                }
            ),
            json.dumps(
                {"network": "x", "id": "3", "text": "hi", "created_at": "2026-11-24T10:00:00Z"}
            ),
            json.dumps(
                {
                    "network": "x",
                    "id": "4",
                    "text": 5,
                    "created_at": "2026-11-24T10:00:00Z",
                    "author": {"handle": "a"},
                }
            ),
            "",
            mention_line(id="5"),
            "[1, 2]",
        ]
    )
    result = cli("import", str(path))
    assert result.exit_code == 1
    assert "line 2: invalid JSON" in result.output
    assert "line 3: 'created_at' must be ISO 8601 with a time zone" in result.output
    assert "line 4: missing required field 'author.handle'" in result.output
    assert "line 5: 'text' must be a string" in result.output
    assert "line 8: expected a JSON object" in result.output
    assert "2 new" in result.output and "5 rejected" in result.output
    again = json.loads(cli("import", str(path), "--json").output)
    assert again["new"] == 0 and again["unchanged"] == 2 and again["rejected"] == 5


def test_import_from_stdin_and_unreadable_files(cli):
    result = cli("import", "-", input=mention_line(id="9") + "\n")
    assert result.exit_code == 0 and "1 new" in result.output
    missing = cli("import", "nope.jsonl")
    assert missing.exit_code == 2 and "nope.jsonl" in missing.output


def test_invalid_config_names_file_key_and_reason(cli, tmp_path):
    (tmp_path / "bad.toml").write_text('[connectors.x]\nqueries = ["a", "b", 3]\n')
    result = cli("queue", "--config", "bad.toml")
    assert result.exit_code == 2
    assert "bad.toml: connectors.x.queries[2]: expected a string" in result.output
    assert "Traceback" not in result.output


def test_unknown_config_key_suggests_the_nearest(cli, tmp_path):
    (tmp_path / "social-watch.toml").write_text('[queue]\ntagret = "30m"\n')
    result = cli("queue")
    assert (
        result.exit_code == 2
        and "queue.tagret: unknown key; did you mean 'target'?" in result.output
    )


def test_config_found_through_env(cli, tmp_path):
    (tmp_path / "elsewhere.toml").write_text('database = "other.db"\n')
    cli(
        "import",
        "-",
        input=mention_line(id="1") + "\n",
        env={"SOCIAL_WATCH_CONFIG": "elsewhere.toml"},
    )
    assert (tmp_path / "other.db").exists()


def test_unreadable_database_is_a_clear_error(cli, tmp_path):
    (tmp_path / "garbage.db").write_bytes(b"this is not sqlite" * 100)
    result = cli("queue", "--db", "garbage.db")
    assert result.exit_code == 2 and "cannot open the database" in result.output
    result = cli("queue", "--db", "missing/dir/x.db")
    assert result.exit_code == 2 and "no database at missing/dir/x.db" in result.output
    result = cli("import", "-", "--db", "missing/dir/x.db", input=mention_line(id="1") + "\n")
    assert result.exit_code == 2 and "does not exist" in result.output


def test_read_commands_refuse_a_missing_database_and_create_nothing(cli, tmp_path):
    for args in (["queue"], ["show", "1"], ["db", "status"], ["stats"], ["status"]):
        result = cli(*args, "--db", "typo.db")
        assert result.exit_code == 2 and "no database at typo.db" in result.output, args
    assert not (tmp_path / "typo.db").exists()


def test_read_commands_refuse_an_empty_file_and_leave_it_empty(cli, tmp_path):
    """SQLite would quietly turn a 0-byte file (mentions.jsonl given as --db) into an
    empty database and answer "Inbox zero"."""
    (tmp_path / "mentions.jsonl").write_bytes(b"")
    for args in (["queue"], ["show", "1"], ["db", "status"], ["stats"]):
        result = cli(*args, "--db", "mentions.jsonl")
        assert result.exit_code == 2 and "is an empty file" in result.output, args
    assert (tmp_path / "mentions.jsonl").stat().st_size == 0
    # a command that fills a database may start one in an empty file
    result = cli("import", "-", "--db", "mentions.jsonl", input=mention_line(id="1") + "\n")
    assert result.exit_code == 0, result.output
    assert cli("queue", "--db", "mentions.jsonl").exit_code == 0


def test_python_dash_m_works():
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "social_watch", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "social-watch" in out.stdout


def test_demo_history_is_worked_like_a_real_team(cli):
    assert cli("demo").exit_code == 0
    db = dbmod.connect("social-watch.db")
    statuses = dict(
        db.conn.execute(
            "SELECT status, COUNT(*) FROM mentions WHERE kind = 'mention' GROUP BY status"
        ).fetchall()
    )
    assert statuses.get("answered", 0) + statuses.get("done", 0) > 40
    assert statuses.get("dismissed", 0) >= 1
    sent = db.conn.execute("SELECT COUNT(*) FROM outbox WHERE status = 'sent'").fetchone()[0]
    replied = db.conn.execute(
        "SELECT COUNT(*) FROM actions WHERE action = 'replied' AND agent IN ('jana', 'tom')"
    ).fetchone()[0]
    assert sent == replied > 20
    # signed replies, first response recorded after the mention
    row = db.conn.execute(
        "SELECT o.text, m.created_at, m.first_response_at FROM outbox o JOIN mentions m ON m.id = o.mention_id LIMIT 1"
    ).fetchone()
    assert row[0].endswith(("^JN", "– Tom")) and row[2] > row[1]
    # the live part of the inbox is still there: recent items wait
    items = json.loads(cli("queue", "--json", "--limit", "0").output)
    assert {"ok", "breached"} <= {i["sla_state"] for i in items}
    assert 40 < len(items) < 120


def test_import_rejects_lines_sqlite_or_datetime_cannot_hold_and_keeps_the_rest(cli, write_jsonl):
    """Each of these lines used to raise out of the batch: a traceback, and the good lines
    of the same batch (up to 1,000) were rolled back with it."""

    def line(id: str, **extra: object) -> str:
        obj = json.loads(mention_line(id=id))
        for key, value in extra.items():
            if key == "followers":
                obj["author"]["followers"] = value
            elif key == "handle":
                obj["author"]["handle"] = value
            else:
                obj[key] = value
        return json.dumps(obj)

    path = write_jsonl(
        [
            mention_line(id="1"),
            line("2", text="lone \ud800 surrogate"),
            line("3", handle="\udfff"),
            line("4", extra="\ud800 in a field nobody reads"),
            line("5", followers=10**30),
            line("6", created_at="0001-01-01T00:00:00+01:00"),
            line("7", created_at="9999-12-31T23:50:00Z"),
            "[" * 100_000 + "]" * 100_000,
            line("9", text="a real pair \ud83d\ude00 is fine"),
        ]
    )
    result = cli("import", str(path))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    for n in (2, 3, 4):
        assert f"line {n}: " in result.output and "surrogate" in result.output
    assert "line 5: 'author.followers' must be a whole number" in result.output
    # a valid time with a zone, whose UTC is before year 1: out of range, not "no zone"
    assert "line 6: 'created_at' is out of range (1970 to 9000)" in result.output
    assert "line 7: 'created_at' is out of range" in result.output
    assert "line 8: " in result.output
    assert "2 new" in result.output and "7 rejected" in result.output


def test_import_rejects_a_network_name_that_could_collide(cli):
    line = json.dumps(
        {
            "network": "x:1",
            "id": "2",
            "text": "hi",
            "created_at": "2026-11-24T10:00:00Z",
            "author": {"handle": "a"},
        }
    )
    result = cli("import", "-", input=line + "\n")
    assert result.exit_code == 1 and "line 1: 'network' must be a short name" in result.output


def test_import_hostile_lines_are_rejected_and_good_lines_kept(cli, tmp_path):
    from social_watch.importer import MAX_LINE_BYTES

    path = tmp_path / "hostile.jsonl"
    with open(path, "wb") as fh:
        fh.write(b"\xef\xbb\xbf" + mention_line(id="1").encode() + b"\n")
        fh.write(b'{"n": ' + b"9" * 5000 + b"}\n")
        fh.write(b'{"text": "' + b"x" * (MAX_LINE_BYTES + 10) + b'"}\n')
        fh.write(mention_line(id="2").encode() + b"\n")
    result = cli("import", str(path), "--json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["new"] == 2 and report["rejected"] == 2
    assert [e["line"] for e in report["errors"]] == [2, 3]
    assert "longer than" in report["errors"][1]["reason"]


def test_import_refuses_a_device_as_a_device(cli):
    result = cli("import", "/dev/zero")
    assert result.exit_code == 2
    assert "device" in result.output and "No such file" not in result.output


@pytest.mark.parametrize("command", ["stats", "digest"])
def test_a_report_over_all_of_time_is_clamped_not_a_traceback(cli, command):
    assert cli("demo").exit_code == 0
    result = cli(command, "--from", "0001-01-01", "--to", "9999-12-31")
    assert result.exit_code == 0, result.output
    beyond = cli(command, "--from", "2300-01-01", "--to", "9999-12-31")
    assert beyond.exit_code == 2 and "reports cover 1970" in beyond.output


def test_a_filtered_queue_counts_the_filtered_set(cli, inbox):
    assert cli("claim", "1", "--as", "jana").exit_code == 0
    mine = cli("queue", "--mine", "--as", "jana", "--limit", "1")
    assert mine.exit_code == 0
    assert "1 match · 3 waiting" in mine.output and "more (--limit 0" not in mine.output
    unclaimed = cli("queue", "--unclaimed", "--limit", "1")
    assert "2 match" in unclaimed.output and "… 1 more (--limit 0 shows all)" in unclaimed.output
    empty = cli("queue", "--mine", "--as", "tom")
    assert empty.exit_code == 0
    assert "No items match (3 waiting)." in empty.output and "Inbox zero" not in empty.output


def test_queue_network_names_fold_case_and_an_unknown_one_is_named(cli, inbox):
    upper = cli("queue", "--network", "X")
    assert upper.exit_code == 0 and "3 match" in upper.output
    wrong = cli("queue", "--network", "twiter")
    assert wrong.exit_code == 2
    assert "unknown network 'twiter'" in wrong.stderr and "mastodon" in wrong.stderr
    empty = cli("queue", "--network", "reddit")
    assert empty.exit_code == 0 and "No items match (3 waiting)." in empty.output


@pytest.mark.parametrize("columns", [60, 80, 100, 132])
def test_queue_rows_fit_the_terminal_and_say_the_sla_state_without_colour(
    cli, inbox, monkeypatch, columns
):
    monkeypatch.setenv("COLUMNS", str(columns))
    out = cli("queue").output.splitlines()
    assert out and all(len(line) <= columns for line in out), out
    assert "MOOD" in out[1] and "SENT" not in out[1]
    ann = next(line for line in out if "@ann" in line)
    assert " X " in ann or " ! " in ann or " ~ " in ann  # 40 minutes old: past the target


@pytest.mark.parametrize(
    ("target", "reason"),
    [("missing/dir/x.html", "no such folder"), (".", "it is a directory")],
)
def test_digest_output_to_a_bad_path_is_one_line(cli, inbox, tmp_path, target, reason):
    path = str(tmp_path / target)
    result = cli("digest", "--format", "html", "-o", path)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"Error: cannot write {path}: {reason}"
        + ("; name a file" if reason == "it is a directory" else "")
    ]


@pytest.mark.parametrize(
    ("args", "start"),
    [
        (["show"], "Error: Missing argument 'MENTION_ID'."),
        (["dismiss", "1"], "Error: Missing option '--reason'."),
        (["queue", "--bogus"], "Error: No such option '--bogus'."),
    ],
)
def test_click_usage_errors_are_one_line_with_the_hint(cli, args, start):
    result = cli(*args)
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(start) and line.endswith("--help')")


NEW_NETWORK_AUTHORS = [
    # (network, handle, name) as each connector stores them
    ("facebook", "2315682678452791", "Jana Nováková"),
    ("instagram", "jana.novak_photography", None),
    ("threads", "petr.svoboda", None),
    ("youtube", "@jananovak", None),
    ("heureka", "Martina z Brna", None),
    ("trustpilot", "John D.", None),
    ("google_reviews", "Tereza Malá", None),
    ("google_reviews", "山田太郎", None),  # wide characters take two columns each
    ("hackernews", "dang", None),
]


@pytest.fixture
def new_networks_inbox(cli, write_jsonl):
    lines = []
    for n, (network, handle, name) in enumerate(NEW_NETWORK_AUTHORS, start=1):
        line = json.loads(
            mention_line(
                network=network,
                id=f"n{n}",
                text="Objednávka pořád nedorazila, už týden čekám",
                created_at=datetime.now(UTC) - timedelta(minutes=5 + n),
                handle=handle,
            )
        )
        line["author"]["name"] = name
        if network in ("heureka", "trustpilot", "google_reviews"):
            line["rating"] = 2
        lines.append(json.dumps(line))
    path = write_jsonl(lines, "new.jsonl")
    result = cli("import", str(path))
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("columns", [60, 80, 100, 132])
def test_queue_rows_fit_the_terminal_for_the_new_networks(
    cli, new_networks_inbox, monkeypatch, columns
):
    from social_watch.render import _cells

    monkeypatch.setenv("COLUMNS", str(columns))
    out = cli("queue", "--limit", "0").output.splitlines()
    rows = out[2:]
    assert len(rows) == len(NEW_NETWORK_AUTHORS)
    assert all(_cells(line) <= columns for line in out), out  # wide characters count two
    header = out[1]
    net_at, author_at, mood_at = (header.index(h) for h in ("NET", "AUTHOR", "MOOD"))
    for line in rows:
        net = line[net_at:author_at].strip()
        # every network is named whole or by its short label, never cut to "google_…"
        assert net and "…" not in net, line
        # the author cell ends where MOOD starts, in columns, on every row (alignment)
        before_mood = line[: line.index(" neg ")] if " neg " in line else line
        assert _cells(before_mood) == mood_at - 1, line
    text = "\n".join(rows)
    assert "Tereza Malá" in text and "John D." in text and "@jananovak" in text
    assert "@@" not in text and "2315682678452791" not in text
    if columns >= 80:
        assert "google " in text and "Martina z Brna" in text


def test_queue_sentiment_takes_the_short_forms_label_takes(cli, tmp_path):
    cli("import", "-", input=mention_line(id="1", text="@shopexample worst service ever") + "\n")
    short = cli("queue", "--sentiment", "neg", "--json")
    assert short.exit_code == 0 and len(json.loads(short.output)) == 1
    assert json.loads(cli("queue", "--sentiment", "pos", "--json").output) == []
    bad = cli("queue", "--sentiment", "bogus")
    assert bad.exit_code == 2 and "sentiment must be one of" in bad.output
