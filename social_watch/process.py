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
