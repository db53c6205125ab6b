"""Documentation cannot fall behind: every command in the README, every config key in the example."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import click

from social_watch import config as cfg
from social_watch.cli import cli

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    out = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            out += commands(command, f"{prefix}{name} ")
        else:
            out.append((f"{prefix}{name}", command))
    return out


def test_every_command_is_in_the_readme_and_has_an_example():
    for name, command in commands(cli):
        assert f"`{name}" in README, f"README does not document `{name}`"
        assert command.help and "Example" in command.help, f"`{name}` --help has no example"


def flatten(table: dict, prefix: str = "") -> set[str]:
    keys = set()
    for key, value in table.items():
        path = f"{prefix}{key}"
        keys.add(path)
        if isinstance(value, dict):
            keys |= flatten(value, path + ".")
    return keys


def normalize(path: str) -> str:
    path = re.sub(r"^(agents|templates|connectors)\.[^.]+", r"\1.<name>", path)
    path = re.sub(
        r"^(queue\.targets|tags\.rules|sensitive\.topics|digest\.competitors|alerts\.groups|brand\.handles)\..*",
        r"\1",
        path,
    )
    return path


def test_every_config_key_is_in_the_example_with_a_comment():
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    uncommented = "\n".join(
        line.lstrip("# ") if re.match(r"#\s*\w+\s*=", line) else line for line in text.splitlines()
    )
    present = {normalize(k) for k in flatten(tomllib.loads(uncommented))}
    for path, doc in cfg.iter_keys():
        if path.startswith("connectors.<name>."):
            continue  # per-connector options are documented in the connectors table
        assert path in present, f"config.example.toml does not show {path}"
        assert doc, f"{path} has no doc line in the schema"
