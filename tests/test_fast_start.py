"""Commands typed all day start fast: the queue never imports a network library."""

from __future__ import annotations

import subprocess
import sys


def test_queue_imports_no_network_library(tmp_path):
    code = (
        "import sys\n"
        "from social_watch.cli import cli\n"
        "try:\n"
        "    cli(['queue', '--db', 'q.db'], prog_name='social-watch')\n"
        "except SystemExit:\n"
        "    pass\n"
        "bad = sorted(m for m in ('tweepy', 'praw', 'prawcore', 'httpx', 'requests', 'feedparser') if m in sys.modules)\n"
        "print('LOADED', bad)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True
    )
    assert "LOADED []" in out.stdout, out.stdout + out.stderr


def test_importing_connectors_does_not_import_their_clients():
    code = (
        "import sys, importlib, pkgutil, connectors\n"
        "for m in pkgutil.iter_modules(connectors.__path__):\n"
        "    importlib.import_module('connectors.' + m.name)\n"
        "print('LOADED', sorted(m for m in ('tweepy', 'praw') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "LOADED []" in out.stdout, out.stdout + out.stderr
