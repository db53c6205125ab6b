"""Ordered, named schema migrations (sqlite-utils ``Migrations``).

Each migration runs in a transaction with the row that records it, so a database is always
at a known version. Never edit a released migration: add the next one. ``tests/test_migrations``
builds a database at every earlier version, fills it, and migrates it forward.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlite_utils
from sqlite_utils.migrations import Migrations

from social_watch.errors import StoreError

if TYPE_CHECKING:
    from social_watch.store.base import Store

migrations = Migrations("social_watch")


@migrations(name="0001_mentions_actions_cursors")
def m0001(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        CREATE TABLE mentions (
            id INTEGER PRIMARY KEY,             -- the short id typed at the CLI
            global_id TEXT NOT NULL UNIQUE,     -- network:native_id
            network TEXT NOT NULL,
            native_id TEXT NOT NULL,
            url TEXT,
            author_handle TEXT NOT NULL,
            author_name TEXT,
            author_followers INTEGER,
            text TEXT NOT NULL,
            lang TEXT,
            created_at TEXT NOT NULL,           -- UTC, YYYY-MM-DDTHH:MM:SSZ
            fetched_at TEXT NOT NULL,
            updated_at TEXT,
            conversation_id TEXT,
            in_reply_to TEXT,
            sources TEXT NOT NULL DEFAULT '[]', -- JSON: every query or stream that found it
            raw TEXT,                           -- the network's payload, for audit
            kind TEXT NOT NULL DEFAULT 'mention' CHECK (kind IN ('mention', 'brand')),
            sentiment_label TEXT,
            sentiment_compound REAL,
            sentiment_override TEXT,            -- an agent's correction wins
            tags TEXT NOT NULL DEFAULT '[]',
            sensitive INTEGER NOT NULL DEFAULT 0,
            sensitive_reasons TEXT NOT NULL DEFAULT '[]',
            status TEXT NOT NULL DEFAULT 'open' CHECK (status IN
                ('open', 'claimed', 'answered', 'moved_to_email', 'dismissed', 'done')),
            item_id INTEGER,                    -- the queue item: id of its earliest mention
            thread_key TEXT,                    -- network|conversation|author
            due_at TEXT,
            claimed_by TEXT,
            claimed_at TEXT,
            claim_expires_at TEXT,
            first_response_at TEXT,
            first_response_by TEXT,
            closed_at TEXT
        );
        CREATE INDEX idx_mentions_queue ON mentions (due_at)
            WHERE status IN ('open', 'claimed') AND item_id = id;
        CREATE INDEX idx_mentions_item ON mentions (item_id);
        CREATE INDEX idx_mentions_thread_key ON mentions (thread_key)
            WHERE status IN ('open', 'claimed');
        CREATE INDEX idx_mentions_reply_to ON mentions (network, in_reply_to);
        CREATE INDEX idx_mentions_conversation ON mentions (network, conversation_id);
        CREATE INDEX idx_mentions_created ON mentions (created_at);

        CREATE TABLE actions (
            id INTEGER PRIMARY KEY,
            mention_id INTEGER NOT NULL REFERENCES mentions(id),
            action TEXT NOT NULL,   -- claimed, released, labelled, tagged, dismissed, done, ...
            agent TEXT,
            at TEXT NOT NULL,
            details TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX idx_actions_mention ON actions (mention_id);
        CREATE INDEX idx_actions_at ON actions (action, at);

        CREATE TABLE cursors (
            source TEXT PRIMARY KEY,  -- connector:stream, e.g. x:search:shopexample
            cursor TEXT NOT NULL,     -- the connector's own JSON, never read by the core
            updated_at TEXT NOT NULL
        );

        CREATE TABLE polls (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            fetched INTEGER NOT NULL DEFAULT 0,
            new INTEGER NOT NULL DEFAULT 0,
            updated INTEGER NOT NULL DEFAULT 0,
            unchanged INTEGER NOT NULL DEFAULT 0,
            ignored INTEGER NOT NULL DEFAULT 0,
            skipped INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            rate_limit_reset TEXT
        );
        CREATE INDEX idx_polls_source ON polls (source, started_at);
        """
    )


