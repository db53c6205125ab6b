"""No secret in any log line, whoever logs it and at whatever level."""

from __future__ import annotations

import io
import logging

from social_watch import logs, redact
from social_watch.secrets import Secret, resolve


def test_a_resolved_secret_never_reaches_a_log_line():
    stream = io.StringIO()
    handler = logs.setup("debug", "text", stream)
    try:
        secret = resolve(
            {"token_env": "SW_T"}, "token", env={"SW_T": "tok-very-secret-123"}, where="x"
        )
        assert repr(secret) == "Secret(env:SW_T, ***)" and "tok-very" not in str(secret)
        logging.getLogger("urllib3.connectionpool").debug(
            "Authorization: Bearer tok-very-secret-123"
        )
        try:
            raise RuntimeError("bad url https://api/x?token=tok-very-secret-123")
        except RuntimeError:
            logging.getLogger("httpx").exception("failed")
    finally:
        logging.getLogger().removeHandler(handler)
    out = stream.getvalue()
    assert "tok-very-secret-123" not in out
    assert "Bearer ***" in out and "token=***" in out


def test_json_log_lines_are_redacted_too():
    import json

    redact.register("sk-json-9999")
    stream = io.StringIO()
    handler = logs.setup("info", "json", stream)
    try:
        logging.getLogger("social_watch.test").info("using %s", "sk-json-9999")
    finally:
        logging.getLogger().removeHandler(handler)
    line = json.loads(stream.getvalue().splitlines()[-1])
    assert line["message"] == "using ***" and line["level"] == "info"


def test_secret_equality_and_hash_do_not_expose():
    assert Secret("abcdef", "env:A") == Secret("abcdef", "env:B")
    assert "abcdef" not in f"{Secret('abcdef', 'env:A')!r}"
