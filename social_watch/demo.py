"""The embedded default: a realistic inbox from bundled sample mentions, offline.

The sample is replayed through the replay connector (the same path real connectors take)
with times relative to now, so some items are overdue and some at risk whenever it runs.
Running it twice is safe: the store absorbs what it already has.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from social_watch import config as cfg
from social_watch import db as dbmod
from social_watch.errors import SocialWatchError, UsageError
from social_watch.pipeline import Pipeline
from social_watch.registry import build
from social_watch.runner import PollSummary, poll_source
from social_watch.store import demo as demo_sql
from social_watch.store.base import Store

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
    # blog posts and HN threads are read, not raced: a looser target, as a team would set
    "queue": {"targets": {"hackernews": "2h", "rss": "4h"}},
}
HISTORY_AFTER = timedelta(minutes=90)  # older items have been worked by the team
FORGOTTEN_SHARE = 0.12  # ...except these: the long-overdue ones a real inbox also has
_SPAM_WORDS = ("followers", "airdrop", "crypto", "giveaway", "nft", "forex", "promo code bot")
_APOLOGY = (
    "Hi {{ customer_name }}, we're sorry to hear this: it's not the experience we want for "
    "you. Could you tell us a little more here so we can put it right?"
)
_NEUTRAL_REPLY = (
    "Hi {{ customer_name }}, thanks for getting in touch! Happy to help: we've answered "
    "this in our help centre at help.shop.example, and if anything's unclear just ask here."
)


def sample_path() -> Path:
    return Path(str(resources.files("social_watch") / "data" / "demo_mentions.jsonl"))


def open_db(path: str) -> Store:
    return dbmod.connect(path)


def _guard(db: Store, path: str) -> None:
    """Never mix sample mentions into a database that holds real ones."""
    total = demo_sql.mention_count(db)
    demo = demo_sql.cursor_count(db, DEMO_SOURCE_PREFIX)
    if total and not demo:
        raise UsageError(
            f"{path} already holds mentions that are not demo data; "
            "run the demo on its own database: social-watch demo --db demo.db"
        )


@dataclass(frozen=True)
class DemoResult:
    """What a demo run did: the replay poll, and how many sample mentions were there before."""

    summary: PollSummary
    already: int  # sample mentions already in the database before this run
    worked: int  # older items worked through as a team would have (this run only)


def run(path: str) -> DemoResult:
    """Fill ``path`` with the sample. A rerun adds nothing and works nothing: only the
    mentions this run inserted get a simulated history, so the inbox a user is working in
    is not changed behind their back (the same clock gives the same inbox)."""
    config = cfg.validate(DEMO_CONFIG)
    db = open_db(path)
    try:
        _guard(db, path)
        already, last_id = demo_sql.mention_extent(db)
        connector = build(
            config,
            "replay",
            env=os.environ,
            options={"path": str(sample_path()), "relative": True},
        )
        pipeline = Pipeline(config)
        (source,) = connector.sources()
        summary = poll_source(db, pipeline, connector, source)
        worked = simulate_history(db, config, pipeline.clock(), after_id=last_id)
        return DemoResult(summary, already, worked)
    finally:
        db.close()


def simulate_history(db: Store, config: cfg.Config, now: datetime, *, after_id: int = 0) -> int:
    """Work the older items the way a team would have, through the same library calls.

    Items older than ``HISTORY_AFTER`` were claimed, answered with a signed reply (through
    the replay connector, so the outbox and audit trail are real), dismissed as spam, or
    closed; a few stay forgotten. Deterministic per mention id, so reruns agree. Only
    mentions with an id above ``after_id`` (the ones this run inserted) are worked.
    """
    from social_watch import queue as q
    from social_watch import replies

    cutoff = now - HISTORY_AFTER
    heads = demo_sql.open_heads_before(db, cutoff, after_id)
    handled = 0
    ttl = timedelta(minutes=30)
    for mention_id, network, text, created_text, label, sensitive, tags in heads:
        rnd = random.Random(mention_id)
        if rnd.random() < FORGOTTEN_SHARE:
            continue
        created = datetime.strptime(created_text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=now.tzinfo)
        agent = "jana" if rnd.random() < 0.6 else "tom"
        picked_up = created + timedelta(minutes=rnd.choice([3, 6, 9, 14, 18, 25, 41, 75]))
        answered = picked_up + timedelta(minutes=rnd.randint(1, 12))
        if answered >= now:
            continue
        lowered = text.lower()
        if any(w in lowered for w in _SPAM_WORDS):
            q.close(db, mention_id, agent, now=picked_up, status="dismissed", reason="spam")
        elif network in replies.READ_ONLY_NETWORKS or sensitive or label == "unknown":
            note = (
                "called the customer back"
                if sensitive
                else "answered in their language"
                if label == "unknown"
                else "read, nothing to answer"
            )
            q.close(db, mention_id, agent, now=picked_up, status="done", note=note)
        else:
            q.claim(db, mention_id, agent, now=picked_up, ttl=ttl)
            template, own = None, _NEUTRAL_REPLY
            if label == "positive":
                template = "thanks"
            elif label == "negative":
                if "undelivered" in tags:
                    template = "sorry-delay"
                else:
                    own = _APOLOGY

            def at(t: datetime = answered) -> datetime:
                return t

            try:
                draft, connector = replies.prepare(
                    db,
                    config,
                    mention_id,
                    agent,
                    text=None if template else own,
                    template=template,
                    env={},
                    now=answered,
                    clock=at,
                )
                replies.send(db, config, draft, connector, clock=at)
            except SocialWatchError:
                q.release(db, mention_id, agent, now=answered)
                continue
            if rnd.random() < 0.7:
                q.close(db, mention_id, agent, now=answered + timedelta(minutes=5), status="done")
        handled += 1
    return handled


def describe(result: DemoResult, path: str) -> str:
    summary = result.summary
    if not summary.new and result.already:
        return (
            f"Demo inbox in {path}: {result.already} sample mentions already there, nothing "
            "new; the inbox is as you left it (delete the file for a fresh demo)."
        )
    return (
        f"Demo inbox in {path}: {summary.new} new sample mentions "
        f"({result.already + summary.duplicates} already there, {summary.ignored} reposts or "
        f"brand posts skipped); {result.worked} older ones worked as a team would have."
    )


def program() -> str:
    """How the user can type the command: 'social-watch' if it is on PATH, else its path."""
    import shutil
    import sys

    if shutil.which("social-watch"):
        return "social-watch"
    argv0 = sys.argv[0] if sys.argv and sys.argv[0].endswith("social-watch") else ""
    if not argv0:
        return "python -m social_watch"
    return min(os.path.relpath(argv0), os.path.abspath(argv0), key=len)


def next_steps(items: list[dict[str, Any]], path: str) -> str:
    db = "" if path == cfg.DEFAULT_DATABASE else f" --db {path}"
    sw = program()
    first = items[0]["id"] if items else 1
    sensitive = next((i["id"] for i in items if i["sensitive"]), first)
    steps = [
        (f"show {first}", "the whole thread and its history"),
        (f"claim {first} --as jana", "take it (demo agents: jana, tom)"),
        (f"reply {first} --template thanks --as jana --dry-run", "exactly what would be posted"),
        (f"reply {first} --template thanks --as jana", "signed, sent once, the item is answered"),
        (f"to-email {sensitive} --as jana", "personal data: hand it to the help desk"),
        ("dismiss ID --reason spam --as jana", "needs no answer"),
        ("queue --mine --as jana", "what you hold"),
        ("stats --since 3d", "first response times, share within target"),
        ("digest --since 3d", "what people said, for marketing"),
    ]
    commands = [f"{sw} {command}{db}" for command, _ in steps]
    width = max(len(c) for c in commands) + 2
    lines = ["Try next:"]
    lines += [f"  {c:<{width}}{why}" for c, (_, why) in zip(commands, steps, strict=True)]
    return "\n".join(lines)


DEMO_LOGINS = (
    ("jana", "Jana Novak", "^JN", "agent"),
    ("tom", "Tom Berger", "– Tom", "agent"),
    ("lea", "Lea Dvorak", "^LD", "lead"),
)


def web_logins(db: Store, *, now: datetime) -> list[tuple[str, str, str]]:
    """Web inbox accounts for the demo agents, once: (id, role, password) of those made.

    The passwords are random and returned to be printed once; a second demo run makes
    none (``agents set-password`` gives a new one)."""
    import secrets

    from social_watch import accounts

    if accounts.all_accounts(db):
        return []
    made = []
    for agent_id, name, signature, role in DEMO_LOGINS:
        password = secrets.token_urlsafe(9)
        accounts.add(
            db, agent_id, name=name, signature=signature, role=role, password=password, now=now
        )
        made.append((agent_id, role, password))
    return made