@migrations(name="0002_outbox")
def m0002(db: sqlite_utils.Database) -> None:
    """Replies are recorded before they are sent, so a crash can never post twice."""
    db.executescript(
        """
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,          -- idempotency key, sent to networks that take one
            mention_id INTEGER NOT NULL REFERENCES mentions(id),
            kind TEXT NOT NULL DEFAULT 'reply' CHECK (kind IN ('reply', 'handoff')),
            agent TEXT,
            network TEXT NOT NULL,
            text TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sending', 'sent', 'unknown', 'failed')),
            reference TEXT,                    -- handoff reference code (SW-7Q2K)
            remote_id TEXT,
            remote_url TEXT,
            error TEXT,
            created_at TEXT NOT NULL,
            attempted_at TEXT,
            sent_at TEXT
        );
        CREATE INDEX idx_outbox_status ON outbox (status);
        CREATE INDEX idx_outbox_mention ON outbox (mention_id);
        """
    )


@migrations(name="0003_outbox_owner_handoffs")
def m0003(db: sqlite_utils.Database) -> None:
    """Who is sending an outbox row (so a retry never races a live sender) and handoffs.

    ``owner`` is ``host:pid`` while a row is 'sending': a retry takes a 'sending' row over
    only when that process is gone (same host) or its lease ran out (another host).
    ``handoffs`` keeps one reference code per queue item, so a retried `to-email` reuses
    the reference the help desk already has and never e-mails twice.
    """
    db.executescript(
        """
        ALTER TABLE outbox ADD COLUMN owner TEXT;
        ALTER TABLE outbox ADD COLUMN lease_until TEXT;
        ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE handoffs (
            id INTEGER PRIMARY KEY,
            mention_id INTEGER NOT NULL UNIQUE REFERENCES mentions(id),  -- the queue item
            reference TEXT NOT NULL UNIQUE,     -- SW-7Q2K
            agent TEXT,
            emailed_to TEXT,                    -- JSON list, or '["(printed)"]' in the demo
            message_id TEXT,
            created_at TEXT NOT NULL,
            emailed_at TEXT                     -- NULL until the e-mail went out
        );
        """
    )


@migrations(name="0004_watch")
def m0004(db: sqlite_utils.Database) -> None:
    """State of the watch loop, so a restart neither repeats nor forgets what it did.

    ``watch_lock`` is one row while a loop runs (a second loop reads who holds it; a dead
    holder's row is taken over). ``watch_connectors`` keeps each connector's last poll, its
    backoff and its health, which `status` reads. ``reminders`` records each SLA reminder
    per item and threshold before it is sent, so it is never sent twice. ``watch_state``
    holds small facts such as the local date of the last daily digest.
    """
    db.executescript(
        """
        CREATE TABLE watch_lock (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            token TEXT NOT NULL,                -- random per loop: a reused pid is not us
            pid INTEGER NOT NULL,
            host TEXT NOT NULL,
            since TEXT NOT NULL,
            heartbeat TEXT NOT NULL,
            heartbeat_every REAL NOT NULL       -- seconds; a heartbeat 3x older is dead
        );
        CREATE TABLE watch_connectors (
            connector TEXT PRIMARY KEY,
            interval REAL NOT NULL,             -- seconds
            quiet_period REAL NOT NULL,         -- seconds
            watched_since TEXT NOT NULL,        -- first seen by a loop (health baseline)
            last_poll_at TEXT,
            last_status TEXT,                   -- ok, failed, rate_limited, skipped
            fetched INTEGER NOT NULL DEFAULT 0,
            new INTEGER NOT NULL DEFAULT 0,
            duplicates INTEGER NOT NULL DEFAULT 0,
            skipped INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            rate_limit_reset TEXT,
            next_poll_at TEXT,
            failures INTEGER NOT NULL DEFAULT 0,
            last_success_at TEXT,
            last_mention_at TEXT,               -- last poll that stored a new mention
            healthy INTEGER NOT NULL DEFAULT 1,
            health_reason TEXT,
            health_changed_at TEXT
        );
        CREATE TABLE reminders (
            item_id INTEGER NOT NULL REFERENCES mentions(id),
            threshold TEXT NOT NULL CHECK (threshold IN ('at_risk', 'urgent', 'breached')),
            at TEXT NOT NULL,
            delivered TEXT NOT NULL DEFAULT '[]',   -- channels, or '["superseded"]'
            PRIMARY KEY (item_id, threshold)
        );
        CREATE TABLE watch_state (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        """
    )


