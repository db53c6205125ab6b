"""tests/fixtures/README.md names where every payload of the new connectors came from
(issue 15): each file has a row, each row a provenance, and every file that is not a
recording says NOT RECORDED (in its row or its section), so no one mistakes a payload built
from a reference example for one a server sent."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
README = (FIXTURES / "README.md").read_text(encoding="utf-8")
# heureka/ holds a real export saved by another project's tests: a recording, said so
BUILT_FROM_REFERENCES = (
    "facebook",
    "instagram",
    "threads",
    "youtube",
    "trustpilot",
    "google_reviews",
)
NEW = (*BUILT_FROM_REFERENCES, "heureka")


def section(folder: str) -> str:
    match = re.search(rf"^### {folder}/.*?(?=^### |\Z)", README, re.M | re.S)
    assert match, f"no '### {folder}/' section in tests/fixtures/README.md"
    return match.group(0)


def rows(folder: str) -> dict[str, list[str]]:
    out = {}
    for line in section(folder).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        name = re.fullmatch(r"`([^`]+)`", cells[0]) if cells else None
        if name:
            out[name.group(1)] = cells
    return out


@pytest.mark.parametrize("folder", NEW)
def test_every_fixture_file_has_a_row_with_its_provenance(folder: str) -> None:
    table = rows(folder)
    for path in sorted((FIXTURES / folder).iterdir()):
        rel = f"{folder}/{path.name}"
        assert rel in table, f"{rel} has no row in tests/fixtures/README.md"
        provenance = table[rel][-1]
        assert provenance and provenance != "|", f"{rel}: empty provenance"
    stale = [rel for rel in table if not (FIXTURES / rel).exists()]
    assert not stale, f"rows for files that do not exist: {stale}"


@pytest.mark.parametrize("folder", BUILT_FROM_REFERENCES)
def test_payloads_built_from_reference_examples_say_so(folder: str) -> None:
    intro = section(folder).split("| File |", 1)[0]
    if "NOT RECORDED" in intro:
        assert re.search(r"reference|guide", intro, re.I), folder
        return
    for rel, cells in rows(folder).items():
        assert "NOT RECORDED" in " ".join(cells), f"{rel}: built or recorded? say which"
        assert re.search(r"developers\.|apis\.io|RFC|cloud\.google", cells[-1]), (
            f"{rel}: name the reference page it was built from"
        )


def test_every_builtin_connector_runs_the_contract_suite() -> None:
    """A connector added without a ``ConnectorContract`` subclass would skip the suite."""
    from social_watch.registry import BUILTIN

    tests = Path(__file__).parent
    for name in sorted(set(BUILTIN) - {"replay"}):
        source = (tests / f"test_{name}.py").read_text(encoding="utf-8")
        assert re.search(r"^class \w+\(ConnectorContract\):", source, re.M), name
