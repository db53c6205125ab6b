"""Is a process on this host still alive? Shared by the outbox owner, the watch lock and an
import's deferred indexes."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable

HOST = socket.gethostname()


def pid_alive(pid: int) -> bool:
    """True if ``pid`` runs here (or exists but is not ours to signal)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def start_token(pid: int) -> str | None:
    """When ``pid`` started, as ``<boot id>:<ticks since boot>`` (Linux /proc), else None.

    Field 22 of ``/proc/<pid>/stat`` is the start time in clock ticks since boot; with the
    boot id it names one process for good, so a pid reused by another process (or after a
    reboot) no longer looks like the owner of anything. The command name (field 2) may hold
    spaces and parentheses, so the fields are counted after its closing parenthesis.
    """
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    if len(fields) < 20 or not fields[19].isdigit():
        return None
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as fh:
            boot = fh.read().strip()
    except OSError:
        boot = ""
    return f"{boot}:{fields[19]}"


def owner_id() -> str:
    """This process as a row's owner: ``host:pid``."""
    return f"{HOST}:{os.getpid()}"


def owner_alive(owner: str, started: str | None, *, mine: Callable[[], bool]) -> bool:
    """Might ``owner`` (``host:pid``, as ``owner_id`` writes it), which recorded ``started``
    (its ``start_token``), still run? Another host's: True, this host cannot tell. This
    process's: ``mine()``. A pid now run by another process (reused) is not the owner."""
    host, _, pid_text = owner.rpartition(":")
    if host != HOST:
        return True
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    if pid == os.getpid():
        return mine()
    if not pid_alive(pid):
        return False
    now_started = start_token(pid)
    return not (started and now_started and started != now_started)