@migrations(name="0005_alerts")
def m0005(db: sqlite_utils.Database) -> None:
    """Spike-alert state per keyword group, so cron never pages twice for one spike.

    ``alert_state`` holds one row per scope ('*' is all mentions, else the group name):
    'active' from the first alert until the all-clear; ``alerted_at`` starts the cool-down.
    ``alert_events`` is the history: every page and all-clear, with where it was delivered.
    """
    db.executescript(
        """
        CREATE TABLE alert_state (
            scope TEXT PRIMARY KEY,             -- '*' (all mentions) or an [alerts.groups] name
            status TEXT NOT NULL CHECK (status IN ('active', 'calm')),
            started_at TEXT,                    -- first alert of the current spike
            alerted_at TEXT,                    -- last page that reached someone (cool-down)
            last_firing_at TEXT,                -- last run on which the rule fired
            recovered_at TEXT,
            details TEXT NOT NULL DEFAULT '{}'  -- the last verdict, JSON
        );
        CREATE TABLE alert_events (
            id INTEGER PRIMARY KEY,
            scope TEXT NOT NULL,
            event TEXT NOT NULL CHECK (event IN ('fired', 'reminder', 'recovered')),
            at TEXT NOT NULL,
            details TEXT NOT NULL DEFAULT '{}', -- verdict and summary, JSON
            delivered TEXT NOT NULL DEFAULT '[]',
            failed TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX idx_alert_events_scope ON alert_events (scope, at);
        """
    )


@migrations(name="0006_queue_summary_index")
def m0006(db: sqlite_utils.Database) -> None:
    """The queue header's counts read only the index: at 1 M mentions ~60 ms became ~6 ms.

    ``queue.summary`` counts waiting items, overdue, claimed and the oldest; the plain queue
    index forced a lookup of every waiting item's (wide) row for those columns.
    """
    db.executescript(
        """
        CREATE INDEX idx_mentions_queue_summary
            ON mentions (due_at, status, claim_expires_at, created_at)
            WHERE status IN ('open', 'claimed') AND item_id = id;
        """
    )


@migrations(name="0007_stats_index")
def m0007(db: sqlite_utils.Database) -> None:
    """Reports read only this index: `stats --since 30d` at 1 M mentions ~23 s became ~8 s.

    ``stats`` and ``digest`` aggregate every mention of a period; rows are wide (the raw
    payload), so a range scan that fetched each row read most of the file. This index holds
    every column they group or count by, so they never touch a row (except the few texts a
    digest samples for rising terms).
    """
    db.executescript(
        """
        CREATE INDEX idx_mentions_stats ON mentions (
            created_at, kind, item_id, network, status, due_at, first_response_at,
            first_response_by, closed_at, claimed_by, in_reply_to, sentiment_label,
            sentiment_override, sentiment_compound, tags
        );
        """
    )


