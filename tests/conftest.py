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


@pytest.fixture(scope="session")
def langid_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One unpacked language model for the session's tests (``social_watch.langid_model``),
    instead of one written into every test's own home."""
    return tmp_path_factory.mktemp("langid-cache")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, langid_cache: Path) -> Iterator[Path]:
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
    monkeypatch.setenv("SOCIAL_WATCH_CACHE_DIR", str(langid_cache))
    monkeypatch.chdir(tmp_path)
    # One table width whatever runs the tests (a terminal, a pipe, a pytest-xdist worker):
    # tables are cut to the terminal's width, and a test reads whole cells.
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("LINES", "24")
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


# --- both backends ----------------------------------------------------------------------
# A module that sets ``pytestmark = pytest.mark.usefixtures("backend")`` runs every test
# twice: on SQLite files, and on PostgreSQL, where each database file a test opens (through
# ``social_watch.db.connect``, so the CLI's --db too) becomes a fresh PostgreSQL database
# cloned from a migrated template. The server is tests/pg_server.py's throwaway one, or
# $SOCIAL_WATCH_TEST_PG. No PostgreSQL means these tests fail: they never skip.

_PG_URL_FROM_ENV = __import__("os").environ.get("SOCIAL_WATCH_TEST_PG")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    if _PG_URL_FROM_ENV:
        yield _PG_URL_FROM_ENV
        return
    from pg_server import Server

    server = Server()
    try:
        yield server.start()
    finally:
        server.stop()


def _pg_admin(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=True)


def _with_dbname(url: str, name: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url)._replace(path=f"/{name}").geturl()


@pytest.fixture(scope="session")
def pg_template(pg_server: str) -> str:
    """A database migrated once; every test's database is a copy of it."""
    from social_watch.store.postgres import PostgresStore

    name = f"sw_template_{__import__('os').getpid()}"
    with _pg_admin(pg_server) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
    PostgresStore(_with_dbname(pg_server, name)).close()
    return name


_pg_serial = iter(range(1, 10**9))


@pytest.fixture
def pg_database(pg_server: str, pg_template: str) -> Iterator[Callable[[], str]]:
    """Makes fresh migrated databases (URLs); drops them at the end of the test."""
    import os

    made: list[str] = []

    def make() -> str:
        name = f"sw_test_{os.getpid()}_{next(_pg_serial)}"
        with _pg_admin(pg_server) as admin:
            admin.execute(f"CREATE DATABASE {name} TEMPLATE {pg_template} STRATEGY FILE_COPY")
        made.append(name)
        return _with_dbname(pg_server, name)

    yield make
    with _pg_admin(pg_server) as admin:
        for name in made:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """``@pytest.mark.sqlite_only(reason)``: a test of a two-backend module whose
    PostgreSQL run is not collected (yet)."""
    items[:] = [
        item
        for item in items
        if not (item.get_closest_marker("sqlite_only") and "[postgresql" in item.nodeid)
    ]


_URL_FOR = pytest.StashKey[Callable[[Any], str]]()


PG_PLACEHOLDER = b"this test's database is in PostgreSQL\n"


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Which backend this run of the test uses; on PostgreSQL, file paths map to databases."""
    if request.param == "sqlite":
        return "sqlite"
    from social_watch import db as dbmod
    from social_watch import store as storemod

    make = request.getfixturevalue("pg_database")
    by_path: dict[str, str] = {}
    real = storemod.open_store

    def url_for(target: Any) -> str:
        """The PostgreSQL database a file path stands for in this test (made on first use)."""
        if storemod.is_postgres(target):
            return str(target)
        path = Path(target)
        key = str(path.resolve())
        if key not in by_path:
            by_path[key] = make()
            if path.is_file() and path.read_bytes()[:16] == b"SQLite format 3\x00":
                # A test that built its database as a file (a copied template): the same
                # rows in PostgreSQL, by the product's own `db copy`.
                from social_watch.store.copy import copy
                from social_watch.store.sqlite import SQLiteStore

                src, dst = SQLiteStore(path), real(by_path[key])
                copy(src, dst)
                src.close()
                dst.close()
            elif not path.exists() and path.parent.is_dir():
                # commands that refuse a missing (or empty) database find one there
                path.write_bytes(PG_PLACEHOLDER)
        return by_path[key]

    def open_store(target: Any, *, password_env: str | None = None) -> Any:
        return real(url_for(target), password_env=password_env)

    monkeypatch.setattr(storemod, "open_store", open_store)
    monkeypatch.setattr(dbmod, "open_store", open_store)
    request.node.stash[_URL_FOR] = url_for
    return "postgresql"


@pytest.fixture
def db_arg(backend: str, request: pytest.FixtureRequest) -> Callable[[Any], str]:
    """What a child process passes as ``--db`` for a database file: the path itself on
    SQLite; on PostgreSQL the URL of the database that path maps to in this process (a
    child does not inherit the mapping)."""
    if backend == "sqlite":
        return str
    return request.node.stash[_URL_FOR]
