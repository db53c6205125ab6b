"""The CLI's stdout and stderr: what every command prints passes here once.

``CliStream`` wraps each for the run of one command and

- redacts every registered secret (``redact.redact``), text and ``--json`` alike;
- drops escape sequences social-watch never writes itself (``untrusted.output``);
- turns a failing write into one ``OutputError`` ("cannot write the output: No space
  left on device", exit 1) instead of a traceback, and a closed pipe (``| head -1``)
  into a quiet stop: the reader has what it wanted.

After either, the real stream points at /dev/null, so the interpreter's final flush of
what is still buffered cannot print "Exception ignored" on the way out.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from social_watch.errors import OutputError
from social_watch.redact import redact
from social_watch.untrusted import output


class CliStream:
    """A text stream that cleans each write before passing it on."""

    def __init__(self, stream: TextIO | None):
        self._stream = stream  # None: the process started with this descriptor closed

    def write(self, text: str) -> int:
        if not isinstance(text, str):  # what click probes with to tell text from bytes
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if self._stream is None:
            raise OutputError("cannot write the output: stdout is closed")
        if text:
            self._guard(self._stream.write, output(redact(text)))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self._stream is not None:
            self._guard(self._stream.flush)

    def _guard(self, call: Any, *args: Any) -> None:
        assert self._stream is not None  # write and flush check first
        try:
            call(*args)
        except BrokenPipeError:
            silence(self._stream)
            raise
        except OSError as exc:
            silence(self._stream)
            reason = exc.strerror or type(exc).__name__
            raise OutputError(f"cannot write the output: {reason}") from None

    def __getattr__(self, name: str) -> Any:
        if name == "buffer":  # bytes written there would skip the cleaning
            raise AttributeError(name)
        return getattr(self._stream, name)


def silence(stream: TextIO) -> None:
    """Point ``stream``'s file descriptor at /dev/null (its buffer can never be written)."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)


@contextlib.contextmanager
def installed() -> Iterator[None]:
    """stdout and stderr behind ``CliStream`` for the duration, then flushed and restored."""
    saved = sys.stdout, sys.stderr
    if not isinstance(sys.stdout, CliStream):
        sys.stdout = CliStream(sys.stdout)
    if sys.stderr is not None and not isinstance(sys.stderr, CliStream):
        sys.stderr = CliStream(sys.stderr)  # a closed stderr stays None: click skips it
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