@migrations(name="0008_stats_rollups")
def m0008(db: sqlite_utils.Database) -> None:
    """Per-day rollups of reports, and the days whose items changed since (``stats_dirty``).

    ``stats`` and ``digest`` merge the cached figures of whole UTC days (``stats_rollups``:
    one JSON per day and scope, e.g. ``stats:all`` or ``digest``) and compute only the
    partial first and last days live. A rollup is trusted only while its day is not in
    ``stats_dirty``. Changes mark days there: triggers on UPDATE (of a column a report
    reads) and DELETE of mentions mark the row's day, its item head's day and the day of
    the author's previous item in the conversation (whether that one was "followed up"
    depends on later items); triggers on actions mark the day of the mention a reply, a
    done or a dismissal is recorded on. New mentions have no trigger, so import pays
    nothing: ids only grow, and a report first marks the days of the mentions above
    ``stats_watermark`` (the same three days per row) and moves the mark up. A delete
    lowers the watermark, as SQLite may reuse the id of the last row. Reports clear the
    marks of the days they recompute.
    """
    day = "substr({row}.created_at, 1, 10)"
    head = (
        "INSERT OR IGNORE INTO stats_dirty (day) SELECT substr(created_at, 1, 10) "
        "FROM mentions WHERE id = {row}.item_id AND {row}.item_id != {row}.id;"
    )
    # The latest earlier item of the author in the conversation: whether it was "followed up"
    # (one-touch) depends on the items written after it.
    previous = (
        "INSERT OR IGNORE INTO stats_dirty (day) SELECT substr(p.created_at, 1, 10) "
        "FROM mentions p WHERE p.network = {row}.network "
        "AND p.conversation_id = {row}.conversation_id AND p.kind = 'mention' "
        "AND p.item_id = p.id AND p.created_at < {row}.created_at "
        "AND lower(p.author_handle) = lower({row}.author_handle) "
        "ORDER BY p.created_at DESC LIMIT 1;"
    )
    mark = "INSERT OR IGNORE INTO stats_dirty (day) VALUES (" + day + ");"
    watched = (
        "created_at, kind, item_id, network, status, due_at, first_response_at, "
        "first_response_by, closed_at, claimed_by, in_reply_to, conversation_id, "
        "author_handle, sentiment_label, sentiment_override, sentiment_compound, tags, text"
    )
    threading = ("item_id", "created_at", "conversation_id", "author_handle", "kind", "network")
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in threading)
    actions = "('replied', 'dismissed', 'done')"
    action_mark = (
        "INSERT OR IGNORE INTO stats_dirty (day) SELECT substr(created_at, 1, 10) "
        "FROM mentions WHERE id = {row}.mention_id;"
    )
    db.executescript(
        f"""
        CREATE TABLE stats_dirty (day TEXT PRIMARY KEY) WITHOUT ROWID;
        CREATE TABLE stats_watermark (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            max_id INTEGER NOT NULL     -- mentions up to this id are accounted in stats_dirty
        );
        INSERT INTO stats_watermark (id, max_id) SELECT 1, COALESCE(MAX(id), 0) FROM mentions;
        CREATE TABLE stats_rollups (
            day TEXT NOT NULL,          -- UTC day, YYYY-MM-DD
            scope TEXT NOT NULL,        -- stats:all, stats:business, stats:off, digest
            fingerprint TEXT NOT NULL,  -- what else it depends on (business hours, config)
            version INTEGER NOT NULL,   -- of the rollup's format
            computed_now TEXT NOT NULL, -- the report time it was computed for
            lo TEXT,                    -- valid for report times strictly between lo and hi
            hi TEXT,
            data TEXT NOT NULL,         -- JSON
            PRIMARY KEY (day, scope)
        ) WITHOUT ROWID;
        CREATE TRIGGER stats_dirty_mention_update AFTER UPDATE OF {watched} ON mentions
        WHEN OLD.kind = 'mention' OR NEW.kind = 'mention' BEGIN
            {mark.format(row="OLD")}
            {mark.format(row="NEW")}
            {head.format(row="OLD")}
            {head.format(row="NEW")}
        END;
        CREATE TRIGGER stats_dirty_mention_update_thread
        AFTER UPDATE OF {", ".join(threading)} ON mentions
        WHEN (OLD.kind = 'mention' OR NEW.kind = 'mention') AND ({changed}) BEGIN
            {previous.format(row="OLD")}
            {previous.format(row="NEW")}
        END;
        CREATE TRIGGER stats_dirty_mention_delete AFTER DELETE ON mentions BEGIN
            UPDATE stats_watermark SET max_id = OLD.id - 1 WHERE max_id >= OLD.id;
            {mark.format(row="OLD")}
            {head.format(row="OLD")}
            {previous.format(row="OLD")}
        END;
        CREATE TRIGGER stats_dirty_action_insert AFTER INSERT ON actions
        WHEN NEW.action IN {actions} BEGIN
            {action_mark.format(row="NEW")}
        END;
        CREATE TRIGGER stats_dirty_action_update AFTER UPDATE ON actions
        WHEN OLD.action IN {actions} OR NEW.action IN {actions} BEGIN
            {action_mark.format(row="OLD")}
            {action_mark.format(row="NEW")}
        END;
        CREATE TRIGGER stats_dirty_action_delete AFTER DELETE ON actions
        WHEN OLD.action IN {actions} BEGIN
            {action_mark.format(row="OLD")}
        END;
        """
    )


