"""The PostgreSQL migrations (``store/pg_schema.py``) end where SQLite's do.

A fresh PostgreSQL database gets ``MIGRATIONS`` in order and is compared with a SQLite
database built by ``db.connect``: tables, columns in order with type, nullability, default
and identity, primary, unique and foreign keys, and indexes by name (columns, uniqueness,
partial or not). Constraints and triggers are compared by behaviour: the same rows are
refused, and the same changes mark the same days in ``stats_dirty``.

PostgreSQL comes from ``tests/pg_server.py`` (or ``$SOCIAL_WATCH_TEST_PG``); without one
these tests fail, they never skip.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from social_watch import db as sw_db
from social_watch.migrations import migrations as sqlite_migrations
from social_watch.store.pg_schema import MIGRATIONS

TYPES = {"INTEGER": "bigint", "REAL": "double precision", "TEXT": "text", "BLOB": "bytea"}

# SQLite lets a rowid table's non-INTEGER PRIMARY KEY column hold NULL (a legacy quirk it
# keeps for compatibility) unless NOT NULL is declared; PostgreSQL's PRIMARY KEY is always
# NOT NULL. These are the columns where the two differ: the application never stores NULL
# there, so PostgreSQL's stricter form is the intended one.
SQLITE_NULLABLE_PRIMARY_KEYS = {
    ("accounts", "id"),
    ("alert_state", "scope"),
    ("cursors", "source"),
    ("watch_connectors", "connector"),
    ("watch_state", "key"),
}


# -- servers and databases -----------------------------------------------------------------
# The server is conftest's session-wide ``pg_server`` (the one the two-backend tests use).


@contextlib.contextmanager
def fresh_pg(server_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A new database on the server with every migration applied, each in a transaction
    (as ``PostgresStore.migrate`` runs them); dropped afterwards."""
    name = "sw_schema_" + uuid.uuid4().hex[:12]
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    url = urlunsplit(urlsplit(server_url)._replace(path="/" + name))
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            for _name, sql in MIGRATIONS:
                with conn.transaction():
                    conn.execute(sql)
            yield conn
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def fresh_sqlite(path: Path) -> sqlite3.Connection:
    """A database built by ``db.connect``, reopened bare (autocommit, foreign keys on, as
    ``SQLiteStore`` has them)."""
    sw_db.connect(path).close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


@pytest.fixture(scope="module")
def schema_pg(pg_server: str) -> Iterator[psycopg.Connection[Any]]:
    with fresh_pg(pg_server) as conn:
        yield conn


@pytest.fixture(scope="module")
def schema_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    conn = fresh_sqlite(tmp_path_factory.mktemp("schema") / "x.db")
    yield conn
    conn.close()


@pytest.fixture
def both(
    pg_server: str, tmp_path: Path
) -> Iterator[tuple[sqlite3.Connection, psycopg.Connection[Any]]]:
    """A fresh database on each backend, for tests that write."""
    lite = fresh_sqlite(tmp_path / "x.db")
    try:
        with fresh_pg(pg_server) as pg:
            yield lite, pg
    finally:
        lite.close()


# -- introspection -------------------------------------------------------------------------
def sqlite_tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall()
    virtual = [n for n, sql in rows if (sql or "").upper().startswith("CREATE VIRTUAL TABLE")]
    return sorted(
        name
        for name, _sql in rows
        if not name.startswith("sqlite_")
        and name != "_sqlite_migrations"
        and not any(name.startswith(v + "_") for v in virtual)  # FTS shadow tables
    )


def pg_tables(conn: psycopg.Connection[Any]) -> list[str]:
    rows = conn.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
    ).fetchall()
    return sorted(r[0] for r in rows if r[0] != "_social_watch_migrations")


def _without_rowid(conn: sqlite3.Connection, table: str) -> bool:
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    return re.search(r"\)\s*WITHOUT\s+ROWID\s*$", sql, re.IGNORECASE) is not None


