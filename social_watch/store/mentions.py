"""The write path: one batch of mentions, with its cursor and poll record, in one transaction.

Why one transaction: a cursor that advanced without its mentions loses them; mentions stored
without the cursor are merely read again and absorbed by the unique ``global_id``. So the
cursor is written in the same transaction as the data it covers, or not at all.

Re-ingesting a mention updates what the network changed (text, counts, names) and never
resets what agents did (status, claims, first response, sentiment corrections).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from social_watch.authors import ANONYMOUS, NAMED_NETWORKS
from social_watch.clock import iso
from social_watch.models import Enrichment, IngestResult, Mention
from social_watch.redact import redact
from social_watch.store.base import Store

_MUTABLE = ("text", "url", "author_name", "author_followers", "lang", "rating", "raw")


@dataclass(frozen=True)
class Prepared:
    """A mention ready to store: enriched, classified, with its due time."""

    mention: Mention
    enrichment: Enrichment
    kind: str  # 'mention' needs an answer; 'brand' is the brand's own post
    due_at: datetime | None


def thread_key(m: Mention) -> str:
    """Mentions of one conversation from the same author are one queue item.

    An author the network does not name (``ANONYMOUS``: a Facebook comment without
    ``from``, an anonymous review) is nobody in particular: two of them are two people,
    so each such message is its own item.
    """
    who = m.author.handle.lower()
    if who == ANONYMOUS and m.network in NAMED_NETWORKS:
        who = f"{ANONYMOUS}:{m.native_id}"
    return f"{m.network}|{m.conversation_id or m.native_id}|{who}"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


_LIST_JSON: dict[tuple[str, ...], str] = {}


def _dumps_list(values: Sequence[str]) -> str:
    """``_dumps(list(values))`` for a short list of strings: tags, reasons, queries.

    A few dozen distinct lists cover most mentions, so their JSON is remembered (bounded).
    """
    key = tuple(values)
    text = _LIST_JSON.get(key)
    if text is None:
        if len(_LIST_JSON) >= 4096:
            _LIST_JSON.clear()
        text = _LIST_JSON[key] = _dumps(list(key))
    return text


def _raw_text(m: Mention) -> str | None:
    if m.raw is None:
        return None
    return m.raw_json if m.raw_json is not None else _dumps(m.raw)


def ingest(
    db: Store,
    batch: Sequence[Prepared],
    *,
    now: datetime,
    ignored: int = 0,
    source: str | None = None,
    cursor: Any = None,
    poll: dict[str, Any] | None = None,
) -> IngestResult:
    """Store a batch (and optionally the cursor and poll record that cover it) atomically."""
    fetched_at = iso(now)
    new = updated = unchanged = answered = 0
    # The same mention twice in one batch (two queries found it) is one row.
    unique: dict[str, Prepared] = {}
    found_by: dict[str, list[str]] = {}
    for p in batch:
        gid = p.mention.global_id
        if p.mention.query:
            found_by.setdefault(gid, [])
            if p.mention.query not in found_by[gid]:
                found_by[gid].append(p.mention.query)
        if gid in unique:
            unchanged += 1
        unique[gid] = p
    with db.write():
        # One ingest at a time (PostgreSQL: an advisory lock; SQLite has one writer anyway):
        # ids are assigned MAX(id) + 1 in the INSERT, and two workers storing the same
        # mention must see each other's rows, not both insert it.
        db.lock("mentions")
        conn = db
        existing = _existing(conn, list(unique))
        # In posting order, so a reply in the same batch finds the messages it answers.
        ordered = sorted(unique.items(), key=lambda item: item[1].mention.created_at)
        writer = _Inserter(conn, fetched_at, [(g, p) for g, p in ordered if g not in existing])
        for gid, p in ordered:
            sources = found_by.get(gid, [])
            old = existing.get(gid)
            if old is None:
                answered += writer.insert(gid, p, sources)
                new += 1
            else:
                writer.flush()
                if _update(conn, p, old, sources, fetched_at):
                    updated += 1
                else:
                    unchanged += 1
        writer.flush()
        if source is not None and cursor is not None:
            conn.execute(
                "INSERT INTO cursors (source, cursor, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT(source) DO UPDATE SET cursor = excluded.cursor, "
                "updated_at = excluded.updated_at",
                (source, _dumps(cursor), fetched_at),
            )
        result = IngestResult(new, updated, unchanged, ignored, answered)
        if poll is not None:
            record_poll(db, {**poll, **_counts(result)})
    return result


def _counts(r: IngestResult) -> dict[str, int]:
    return {"new": r.new, "updated": r.updated, "unchanged": r.unchanged, "ignored": r.ignored}


POLL_HISTORY = 2_000  # polls kept per source: a day and a half at one a minute


def record_poll(db: Store, row: dict[str, Any]) -> None:
    """One poll's record; older ones of the source beyond POLL_HISTORY go in the same write.

    Call inside the poll's transaction, so the record and the prune land (or not) together.
    """
    cols = [
        "source",
        "started_at",
        "finished_at",
        "fetched",
        "new",
        "updated",
        "unchanged",
        "ignored",
        "skipped",
        "error",
        "rate_limit_reset",
    ]
    values = [
        row.get(c, 0 if c in ("fetched", "new", "updated", "unchanged") else None) for c in cols
    ]
    values = [
        0 if v is None and c in ("ignored", "skipped") else v
        for c, v in zip(cols, values, strict=True)
    ]
    values[cols.index("error")] = redact(values[cols.index("error")] or "") or None
    db.execute(
        f"INSERT INTO polls ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
        values,
    )
    db.execute(
        "DELETE FROM polls WHERE source = ? AND (started_at, id) <= ("
        "  SELECT started_at, id FROM polls WHERE source = ? "
        "  ORDER BY started_at DESC, id DESC LIMIT 1 OFFSET ?)",
        (row["source"], row["source"], POLL_HISTORY),
    )


def _existing(conn: Any, gids: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(gids), 500):
        chunk = gids[start : start + 500]
        rows = conn.execute(
            "SELECT id, global_id, text, url, author_name, author_followers, lang, rating, raw, "
            "sources, "
            "tags, sensitive_reasons, kind FROM mentions WHERE global_id IN "
            f"({', '.join('?' for _ in chunk)})",
            chunk,
        )
        cols = [d[0] for d in rows.description]
        for row in rows:
            record = dict(zip(cols, row, strict=True))
            out[record["global_id"]] = record
    return out


def _row_values(
    gid: str, p: Prepared, sources: list[str], fetched_at: str | None, key: str | None
) -> tuple[Any, ...]:
    """The columns of a new mention's row, in ``_ROW_KEYS`` order (a tuple: the common
    row goes to ``executemany`` as is, without a dict built and taken apart per row)."""
    m, e = p.mention, p.enrichment
    author = m.author
    return (
        gid,
        m.network,
        m.native_id,
        m.url,
        author.handle,
        author.name,
        author.followers,
        m.text,
        e.lang or m.lang,
        iso(m.created_at),
        fetched_at,
        m.conversation_id,
        m.in_reply_to,
        _dumps_list(sources),
        _raw_text(m),
        p.kind,
        e.sentiment.label,
        e.sentiment.compound,
        _dumps_list(e.tags),
        int(bool(e.sensitive_reasons)),
        _dumps_list(e.sensitive_reasons),
        "open",
        key,
        iso(p.due_at),
        m.rating,
    )


def _row(gid: str, p: Prepared, sources: list[str], fetched_at: str | None) -> dict[str, Any]:
    """The columns of a new mention's row (``thread_key`` filled in by the caller)."""
    return dict(zip(_ROW_KEYS, _row_values(gid, p, sources, fetched_at, None), strict=True))


