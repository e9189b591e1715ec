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
import sys
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


def test_extension_manifest_is_consistent():
    manifest = json.loads((VSCODE / "package.json").read_text())
    (language,) = manifest["contributes"]["languages"]
    (grammar,) = manifest["contributes"]["grammars"]
    assert language["id"] == grammar["language"] == "cnn" and ".cnn" in language["extensions"]
    assert (VSCODE / language["configuration"]).is_file()
    assert json.loads((VSCODE / grammar["path"]).read_text())["scopeName"] == grammar["scopeName"]
    assert (VSCODE / manifest["main"]).is_file()
    assert "vscode-languageclient" in manifest["dependencies"]
    config = json.loads((VSCODE / language["configuration"]).read_text())
    assert config["comments"]["lineComment"] == "#"


ACTIVATE = r"""
// Load extension.js with stand-ins for the vscode API and vscode-languageclient, call
// activate(), and print what the extension asked the language client to start.
const Module = require("module");
const seen = {};
const vscode = {
  workspace: {
    getConfiguration: (section) => ({ get: (key, fallback) => fallback }),
    onDidChangeConfiguration: () => ({ dispose() {} }),
  },
  window: { showErrorMessage: (m) => { seen.error = m; }, showInformationMessage: () => {} },
};
class LanguageClient {
  constructor(id, name, server, client) { Object.assign(seen, { id, name, server, client }); }
  start() { seen.started = true; return Promise.resolve(); }
  stop() { seen.stopped = true; return Promise.resolve(); }
}
const original = Module._load;
Module._load = function (request, parent, isMain) {
  if (request === "vscode") return vscode;
  if (request === "vscode-languageclient/node") return { LanguageClient, TransportKind: { stdio: 0 } };
  return original.apply(this, arguments);
};
const extension = require(process.argv[2]);
const context = { subscriptions: [] };
Promise.resolve(extension.activate(context)).then(() => extension.deactivate()).then(() => {
  console.log(JSON.stringify(seen));
});
"""


def test_extension_starts_specc_lsp_for_cnn_files(tmp_path):
    """extension.js, run by node against stand-ins of the VS Code API: it starts
    `specc lsp` over stdio for documents of the cnn language, and stops it."""
    if shutil.which("node") is None:
        if os.environ.get("SPECC_REQUIRE_ALL"):
            pytest.fail("node is required in CI")
        pytest.skip("node is not installed")
    script = tmp_path / "activate.js"
    script.write_text(ACTIVATE)
    proc = subprocess.run(
        ["node", str(script), str(VSCODE / "extension.js")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert seen["started"] and seen["stopped"] and "error" not in seen
    assert seen["server"]["run"] == {"command": "specc", "args": ["lsp"], "transport": 0}
    selectors = seen["client"]["documentSelector"]
    assert {"scheme": "file", "language": "cnn"} in selectors
    # and that command is a working language server entry point
    help_text = subprocess.run(
        [sys.executable, "-m", "specc.cli", "lsp", "--help"], capture_output=True, text=True
    ).stdout
    assert "--stdio" in help_text
