"""Two agents claiming at once, as real processes on one SQLite file: exactly one wins."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.conftest import mention_line

pytestmark = pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL

RACE = textwrap.dedent(
    """
    import sys, time
    from social_watch.cli import cli
    start = float(sys.argv[2])
    while time.time() < start:
        pass
    cli(["claim", "1", "--as", sys.argv[1], "--db", "race.db"], prog_name="social-watch")
    """
)


@pytest.mark.sqlite_only("child processes open the SQLite file by its path")
def test_exactly_one_of_concurrent_claimers_wins(cli, tmp_path):
    import time

    assert cli("import", "-", "--db", "race.db", input=mention_line(id="1") + "\n").exit_code == 0
    (tmp_path / "race.py").write_text(RACE)
    for _round in range(3):
        cli("release", "1", "--db", "race.db", "--as", "admin", "--force")
        start = str(time.time() + 1.0)
        agents = ["jana", "tom", "eva", "max"]
        procs = [
            subprocess.Popen(
                [sys.executable, "race.py", agent, start],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for agent in agents
        ]
        results = [(p.wait(timeout=60), *p.communicate()) for p in procs]
        codes = [r[0] for r in results]
        assert sorted(codes) == [0, 1, 1, 1], results
        winner = agents[codes.index(0)]
        for code, _out, err in results:
            if code == 1:
                assert f"claimed by {winner}" in err
        import sqlite3

        conn = sqlite3.connect(tmp_path / "race.db")
        claims = conn.execute(
            "SELECT agent FROM actions WHERE action = 'claimed' ORDER BY id DESC LIMIT 1"
        ).fetchall()
        holder = conn.execute("SELECT claimed_by FROM mentions WHERE id = 1").fetchone()[0]
        conn.close()
        assert claims == [(winner,)] and holder == winner
