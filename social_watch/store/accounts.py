"""Agent accounts, API tokens (stored only as hashes) and saved views: the statements.
Password hashing and the rules (who may log in) stay in ``accounts``."""

from __future__ import annotations

from typing import Any

from social_watch.store.base import Store

_SELECT = "SELECT id, name, signature, role, disabled_at, session_epoch FROM accounts"


def exists(db: Store, agent_id: str) -> bool:
    return db.execute("SELECT 1 FROM accounts WHERE id = ?", (agent_id,)).fetchone() is not None


def insert(
    db: Store,
    agent_id: str,
    *,
    name: str,
    signature: str,
    role: str,
    password_hash: str,
    created_at: str | None,
) -> None:
    db.execute(
        "INSERT INTO accounts (id, name, signature, role, password_hash, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (agent_id, name, signature, role, password_hash, created_at),
    )


def account_row(db: Store, agent_id: str) -> Any:
    """(id, name, signature, role, disabled_at, session_epoch) or None."""
    return db.execute(f"{_SELECT} WHERE id = ?", (agent_id,)).fetchone()


def account_rows(db: Store) -> list[Any]:
    return list(db.execute(f"{_SELECT} ORDER BY id"))


def ids(db: Store) -> set[str]:
    return {r[0] for r in db.execute("SELECT id FROM accounts")}


def disable(db: Store, agent_id: str, now: str | None) -> None:
    """Disable the account, end its sessions and drop its API tokens."""
    db.execute(
        "UPDATE accounts SET disabled_at = COALESCE(disabled_at, ?), "
        "session_epoch = session_epoch + 1 WHERE id = ?",
        (now, agent_id),
    )
    db.execute("DELETE FROM api_tokens WHERE agent = ?", (agent_id,))


def end_sessions(db: Store, agent_id: str) -> None:
    """Every session cookie of the account stops working (its epoch moves on)."""
    db.execute("UPDATE accounts SET session_epoch = session_epoch + 1 WHERE id = ?", (agent_id,))


def enable(db: Store, agent_id: str) -> None:
    db.execute("UPDATE accounts SET disabled_at = NULL WHERE id = ?", (agent_id,))


def set_password_hash(db: Store, agent_id: str, password_hash: str, *, end_sessions: bool) -> None:
    """A new hash; ``end_sessions`` logs out every session (a changed password, not a rehash)."""
    if end_sessions:
        db.execute(
            "UPDATE accounts SET password_hash = ?, session_epoch = session_epoch + 1 WHERE id = ?",
            (password_hash, agent_id),
        )
    else:
        db.execute("UPDATE accounts SET password_hash = ? WHERE id = ?", (password_hash, agent_id))


def credentials(db: Store, agent_id: str) -> tuple[str | None, str | None] | None:
    """(password_hash, disabled_at) of the account, None when there is none."""
    row = db.execute(
        "SELECT password_hash, disabled_at FROM accounts WHERE id = ?", (agent_id,)
    ).fetchone()
    return (row[0], row[1]) if row else None


def add_token(db: Store, agent_id: str, token_hash: str, created_at: str | None) -> None:
    db.execute(
        "INSERT INTO api_tokens (agent, token_hash, created_at) VALUES (?, ?, ?)",
        (agent_id, token_hash, created_at),
    )


def token_agent(db: Store, token_hash: str) -> str | None:
    row = db.execute("SELECT agent FROM api_tokens WHERE token_hash = ?", (token_hash,)).fetchone()
    return None if row is None else str(row[0])


def save_view(db: Store, agent_id: str, name: str, query: str) -> None:
    db.execute(
        "INSERT INTO saved_views (agent, name, query) VALUES (?, ?, ?) "
        "ON CONFLICT (agent, name) DO UPDATE SET query = excluded.query",
        (agent_id, name, query),
    )


def views(db: Store, agent_id: str) -> list[tuple[str, str]]:
    return [
        (r[0], r[1])
        for r in db.execute(
            "SELECT name, query FROM saved_views WHERE agent = ? ORDER BY name", (agent_id,)
        )
    ]


def delete_view(db: Store, agent_id: str, name: str) -> None:
    db.execute("DELETE FROM saved_views WHERE agent = ? AND name = ?", (agent_id, name))