def sqlite_columns(conn: sqlite3.Connection, table: str) -> list[dict[str, Any]]:
    info = conn.execute(f"PRAGMA table_info({table})").fetchall()
    pk_count = sum(1 for r in info if r[5])
    rowid_table = not _without_rowid(conn, table)
    columns = []
    for _cid, name, type_, notnull, default, pk in info:
        alias = rowid_table and pk_count == 1 and pk == 1 and type_.upper() == "INTEGER"
        columns.append(
            {
                "name": name,
                "type": TYPES[type_.upper()],
                "not_null": bool(notnull) or alias or (bool(pk) and not rowid_table),
                "nullable_pk": bool(pk) and not notnull and not alias and rowid_table,
                "default": default,
                "identity": alias,
            }
        )
    return columns


def pg_columns(conn: psycopg.Connection[Any], table: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT column_name, data_type, is_nullable, column_default, is_identity "
        "FROM information_schema.columns "
        f"WHERE table_schema = current_schema() AND table_name = '{table}' "
        "ORDER BY ordinal_position"
    ).fetchall()
    return [
        {
            "name": name,
            "type": type_,
            "not_null": nullable == "NO",
            # '[]'::text -> '[]', as SQLite writes the default
            "default": re.sub(r"::[a-z ]+$", "", default) if default is not None else None,
            "identity": identity == "YES",
        }
        for name, type_, nullable, default, identity in rows
    ]


def sqlite_keys(conn: sqlite3.Connection, table: str) -> dict[str, Any]:
    info = conn.execute(f"PRAGMA table_info({table})").fetchall()
    primary = tuple(r[1] for r in sorted((r for r in info if r[5]), key=lambda r: r[5]))
    unique = set()
    indexes = {}
    for _seq, name, is_unique, origin, partial in conn.execute(f"PRAGMA index_list({table})"):
        cols = tuple(r[2] for r in conn.execute(f"PRAGMA index_info({name})"))
        if origin == "u":
            unique.add(cols)
        elif origin == "c":
            indexes[name] = (cols, bool(is_unique), bool(partial))
    foreign: dict[int, list[tuple[str, str, str]]] = {}
    for fk in conn.execute(f"PRAGMA foreign_key_list({table})"):
        foreign.setdefault(fk[0], []).append((fk[2], fk[3], fk[4]))
    fks = {
        (tuple(f for _t, f, _to in refs), refs[0][0], tuple(to for _t, _f, to in refs))
        for refs in foreign.values()
    }
    return {"primary": primary, "unique": unique, "foreign": fks, "indexes": indexes}


def pg_keys(conn: psycopg.Connection[Any], table: str) -> dict[str, Any]:
    constraints = conn.execute(
        "SELECT c.contype, "
        "ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, o) "
        "  JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o), "
        "c.confrelid::regclass::text, "
        "ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, o) "
        "  JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.o) "
        "FROM pg_constraint c "
        f"WHERE c.conrelid = '{table}'::regclass AND c.contype IN ('p', 'u', 'f')"
    ).fetchall()
    primary = [tuple(cols) for kind, cols, _r, _rc in constraints if kind == "p"]
    indexes = conn.execute(
        "SELECT ic.relname, "
        "ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(n, o) "
        "  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o), "
        "i.indisunique, i.indpred IS NOT NULL "
        "FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid "
        f"WHERE i.indrelid = '{table}'::regclass "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"
    ).fetchall()
    return {
        "primary": primary[0] if primary else (),
        "unique": {tuple(cols) for kind, cols, _r, _rc in constraints if kind == "u"},
        "foreign": {
            (tuple(cols), ref, tuple(ref_cols))
            for kind, cols, ref, ref_cols in constraints
            if kind == "f"
        },
        "indexes": {
            name: (tuple(cols), unique, partial) for name, cols, unique, partial in indexes
        },
    }


# -- the schema ----------------------------------------------------------------------------
def test_same_migration_names_in_the_same_order() -> None:
    assert [name for name, _sql in MIGRATIONS] == [m.name for m in sqlite_migrations._migrations]


def test_no_percent_sign_in_the_sql() -> None:
    # Run without parameters, but a later caller passing some would turn % into a placeholder.
    for name, sql in MIGRATIONS:
        assert "%" not in sql, name