@migrations(name="0009_outbox_once")
def m0009(db: sqlite_utils.Database) -> None:
    """One reply per queue item in flight, owners that survive pid reuse, reused keys.

    ``item_id`` is the queue item of the row's mention, so a unique partial index can say
    "at most one row per item is pending, sending or unknown": two processes replying at
    once cannot both record a reply (the second INSERT fails, no check-then-insert).
    Databases from before may already hold several such rows for one item (the race this
    closes); only the newest keeps its ``item_id``, the older ones keep NULL (the index
    ignores NULLs) and are still listed and settled through their mention.

    ``owner_started`` is the owner process's start time (boot id and /proc start ticks),
    so a ``host:pid`` that now belongs to another process is seen to be gone.
    ``idempotency_key`` is the key sent to the network when it is not the row's own
    ``key``: a reply that supersedes an unsettled one reuses that one's key, so a network
    that honours keys (Mastodon, Bluesky) can only ever create one post for both.
    """
    db.executescript(
        """
        ALTER TABLE outbox ADD COLUMN item_id INTEGER;
        ALTER TABLE outbox ADD COLUMN owner_started TEXT;
        ALTER TABLE outbox ADD COLUMN idempotency_key TEXT;
        UPDATE outbox SET item_id = (
            SELECT COALESCE(m.item_id, m.id) FROM mentions m WHERE m.id = outbox.mention_id
        );
        UPDATE outbox SET item_id = NULL
        WHERE status IN ('pending', 'sending', 'unknown') AND EXISTS (
            SELECT 1 FROM outbox newer WHERE newer.item_id = outbox.item_id
            AND newer.id > outbox.id AND newer.status IN ('pending', 'sending', 'unknown')
        );
        CREATE UNIQUE INDEX idx_outbox_one_in_flight ON outbox (item_id)
            WHERE status IN ('pending', 'sending', 'unknown');
        """
    )


@migrations(name="0011_rating")
def m0011(db: sqlite_utils.Database) -> None:
    """A review's star rating (0.5-5; NULL for posts and comments), carried by ``Mention``.

    Review portals (Heureka, Trustpilot, Google) give one; the queue shows it as stars, a 1-2
    star review is negative whatever its words, and the digest reports the average.
    """
    db.execute("ALTER TABLE mentions ADD COLUMN rating REAL")
    # The digest's average reads only this (reviews are few among mentions; no wide rows).
    db.execute(
        "CREATE INDEX idx_mentions_rating ON mentions (created_at, network, rating) "
        "WHERE rating IS NOT NULL"
    )


@migrations(name="0012_accounts")
def m0012(db: sqlite_utils.Database) -> None:
    """Web inbox logins: agent accounts, API tokens for scripts, saved inbox views.

    ``password_hash`` is argon2id (never the password); ``session_epoch`` is bumped by a
    disable or a new password, which ends every session signed with the old value at once.
    API tokens are stored as SHA-256 of a 256-bit random token (a token is a key, not a
    password: a fast hash of a high-entropy secret is the usual choice and checks in
    microseconds). Internal notes are ``actions`` rows (``note``), in the audit trail.
    """
    db.executescript(
        """
        CREATE TABLE accounts (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            signature TEXT NOT NULL DEFAULT '',
            role TEXT NOT NULL DEFAULT 'agent',
            password_hash TEXT,
            disabled_at TEXT,
            session_epoch INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL
        );
        CREATE TABLE api_tokens (
            id INTEGER PRIMARY KEY,
            agent TEXT NOT NULL REFERENCES accounts(id),
            token_hash TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            last_used_at TEXT
        );
        CREATE TABLE saved_views (
            agent TEXT NOT NULL REFERENCES accounts(id),
            name TEXT NOT NULL,
            query TEXT NOT NULL,
            PRIMARY KEY (agent, name)
        );
        """
    )


