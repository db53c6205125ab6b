"""`poll`, `check` and `connectors`: exit codes, missing secrets, config errors, output shapes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest

from social_watch import registry
from social_watch.connector import MENTIONS, Connector, PollResult, Source

CallCli = Callable[..., Any]


class SecretConnector(Connector):
    """A connector that needs a token; polls nothing."""

    name = "secretive"
    network = "x"
    capabilities = frozenset({MENTIONS})
    secrets: ClassVar[dict[str, str]] = {"token_env": "SOCIAL_WATCH_SECRETIVE_TOKEN"}
    options: ClassVar[dict[str, str]] = {"queries": "searches"}

    def sources(self) -> list[Source]:
        return [Source(self.name, MENTIONS)]

    def check(self) -> str:
        return f"token ends in {self.secret('token_env')[-2:]}"

    def poll(self, source: Source, cursor: Any) -> PollResult:
        return PollResult([], {"n": 1})


@pytest.fixture(autouse=True)
def fake_connector(monkeypatch: pytest.MonkeyPatch) -> None:
    extra = {"secretive": f"{__name__}:SecretConnector"}
    real = registry.available
    monkeypatch.setattr(registry, "available", lambda: {**real(), **extra})


def config(tmp_path: Path, body: str) -> str:
    path = tmp_path / "sw.toml"
    path.write_text(f'database = "{tmp_path / "sw.db"}"\n{body}', encoding="utf-8")
    return str(path)


def test_missing_secret_is_skipped_with_one_line_and_exit_1(tmp_path: Path, cli: CallCli) -> None:
    path = config(tmp_path, "[connectors.secretive]\n")
    result = cli("poll", "--config", path)
    assert result.exit_code == 1
    assert result.output.strip() == (
        "secretive   skipped: environment variable SOCIAL_WATCH_SECRETIVE_TOKEN is not set"
    )
    checked = cli("check", "--config", path, "--json")
    assert checked.exit_code == 1
    (row,) = json.loads(checked.output)
    assert row["env_var"] == "SOCIAL_WATCH_SECRETIVE_TOKEN" and row["kind"] == "auth"
    assert "SOCIAL_WATCH_SECRETIVE_TOKEN" in row["message"]


def test_with_the_secret_poll_and_check_pass(tmp_path: Path, cli: CallCli) -> None:
    path = config(tmp_path, "[connectors.secretive]\n")
    env = {"SOCIAL_WATCH_SECRETIVE_TOKEN": "abc42"}
    polled = cli("poll", "--config", path, "--json", env=env)
    assert polled.exit_code == 0, polled.output
    (report,) = json.loads(polled.output)
    assert report["status"] == "ok" and report["sources"][0]["source"] == "secretive:mentions:"
    checked = cli("check", "--config", path, env=env)
    assert checked.exit_code == 0 and "token ends in 42" in checked.output
    assert "abc42" not in checked.output


def test_env_var_name_can_be_overridden_in_config(tmp_path: Path, cli: CallCli) -> None:
    path = config(tmp_path, '[connectors.secretive]\ntoken_env = "MY_TOKEN"\n')
    result = cli("check", "--config", path)
    assert result.exit_code == 1 and "MY_TOKEN" in result.output


def test_unknown_connector_option_and_unknown_connector_exit_2(
    tmp_path: Path, cli: CallCli
) -> None:
    path = config(tmp_path, '[connectors.secretive]\nqueris = ["a"]\n')
    result = cli("poll", "--config", path)
    assert result.exit_code == 2
    assert "connectors.secretive.queris: unknown option; did you mean 'queries'?" in result.output
    other = cli("poll", "--config", config(tmp_path, ""), "--connector", "mastodon")
    assert other.exit_code == 2 and "connectors.mastodon" in other.output
    assert "Traceback" not in result.output + other.output


def test_disabled_connectors_are_not_polled(tmp_path: Path, cli: CallCli) -> None:
    path = config(tmp_path, "[connectors.secretive]\nenabled = false\n")
    result = cli("poll", "--config", path)
    assert result.exit_code == 0
    assert "No connectors configured" in result.output


def test_connectors_lists_available_and_configured(tmp_path: Path, cli: CallCli) -> None:
    path = config(tmp_path, '[connectors.rss]\nfeeds = ["https://example.com/feed.xml"]\n')
    result = cli("connectors", "--config", path)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert any(line.startswith("rss         configured   search (read-only)") for line in lines)
    assert "  feed: https://example.com/feed.xml" in lines
    assert any(line.startswith("hackernews  available") for line in lines)
    assert any(
        line.startswith("secretive   available") for line in lines
    )  # third-party connectors are listed too
    rows = {r["name"]: r for r in json.loads(cli("connectors", "--config", path, "--json").output)}
    assert rows["secretive"]["secrets"] == {"token_env": "SOCIAL_WATCH_SECRETIVE_TOKEN"}
    assert rows["rss"]["configured"] and not rows["hackernews"]["configured"]
