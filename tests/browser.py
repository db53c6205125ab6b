"""The real web inbox in a real browser: the parts the browser tests stand on (issue 12).

- ``Inbox``: a temp SQLite file seeded with the bundled demo (``demo.run``) and agents made
  through the CLI (``agents add ... --password-stdin``), a config whose Mastodon connector
  points at the loopback fake (``mastodon_late``: counts every POST, honours
  ``Idempotency-Key``), and the app from ``social_watch.web.app:create_app`` served by a
  real uvicorn in a background thread on a socket bound to a free loopback port.
- ``launch``: Playwright's sync API driving Debian's chromium (``/usr/bin/chromium``,
  headless, flags from the developers' guide). Playwright never downloads a browser here;
  when chromium is missing the tests *fail* and say how to install it (tests/setup.sh).
- ``add_mention``: a mention through the library's ingest path (``ingest_file.run``, what
  ``social-watch import`` calls) while pages are open, returning its item id.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from mastodon_late import LateMastodon

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TOKEN_ENV = "SOCIAL_WATCH_MASTODON_TOKEN"
TOKEN = "test-token-not-secret"
START_TIMEOUT = 20.0  # a safety net: the server is normally up in well under a second

CONFIG = """
[brand]
name = "Shop Example"
[brand.handles]
x = "shopexample"
mastodon = "shopexample"
bluesky = "shopexample.bsky.social"
reddit = "shopexample"
[queue.targets]
hackernews = "2h"
rss = "4h"
[connectors.mastodon]
base_url = "{url}"
resolve_threads = false
"""


@dataclass(frozen=True)
class Agent:
    id: str
    name: str
    signature: str
    role: str
    password: str

    @property
    def first_name(self) -> str:
        return self.name.split()[0]


AGENTS = (
    Agent("jana", "Jana Nováková", "^JN", "agent", "jana-pass-1234"),
    Agent("petr", "Petr Svoboda", "^PS", "agent", "petr-pass-1234"),
    Agent("lead", "Lea Dvořák", "^LD", "lead", "lead-pass-1234"),
)


def require_chromium() -> None:
    """Fail (never skip) without the browser: CI installs it, so a miss is a broken setup."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests drive Debian's chromium. "
            "Install it with `bash tests/setup.sh` (apt-get install chromium).",
            pytrace=False,
        )


@contextlib.contextmanager
def launch() -> Iterator[Any]:
    """A headless chromium through Playwright's sync API."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class LiveServer:
    """A real uvicorn serving ``app`` on 127.0.0.1 in a background thread."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))  # the kernel picks a free port: no race
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        config = uvicorn.Config(
            app, log_level="warning", lifespan="auto", timeout_graceful_shutdown=2
        )
        self._server = uvicorn.Server(config)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="uvicorn", daemon=True)

    def _run(self) -> None:
        try:
            self._server.run(sockets=[self._socket])
        except BaseException as exc:  # reported by start(), not lost in the thread
            self._error = exc

    def start(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self._error is not None or not self._thread.is_alive():
                raise RuntimeError(f"the web app did not start: {self._error!r}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=1.0).json() == {"ok": True}:
                    return self
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.url}/healthz did not answer within {START_TIMEOUT} s")
            self._thread.join(0.05)  # a short wait between polls of /healthz

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._socket.close()
        assert not self._thread.is_alive(), "uvicorn did not shut down"


@dataclass
class Inbox:
    """A demo database, its agents and the app serving it; what the browser tests share."""

    root: Path
    db_path: Path
    config_path: Path
    network: LateMastodon
    server: LiveServer | None = None
    agents: dict[str, Agent] = field(default_factory=dict)
    _seq: int = 0

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def config(self) -> Any:
        from social_watch import config as cfg

        return cfg.load(str(self.config_path))

    def add_mention(
        self,
        text: str,
        *,
        network: str = "mastodon",
        handle: str | None = None,
        name: str | None = None,
        minutes_ago: float = 2,
        **extra: Any,
    ) -> int:
        """Ingest one new mention the way `import` does; its queue item id."""
        from social_watch import db as dbmod
        from social_watch import ingest_file

        self._seq += 1
        native = str(117020583245460000 + self._seq)
        handle = handle or f"customer{self._seq}"
        created = datetime.now(UTC) - timedelta(minutes=minutes_ago)
        line = {
            "network": network,
            "id": native,
            "text": text,
            "created_at": created.isoformat(),
            "author": {"handle": handle, "name": name or handle.title(), "followers": 42},
            "conversation_id": native,
            **extra,
        }
        path = self.root / f"mention-{self._seq}.jsonl"
        path.write_text(json.dumps(line) + "\n", encoding="utf-8")
        db = dbmod.connect(self.db_path)
        try:
            result = ingest_file.run(db, self.config(), str(path), workers=0)
            assert result.counts.new == 1, result.as_dict()
            (item_id,) = db.conn.execute(
                "SELECT item_id FROM mentions WHERE global_id = ?", (f"{network}:{native}",)
            ).fetchone()
        finally:
            db.close()
        return int(item_id)

    def holder(self, item_id: int) -> str | None:
        from social_watch import db as dbmod

        with contextlib.closing(dbmod.connect(self.db_path)) as db:  # either backend
            row = db.one("SELECT claimed_by FROM mentions WHERE id = ?", (item_id,))
        return None if row is None else row[0]


def add_agent(inbox: Inbox, agent: Agent) -> None:
    """``social-watch agents add ID --name ... --password-stdin``, as an operator would."""
    from click.testing import CliRunner

    from social_watch.cli import cli

    args = ["agents", "add", agent.id, "--name", agent.name, "--signature", agent.signature]
    args += ["--role", agent.role, "--password-stdin"]
    args += ["--db", str(inbox.db_path), "--config", str(inbox.config_path)]
    result = CliRunner().invoke(cli, args, input=agent.password + "\n", catch_exceptions=False)
    assert result.exit_code == 0, result.output
    inbox.agents[agent.id] = agent


@contextlib.contextmanager
def running_inbox(root: Path, network: LateMastodon) -> Iterator[Inbox]:
    """The demo inbox with AGENTS, served by the real app until the block ends."""
    from social_watch import demo

    root.mkdir(parents=True, exist_ok=True)
    config_path = root / "social-watch.toml"
    config_path.write_text(CONFIG.format(url=network.url), encoding="utf-8")
    inbox = Inbox(root, root / "inbox.db", config_path, network)
    demo.run(str(inbox.db_path))
    for agent in AGENTS:
        add_agent(inbox, agent)

    from social_watch.web.app import create_app

    inbox.server = LiveServer(create_app(str(inbox.db_path), str(config_path))).start()
    try:
        yield inbox
    finally:
        inbox.server.stop()


def login(page: Any, inbox: Inbox, agent: Agent, password: str | None = None) -> None:
    """Fill the login form as a person would."""
    page.goto(f"{inbox.url}/login")
    page.fill("input[name=agent]", agent.id)
    page.fill("input[name=password]", agent.password if password is None else password)
    page.click("button[type=submit]")


def shot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: $SW_SCREENSHOTS, else a pytest temp folder."""
    wanted = os.environ.get("SW_SCREENSHOTS")
    path = Path(wanted) if wanted else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path
