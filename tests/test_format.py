"""One formatter configuration (``[tool.ruff]`` in pyproject.toml): the code base is ``ruff format``-clean
and carries no formatter escape markers. Run ``bash scripts/format.sh`` to fix."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("src", "tests", "benchmarks")


def _ruff() -> str:
    found = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if found is None:
        pytest.fail("ruff is not installed; it is in the dev extras: pip install -e '.[dev]'")
    return found


def test_the_code_base_is_ruff_formatted():
    res = subprocess.run([_ruff(), "format", "--check", *FOLDERS], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, f"run bash scripts/format.sh:\n{res.stdout}{res.stderr}"


def test_no_formatter_escape_hatches():
    marked = [
        f"{p.relative_to(ROOT)}:{i}"
        for folder in FOLDERS
        for p in (ROOT / folder).rglob("*.py")
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if "fmt: " + "skip" in line or "fmt: " + "off" in line
    ]
    assert not marked, marked
