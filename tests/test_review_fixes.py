"""Defects found in review, each pinned by the test that first showed it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest
from helpers import NOW, make_config, mention, open_db, pipeline, rows

from social_watch.connector import MENTIONS, Connector, PollResult, Source
from social_watch.models import Author
from social_watch.runner import poll_source


class _Hostile(Connector):
    """A page from a server that controls its own accounts' fields (a Mastodon instance)."""

    name = "hostile"
    network = "mastodon"
    capabilities = frozenset({MENTIONS})
    options: ClassVar[dict[str, str]] = {}
    page: ClassVar[list[Any]] = []

    def sources(self) -> list[Source]:
        return [Source(self.name, MENTIONS)]

    def poll(self, source: Source, cursor: Any) -> PollResult:
        return PollResult(list(self.page), {"min_id": "100"})


def test_one_unstorable_item_is_skipped_and_the_rest_of_the_page_and_its_cursor_stored(tmp_path):
    """A follower count beyond SQLite's INTEGER, a lone surrogate, a date at the end of time:
    each raised out of the page's transaction, so the cursor never advanced and every later
    poll failed on the same item: one hostile account stopped the connector for good."""
    good = mention("1", network="mastodon", handle="alice@example.social")
    _Hostile.page = [
        good,
        mention("2", network="mastodon", followers=10**30),
        mention("3", "lone \ud800", network="mastodon"),
        mention("4", network="mastodon", handle="\udfff"),
        mention("5", network="mastodon", raw={"content": "\ud800"}),
        mention("6", network="mastodon").__class__(
            network="mastodon",
            native_id="6",
            text="from the far future",
            created_at=datetime(9999, 12, 31, 23, 59, tzinfo=UTC),
            author=Author("mallory"),
        ),
    ]
    db = open_db(tmp_path)
    connector = _Hostile({}, env={}, clock=lambda: NOW)
    summary = poll_source(db, pipeline(make_config()), connector, connector.sources()[0])
    assert summary.ok, summary.error
    assert summary.new == 1 and summary.skipped == 5
    assert sorted(summary.skipped_ids) == ["2", "3", "4", "5", "6"]
    assert [r["global_id"] for r in rows(db, "SELECT global_id FROM mentions")] == ["mastodon:1"]
    assert rows(db, "SELECT cursor FROM cursors") == [{"cursor": '{"min_id":"100"}'}]


def test_odd_ids_and_huge_limits_are_one_line_errors_not_tracebacks(cli, write_jsonl):
    from conftest import mention_line

    assert cli("import", str(write_jsonl([mention_line(id="1")]))).exit_code == 0
    for ref in ("²", "٣", "99999999999999999999"):  # str.isdigit() is true for all three
        result = cli("show", ref)
        assert result.exit_code == 2 and "no mention with id" in result.output, ref
        assert cli("claim", ref, "--as", "jana").exit_code == 2
    for command in (["queue"], ["outbox"]):
        result = cli(*command, "--limit", "99999999999999999999", "--json")
        assert result.exit_code == 0, result.output


def _children(pid: int) -> list[int]:
    import contextlib
    import os
    from pathlib import Path

    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            kids += [int(k) for k in (task / "children").read_text().split()]
    return [k for k in kids if os.path.exists(f"/proc/{k}")]


def _running(pid: int) -> bool:
    """Alive and not a zombie (a container's init may not reap orphans)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_sigterm_during_a_parallel_import_leaves_no_worker_behind(tmp_path):
    """The forked worker blocked forever on its own queue (it holds the pipe's write end),
    keeping the caller's stdout/stderr open: `social-watch import … | tee` never ended."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import pytest

    from social_watch import parallel

    if not parallel.can_fork() or not os.path.isdir("/proc/self/task"):
        pytest.skip("needs fork, two CPUs and /proc")
    from bench.gen import write_jsonl as gen_jsonl

    path = tmp_path / "big.jsonl"
    gen_jsonl(path, 40_000, seed=5)  # > 2 MB: the worker starts with the first batch
    exe = os.path.join(os.path.dirname(sys.executable), "social-watch")
    proc = subprocess.Popen(
        [exe, "import", "--db", str(tmp_path / "s.db"), str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    workers: list[int] = []
    deadline = time.monotonic() + 20
    while not workers and proc.poll() is None and time.monotonic() < deadline:
        workers = _children(proc.pid)
        time.sleep(0.05)
    assert workers, "the import ended before its worker was seen"
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    proc.wait(10)
    deadline = time.monotonic() + 5
    while any(_running(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [w for w in workers if _running(w)]
    for w in left:
        os.kill(w, signal.SIGKILL)
    assert not left, "the worker outlived the import"


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL
def test_share_of_voice_matches_non_ascii_keywords_in_any_case(tmp_path):
    """SQLite's lower() folds ASCII only: 'Žabka' in a mention never matched 'Žabka'."""
    from social_watch import digest, stats

    config = make_config({"digest": {"competitors": {"zabka": ["Žabka"]}}})
    db = open_db(tmp_path)
    texts = ["ŽABKA delivers faster", "Žabka rocks", "žabka again", "@shopexample late"]
    pipeline(config).ingest(
        db, [mention(str(i), t, handle=f"u{i}", minutes_ago=10 + i) for i, t in enumerate(texts)]
    )
    data = digest.build(db, config, period=stats.period(now=NOW, since="24h"), now=NOW)
    voice = {v["name"]: v["mentions"] for v in data["share_of_voice"]}
    assert voice["zabka"] == 3
    assert voice["Shop Example"] == 1
