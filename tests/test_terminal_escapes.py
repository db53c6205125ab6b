"""A mention cannot drive the agent's terminal: every control sequence is stripped on output."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import mention_line

from social_watch import untrusted
from social_watch.cli import cli as root

ESC = "\x1b"
SEQUENCES = {
    "osc_title_bel": f"{ESC}]0;pwned title\x07",
    "osc_title_st": f"{ESC}]2;pwned title{ESC}\\",
    "osc8_link": f"{ESC}]8;;https://evil.example/login{ESC}\\click{ESC}]8;;{ESC}\\",
    "dcs": f"{ESC}P1$r0m{ESC}\\",
    "apc": f"{ESC}_hidden apc{ESC}\\",
    "pm": f"{ESC}^privacy message{ESC}\\",
    "sos": f"{ESC}Xstart of string{ESC}\\",
    "csi": f"{ESC}[2J{ESC}[31;1m",
    "c1_csi": "\x9b2J\x9b31m",
    "c1_osc": "\x9d0;pwned\x07",
    "esc_two_char": f"{ESC}c{ESC}(0",
    "bidi": "\u202egnp.exe",
    "lone_esc": f"{ESC}",
}


@pytest.mark.parametrize("name", sorted(SEQUENCES))
def test_terminal_strips_each_kind_of_sequence(name: str) -> None:
    out = untrusted.terminal(f"before {SEQUENCES[name]} after")
    assert not any((ord(c) < 0x20 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F for c in out)
    assert "\u202e" not in out
    assert out.startswith("before ") and ("after" in out)
    assert "pwned" not in out and "evil.example" not in out and "hidden" not in out


def test_a_lone_esc_at_the_end_goes_too() -> None:
    assert untrusted.terminal(f"end{ESC}") == "end"


def test_text_and_newlines_survive() -> None:
    assert untrusted.terminal("line one\nline two\tend") == "line one\nline two\tend"
    assert untrusted.terminal("čeština 😀 [1] ~") == "čeština 😀 [1] ~"


HOSTILE_TEXT = "@shopexample help " + "".join(SEQUENCES.values()) + " please"


@pytest.fixture
def hostile_db(tmp_path: Any, cli: Any, write_jsonl: Any) -> str:
    line = json.loads(mention_line(id="1", text=HOSTILE_TEXT, handle="mal"))
    line["author"]["name"] = f"Mal{ESC}]0;title\x07lory"
    db = str(tmp_path / "sw.db")
    path = write_jsonl([json.dumps(line)])
    assert cli("import", str(path), "--db", db).exit_code == 0
    return db


@pytest.mark.parametrize("color", [False, True])  # True: as on a terminal (click keeps styles)
@pytest.mark.parametrize("command", [["queue"], ["show", "1"]])
def test_show_and_queue_print_no_escape_but_our_own_colours(
    hostile_db: str, command: list[str], color: bool
) -> None:
    result = CliRunner().invoke(root, [*command, "--db", hostile_db], color=color)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "help" in out and "mal" in out.lower()
    for name, seq in SEQUENCES.items():
        if not (color and name == "lone_esc"):  # our colours start with ESC: checked below
            assert seq not in out, name
    leftovers = out
    if color:  # our own SGR colours are allowed, and only those
        import re

        leftovers = re.sub(r"\x1b\[[0-9;]*m", "", out)
    assert not any((ord(c) < 0x20 and c not in "\n") or 0x7F <= ord(c) <= 0x9F for c in leftovers)


def test_a_log_line_quoting_customer_text_carries_no_escape() -> None:
    import io
    import logging

    from social_watch import logs

    stream = io.StringIO()
    handler = logs.setup("info", "text", stream)
    try:
        logging.getLogger("social_watch.test").info("skipped %s", HOSTILE_TEXT)
    finally:
        logging.getLogger().removeHandler(handler)
    line = stream.getvalue()
    assert "skipped @shopexample help" in line and ESC not in line and "\x9b" not in line
