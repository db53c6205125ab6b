"""Reply text: what an agent types is text; what the team configured is a template.

Typed text (``reply ID TEXT``) is never given to a template engine: only the named
variables (``{{ customer_name }}``, ``{{ brand }}``, ...) are filled in, by a plain
substitution, so ``{% for i in range(10**9) %}`` or ``{{ 'x' * 10**9 }}`` is posted as
typed (or refused as too long for the network) at once.

Templates (``--template NAME``: the starter set and ``[templates.*]``) render in jinja2's
``SandboxedEnvironment`` with a budget: the rendered text, any sequence built by ``*``, any
number argument, ``range`` and the lines of template code run (counted by a trace function
on the template's own frames, so loops over anything are bounded) are limited, so a template
cannot take minutes or gigabytes (a mistyped one included); going over is one ``UsageError``.
"""

from __future__ import annotations

import contextlib
import math
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from types import FrameType
from typing import Any

from social_watch.errors import UsageError

MAX_RENDERED = 20_000  # characters: twice the longest network limit (Reddit, YouTube 10,000)
MAX_NUMBER = MAX_RENDERED  # any number given to a call or filter (widths, counts, ranges)
MAX_LOOPS = 100_000  # range() items over one rendering, nested loops included
MAX_POWER_BITS = 4_096
MAX_STEPS = 200_000  # lines of the compiled template run: loops over anything are bounded
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_BIG_WIDTH = re.compile(r"\d{6,}")  # a format width or precision of a million or more


def fill(text: str, variables: Mapping[str, Any], *, name: str = "reply text") -> str:
    """Typed text with ``{{ variable }}`` filled in; nothing else in it is interpreted."""

    def value(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in variables:
            raise UsageError(
                f"{name}: {key!r} is undefined{_hint(key)}; variables here: "
                f"{', '.join(sorted(variables))}; nothing was sent"
            )
        return str(variables[key])

    return _PLACEHOLDER.sub(value, text).strip()


def render(source: str, variables: Mapping[str, Any], *, name: str = "reply") -> str:
    """Render a template in the bounded sandbox; a missing variable is an error, never blank."""
    from jinja2 import StrictUndefined, TemplateError, UndefinedError
    from jinja2.sandbox import SecurityError

    # Plain text for a social network: autoescape would print "&amp;" to the customer.
    env = _bounded_environment(undefined=StrictUndefined, autoescape=False)
    known = ", ".join(sorted(variables))
    try:
        compiled = env.from_string(source)
        out: list[str] = []
        size = 0
        with _step_budget():
            for chunk in compiled.generate(**variables):
                size += len(chunk)
                if size > MAX_RENDERED:
                    raise SecurityError(f"it renders more than {MAX_RENDERED:,} characters")
                out.append(chunk)
        return "".join(out).strip()
    except UndefinedError as exc:
        message = exc.message or "undefined"
        hint = " (the reference comes from `to-email`)" if "'reference'" in message else ""
        raise UsageError(
            f"template {name!r}: {message}{hint}; variables here: {known}; nothing was sent"
        ) from None
    except SecurityError as exc:
        raise UsageError(f"template {name!r} is not allowed: {exc}; nothing was sent") from None
    except (OverflowError, MemoryError, RecursionError, ValueError) as exc:
        raise UsageError(
            f"template {name!r} cannot be rendered ({type(exc).__name__}: {exc}); nothing was sent"
        ) from None
    except TemplateError as exc:
        raise UsageError(f"template {name!r}: {exc}; nothing was sent") from None


@contextlib.contextmanager
def _step_budget() -> Iterator[None]:
    """Count the lines run in template code (file ``<template>``); too many is an error."""
    from jinja2.sandbox import SecurityError

    steps = [0]

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            steps[0] += 1
            if steps[0] > MAX_STEPS:
                raise SecurityError(f"it runs more than {MAX_STEPS:,} steps")
        return local

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        return local if frame.f_code.co_filename == "<template>" else None

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        yield
    finally:
        sys.settrace(previous)


def _hint(key: str) -> str:
    return " (the reference comes from `to-email`)" if key == "reference" else ""


def _too_big(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_NUMBER


def _check_args(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    from jinja2.sandbox import SecurityError

    if any(_too_big(a) for a in (*args, *kwargs.values())):
        raise SecurityError(f"a number above {MAX_NUMBER:,} in a call")


def _bounded_filter(func: Callable[..., Any]) -> Callable[..., Any]:
    def bounded(*args: Any, **kwargs: Any) -> Any:
        _check_args(args, kwargs)
        return func(*args, **kwargs)

    pass_arg = getattr(func, "jinja_pass_arg", None)
    if pass_arg is not None:
        bounded.jinja_pass_arg = pass_arg  # type: ignore[attr-defined]
    return bounded


def _bounded_environment(**options: Any) -> Any:
    from jinja2.sandbox import SandboxedEnvironment, SecurityError

    class Bounded(SandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**", "%"})

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            if operator == "*":
                for seq, times in ((left, right), (right, left)):
                    sized = isinstance(seq, str | list | tuple) and isinstance(times, int)
                    if sized and len(seq) * times > MAX_RENDERED:
                        raise SecurityError(f"'*' builds more than {MAX_RENDERED:,} items")
            elif operator == "**":
                if isinstance(left, int | float) and isinstance(right, int | float):
                    base = abs(left)
                    if base > 1 and right > 0 and right * math.log2(base) > MAX_POWER_BITS:
                        raise SecurityError("'**' makes a number too big")
            elif operator == "%" and isinstance(left, str) and _BIG_WIDTH.search(left):
                raise SecurityError("a format width of a million or more")
            return super().call_binop(context, operator, left, right)

        def call(self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
            _check_args(args, kwargs)
            method = getattr(__obj, "__wrapped__", __obj)  # the sandbox wraps str.format
            owner = getattr(method, "__self__", None)
            if (
                isinstance(owner, str)
                and getattr(method, "__name__", "") in ("format", "format_map")
                and _BIG_WIDTH.search(owner)
            ):
                raise SecurityError("a format width of a million or more")
            return super().call(__context, __obj, *args, **kwargs)

    env = Bounded(**options)
    env.filters = {k: _bounded_filter(f) for k, f in env.filters.items()}
    loops = [0]

    def bounded_range(*args: int) -> range:
        items = range(*args)
        loops[0] += len(items)
        if loops[0] > MAX_LOOPS:
            raise SecurityError(f"loops over more than {MAX_LOOPS:,} range() items")
        return items

    env.globals["range"] = bounded_range
    return env
