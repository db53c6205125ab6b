"""ruff (lint and format) is part of the suite, so CI keeps the code clean."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def ruff() -> list[str]:
    exe = Path(sys.executable).with_name("ruff")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("ruff")
    if not found:
        pytest.skip("ruff is not installed")
    return [found]


def test_ruff_check():
    out = subprocess.run(
        [*ruff(), "check", "--quiet", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_ruff_format():
    out = subprocess.run(
        [*ruff(), "format", "--check", "--quiet", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy():
    exe = Path(sys.executable).with_name("mypy")
    if not exe.exists():
        pytest.skip("mypy is not installed")
    out = subprocess.run([str(exe), "--no-error-summary"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
