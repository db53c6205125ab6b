"""Keep secrets out of every log line, error message, CLI output and stored error.

Every secret social-watch resolves (``secrets.resolve``, ``Connector.secret``) is registered
here and replaced by ``***`` at each boundary text leaves through:

- logs: ``RedactingFilter`` on the log handlers, so even a third-party library's debug
  logging (urllib3, httpx, tweepy) cannot leak one;
- errors: ``SocialWatchError.__str__``, so a network that echoes the token in its error
  body cannot carry it into a message, a JSON report or the database (``polls.error``);
- the terminal: ``output.CliStream`` around stdout and stderr for the CLI's whole run, so
  whatever a command prints (text or ``--json``) is redacted once, at the edge.
"""

from __future__ import annotations

import logging
import threading

_lock = threading.Lock()
_secrets: set[str] = set()
MIN_LENGTH = 6  # shorter values would redact ordinary words (and are no real secret)


# Credentials that name an account rather than unlock it: shown on purpose (a greeting,
# "authenticated as u/shopexample", the help-desk address), so never redacted.
_IDENTITIES = ("username", "user")


def is_identity(option: str) -> bool:
    """``username_env``, ``user``: an account name, not a secret to hide."""
    return option.removesuffix("_env").removesuffix("_file") in _IDENTITIES


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
