"""A throwaway PostgreSQL for the test session: Debian's ``postgresql`` binaries, ``initdb``
in a temporary folder, listening on 127.0.0.1 on a free port, stopped and removed at the end.

``$SOCIAL_WATCH_TEST_PG`` (a ``postgresql://`` URL) points the tests at a server of your own
instead. Without either, the PostgreSQL tests fail loudly: they never skip.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

ENV_URL = "SOCIAL_WATCH_TEST_PG"


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if found:
        return Path(found[0]).parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise RuntimeError(
        "PostgreSQL is not installed: the PostgreSQL tests need Debian's `postgresql` package "
        "(tests/setup.sh installs it with apt-get) or $SOCIAL_WATCH_TEST_PG set to a server"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """One postmaster in a temp folder; ``url`` reaches its ``postgres`` database."""

    def __init__(self) -> None:
        self.bindir = _bindir()
        self.root = Path(tempfile.mkdtemp(prefix="sw-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        # initdb refuses to run as root: run the server as Debian's `postgres` user then.
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            self.as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.root, "postgres", "postgres")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run(
            [*self.as_user, *args], check=True, capture_output=True, text=True, timeout=120
        )

    def start(self) -> str:
        try:
            self._run(
                str(self.bindir / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--lc-collate=C",  # byte order, as SQLite compares text
                "--lc-ctype=C.UTF-8",  # lower() folds every script, not ASCII only
            )
            opts = (
                f"-h 127.0.0.1 -p {self.port} -k {self.root} -F "
                "-c max_connections=200 -c shared_buffers=128MB -c full_page_writes=off"
            )
            self._run(
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.data),
                "-o",
                opts,
                "-l",
                str(self.root / "log"),
                "-w",
                "start",
            )
        except subprocess.CalledProcessError as exc:
            log = (self.root / "log").read_text() if (self.root / "log").exists() else ""
            raise RuntimeError(f"could not start PostgreSQL: {exc.stderr}{log}") from None
        return self.url

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


if __name__ == "__main__":  # `python tests/pg_server.py`: a server to try by hand
    import signal
    import sys

    server = Server()
    print(server.start(), flush=True)  # the URL, alone on stdout (for scripts)
    print("PostgreSQL is running; Ctrl-C stops it and removes its data.", file=sys.stderr)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # `kill PID` cleans up too
    try:
        signal.pause()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.stop()
