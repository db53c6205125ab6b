"""What every request of the web inbox shares: the store, the config, who is logged in."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request

from social_watch import accounts, policy
from social_watch import db as dbmod
from social_watch.accounts import Account
from social_watch.config import Config
from social_watch.queue import SlaSettings
from social_watch.untrusted import html_environment
from social_watch.web.auth import SESSION_COOKIE, Session, Signer, Throttle
from social_watch.web.live import Hub
from social_watch.web.sender import Sender

log = logging.getLogger("social_watch.web")

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Visitor:
    """The logged-in agent of one request, and how they proved it."""

    account: Account
    session: Session | None  # None when an API token was used (no CSRF then)


class Web:
    """The app's shared state. Each request thread has its own database connection."""

    def __init__(
        self,
        db_path: str,
        config: Config,
        *,
        clock: Callable[[], datetime],
        env: Mapping[str, str],
        signer: Signer,
        secure_cookies: bool,
    ) -> None:
        self.db_path = db_path
        self.config = config
        self.clock = clock
        self.env = env
        self.signer = signer
        self.secure_cookies = secure_cookies
        self.throttle = Throttle(clock)
        self.hub = Hub(db_path, clock, password_env=config.password_env)
        self.sender = Sender(db_path, env, clock, password_env=config.password_env)
        self.sla: SlaSettings = policy.sla_settings(config)
        self.templates = html_environment(
            loader=jinja2.FileSystemLoader(str(HERE / "templates")),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._db = dbmod.PerThread(db_path, password_env=config.password_env)
        # Client request keys of replies already recorded: a resent request gets the
        # same answer instead of a second outbox row (bounded; a reload starts a new key).
        self.reply_keys: dict[tuple[str, str], int] = {}
        self.reply_keys_lock = threading.Lock()

    def db(self) -> Any:
        return self._db()

    def visitor(self, request: Request) -> Visitor | None:
        """The agent behind a request: an API token, else a live session cookie."""
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            account = accounts.for_token(self.db(), header[7:].strip())
            if account is None or account.disabled:
                return None
            return Visitor(account, None)
        session = self.signer.read_session(request.cookies.get(SESSION_COOKIE))
        if session is None:
            return None
        account = accounts.find(self.db(), session.agent)
        if account is None or account.disabled or account.session_epoch != session.epoch:
            return None
        return Visitor(account, session)

    def names(self) -> dict[str, str]:
        """Agent id -> display name, for holders and the audit trail."""
        return {a.id: a.name for a in accounts.all_accounts(self.db())}

    def config_for(self, account: Account) -> Config:
        return accounts.with_account(self.config, account)

    def render(self, name: str, **context: Any) -> str:
        return self.templates.get_template(name).render(**context)
