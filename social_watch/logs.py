"""Logging for every command: readable lines on stderr, or JSON lines for log collectors.

The redacting filter sits on the handler, so it sees every record from every library
(urllib3, httpx, tweepy debug output included) before it is written.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from datetime import UTC, datetime
from typing import TextIO

from social_watch.redact import RedactingFilter, redact
from social_watch.untrusted import terminal

LEVELS = ("debug", "info", "warning", "error")


class TextFormatter(logging.Formatter):
    """Readable lines; a mention's text in a message cannot drive the terminal."""

    def format(self, record: logging.LogRecord) -> str:
        return terminal(super().format(record))


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
            TextFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        if old.get_name() == "social-watch":
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper()))
    return handler


class LiveLine:
    """A status line rewritten in place on a terminal that log lines never glue onto.

    Everything written to the terminal goes through it: a log line first clears the status
    line, then the status line is drawn again below it. It is cut to the terminal's width,
    since a wrapped line cannot be rewritten in place.
    """

    CLEAR = "\r\x1b[K"

    def __init__(self, stream: TextIO, columns: int | None = None):
        self.stream = stream
        self.columns = columns
        self.line = ""
        self._lock = threading.Lock()

    def _fit(self, line: str) -> str:
        import shutil

        columns = self.columns or shutil.get_terminal_size((120, 24)).columns
        return line[: max(columns - 1, 10)]

    def show(self, line: str) -> None:
        with self._lock:
            self.line = self._fit(line)
            self.stream.write(self.CLEAR + self.line)
            self.stream.flush()

    def write(self, text: str) -> int:
        with self._lock:
            if self.line:
                self.stream.write(self.CLEAR)
            self.stream.write(text)
            if self.line and text.endswith("\n"):
                self.stream.write(self.line)
            return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return True

    def end(self) -> None:
        """Leave the last status line on screen and move below it."""
        with self._lock:
            if self.line:
                self.stream.write("\n")
                self.line = ""
            self.stream.flush()


def route_through(live: LiveLine) -> TextIO | None:
    """Send our log handler's lines through ``live``; returns the stream to restore."""
    for handler in logging.getLogger().handlers:
        if handler.get_name() == "social-watch" and isinstance(handler, logging.StreamHandler):
            return handler.setStream(live)
    return None


def restore(stream: TextIO | None) -> None:
    if stream is None:
        return
    for handler in logging.getLogger().handlers:
        if handler.get_name() == "social-watch" and isinstance(handler, logging.StreamHandler):
            handler.setStream(stream)