# The order of ``_row_values``'s columns (every new row has them all, in this order).
_ROW_KEYS = (
    *("global_id", "network", "native_id", "url", "author_handle", "author_name"),
    *("author_followers", "text", "lang", "created_at", "fetched_at", "conversation_id"),
    *("in_reply_to", "sources", "raw", "kind", "sentiment_label", "sentiment_compound"),
    *("tags", "sensitive", "sensitive_reasons", "status", "thread_key", "due_at", "rating"),
)


class _Inserter:
    """Inserts a batch's new mentions, in posting order, with as few statements as it can.

    Two lookups per new mention used to go to SQLite one by one: the open queue item of its
    thread (``thread_key``) and a brand reply to it already stored. Both are asked once
    for the whole batch up front (which thread keys have an open row, which native ids
    have a brand reply); a mention that can have neither (the common case: a new thread,
    no reply yet) is buffered and written with ``executemany``. Anything else runs the
    original per-mention statements, after the buffer is flushed, so every statement sees
    exactly the rows it saw before. The prefetch is exact because, within the batch, open
    rows of a thread only appear by insertion (tracked here) and brand replies likewise.
    """

    def __init__(
        self, conn: Any, fetched_at: str | None, new: Sequence[tuple[str, Prepared]]
    ) -> None:
        self.conn = conn
        self.fetched_at = fetched_at
        self.pending: list[tuple[Any, ...]] = []
        self.keys = {gid: thread_key(p.mention) for gid, p in new if p.kind != "brand"}
        self.open_keys = _open_thread_keys(conn, set(self.keys.values()))
        self.replied = _brand_replied(
            conn, {(p.mention.network, p.mention.native_id) for _g, p in new if p.kind != "brand"}
        )
        self.keys_inserted: set[str] = set()

    def flush(self) -> None:
        if self.pending:
            cols = [*_ROW_KEYS, "id", "item_id"]
            marks = ["?"] * len(_ROW_KEYS) + [_NEXT_ID, _NEXT_ID]
            self.conn.executemany(
                f"INSERT INTO mentions ({', '.join(cols)}) VALUES ({', '.join(marks)})",
                self.pending,
            )
            self.pending = []

    def insert(self, gid: str, p: Prepared, sources: list[str]) -> int:
        """Insert one new mention; returns how many open mentions a brand reply answered."""
        conn, m = self.conn, p.mention
        if p.kind == "brand":
            self.flush()
            row = _row(gid, p, sources, self.fetched_at)
            row["status"] = "done"
            row["closed_at"] = row["created_at"]
            mention_id = _insert_row(conn, row)
            if m.in_reply_to:
                self.replied.add((m.network, m.in_reply_to))
            return _answer_natively(conn, m, mention_id)

        key = self.keys[gid]
        may_join = key in self.open_keys or key in self.keys_inserted
        may_be_answered = (m.network, m.native_id) in self.replied
        self.keys_inserted.add(key)
        values = _row_values(gid, p, sources, self.fetched_at, key)
        if not may_join and not may_be_answered:
            self.pending.append(values)
            return 0
        self.flush()
        row = dict(zip(_ROW_KEYS, values, strict=True))
        return _insert_mention(
            conn, m, row, key, look_up_head=may_join, look_up_reply=may_be_answered
        )


