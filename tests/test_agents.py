"""Agent accounts (issue 12's logins): the CLI an operator uses and the checks a login needs."""

from __future__ import annotations

import sqlite3

from click.testing import CliRunner

from social_watch import accounts
from social_watch.cli import cli
from tests.helpers import NOW, open_db


def run(db_path, *args, input=None):
    return CliRunner().invoke(cli, [*args, "--db", str(db_path)], input=input)


def test_add_list_and_a_password_that_is_only_ever_a_hash(tmp_path):
    db_path = tmp_path / "sw.db"
    add = ["agents", "add", "jana", "--name", "Jana Nováková", "--signature", "^JN"]
    result = run(db_path, *add, "--password-stdin", input="correct horse battery\n")
    assert result.exit_code == 0, result.output
    assert "Added agent jana (Jana Nováková)" in result.output
    listed = run(db_path, "agents", "list")
    assert "jana" in listed.output and "active" in listed.output and "^JN" in listed.output

    stored = sqlite3.connect(db_path).execute("SELECT password_hash FROM accounts").fetchone()[0]
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    db = open_db(tmp_path, "sw.db")
    assert accounts.verify(db, "jana", "correct horse battery").name == "Jana Nováková"
    assert accounts.verify(db, "jana", "wrong horse battery") is None
    assert accounts.verify(db, "nobody", "correct horse battery") is None


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    db_path = tmp_path / "sw.db"
    short = run(db_path, "agents", "add", "jana", "--name", "J", "--password-stdin", input="x\n")
    assert short.exit_code == 2 and "at least 10 characters" in short.output
    bad_id = run(db_path, "agents", "add", "Jana Doe", "--name", "J", "--password-stdin")
    assert bad_id.exit_code == 2 and "agent id" in bad_id.output
    empty = run(db_path, "agents", "add", "jana", "--name", "J", "--password-stdin", input="")
    assert empty.exit_code == 2 and "no password on standard input" in empty.output
    args = ["agents", "add", "jana", "--name", "Jana", "--password-stdin"]
    assert run(db_path, *args, input="long enough pw\n").exit_code == 0
    again = run(db_path, *args, input="long enough pw\n")
    assert again.exit_code == 2 and "exists already" in again.output
    missing = run(db_path, "agents", "disable", "petr")
    assert missing.exit_code == 2 and "no agent account 'petr'" in missing.output
    assert "social-watch agents list" in missing.output
    assert "Traceback" not in short.output + bad_id.output + again.output + missing.output


def test_disable_and_a_new_password_end_sessions_and_tokens(tmp_path):
    db = open_db(tmp_path, "sw.db")
    account = accounts.add(db, "petr", name="Petr Svoboda", password="petr-pass-1234", now=NOW)
    token = accounts.new_token(db, "petr", now=NOW)
    assert accounts.for_token(db, token) == account
    assert accounts.for_token(db, token + "x") is None
    stored = db.conn.execute("SELECT token_hash FROM api_tokens").fetchone()[0]
    assert token not in stored

    changed = accounts.set_password(db, "petr", "another-pass-99")
    assert changed.session_epoch == account.session_epoch + 1
    assert accounts.verify(db, "petr", "petr-pass-1234") is None
    assert accounts.verify(db, "petr", "another-pass-99") is not None

    off = accounts.disable(db, "petr", now=NOW)
    assert off.disabled and off.session_epoch == changed.session_epoch + 1
    assert accounts.verify(db, "petr", "another-pass-99") is None  # right password, disabled
    assert accounts.for_token(db, token) is None
    assert not accounts.enable(db, "petr").disabled


def test_an_account_signs_as_itself(tmp_path):
    from social_watch import config as cfg
    from social_watch import replies

    db = open_db(tmp_path, "sw.db")
    account = accounts.add(
        db,
        "lea",
        name="Lea Dvořák",
        signature="^LD",
        role="lead",
        password="lead-pass-1234",
        now=NOW,
    )
    config = accounts.with_account(cfg.validate({}), account)
    profile = replies.agent_profile(config, "lea")
    assert (profile.name, replies.signature(profile)) == ("Lea Dvořák", "^LD")
    assert account.may_lead() and not accounts.get(db, "lea").disabled
