"""Shared fixtures: every test runs in its own folder with a clean environment."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

FIXTURES = Path(__file__).resolve().parent / "fixtures"  # recorded payloads, see fixtures/README.md
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No developer config, agent, token or proxy leaks into a test."""
    import os

    for key in list(os.environ):
        if key.startswith(
            ("SOCIAL_WATCH_", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
        ) or key.lower() in (
            "http_proxy",
            "https_proxy",
            "all_proxy",
        ):
            monkeypatch.delenv(key, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var in ("XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    # Per-process state a test may leave behind: registered secrets, our log handler.
    import logging

    from social_watch import redact

    redact._secrets.clear()
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == "social-watch":
            root.removeHandler(handler)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def cli(runner: CliRunner) -> Callable[..., Any]:
    """Invoke the CLI; returns click's Result (exit_code, output, stderr)."""
    from social_watch.cli import cli as root

    def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Any:
        return runner.invoke(root, list(args), input=input, env=env, catch_exceptions=False)

    return invoke


def mention_line(
    network: str = "x",
    id: str = "1",
    text: str = "@shopexample where is my order?",
    created_at: datetime | None = None,
    handle: str = "alice",
    **extra: Any,
) -> str:
    obj: dict[str, Any] = {
        "network": network,
        "id": id,
        "text": text,
        "created_at": (created_at or NOW - timedelta(minutes=5)).isoformat(),
        "author": {"handle": handle, "name": handle.title(), "followers": 120},
    }
    obj.update(extra)
    return json.dumps(obj)


@pytest.fixture
def write_jsonl(tmp_path: Path) -> Callable[..., Path]:
    def write(lines: list[str], name: str = "mentions.jsonl") -> Path:
        path = tmp_path / name
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    return write


class SmtpSink:
    """What a real local SMTP server (aiosmtpd) received: envelopes and parsed messages."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 OK"

    @property
    def messages(self) -> list[Any]:
        from email import message_from_bytes, policy

        return [message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpSink, int]]:
    """A real SMTP server on loopback: yields (what it received, its port)."""
    from aiosmtpd.controller import Controller

    sink, port = SmtpSink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()
