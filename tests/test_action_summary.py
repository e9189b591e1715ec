"""The GitHub Action's summary step: each model's markdown appended to $GITHUB_STEP_SUMMARY.

The step's bash script runs here as GitHub runs it (the variables it sets);
the summary file must then hold each clean file's ``specc summary --format
markdown`` and a line for a file with errors.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, require


def test_summary_step_appends_each_models_markdown(tmp_path, capsys, monkeypatch):
    yaml = require("yaml")
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["inputs"]["step-summary"]["default"] == "true"
    step = next(s for s in action["runs"]["steps"] if s.get("id") == "summary")
    assert "inputs.step-summary == 'true'" in step["if"]
    (tmp_path / "models").mkdir()
    for name in ("cifar10_cnn", "tiny_resnet"):
        shutil.copy(ROOT / "examples" / f"{name}.cnn", tmp_path / "models" / f"{name}.cnn")
    (tmp_path / "models" / "bad.cnn").write_text("model m {\n  input 8\n  dense 4 rleu\n}\n")
    summary = tmp_path / "step_summary.md"
    summary.write_text("earlier steps' text\n")
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env |= {"FILES": "**/*.cnn", "GITHUB_STEP_SUMMARY": str(summary)}
    proc = subprocess.run(
        ["bash", "-e", "-c", step["run"]], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    text = summary.read_text()
    assert text.startswith("earlier steps' text\n")
    from specc.cli import main

    monkeypatch.chdir(tmp_path)
    for name in ("cifar10_cnn", "tiny_resnet"):
        assert main(["summary", "--format", "markdown", f"models/{name}.cnn"]) == 0
        assert capsys.readouterr().out in text
    assert text.count("```mermaid") == 2
    assert "### models/bad.cnn\n\nspecc found errors in this file" in text