def test_same_tables(schema_sqlite: sqlite3.Connection, schema_pg: Any) -> None:
    assert pg_tables(schema_pg) == sqlite_tables(schema_sqlite)


def test_same_columns(schema_sqlite: sqlite3.Connection, schema_pg: Any) -> None:
    nullable_pks = set()
    for table in sqlite_tables(schema_sqlite):
        lite = sqlite_columns(schema_sqlite, table)
        nullable_pks |= {(table, c["name"]) for c in lite if c["nullable_pk"]}
        expected = [
            {k: v for k, v in c.items() if k != "nullable_pk"}
            | {"not_null": c["not_null"] or c["nullable_pk"]}
            for c in lite
        ]
        assert pg_columns(schema_pg, table) == expected, table
    assert nullable_pks == SQLITE_NULLABLE_PRIMARY_KEYS


def test_same_keys_and_indexes(schema_sqlite: sqlite3.Connection, schema_pg: Any) -> None:
    for table in sqlite_tables(schema_sqlite):
        lite, pg = sqlite_keys(schema_sqlite, table), pg_keys(schema_pg, table)
        assert set(pg["indexes"]) == set(lite["indexes"]), table  # the same names
        assert pg == lite, table


def test_same_triggers(schema_sqlite: sqlite3.Connection, schema_pg: Any) -> None:
    lite = schema_sqlite.execute(
        "SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'"
    ).fetchall()
    pg = schema_pg.execute(
        "SELECT tgname, tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal"
    ).fetchall()
    assert sorted(pg) == sorted(lite)


# -- behaviour -----------------------------------------------------------------------------
def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


def insert(table: str, **row: Any) -> str:
    """An INSERT with literal values, the same text on both backends."""
    return (
        f"INSERT INTO {table} ({', '.join(row)}) "
        f"VALUES ({', '.join(_literal(v) for v in row.values())})"
    )


def mention(id: int, created_at: str, **extra: Any) -> str:
    row: dict[str, Any] = {
        "id": id,
        "global_id": f"x:{id}",
        "network": "x",
        "native_id": str(id),
        "author_handle": "someone",
        "text": "hello",
        "created_at": created_at,
        "fetched_at": created_at,
        "item_id": id,
        "conversation_id": "c1",
    }
    return insert("mentions", **(row | extra))


def run_both(both: tuple[sqlite3.Connection, Any], *statements: str) -> None:
    lite, pg = both
    for sql in statements:
        lite.execute(sql)
        pg.execute(sql)


def test_constraints_refuse_the_same_rows(both: tuple[sqlite3.Connection, Any]) -> None:
    lite, pg = both
    at = "2026-11-01T10:00:00Z"
    run_both(
        both,
        mention(1, at),
        insert("outbox", key="k1", mention_id=1, network="x", text="hi", created_at=at),
        insert("accounts", id="ann", name="Ann", created_at=at),
    )
    outbox = {"mention_id": 1, "network": "x", "text": "hi", "created_at": at}
    lock = {"token": "t", "pid": 1, "host": "h", "since": at, "heartbeat": at}
    refused = [
        mention(2, at, kind="other"),  # CHECK
        mention(2, at, status="other"),
        mention(2, at, global_id="x:1"),  # UNIQUE
        mention(2, at, text=None),  # NOT NULL
        insert("outbox", key="k2", kind="other", **outbox),
        insert("outbox", key="k2", status="other", **outbox),
        insert("outbox", key="k1", **outbox),
        insert("outbox", key="k2", **(outbox | {"mention_id": 99})),  # FOREIGN KEY
        insert("watch_lock", id=2, heartbeat_every=1.0, **lock),
        insert("reminders", item_id=1, threshold="other", at=at),
        insert("alert_state", scope="*", status="other"),
        insert("alert_events", scope="*", event="other", at=at),
        insert("stats_watermark", id=2, max_id=0),
        insert("api_tokens", agent="nobody", token_hash="h", created_at=at),
        insert("saved_views", agent="nobody", name="n", query="q"),
    ]
    for sql in refused:
        with pytest.raises(sqlite3.IntegrityError):
            lite.execute(sql)
        with pytest.raises(psycopg.errors.IntegrityError):
            pg.execute(sql)
    accepted = [
        insert("watch_lock", id=1, heartbeat_every=1.0, **lock),
        insert("reminders", item_id=1, threshold="urgent", at=at),
        insert("alert_state", scope="*", status="calm"),
        insert("api_tokens", agent="ann", token_hash="h", created_at=at),
    ]
    run_both(both, *accepted)
    # One reply in flight per item (partial unique index), any number settled.
    run_both(both, "UPDATE outbox SET item_id = 1")
    in_flight = insert("outbox", key="k3", item_id=1, **outbox)
    with pytest.raises(sqlite3.IntegrityError):
        lite.execute(in_flight)
    with pytest.raises(psycopg.errors.UniqueViolation):
        pg.execute(in_flight)
    run_both(both, insert("outbox", key="k4", item_id=1, status="sent", **outbox))


