"""Logging for every command: readable lines on stderr, or JSON lines for log collectors.

The redacting filter sits on the handler, so it sees every record from every library
(urllib3, httpx, tweepy debug output included) before it is written.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from social_watch.redact import RedactingFilter, redact

LEVELS = ("debug", "info", "warning", "error")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        if record.exc_text:
            data["exception"] = redact(record.exc_text)
        for key in ("connector", "source", "mention_id"):
            if hasattr(record, key):
                data[key] = getattr(record, key)
        return json.dumps(data, ensure_ascii=False)


def setup(level: str = "warning", fmt: str = "text", stream: object = None) -> logging.Handler:
    """Install one handler on the root logger (replacing ours from an earlier call)."""
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.set_name("social-watch")
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        if old.get_name() == "social-watch":
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper()))
    return handler