@migrations(name="0013_watch_workers")
def m0013(db: sqlite_utils.Database) -> None:
    """Several watch loops on one database (PostgreSQL): who runs, and who polls what.

    ``watch_workers`` is one row per running loop (its heartbeat says it lives);
    ``watch_connectors.lease_owner`` is the worker that polls that connector now. A lease is
    as good as its owner's heartbeat: when the owner dies, another worker takes it over.
    ``watch_lock`` stays: on PostgreSQL its holder is the one worker that runs the daily jobs
    (reminders, digest, alerts, rollups); on SQLite it still admits one loop only.
    """
    db.executescript(
        """
        CREATE TABLE watch_workers (
            token TEXT PRIMARY KEY NOT NULL,
            pid INTEGER NOT NULL,
            host TEXT NOT NULL,
            since TEXT NOT NULL,
            heartbeat TEXT NOT NULL,
            heartbeat_every REAL NOT NULL
        );
        ALTER TABLE watch_connectors ADD COLUMN lease_owner TEXT;
        """
    )


@migrations(name="0014_pg_functions")
def m0014(db: sqlite_utils.Database) -> None:
    """Nothing on SQLite: its functions are built in or registered on connect.

    On PostgreSQL this migration defines the portable functions again (``CREATE OR
    REPLACE``): a database made before 0001's text gained ``json_extract``,
    ``json_group_array`` and the last ``sw_fold`` gets them, and ``julianday`` becomes
    STABLE, which lets PostgreSQL inline it (a report's first-response times took 2.5x
    longer through a called function). Both sides record it, so they stay in step.
    """


@migrations(name="0015_deferred_indexes")
def m0015(db: sqlite_utils.Database) -> None:
    """The mentions indexes a large import dropped, to build once at its end (issue 16).

    ``SQLiteStore.bulk_load`` saves each index's ``CREATE INDEX`` (from ``sqlite_master``)
    here in the transaction that drops it, and rebuilds and deletes it in one transaction
    at the end; ``owner`` (``host:pid``) and ``owner_started`` (``process.start_token``)
    name the import, so the next open of the database rebuilds the indexes of an import
    that died (SIGKILL, power cut), and leaves a running one alone. Empty on PostgreSQL,
    whose imports keep their indexes.
    """
    db.executescript(
        """
        CREATE TABLE deferred_indexes (
            name TEXT PRIMARY KEY NOT NULL,     -- an index of mentions, dropped for now
            sql TEXT NOT NULL,                  -- its CREATE INDEX, as sqlite_master had it
            owner TEXT NOT NULL,                -- host:pid of the import that dropped it
            owner_started TEXT                  -- that process's start token (pid reuse)
        );
        """
    )


@migrations(name="0016_partial_reply_index")
def m0016(db: sqlite_utils.Database) -> None:
    """The reply index holds only replies (issue 16): it is read by ``network = ? AND
    in_reply_to = ?`` or ``IN (…)`` (a brand reply to a mention, the brand posts a reply
    answers), never for a NULL, yet most mentions reply to nothing and every one of them
    was an entry to keep up. Replaying 99,000 import rows: 2.1 µs less CPU a row; the index
    of a 1 M-mention database shrinks by the share of its rows that are not replies."""
    db.executescript(
        """
        DROP INDEX IF EXISTS idx_mentions_reply_to;
        CREATE INDEX idx_mentions_reply_to ON mentions (network, in_reply_to)
            WHERE in_reply_to IS NOT NULL;
        """
    )


def migrate(db: sqlite_utils.Database) -> None:
    applied = {m.name for m in migrations.applied(db)}
    known = {m.name for m in migrations._migrations}
    newer = applied - known
    if newer:
        raise StoreError(
            "this database was written by a newer social-watch (unknown migrations: "
            + ", ".join(sorted(newer))
            + "); upgrade social-watch"
        )
    if migrations.pending(db):
        migrations.apply(db)


def schema_version(db: Store) -> tuple[int, str | None]:
    """How many migrations the database records, and the last one (either backend)."""
    applied = db.migrations_applied()
    return len(applied), (applied[-1] if applied else None)