def _marks(conn: Any) -> tuple[list[str], int]:
    days = [r[0] for r in conn.execute("SELECT day FROM stats_dirty ORDER BY day").fetchall()]
    return days, conn.execute("SELECT max_id FROM stats_watermark").fetchone()[0]


# (statement, days it marks, watermark after). Each step starts from an empty stats_dirty.
TRIGGER_STEPS: list[tuple[str, list[str], int]] = [
    # stats_dirty_mention_update: the row's day before and after, and its item head's day
    ("UPDATE mentions SET status = 'claimed' WHERE id = 2", ["11-01", "11-02"], 6),
    ("UPDATE mentions SET raw = '{}' WHERE id = 2", [], 6),  # a column reports never read
    ("UPDATE mentions SET status = 'done' WHERE id = 5", [], 6),  # a brand mention
    # ... and _thread only when a threading column really changed
    ("UPDATE mentions SET author_handle = author_handle WHERE id = 4", ["11-04"], 6),
    # now alice's (case-insensitively) previous item in the conversation is 3, on 11-03
    ("UPDATE mentions SET author_handle = 'ALICE' WHERE id = 4", ["11-03", "11-04"], 6),
    # moved to 11-07: its head (11-01), and bob's previous item there is 6 (11-06)
    (
        "UPDATE mentions SET created_at = '2026-11-07T09:00:00Z' WHERE id = 2",
        ["11-01", "11-02", "11-06", "11-07"],
        6,
    ),
    # stats_dirty_action_*: the day of the mention a reply, done or dismissal is on
    (insert("actions", id=1, mention_id=3, action="replied", at="t"), ["11-03"], 6),
    (insert("actions", id=2, mention_id=4, action="claimed", at="t"), [], 6),
    ("UPDATE actions SET action = 'done', mention_id = 1 WHERE id = 2", ["11-01", "11-04"], 6),
    ("UPDATE actions SET agent = 'ann' WHERE id = 2", ["11-01"], 6),
    ("UPDATE actions SET agent = 'ann' WHERE id = 1", ["11-03"], 6),
    ("DELETE FROM actions WHERE id = 1", ["11-03"], 6),
    (insert("actions", id=3, mention_id=5, action="claimed", at="t"), [], 6),
    ("DELETE FROM actions WHERE action = 'claimed'", [], 6),
    ("DELETE FROM actions WHERE id = 2", ["11-01"], 6),
    # stats_dirty_mention_delete: lowers the watermark, marks day, head and previous item
    ("DELETE FROM mentions WHERE id = 3", ["11-01", "11-03"], 2),
    ("DELETE FROM mentions WHERE id = 6", ["11-06"], 2),
    ("DELETE FROM mentions WHERE id = 2", ["11-01", "11-07"], 1),
]


