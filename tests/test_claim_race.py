"""Agents claiming at once, as real processes on one database: exactly one wins."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.conftest import mention_line

pytestmark = pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL

CLAIMERS = textwrap.dedent(
    """
    import json, sys, time
    from datetime import timedelta
    from social_watch import db, queue
    from social_watch.clock import utcnow
    from social_watch.errors import Conflict
    agent, start, target, n = sys.argv[1], float(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    store = db.connect(target)
    while time.time() < start:
        pass
    won = []
    for item in range(1, n + 1):
        try:
            queue.claim(store, item, agent, now=utcnow(), ttl=timedelta(minutes=30))
            won.append(item)
        except Conflict:
            pass
    print(json.dumps(won))
    """
)

RACE = textwrap.dedent(
    """
    import sys, time
    from social_watch.cli import cli
    start = float(sys.argv[2])
    while time.time() < start:
        pass
    cli(["claim", "1", "--as", sys.argv[1], "--db", sys.argv[3]], prog_name="social-watch")
    """
)


def test_exactly_one_of_concurrent_claimers_wins(cli, tmp_path, db_arg):
    """4 processes x 100 claims: every item has exactly one winner, the one the row names."""
    import json
    import time

    from social_watch import db as dbmod

    n = 100
    lines = [mention_line(id=str(i), handle=f"user{i}") for i in range(1, n + 1)]
    assert cli("import", "-", "--db", "race.db", input="\n".join(lines) + "\n").exit_code == 0
    (tmp_path / "claimers.py").write_text(CLAIMERS)
    agents = ["jana", "tom", "eva", "max"]
    start = str(time.time() + 2.0)  # every process connected and spinning by then
    procs = [
        subprocess.Popen(
            [sys.executable, "claimers.py", agent, start, db_arg(tmp_path / "race.db"), str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for agent in agents
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], outputs
    won = {agent: json.loads(out) for agent, (out, _err) in zip(agents, outputs, strict=True)}
    winners: dict[int, list[str]] = {}
    for agent, items in won.items():
        for item in items:
            winners.setdefault(item, []).append(agent)
    assert sorted(winners) == list(range(1, n + 1))
    assert all(len(w) == 1 for w in winners.values()), winners
    db = dbmod.connect(tmp_path / "race.db")
    held = dict(db.execute("SELECT id, claimed_by FROM mentions").fetchall())
    claims = db.execute("SELECT mention_id, agent FROM actions WHERE action = 'claimed'").fetchall()
    db.close()
    assert held == {item: w[0] for item, w in winners.items()}
    assert sorted(tuple(c) for c in claims) == sorted((i, w[0]) for i, w in winners.items())


def test_the_cli_tells_the_losers_who_won(cli, tmp_path, db_arg):
    import time

    from social_watch import db as dbmod

    assert cli("import", "-", "--db", "race.db", input=mention_line(id="1") + "\n").exit_code == 0
    (tmp_path / "race.py").write_text(RACE)
    for _round in range(2):
        cli("release", "1", "--db", "race.db", "--as", "admin", "--force")
        start = str(time.time() + 1.0)
        agents = ["jana", "tom", "eva", "max"]
        procs = [
            subprocess.Popen(
                [sys.executable, "race.py", agent, start, db_arg(tmp_path / "race.db")],
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
        db = dbmod.connect(tmp_path / "race.db")
        claims = db.execute(
            "SELECT agent FROM actions WHERE action = 'claimed' ORDER BY id DESC LIMIT 1"
        ).fetchall()
        holder = db.scalar("SELECT claimed_by FROM mentions WHERE id = 1")
        db.close()
        assert [tuple(c) for c in claims] == [(winner,)] and holder == winner
