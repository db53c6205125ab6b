"""Keep secrets out of every log line and error message, whatever prints them.

Every secret social-watch resolves (``secrets.resolve``, ``Connector.secret``) is registered
here; ``RedactingFilter`` on the log handlers replaces any registered value with ``***``,
so even a third-party library's debug logging (urllib3, httpx, tweepy) cannot leak one.
"""

from __future__ import annotations

import logging
import threading

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
