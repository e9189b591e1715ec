"""None of matplotlib, graphviz or Pillow is imported on the ``specc check`` path.

``specc check`` runs in a fresh interpreter over every example (the CLI
builds every command's parser, the diagram ones included); afterwards
``sys.modules`` must hold none of them. The text outputs of ``specc diagram``
(DOT, Mermaid) and ``summary --format markdown`` need none of them either.
"""

from __future__ import annotations

import ast
import subprocess
import sys

from conftest import EXAMPLES, ROOT

VIZ = ("matplotlib", "graphviz", "PIL")


def _loaded_after(argv: list[str]) -> list[str]:
    code = (
        "import sys; from specc.cli import main; rc = main(sys.argv[1:]); "
        f"print([m for m in {VIZ!r} if m in sys.modules]); sys.exit(rc)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr
    return ast.literal_eval(proc.stdout.strip().splitlines()[-1])


def test_check_imports_no_picture_library():
    assert _loaded_after(["check", "-q", *map(str, EXAMPLES)]) == []


def test_text_pictures_import_no_picture_library(tmp_path):
    spec = str(ROOT / "examples" / "tiny_resnet.cnn")
    assert _loaded_after(["diagram", spec, "-o", str(tmp_path / "m.dot")]) == []
    assert _loaded_after(["diagram", spec, "-o", str(tmp_path / "m.mmd")]) == []
    assert _loaded_after(["summary", "--format", "markdown", spec]) == []


def test_the_probe_sees_a_picture_library_when_one_is_used(tmp_path):
    from test_diagram import _graphviz

    _graphviz()  # skips locally without Graphviz, fails in CI
    spec = str(ROOT / "examples" / "tiny_resnet.cnn")
    assert "graphviz" in _loaded_after(["diagram", spec, "-o", str(tmp_path / "m.svg")])


def test_registering_the_picture_commands_imports_nothing_heavy():
    code = (
        "import sys; from specc.cli import build_parser; build_parser(); "
        "print([m for m in ('numpy', 'matplotlib', 'graphviz', 'PIL') if m in sys.modules])"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert ast.literal_eval(proc.stdout.strip()) == []
