"""The embedded default: a realistic inbox from bundled sample mentions, offline.

The sample is replayed through the replay connector (the same path real connectors take)
with times relative to now, so some items are overdue and some at risk whenever it runs.
Running it twice is safe: the store absorbs what it already has.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any

import sqlite_utils

from social_watch import config as cfg
from social_watch import db as dbmod
from social_watch.errors import UsageError
from social_watch.pipeline import Pipeline
from social_watch.registry import build
from social_watch.runner import PollSummary, poll_source

DEMO_SOURCE_PREFIX = "replay:mentions:"
DEMO_CONFIG = {
    "brand": {
        "name": "Shop Example",
        "handles": {
            "x": "shopexample",
            "mastodon": "shopexample@mastodon.social",
            "bluesky": "shopexample.bsky.social",
            "reddit": "shopexample",
        },
    },
    "agents": {
        "jana": {"name": "Jana Novak", "signature": "^JN"},
        "tom": {"name": "Tom Berger", "signature": "– Tom"},
    },
}


def sample_path() -> Path:
    return Path(str(resources.files("social_watch") / "data" / "demo_mentions.jsonl"))


def open_db(path: str) -> sqlite_utils.Database:
    return dbmod.connect(path)


def _guard(db: sqlite_utils.Database, path: str) -> None:
    """Never mix sample mentions into a database that holds real ones."""
    total = db.conn.execute("SELECT COUNT(*) FROM mentions").fetchone()[0]
    demo = db.conn.execute(
        "SELECT COUNT(*) FROM cursors WHERE source LIKE ?", (DEMO_SOURCE_PREFIX + "%",)
    ).fetchone()[0]
    if total and not demo:
        raise UsageError(
            f"{path} already holds mentions that are not demo data; "
            "run the demo on its own database: social-watch demo --db demo.db"
        )


def run(path: str) -> PollSummary:
    config = cfg.validate(DEMO_CONFIG)
    db = open_db(path)
    try:
        _guard(db, path)
        connector = build(
            config,
            "replay",
            env=os.environ,
            options={"path": str(sample_path()), "relative": True},
        )
        pipeline = Pipeline(config)
        (source,) = connector.sources()
        return poll_source(db, pipeline, connector, source)
    finally:
        db.close()


def describe(summary: PollSummary, path: str) -> str:
    return (
        f"Demo inbox in {path}: {summary.new} new sample mentions "
        f"({summary.duplicates} already there, {summary.ignored} reposts or brand posts skipped)."
    )


def next_steps(items: list[dict[str, Any]], path: str) -> str:
    db = "" if path == cfg.DEFAULT_DATABASE else f" --db {path}"
    first = items[0]["id"] if items else 1
    sensitive = next((i["id"] for i in items if i["sensitive"]), first)
    return "\n".join(
        [
            "Try next:",
            f"  social-watch show {first}{db}                  the whole thread and its history",
            f"  social-watch claim {first} --as jana{db}       take it (agents in the demo: jana, tom)",
            f"  social-watch queue --mine --as jana{db}",
            f"  social-watch done {first} --as jana{db}        it leaves the inbox",
            f"  social-watch show {sensitive}{db}                  personal data: move it to e-mail",
            f"  social-watch dismiss ID --reason spam --as jana{db}",
            f"  social-watch queue --json{db} | head",
        ]
    )
