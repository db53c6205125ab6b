"""Builders for tests: mentions, a config, a pipeline on a real SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from social_watch import config as cfg
from social_watch import db as dbmod
from social_watch.models import Author, Mention
from social_watch.pipeline import Pipeline

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
BRAND = {
    "brand": {
        "name": "Shop Example",
        "handles": {"x": "shopexample", "mastodon": "shopexample@mastodon.social"},
    }
}


def mention(
    native_id: str = "1",
    text: str = "@shopexample where is my order?",
    *,
    network: str = "x",
    handle: str = "alice",
    minutes_ago: float = 5,
    now: datetime = NOW,
    **extra: Any,
) -> Mention:
    return Mention(
        network=network,
        native_id=native_id,
        text=text,
        created_at=now - timedelta(minutes=minutes_ago),
        author=Author(handle, handle.title(), extra.pop("followers", 100)),
        url=f"https://x.com/{handle}/status/{native_id}",
        **extra,
    )


def make_config(data: dict[str, Any] | None = None) -> cfg.Config:
    merged: dict[str, Any] = {**BRAND, **(data or {})}
    return cfg.validate(merged)


def open_db(tmp_path: Path, name: str = "sw.db") -> Any:
    return dbmod.connect(tmp_path / name)


def pipeline(config: cfg.Config | None = None, now: datetime = NOW) -> Pipeline:
    return Pipeline(config or make_config(), clock=lambda: now)


def rows(db: Any, sql: str, *params: Any) -> list[dict[str, Any]]:
    cur = db.conn.execute(sql, params)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur]
