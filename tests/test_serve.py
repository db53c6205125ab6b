"""`serve` and the demo's web logins, as a user meets them on the command line (issue 12)."""

from __future__ import annotations

import re
import socket
from pathlib import Path

from click.testing import CliRunner

from social_watch import accounts
from social_watch import db as dbmod
from social_watch.cli import cli


def test_demo_prints_its_web_logins_once_and_they_log_in(tmp_path: Path) -> None:
    path = tmp_path / "demo.db"
    first = CliRunner().invoke(cli, ["demo", "--db", str(path)])
    assert first.exit_code == 0, first.output
    logins = re.findall(r"^\s+(\w+)\s+(agent|lead)\s+password (\S+)$", first.output, re.M)
    assert [(a, r) for a, r, _ in logins] == [("jana", "agent"), ("tom", "agent"), ("lea", "lead")]
    db = dbmod.connect(path)
    try:
        for agent, _, password in logins:
            assert accounts.verify(db, agent, password) is not None
    finally:
        db.close()
    again = CliRunner().invoke(cli, ["demo", "--db", str(path)])
    assert again.exit_code == 0 and "password" not in again.output
    assert f"social-watch serve --db {path}" in again.output


def test_serve_on_a_busy_port_is_one_line_and_exit_2(tmp_path: Path) -> None:
    dbmod.connect(tmp_path / "x.db").close()
    missing = CliRunner().invoke(cli, ["serve", "--db", str(tmp_path / "typo.db")])
    assert missing.exit_code == 2 and "no database at" in missing.output
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            cli, ["serve", "--db", str(tmp_path / "x.db"), "--port", str(port)]
        )
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
    assert "Traceback" not in result.output