def test_triggers_mark_the_same_days(both: tuple[sqlite3.Connection, Any]) -> None:
    lite, pg = both

    def day(n: int) -> str:
        return f"2026-11-{n:02d}T10:00:00Z"

    # Conversation c1: items 1 (Alice, with member 2 by bob), 3 (alice), 4 (carol), 6 (bob);
    # 5 is a brand mention elsewhere.
    run_both(
        both,
        mention(1, day(1), author_handle="Alice"),
        mention(2, day(2), author_handle="bob", item_id=1),
        mention(3, day(3), author_handle="alice"),
        mention(4, day(4), author_handle="carol"),
        mention(5, day(5), author_handle="dave", kind="brand", conversation_id="c2"),
        mention(6, day(6), author_handle="bob"),
        "UPDATE stats_watermark SET max_id = 6",
    )
    assert _marks(lite) == _marks(pg) == ([], 6)  # inserts mark nothing
    for sql, days, watermark in TRIGGER_STEPS:
        run_both(both, "DELETE FROM stats_dirty")
        run_both(both, sql)
        expected = ([f"2026-{d}" for d in days], watermark)
        assert _marks(lite) == expected, sql
        assert _marks(pg) == expected, sql


def test_explicit_ids_then_default_ids(both: tuple[sqlite3.Connection, Any]) -> None:
    lite, pg = both
    at = "2026-11-01T10:00:00Z"
    run_both(both, mention(1, at), mention(2, at), mention(7, at))

    def default_id(conn: Any, n: int) -> int:
        return conn.execute(
            insert(
                "mentions",
                global_id=f"x:new{n}",
                network="x",
                native_id=f"new{n}",
                author_handle="a",
                text="t",
                created_at=at,
                fetched_at=at,
            )
            + " RETURNING id"
        ).fetchone()[0]

    assert default_id(lite, 1) == 8  # SQLite takes MAX(rowid) + 1
    # An identity column does not see explicit ids: its sequence still starts at 1.
    with pytest.raises(psycopg.errors.UniqueViolation):
        default_id(pg, 1)
    # So `db copy` (which inserts rows with their ids) must advance every id sequence to the
    # largest copied id afterwards, per table, as here. On an empty table MAX(id) is NULL and
    # setval() does nothing, which is right (the sequence still starts at 1).
    pg.execute(
        "SELECT setval(pg_get_serial_sequence('mentions','id'), (SELECT MAX(id) FROM mentions))"
    )
    assert default_id(pg, 1) == 8
    assert default_id(pg, 2) == default_id(lite, 2) == 9
    # Every table with an id of its own has a sequence that `db copy` can find the same way.
    identity = pg.execute(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND is_identity = 'YES' ORDER BY table_name"
    ).fetchall()
    for (table,) in identity:
        seq = pg.execute(f"SELECT pg_get_serial_sequence('{table}', 'id')").fetchone()[0]
        assert seq, table


def test_0014_gives_an_older_database_the_current_functions(pg_server: str) -> None:
    """A database made before 0001's text defined json_group_array (and while julianday
    was IMMUTABLE, so never inlined) gets both from migration 0014 on its next open."""
    from social_watch.store.postgres import PostgresStore

    name = "sw_schema_" + uuid.uuid4().hex[:12]
    with psycopg.connect(pg_server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    url = urlunsplit(urlsplit(pg_server)._replace(path="/" + name))
    try:
        old = PostgresStore(url)
        old.execute("DROP AGGREGATE json_group_array(TEXT)")
        old.execute(
            "CREATE OR REPLACE FUNCTION julianday(at TEXT) RETURNS DOUBLE PRECISION "
            "LANGUAGE sql IMMUTABLE AS $$ SELECT CAST(0 AS DOUBLE PRECISION) $$"
        )
        old.execute("DELETE FROM _social_watch_migrations WHERE name = '0014_pg_functions'")
        old.close()
        store = PostgresStore(url)
        try:
            assert "0014_pg_functions" in store.migrations_applied()
            pair = store.scalar("SELECT json_group_array(v) FROM (VALUES ('a'), ('b')) AS t(v)")
            assert pair == '["a","b"]'
            assert store.scalar("SELECT julianday('2000-01-01T12:00:00Z')") == 2451545.0
            volatility = store.scalar("SELECT provolatile FROM pg_proc WHERE proname = 'julianday'")
            assert volatility == "s"
        finally:
            store.close()
    finally:
        with psycopg.connect(pg_server, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