def _open_thread_keys(conn: Any, keys: set[str]) -> set[str]:
    """Which of ``keys`` have an open or claimed row (a queue item to join)."""
    found: set[str] = set()
    todo = list(keys)
    for start in range(0, len(todo), 500):
        chunk = todo[start : start + 500]
        found.update(
            key
            for (key,) in conn.execute(
                "SELECT DISTINCT thread_key FROM mentions WHERE thread_key IN "
                f"({', '.join('?' for _ in chunk)}) AND status IN ('open', 'claimed')",
                chunk,
            )
        )
    return found


def _brand_replied(conn: Any, ids: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which (network, native_id) of ``ids`` a stored brand post replies to."""
    by_network: dict[str, list[str]] = {}
    for network, native_id in ids:
        by_network.setdefault(network, []).append(native_id)
    found: set[tuple[str, str]] = set()
    for network, native_ids in by_network.items():
        for start in range(0, len(native_ids), 500):
            chunk = native_ids[start : start + 500]
            found.update(
                (network, native_id)
                for (native_id,) in conn.execute(
                    "SELECT DISTINCT in_reply_to FROM mentions WHERE network = ? AND in_reply_to "
                    f"IN ({', '.join('?' for _ in chunk)}) AND kind = 'brand'",
                    [network, *chunk],
                )
            )
    return found


def _insert_mention(
    conn: Any,
    m: Mention,
    row: dict[str, Any],
    key: str,
    *,
    look_up_head: bool = True,
    look_up_reply: bool = True,
) -> int:
    """Insert one new mention that may join an open item or have a brand reply stored.

    ``look_up_head``/``look_up_reply`` False: the caller knows there is no open item of
    its thread / no stored brand reply to it.
    """
    created = row["created_at"]
    head = None
    if look_up_head:
        head = conn.execute(
            "SELECT item_id, status, claimed_by, claimed_at, claim_expires_at, created_at "
            "FROM mentions WHERE thread_key = ? AND status IN ('open', 'claimed') "
            "ORDER BY created_at LIMIT 1",
            (key,),
        ).fetchone()
    if head is None:
        mention_id = _insert_row(conn, row, new_item=True)
        item_id = mention_id
    else:
        # A follow-up joins the item (and its claim) in the INSERT itself: no second write.
        item_id, status, claimed_by, claimed_at, expires, head_created = head
        row.update(
            status=status,
            claimed_by=claimed_by,
            claimed_at=claimed_at,
            claim_expires_at=expires,
            item_id=item_id,
        )
        mention_id = _insert_row(conn, row)
        if created is not None and created < head_created:
            # An older message of the same thread arrived late: it starts the clock.
            conn.execute(
                "UPDATE mentions SET item_id = ? WHERE item_id = ? OR id = ?",
                (mention_id, item_id, mention_id),
            )
            item_id = mention_id
    # A brand reply to this message that was stored before it (another poll, another batch).
    if not look_up_reply:
        return 0
    native = conn.execute(
        "SELECT id, native_id, author_handle, created_at, url, text FROM mentions "
        "WHERE network = ? AND in_reply_to = ? AND kind = 'brand' ORDER BY created_at LIMIT 1",
        (m.network, m.native_id),
    ).fetchone()
    if native is None:
        return 0
    return _answer_item(conn, item_id, *native)


_NEXT_ID = "(SELECT COALESCE(MAX(id), 0) + 1 FROM mentions)"


def _insert_row(conn: Any, row: dict[str, Any], *, new_item: bool = False) -> int:
    """Insert one row; ``new_item``: it heads its own queue item (``item_id = id``).

    Setting id and item_id in the INSERT (we hold the write lock) instead of an UPDATE
    right after it saves rewriting every new row and its index entries: import speed.
    """
    cols = [*row, "id"]
    marks = ["?"] * len(row) + [_NEXT_ID]
    if new_item:
        cols.append("item_id")
        marks.append(_NEXT_ID)
    cur = conn.execute(
        f"INSERT INTO mentions ({', '.join(cols)}) VALUES ({', '.join(marks)}) RETURNING id",
        [row[c] for c in row],
    )
    return int(cur.fetchone()[0])


def _answer_natively(conn: Any, brand_post: Mention, brand_row_id: int) -> int:
    """A brand reply seen by a poll answers the item it replies to, at its own time."""
    if not brand_post.in_reply_to:
        return 0
    # By global_id (network:native_id), the unique index: (network, native_id) has no index
    # of its own, and scanning a network's rows for every brand reply made import quadratic.
    target = conn.execute(
        "SELECT item_id FROM mentions WHERE global_id = ? AND kind = 'mention' "
        "AND status IN ('open', 'claimed')",
        (f"{brand_post.network}:{brand_post.in_reply_to}",),
    ).fetchone()
    if target is None:
        return 0
    return _answer_item(
        conn,
        target[0],
        brand_row_id,
        brand_post.native_id,
        brand_post.author.handle,
        iso(brand_post.created_at),
        brand_post.url,
        brand_post.text,
    )


def _answer_item(
    conn: Any,
    item_id: int,
    brand_row_id: int,
    remote_id: str,
    handle: str,
    at: str | None,
    url: str | None,
    text: str,
) -> int:
    """Mark a whole queue item answered by a native brand reply (first response at its time).

    Only messages written before the reply are answered by it; a later follow-up stays open.
    """
    by = f"brand:{handle}"
    cur = conn.execute(
        "UPDATE mentions SET status = 'answered', first_response_at = COALESCE(first_response_at, ?), "
        "first_response_by = COALESCE(first_response_by, ?), closed_at = ?, claimed_by = NULL, "
        "claim_expires_at = NULL WHERE item_id = ? AND status IN ('open', 'claimed') "
        "AND created_at <= ?",
        (at, by, at, item_id, at),
    )
    if cur.rowcount:
        # Follow-ups written after the reply still need an answer: they become their own item.
        rest = conn.execute(
            "SELECT id FROM mentions WHERE item_id = ? AND status IN ('open', 'claimed') "
            "ORDER BY created_at, id LIMIT 1",
            (item_id,),
        ).fetchone()
        if rest is not None:
            conn.execute(
                "UPDATE mentions SET item_id = ? WHERE item_id = ? AND status IN ('open', 'claimed')",
                (rest[0], item_id),
            )
        details = {
            "native": True,
            "remote_id": remote_id,
            "url": url,
            "text": text,
            "brand_mention_id": brand_row_id,
        }
        conn.execute(
            "INSERT INTO actions (mention_id, action, agent, at, details) "
            "VALUES (?, 'replied', ?, ?, ?)",
            (item_id, by, at, _dumps(details)),
        )
    return int(cur.rowcount)


def _update(
    conn: Any, p: Prepared, old: dict[str, Any], sources: list[str], fetched_at: str | None
) -> bool:
    """Apply what the network changed; True if anything but the query list changed."""
    m, e = p.mention, p.enrichment
    fresh = {
        "text": m.text,
        "url": m.url or old["url"],
        "author_name": m.author.name or old["author_name"],
        "author_followers": m.author.followers
        if m.author.followers is not None
        else old["author_followers"],
        "lang": e.lang or m.lang or old["lang"],
        "rating": m.rating if m.rating is not None else old["rating"],
        "raw": _raw_text(m) if m.raw is not None else old["raw"],
    }
    changed = {k: v for k, v in fresh.items() if v != old[k] and k != "raw"}
    merged_sources = list(json.loads(old["sources"]))
    merged_sources += [s for s in sources if s not in merged_sources]
    sets: dict[str, Any] = {}
    if merged_sources != json.loads(old["sources"]):
        sets["sources"] = _dumps(merged_sources)
    if changed:
        sets.update(changed)
        sets["raw"] = fresh["raw"]
        sets["updated_at"] = fetched_at
        if "text" in changed or "rating" in changed:
            # Text edited: rescore the model's view; agents' corrections and work stay.
            tags = list(json.loads(old["tags"]))
            tags += [t for t in e.tags if t not in tags]
            reasons = list(json.loads(old["sensitive_reasons"]))
            reasons += [r for r in e.sensitive_reasons if r not in reasons]
            sets.update(
                sentiment_label=e.sentiment.label,
                sentiment_compound=e.sentiment.compound,
                tags=_dumps(tags),
                sensitive=int(bool(reasons)),
                sensitive_reasons=_dumps(reasons),
            )
    if sets:
        conn.execute(
            f"UPDATE mentions SET {', '.join(f'{k} = ?' for k in sets)} WHERE id = ?",
            [*sets.values(), old["id"]],
        )
    return bool(changed)


def load_cursor(db: Store, source: str) -> Any:
    row = db.execute("SELECT cursor FROM cursors WHERE source = ?", (source,)).fetchone()
    return json.loads(row[0]) if row else None


def counts(db: Store) -> dict[str, Any]:
    """Numbers for `db status`: totals, by network and status, and model agreement."""
    conn = db
    by_status = dict(
        conn.execute(
            "SELECT status, COUNT(*) FROM mentions WHERE kind = 'mention' GROUP BY status"
        ).fetchall()
    )
    by_network = dict(
        conn.execute("SELECT network, COUNT(*) FROM mentions GROUP BY network").fetchall()
    )
    total, brand = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN kind = 'brand' THEN 1 ELSE 0 END), 0) FROM mentions"
    ).fetchone()
    labelled, agreed = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN sentiment_override = sentiment_label THEN 1 ELSE 0 END), 0) FROM mentions "
        "WHERE sentiment_override IS NOT NULL"
    ).fetchone()
    return {
        "mentions": total,
        "brand_posts": brand,
        "by_status": by_status,
        "by_network": by_network,
        "actions": conn.execute("SELECT COUNT(*) FROM actions").fetchone()[0],
        "cursors": conn.execute("SELECT COUNT(*) FROM cursors").fetchone()[0],
        "sentiment_reviewed": labelled,
        "sentiment_agreement": (agreed / labelled) if labelled else None,
        "sentiment_agreement_by_lang": agreement_by_lang(db),
    }


# a mention's language as its base code ("cs" for "cs-CZ"), "und" when none is stored
_LANG_NORM = "LOWER(REPLACE(COALESCE(lang, ''), '_', '-'))"
LANG_SQL = (
    f"COALESCE(NULLIF(CASE WHEN {_LANG_NORM} LIKE '%-%' "
    f"THEN SUBSTR({_LANG_NORM}, 1, LENGTH({_LANG_NORM}) - LENGTH(LTRIM({_LANG_NORM}, "
    "'abcdefghijklmnopqrstuvwxyz0123456789'))) ELSE "
    f"{_LANG_NORM} END, ''), 'und')"
)


def agreement_by_lang(db: Store) -> dict[str, dict[str, Any]]:
    """Per language (``und`` when none is stored): corrections, and the share where the
    model's label already matched the agent's. The check on each language's lexicon."""
    rows = db.execute(
        f"SELECT {LANG_SQL} AS code, COUNT(*), "
        "COALESCE(SUM(CASE WHEN sentiment_override = sentiment_label THEN 1 ELSE 0 END), 0) FROM mentions "
        "WHERE sentiment_override IS NOT NULL GROUP BY code ORDER BY COUNT(*) DESC, code"
    ).fetchall()
    return {code: {"reviewed": n, "agreement": agreed / n} for code, n, agreed in rows}


def add_action(
    db: Store,
    mention_id: int,
    action: str,
    agent: str | None,
    at: datetime,
    details: dict[str, Any] | None = None,
) -> None:
    db.execute(
        "INSERT INTO actions (mention_id, action, agent, at, details) VALUES (?, ?, ?, ?, ?)",
        (mention_id, action, agent, iso(at), _dumps(details or {})),
    )


def iter_rows(db: Store, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
    return db.rows(sql, list(params))
