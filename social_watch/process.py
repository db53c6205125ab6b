"""Is a process on this host still alive? Shared by the outbox owner and the watch lock."""

from __future__ import annotations

import os


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
