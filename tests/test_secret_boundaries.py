"""A network that echoes the token back: no registered secret reaches output, JSON or the DB."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fixture_server import FixtureServer, Reply, serve_fixtures  # noqa: F401

TOKEN = "tok-3c9f1e7a55d24b08"


def echoing_config(tmp_path: Path, url: str) -> Path:
    config = tmp_path / "social-watch.toml"
    config.write_text(
        f'database = "{tmp_path / "sw.db"}"\n[brand]\nname = "Shop Example"\n'
        f'[connectors.mastodon]\nbase_url = "{url}"\nhashtags = ["shopexample"]\n',
        encoding="utf-8",
    )
    return config


def echo_token(fixture_server: FixtureServer) -> None:
    def answer(req: Any) -> Reply:
        said = req.headers.get("authorization", "")
        return Reply.json({"error": f"invalid token: {said}"}, status=401)

    for path in (
        "/api/v1/notifications",
        "/api/v1/timelines/tag/shopexample",
        "/api/v1/accounts/verify_credentials",
    ):
        fixture_server.get(path, answer)


@pytest.mark.parametrize("as_json", [False, True])
def test_check_and_poll_never_show_or_store_an_echoed_token(
    fixture_server: FixtureServer,
    tmp_path: Path,
    cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    as_json: bool,
) -> None:
    echo_token(fixture_server)
    monkeypatch.setenv("SOCIAL_WATCH_MASTODON_TOKEN", TOKEN)
    config = echoing_config(tmp_path, fixture_server.url)
    flags = ["--json"] if as_json else []
    polled = cli("poll", "--config", str(config), *flags)
    checked = cli("check", "--config", str(config), *flags)
    assert fixture_server.requests  # the token did go out, and came back in the body
    for result in (polled, checked):
        assert result.exit_code != 0
        shown = result.output + (result.stderr if result.stderr_bytes is not None else "")
        assert TOKEN not in shown
        assert "***" in shown  # the message is kept, only the secret is hidden
    with sqlite3.connect(tmp_path / "sw.db") as conn:
        errors = [r[0] for r in conn.execute("SELECT error FROM polls")]
    assert errors and all(TOKEN not in (e or "") for e in errors)
    assert any("***" in (e or "") for e in errors)
    if as_json:
        json.loads(polled.output)  # still valid JSON after redaction


def test_an_account_name_is_shown_but_its_password_is_not() -> None:
    """A username (SMTP user, Reddit account) is shown on purpose; redacting it would hide
    the brand's own handle in every mention and the help-desk address in every hand-off."""
    from social_watch import redact, secrets

    env = {"SMTP_USER": "care@shop.example", "SMTP_PASS": "pa55-w0rd-xyz"}
    section = {"username_env": "SMTP_USER", "password_env": "SMTP_PASS"}
    user = secrets.resolve(section, "username", env=env, where="email")
    password = secrets.resolve(section, "password", env=env, where="email")
    assert user is not None and password is not None
    shown = redact.redact("login care@shop.example with pa55-w0rd-xyz")
    assert shown == "login care@shop.example with ***"


REPLY_CONFIG = """
[brand]
name = "Shop Example"
[brand.handles]
mastodon = "shopexample"
[agents.jana]
name = "Jana Novak"
signature = "^JN"
[connectors.mastodon]
base_url = "{url}"
resolve_threads = false
"""


def test_a_reply_refused_with_the_token_echoed_stores_and_shows_no_token(
    fixture_server: FixtureServer,
    tmp_path: Path,
    cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from conftest import mention_line

    def refuse(req: Any) -> Reply:
        said = req.headers.get("authorization", "")
        return Reply.json({"error": f"The access token is invalid: {said}"}, status=401)

    fixture_server.post("/api/v1/statuses", refuse)
    monkeypatch.setenv("SOCIAL_WATCH_MASTODON_TOKEN", TOKEN)
    config = tmp_path / "social-watch.toml"
    config.write_text(REPLY_CONFIG.format(url=fixture_server.url), encoding="utf-8")
    (tmp_path / "m.jsonl").write_text(
        mention_line(network="mastodon", id="1170205832454598", text="@shopexample hi?") + "\n"
    )
    args = ["--config", str(config), "--db", str(tmp_path / "sw.db")]
    assert cli("import", str(tmp_path / "m.jsonl"), *args).exit_code == 0
    replied = cli("reply", "1", "Hi, checking it now!", "--as", "jana", *args, "--json")
    listed = cli("outbox", *args, "--json")
    shown = cli("show", "1", *args)
    assert any(r.method == "POST" for r in fixture_server.requests)  # the token went out
    for result in (replied, listed, shown):
        assert TOKEN not in result.output + result.stderr
    assert "***" in listed.output
    with sqlite3.connect(tmp_path / "sw.db") as conn:
        stored = " ".join(str(v) for row in conn.execute("SELECT * FROM outbox") for v in row)
        actions = " ".join(str(r[0]) for r in conn.execute("SELECT details FROM actions"))
    assert TOKEN not in stored and TOKEN not in actions and "***" in stored
