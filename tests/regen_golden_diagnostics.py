"""Regenerate tests/golden/diagnostics/*.{txt,json,sarif,github}: review the diff, then commit.

Usage: python tests/regen_golden_diagnostics.py
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

from specc.cli import main

FOLDER = Path(__file__).resolve().parent / "golden" / "diagnostics"
FORMATS = ("text", "json", "sarif", "github")
SUFFIX = {"text": "txt", "json": "json", "sarif": "sarif", "github": "github"}


def render(spec: Path, fmt: str) -> tuple[str, int]:
    """What ``specc check --format FMT`` prints for ``spec`` (run from its folder)."""
    out = io.StringIO()
    cwd = os.getcwd()
    os.chdir(spec.parent)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            code = main(["check", "--format", fmt, spec.name])
    finally:
        os.chdir(cwd)
    return out.getvalue(), code


def main_regen() -> None:
    """Rewrite every golden file."""
    for spec in sorted(FOLDER.glob("*.cnn")):
        for fmt in FORMATS:
            text, _ = render(spec, fmt)
            spec.with_suffix(f".{SUFFIX[fmt]}").write_text(text, encoding="utf-8")
            print("wrote", spec.with_suffix(f".{SUFFIX[fmt]}").name)


if __name__ == "__main__":
    main_regen()
