"""Customer text made inert for each place it is shown: a terminal, an HTML link, Slack.

A mention's text, author name and URL come from strangers. Each output has its own way to
be driven by them, and each has one function here that every writer of that output uses:

- ``terminal(text)``: no escape sequence of any kind (CSI colours and cursor moves, OSC
  window titles and OSC-8 hyperlinks, DCS, APC/PM/SOS strings, C1 controls, a lone ESC),
  no other control characters and no bidi overrides, so a mention cannot retitle the
  window, hide a link behind other text, or redraw what the agent reads;
- ``safe_url(value)``: only an http(s) URL becomes an ``href`` (no ``javascript:``);
- ``slack(text)``: ``&``, ``<`` and ``>`` escaped as Slack's message format requires, so
  ``<!channel>`` or ``<https://evil.example|Reset your password>`` is shown, not obeyed.
"""

from __future__ import annotations

import re
from typing import Any

# ESC-introduced sequences (7-bit) and their 8-bit C1 forms:
#   CSI  ESC [ or 0x9b, parameters, intermediates, a final byte
#   OSC  ESC ] or 0x9d ... ended by BEL or ST (ESC \ or 0x9c); DCS/SOS/PM/APC likewise by ST
#   any other ESC + one character (ESC 7, ESC c, ESC ( B, ...), and a lone ESC at the end
_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"
    r"|(?:\x1b[\]P_^X]|[\x9d\x90\x9f\x9e\x98])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b(?:[\x21-\x2f]*[\x30-\x7e])?"
)
# What is left that a terminal acts on or that reorders text: C0 (but tab and newline,
# which callers fold), DEL, C1, zero-width and bidi controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_URL = re.compile(r"^https?://[^\s\"'<>\\`]+$", re.IGNORECASE)


def terminal(text: str) -> str:
    """``text`` with every escape sequence removed and other controls turned into spaces."""
    if not text:
        return text
    return _CONTROL.sub(" ", _SEQUENCE.sub("", text))


def inert(data: Any) -> Any:
    """``data`` (a JSON-like value) with ``terminal`` applied to every string in it."""
    if isinstance(data, str):
        return terminal(data)
    if isinstance(data, dict):
        return {k: inert(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [inert(v) for v in data]
    return data


# Never written by social-watch itself, so stripped from everything it prints (a safety net
# under ``terminal``, which each renderer applies to customer text): every ESC sequence but
# CSI (our colours, the live status line's erase), and the C1 controls.
_NOT_OURS = re.compile(
    r"(?:\x1b[\]P_^X]|[\x9d\x90\x9f\x9e\x98])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b(?![\[])(?:[\x21-\x2f]*[\x30-\x7e])?|[\x80-\x9f]"
)


def output(text: str) -> str:
    """What the CLI writes: no escape sequence social-watch never writes itself."""
    return _NOT_OURS.sub("", text) if text else text


def plain(value: Any) -> str:
    """One line of terminal-safe text (whitespace runs folded to one space)."""
    return " ".join(terminal(str(value if value is not None else "")).split())


def safe_url(value: Any) -> str | None:
    """The URL if it is an http(s) link a browser may follow, else None."""
    text = plain(value)
    return text if _URL.match(text) else None


def html_environment(**options: Any) -> Any:
    """A jinja2 Environment for HTML: autoescape on and ``safe_url`` as a filter.

    Every HTML output (the digest, the hand-off e-mail) is rendered by one of these, so
    each link in them goes through the same ``| safe_url`` check.
    """
    import jinja2

    options.setdefault("autoescape", True)
    env = jinja2.Environment(**options)
    env.filters["safe_url"] = safe_url
    return env


def slack(text: str) -> str:
    """Text for a Slack-compatible message: its only three control characters escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
