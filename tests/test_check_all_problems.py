"""`check` is the one place that lists every problem of a config in one run (issue 17)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

CONFIG = """\
[brand]
name = "Shop Example"
nmae = "typo"

[queue]
at_risk = "soon"

[watch]
digest_at = "25:61"

[connectors.mastodon]
base_url = "http://127.0.0.1:9"
hashtags = ["shopexample"]
hashtag = "typo"
instance = "typo too"

[connectors.rss]
feeds = 5

[connectors.reddit]
queries = ["shopexample"]

[email]
host = "127.0.0.1"
from = "sw@shop.example"
to = ["care@shop.example"]
username_env = "SW_TEST_UNSET_SMTP_USER"
password_file = "{missing}"
"""

EXPECTED = [
    "brand.nmae",
    "queue.at_risk",
    "watch.digest_at",
    "connectors.mastodon.hashtag",
    "connectors.mastodon.instance",
    "connectors.rss.feeds",
    "SOCIAL_WATCH_REDDIT_CLIENT_ID",
    "SOCIAL_WATCH_REDDIT_CLIENT_SECRET",
    "SOCIAL_WATCH_REDDIT_USERNAME",
    "SOCIAL_WATCH_REDDIT_PASSWORD",
    "email.password_file",
    "SW_TEST_UNSET_SMTP_USER",
]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "social-watch.toml"
    path.write_text(CONFIG.format(missing=tmp_path / "no-such-secret"), encoding="utf-8")
    return path


def test_check_lists_every_problem_on_stderr_and_exits_2(config: Path, cli: Any) -> None:
    result = cli("check", "--config", str(config))
    assert result.exit_code == 2, result.output
    for needle in EXPECTED:
        assert needle in result.stderr, f"{needle} not listed:\n{result.stderr}"
    assert "Traceback" not in result.stderr
    # one problem a line, none of them on stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) >= len(EXPECTED) - 3  # the four reddit variables may share a line
    assert not any(needle in result.stdout for needle in EXPECTED)


def test_check_json_lists_them_too(config: Path, cli: Any) -> None:
    result = cli("check", "--config", str(config), "--json")
    assert result.exit_code == 2
    text = json.dumps(json.loads(result.stdout))
    for needle in EXPECTED:
        assert needle in text, needle


def test_other_commands_still_stop_at_the_config_in_one_line(config: Path, cli: Any) -> None:
    result = cli("queue", "--config", str(config), "--db", "x.db")
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert "brand.nmae" in line and "social-watch check" in line
