"""Writing to a full or closed stdout: one line on stderr, no traceback, the right exit code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture
def demo_db(tmp_path: Path) -> Path:
    db = tmp_path / "sw.db"
    done = subprocess.run(
        [sys.executable, "-m", "social_watch", "demo", "--db", str(db)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    return db


def run_into(stdout: object, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "social_watch", *args],
        stdout=stdout,  # type: ignore[arg-type]
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize(
    "args", [["queue", "--limit", "0"], ["queue", "--json"], ["show", "1"], ["stats"]]
)
def test_a_full_disk_is_one_line_and_exit_1(demo_db: Path, args: list[str]) -> None:
    with open("/dev/full", "w") as full:
        done = run_into(full, *args, "--db", str(demo_db))
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
    assert done.stderr.strip().count("\n") == 0
    assert "Error: cannot write the output: No space left on device" in done.stderr


@pytest.mark.parametrize("args", [["queue", "--limit", "0"], ["show", "1", "--json"]])
def test_a_reader_that_is_gone_is_no_error(demo_db: Path, args: list[str]) -> None:
    """`queue | head -1` once head has exited: the pipe is closed, we stop quietly, exit 0."""
    read, write = os.pipe()
    os.close(read)  # the reader is gone before we print anything: every write is EPIPE
    try:
        done = run_into(write, *args, "--db", str(demo_db))
    finally:
        os.close(write)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_a_closed_stdout_is_one_line_and_exit_1(demo_db: Path) -> None:
    """`social-watch queue >&-`: the process starts with no stdout at all."""
    done = subprocess.run(
        [sys.executable, "-m", "social_watch", "queue", "--db", str(demo_db)],
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: os.close(1),
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip() == "Error: cannot write the output: stdout is closed"
