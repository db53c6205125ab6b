"""The command line on a PostgreSQL URL: --db and config `database`, the password from
`password_env`, and one clear line (with the password never shown) when it cannot connect."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from conftest import free_port, mention_line

SECRET = "pw-that-must-not-leak"


def with_password(url: str, password: str = SECRET) -> str:
    parts = urlsplit(url)
    return parts._replace(
        netloc=f"{parts.username}:{password}@{parts.hostname}:{parts.port}"
    ).geturl()


def no_traceback(result) -> None:
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_import_into_a_postgres_url_then_queue_and_status_show_it(cli, write_jsonl, pg_database):
    url = pg_database()
    path = write_jsonl([mention_line(id="1"), mention_line(id="2", text="@shopexample refund?")])
    imported = cli("import", str(path), "--db", url)
    assert imported.exit_code == 0, imported.output
    assert "2 new" in imported.output
    queue = cli("queue", "--db", url, "--json")
    assert queue.exit_code == 0, queue.output
    assert sorted(item["text"] for item in json.loads(queue.stdout)) == [
        "@shopexample refund?",
        "@shopexample where is my order?",
    ]
    status = cli("db", "status", "--db", url)
    assert status.exit_code == 0, status.output
    assert f"database        {url}" in status.output and "mentions        2" in status.output


def test_config_database_url_and_password_env(cli, write_jsonl, pg_database, tmp_path, monkeypatch):
    url = pg_database()
    (tmp_path / "social-watch.toml").write_text(
        f'database = "{url}"\npassword_env = "SW_TEST_DB_PASSWORD"\n'
    )
    path = write_jsonl([mention_line(id="1")])
    missing = cli("import", str(path))
    assert missing.exit_code == 2
    assert "SW_TEST_DB_PASSWORD" in missing.stderr and "not set" in missing.stderr
    no_traceback(missing)
    # The test server trusts loopback, so any password opens it: what counts is that it is
    # read from the variable and shown nowhere.
    monkeypatch.setenv("SW_TEST_DB_PASSWORD", SECRET)
    imported = cli("--log-level", "debug", "import", str(path))
    assert imported.exit_code == 0, imported.output
    queue = cli("--log-level", "debug", "queue")
    assert queue.exit_code == 0 and "where is my order?" in queue.output
    assert SECRET not in imported.output + queue.output


def test_a_password_in_the_config_url_is_refused_without_echoing_it(cli, tmp_path, pg_server):
    (tmp_path / "social-watch.toml").write_text(f'database = "{with_password(pg_server)}"\n')
    result = cli("queue")
    assert result.exit_code == 2
    assert "secrets never live in the config file" in result.stderr
    assert "password_env" in result.stderr
    assert SECRET not in result.output
    no_traceback(result)


def test_a_password_in_a_db_url_is_never_shown(cli, pg_database):
    url = pg_database()
    secret_url = with_password(url)
    status = cli("--log-level", "debug", "db", "status", "--db", secret_url)
    assert status.exit_code == 0, status.output
    assert SECRET not in status.output
    assert f"database        {url}" in status.output
    assert "password_env" in status.stderr  # the warning says where a password belongs
    down = with_password(f"postgresql://sw@127.0.0.1:{free_port()}/sw")
    result = cli("queue", "--db", down)
    assert result.exit_code == 2 and SECRET not in result.output


@pytest.mark.parametrize(
    "change, reason",
    [
        ("port", "Connection refused"),
        ("user", 'role "nobody_here" does not exist'),
        ("dbname", 'database "no_such_db" does not exist'),
    ],
)
def test_an_unreachable_database_is_one_line_naming_the_url(cli, pg_server, change, reason):
    parts = urlsplit(pg_server)
    if change == "port":
        url = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    elif change == "user":
        url = parts._replace(netloc=f"nobody_here@{parts.hostname}:{parts.port}").geturl()
    else:
        url = parts._replace(path="/no_such_db").geturl()
    for command in (["queue"], ["db", "status"], ["digest"], ["import", "-"]):
        result = cli(*command, "--db", url, input="")
        assert result.exit_code == 2, (command, result.output)
        assert url in result.stderr and reason in result.stderr, result.stderr
        no_traceback(result)


def test_sqlite_paths_keep_refusing_a_missing_file(cli, tmp_path):
    result = cli("queue", "--db", "typo.db")
    assert result.exit_code == 2 and "no database at typo.db" in result.stderr
    assert not (tmp_path / "typo.db").exists()


def test_the_demo_stays_on_sqlite(cli, pg_database):
    url = pg_database()
    result = cli("demo", "--db", url)
    assert result.exit_code == 2
    assert "db copy" in result.stderr
    no_traceback(result)


def test_other_url_schemes_in_config_are_refused(cli, tmp_path):
    (tmp_path / "social-watch.toml").write_text('database = "mysql://sw@localhost/sw"\n')
    result = cli("queue")
    assert result.exit_code == 2 and "postgresql://" in result.stderr


def test_live_updates_see_commits_on_postgres(pg_database):
    from social_watch import db as dbmod

    url = pg_database()
    watcher, writer = dbmod.connect(url), dbmod.connect(url)
    before = watcher.data_version()
    with writer.write():
        writer.execute("INSERT INTO stats_dirty (day) VALUES (?)", ("2026-11-24",))
    assert watcher.data_version() != before
    watcher.close()
    writer.close()


def test_check_reports_the_postgres_database(cli, pg_database, tmp_path, monkeypatch):
    url = pg_database()
    ok = cli("check", "--db", url)
    assert f"database    ok      {url} (PostgreSQL" in ok.stdout
    (tmp_path / "social-watch.toml").write_text('password_env = "SW_TEST_DB_PASSWORD"\n')
    unset = cli("check", "--db", url)
    assert unset.exit_code == 2
    assert "database    FAILED" in unset.stderr and "SW_TEST_DB_PASSWORD" in unset.stderr
    monkeypatch.setenv("SW_TEST_DB_PASSWORD", SECRET)
    down = f"postgresql://sw@127.0.0.1:{free_port()}/sw"
    refused = cli("check", "--db", down)
    assert refused.exit_code == 1 and f"{down}: cannot connect" in refused.stderr
    assert SECRET not in ok.output + unset.output + refused.output
    assert "database" not in cli("check").output  # a SQLite file: nothing to check


def test_a_server_lost_mid_command_is_one_line(cli, pg_database, monkeypatch):
    import psycopg

    from social_watch import queue

    def gone(*args, **kwargs):
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(queue, "list_items", gone)
    result = cli("queue", "--db", pg_database())
    assert result.exit_code == 2
    assert result.stderr == "Error: PostgreSQL failed: server closed the connection unexpectedly\n"


@pytest.mark.parametrize(
    "command",
    [
        ["stats", "--json"],
        ["stats", "--json", "--since", "30d"],
        ["digest"],
        ["alert", "--json"],
        ["queue", "--json"],
    ],
)
def test_reports_on_a_copy_in_postgres_equal_the_sqlite_ones(cli, tmp_path, pg_database, command):
    """The same demo inbox, copied by `db copy`: every report reads the same on both."""
    from social_watch import demo

    demo_db = tmp_path / "demo.db"
    demo.run(str(demo_db))
    url = pg_database()
    copied = cli("db", "copy", str(demo_db), url)
    assert copied.exit_code == 0, copied.output
    import time_machine

    # one frozen "now" for both runs: reports print the period and when they were made
    with time_machine.travel(datetime.now(UTC).replace(microsecond=0), tick=False):
        on_sqlite = cli(*command, "--db", str(demo_db))
        on_postgres = cli(*command, "--db", url)
    assert on_sqlite.exit_code == on_postgres.exit_code, on_postgres.output
    assert on_postgres.stdout == on_sqlite.stdout
