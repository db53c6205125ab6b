"""Keep secrets out of every log line, error message, CLI output and stored error.

Every secret social-watch resolves (``secrets.resolve``, ``Connector.secret``) is registered
here and replaced by ``***`` at each boundary text leaves through:

- logs: ``RedactingFilter`` on the log handlers, so even a third-party library's debug
  logging (urllib3, httpx, tweepy) cannot leak one;
- errors: ``SocialWatchError.__str__``, so a network that echoes the token in its error
  body cannot carry it into a message, a JSON report or the database (``polls.error``);
- the terminal: ``RedactingStream`` around stdout and stderr for the CLI's whole run, so
  whatever a command prints (text or ``--json``) is redacted once, at the edge.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, TextIO

from social_watch.untrusted import output

_lock = threading.Lock()
_secrets: set[str] = set()
MIN_LENGTH = 6  # shorter values would redact ordinary words (and are no real secret)


def register(value: str) -> None:
    if value and len(value) >= MIN_LENGTH:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    if not _secrets or not text:
        return text
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "***")
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if _secrets:
            message = record.getMessage()
            cleaned = redact(message)
            if cleaned != message or record.exc_info:
                record.msg, record.args = cleaned, None
            if record.exc_info:
                record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
                record.exc_info = None
        return True


class RedactingStream:
    """A text stream that redacts each write before passing it on (CLI stdout/stderr).

    It also drops the escape sequences social-watch never writes (``untrusted.output``):
    the one place every printed line passes, under the renderers' own cleaning.
    """

    def __init__(self, stream: TextIO):
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(output(redact(text)))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        if name == "buffer":  # bytes written there would pass unredacted
            raise AttributeError(name)
        return getattr(self._stream, name)


def wrap(stream: TextIO) -> TextIO:
    """``stream`` behind a ``RedactingStream`` (once: wrapping twice is a no-op)."""
    if isinstance(stream, RedactingStream) or stream is None:
        return stream
    return RedactingStream(stream)  # type: ignore[return-value]
