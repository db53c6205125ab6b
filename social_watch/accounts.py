"""Agent accounts for the web inbox: who may log in, with which role, name and signature.

The CLI's ``--as`` names an agent for scripts; a person in the browser logs in as an
account. Passwords are argon2id hashes (argon2-cffi's defaults, RFC 9106's second
recommended profile); API tokens are random and kept as their SHA-256. Disabling an
account or changing its password bumps ``session_epoch``, which ends its sessions at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from social_watch import db as dbmod
from social_watch.clock import iso
from social_watch.config import Agent, Config
from social_watch.errors import NotFound, UsageError
from social_watch.store import accounts as store
from social_watch.store.base import Store

ROLES = ("agent", "lead", "admin")
MIN_PASSWORD = 10
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}$")
TOKEN_PREFIX = "swt_"


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    signature: str
    role: str
    disabled: bool
    session_epoch: int

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.strip() else self.id

    def may_lead(self) -> bool:
        return self.role in ("lead", "admin")

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "signature": self.signature,
            "role": self.role,
            "disabled": self.disabled,
        }


def _hasher() -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher()


def _account(row: Any) -> Account:
    return Account(row[0], row[1], row[2], row[3], row[4] is not None, row[5])


def check_id(agent_id: str) -> str:
    if not _ID.match(agent_id):
        raise UsageError(
            f"agent id {agent_id!r}: use 1-32 lower-case letters, digits, '.', '_' or '-'"
        )
    return agent_id


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"the password is too short: use at least {MIN_PASSWORD} characters")
    return password


def add(
    db: Store,
    agent_id: str,
    *,
    name: str,
    signature: str = "",
    role: str = "agent",
    password: str,
    now: datetime,
) -> Account:
    check_id(agent_id)
    if role not in ROLES:
        raise UsageError(f"role {role!r}: roles are {', '.join(ROLES)}")
    if not name.strip():
        raise UsageError("--name must not be empty: replies are signed with it")
    hashed = _hasher().hash(check_password(password))
    with dbmod.write(db):
        if store.exists(db, agent_id):
            raise UsageError(f"agent {agent_id!r} exists already (agents set-password changes it)")
        store.insert(
            db,
            agent_id,
            name=name.strip(),
            signature=signature.strip(),
            role=role,
            password_hash=hashed,
            created_at=iso(now),
        )
    return get(db, agent_id)


def find(db: Store, agent_id: str) -> Account | None:
    row = store.account_row(db, agent_id)
    return _account(row) if row else None


def get(db: Store, agent_id: str) -> Account:
    account = find(db, agent_id)
    if account is None:
        raise NotFound(f"no agent account {agent_id!r}")
    return account


def all_accounts(db: Store) -> list[Account]:
    return [_account(r) for r in store.account_rows(db)]


def ids(db: Store) -> set[str]:
    return store.ids(db)


def disable(db: Store, agent_id: str, *, now: datetime) -> Account:
    with dbmod.write(db):
        get(db, agent_id)
        store.disable(db, agent_id, iso(now))
    return get(db, agent_id)


def log_out(db: Store, agent_id: str) -> None:
    """End the agent's sessions: the cookie is signed, not stored, so a copy of it would
    otherwise stay valid after "Log out" until it expires (12 h). Every browser the agent
    is logged in with logs out with it."""
    with dbmod.write(db):
        store.end_sessions(db, agent_id)


def enable(db: Store, agent_id: str) -> Account:
    with dbmod.write(db):
        get(db, agent_id)
        store.enable(db, agent_id)
    return get(db, agent_id)


def set_password(db: Store, agent_id: str, password: str) -> Account:
    hashed = _hasher().hash(check_password(password))
    with dbmod.write(db):
        get(db, agent_id)
        store.set_password_hash(db, agent_id, hashed, end_sessions=True)
    return get(db, agent_id)


# A hash to verify against when the account does not exist, so a wrong id costs as long
# as a wrong password (no account enumeration by timing).
_DUMMY: list[str] = []


def verify(db: Store, agent_id: str, password: str) -> Account | None:
    """The account if the password is right and the account enabled, else None."""
    from argon2.exceptions import InvalidHashError, VerificationError

    hasher = _hasher()
    row = store.credentials(db, agent_id)
    if row is None or not row[0]:
        if not _DUMMY:
            _DUMMY.append(hasher.hash(secrets.token_hex(16)))
        with contextlib.suppress(VerificationError, InvalidHashError):
            hasher.verify(_DUMMY[0], password)
        return None
    try:
        hasher.verify(row[0], password)
    except (VerificationError, InvalidHashError):
        return None
    if row[1] is not None:
        return None
    if hasher.check_needs_rehash(row[0]):
        with dbmod.write(db):
            store.set_password_hash(db, agent_id, hasher.hash(password), end_sessions=False)
    return get(db, agent_id)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(db: Store, agent_id: str, *, now: datetime) -> str:
    """A new API token for scripts; shown once, stored only as its hash."""
    account = get(db, agent_id)
    if account.disabled:
        raise UsageError(f"agent {agent_id!r} is disabled")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with dbmod.write(db):
        store.add_token(db, agent_id, _digest(token), iso(now))
    return token


def for_token(db: Store, token: str) -> Account | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    agent = store.token_agent(db, _digest(token))
    if agent is None:
        return None
    account = find(db, agent)
    return account if account is not None and not account.disabled else None


def with_account(config: Config, account: Account) -> Config:
    """The config as this logged-in agent signs: their account's name and signature.

    A ``[agents.<id>]`` entry with the same id keeps its e-mail; the account's name and
    signature win (the account is what the agent keeps up to date).
    """
    agents = dict(config.raw.get("agents") or {})
    known = agents.get(account.id) or {}
    agents[account.id] = {
        "name": account.name,
        "signature": account.signature,
        "email": known.get("email"),
    }
    return Config(config.path, {**config.raw, "agents": agents})


def profile(account: Account) -> Agent:
    return Agent(account.id, account.name, account.signature)


# --- saved views ---------------------------------------------------------------------------


def save_view(db: Store, agent_id: str, name: str, query: str) -> None:
    name = name.strip()
    if not name or len(name) > 60:
        raise UsageError("a view's name is 1-60 characters")
    with dbmod.write(db):
        store.save_view(db, agent_id, name, query[:1000])


def views(db: Store, agent_id: str) -> list[tuple[str, str]]:
    return store.views(db, agent_id)


def delete_view(db: Store, agent_id: str, name: str) -> None:
    with dbmod.write(db):
        store.delete_view(db, agent_id, name)
