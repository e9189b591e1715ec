"""The VS Code TextMate grammar, tested by the engine VS Code uses (vscode-textmate via
``vscode-tmgrammar-test``, from npm) on the annotated samples in editors/vscode/tests,
and kept in step with the table of layers.

Needs node and npm; skips only when node is absent (CI has it: there it must run).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from conftest import ROOT

from specc.ir.layers import REGISTRY
from specc.ir.values import ACTIVATIONS

VSCODE = ROOT / "editors" / "vscode"
GRAMMAR = VSCODE / "syntaxes" / "cnn.tmLanguage.json"
TOOL = "vscode-tmgrammar-test"
VERSION = "0.1.3"


def _tool() -> Path:
    """The test runner: editors/vscode's own devDependency, else installed once into a cache."""
    if shutil.which("node") is None:
        if os.environ.get("SPECC_REQUIRE_ALL"):
            pytest.fail("node is required in CI for the TextMate grammar tests")
        pytest.skip("node is not installed")
    local = VSCODE / "node_modules" / ".bin" / TOOL
    if local.exists():
        return local
    cache = Path(os.environ.get("SPECC_NPM_CACHE", Path(tempfile.gettempdir()) / "specc-npm"))
    installed = cache / "node_modules" / ".bin" / TOOL
    if not installed.exists():
        cache.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            ["npm", "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(cache),
             f"{TOOL}@{VERSION}"],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert proc.returncode == 0, f"npm install {TOOL} failed:\n{proc.stderr}"
    return installed


def _run(tool: Path, *patterns: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(tool), "--config", str(VSCODE / "package.json"), *patterns],
        cwd=VSCODE,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_samples_are_coloured_as_annotated():
    tool = _tool()
    samples = sorted((VSCODE / "tests").glob("*.test.cnn"))
    assert len(samples) >= 2
    proc = _run(tool, "tests/*.test.cnn")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for sample in samples:
        assert f"{sample.relative_to(VSCODE)} run successfuly" in proc.stdout


def test_a_wrong_annotation_fails(tmp_path):
    """The harness can fail: the same engine rejects a sample whose annotation is wrong."""
    tool = _tool()
    wrong = tmp_path / "wrong.test.cnn"
    wrong.write_text(
        '# SYNTAX TEST "source.cnn"\nmodel m {\n  dense 4\n# ^^^^^ keyword.control.cnn\n}\n'
    )
    proc = _run(tool, str(wrong))
    assert proc.returncode != 0
    assert "missing required scopes: keyword.control.cnn" in proc.stdout


def _head_patterns() -> dict[str, re.Pattern]:
    grammar = json.loads(GRAMMAR.read_text())
    out = {}
    for rule in grammar["repository"]["statement"]["patterns"]:
        scope = rule["captures"]["1"]["name"]
        out.setdefault(scope, re.compile(rule["match"]))
    return out


def test_every_layer_kind_alias_and_activation_is_highlighted():
    """The grammar's word lists are the table's: a new kind or alias must be added there."""
    heads = _head_patterns()
    layers, activations = heads["support.class.layer.cnn"], heads["support.function.activation.cnn"]
    for word in REGISTRY:
        for spelling in (word, word.upper()):
            match = layers.match(f"  {spelling} 8")
            assert match and match.group(1) == spelling, spelling
    for word in ACTIVATIONS:
        match = activations.match(f"  {word} name=x")
        assert match and match.group(1) == word, word
        assert not layers.match(f"  {word}"), word
    # a block whose name starts like a layer is a call, not a layer
    assert not layers.match("  conv_bn 32")
    assert heads["entity.name.function.call.cnn"].match("  conv_bn 32").group(1) == "conv_bn"
