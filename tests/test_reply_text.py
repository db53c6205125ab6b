"""Typed reply text is text, not a template; templates render in a bounded sandbox.

Each case here cost minutes and gigabytes (or an OverflowError traceback) when typed text
went through jinja2: now it is posted as typed, or refused with one line, at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import mention_line
from respond_fakes import posts, write_config
from test_replies import item_id, rows, run

from social_watch import templating
from social_watch.errors import UsageError


@pytest.fixture
def setup(tmp_path: Path, cli: Any, write_jsonl: Any) -> dict[str, Any]:
    config = write_config(tmp_path)
    lines = [
        mention_line(id="101", text="@shopexample where is my order? it's late", handle="alice"),
        mention_line(id="102", text="@shopexample charged twice", handle="carol"),
    ]
    db = tmp_path / "sw.db"
    result = cli("import", str(write_jsonl(lines)), "--config", str(config), "--db", str(db))
    assert result.exit_code == 0, result.output
    return {"config": str(config), "db": str(db), "remote": tmp_path / "remote", "cli": cli}


LITERAL = [
    "{% for i in range(10**9) %}x{% endfor %}",
    "{{ 'x' * 10**9 }}",
    "{{ ''.__class__.__mro__ }}",
    "{# a comment #} {{ customer_name | upper }}",
]


@pytest.mark.parametrize("typed", LITERAL)
def test_typed_text_is_posted_exactly_as_typed(setup: dict[str, Any], typed: str) -> None:
    first = item_id(setup, "101")
    result = run(setup, "reply", str(first), typed, "--as", "jana")
    assert result.exit_code == 0, result.stderr
    (post,) = posts(setup["remote"])
    assert post["text"] == f"{typed} ^JN"


def test_typed_text_fills_the_named_variables_and_names_a_typo(setup: dict[str, Any]) -> None:
    first = item_id(setup, "101")
    result = run(
        setup, "reply", str(first), "Hi {{customer_name}}, from {{ brand }}", "--as", "jana"
    )
    assert result.exit_code == 0, result.stderr
    (post,) = posts(setup["remote"])
    assert post["text"] == "Hi Alice, from Shop Example ^JN"
    typo = run(setup, "reply", str(item_id(setup, "102")), "Hi {{ first_name }}", "--as", "jana")
    assert typo.exit_code == 2
    assert "'first_name' is undefined" in typo.stderr and "customer_name" in typo.stderr


def test_typed_text_longer_than_the_network_allows_is_refused(setup: dict[str, Any]) -> None:
    first = item_id(setup, "101")
    result = run(setup, "reply", str(first), "{{ brand }} " * 100, "--as", "jana")
    assert result.exit_code == 2 and "too long" in result.stderr
    assert posts(setup["remote"]) == []


HOSTILE_TEMPLATES = [
    "{{ 'x' * 10**9 }}",
    "{{ ['x'] * 10**9 }}",
    "{{ 10 ** (10 ** 10) }}",
    "{% for i in range(10**9) %}x{% endfor %}",
    "{% for i in range(90000) %}{% for j in range(90000) %}{% endfor %}{% endfor %}",
    "{% for i in range(9000) %}{% for j in range(9000) %}{% endfor %}{% endfor %}",
    "{% for i in range(9000) %}xxxxxxxxxx{% endfor %}",
    "{% for c in 'x' * 9000 %}{% for d in 'x' * 9000 %}{% endfor %}{% endfor %}",
    "{{ 'x'.ljust(10**9) }}",
    "{{ 'x' | center(10**9) }}",
    "{{ 'x' | indent(10**9, true) }}",
    "{{ '%0999999999d' % 1 }}",
    "{{ '{:>999999999}'.format(1) }}",
]


@pytest.mark.parametrize("source", HOSTILE_TEMPLATES)
def test_a_template_that_would_explode_is_one_usage_error(source: str) -> None:
    with pytest.raises(UsageError, match="nothing was sent"):
        templating.render(source, {"customer_name": "Alice"}, name="boom")


def test_ordinary_templates_still_render() -> None:
    source = "{% for w in ['a', 'b'] %}{{ w * 3 }}{% endfor %} {{ customer_name }}{{ '!' * 2 }}"
    assert templating.render(source, {"customer_name": "Alice"}) == "aaabbb Alice!!"


def test_a_config_template_that_would_explode_fails_in_one_line(
    setup: dict[str, Any],
) -> None:
    path = Path(setup["config"])
    path.write_text(
        path.read_text() + "\n[templates.boom]\ntext = \"{{ 'x' * 10**9 }}\"\n", encoding="utf-8"
    )
    result = run(setup, "reply", str(item_id(setup, "101")), "--template", "boom", "--as", "jana")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "boom" in result.stderr and posts(setup["remote"]) == []
    assert rows(setup, "SELECT COUNT(*) FROM outbox") == [(0,)]
