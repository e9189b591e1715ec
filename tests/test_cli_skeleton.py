"""Every command runs the same skeleton: one exit status per code class, one message per case.

Table-driven: each command that reads a spec gets the same empty file, the
same two-model file, the same unreadable path and the same misfitting
weights, and must answer with the same code, the same words and the same
exit status (README, "Exit status").
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import ROOT

from specc.cli import main
from specc.codes import exit_class
from specc.commands.common import exit_status
from specc.diagnostics import CODES, Diagnostic, Span
from specc.weights import init_weights, save_weights

CIFAR = str(ROOT / "examples" / "cifar10_cnn.cnn")
TWO_MODELS = "model a {\n  input 4\n  dense 2\n}\nmodel b {\n  input 5\n  dense 3\n}\n"


def command_lines(tmp_path, spec: str) -> dict[str, list[str]]:
    """Each command on ``spec`` with the arguments it needs to get past argparse."""
    x = tmp_path / "x.npy"
    if not x.exists():
        np.save(x, np.zeros((1, 32, 32, 3), np.float32))
    out = str(tmp_path / "out")
    return {
        "check": ["check", spec],
        "summary": ["summary", spec],
        "summary-json": ["summary", "--format", "json", spec],
        "keras": ["keras", spec, "-o", out + ".py"],
        "init": ["init", spec, "-o", out + ".npz"],
        "onnx": ["onnx", spec, "-o", out + ".onnx"],
        "run": ["run", spec, "-i", str(x), "-o", out + ".npy"],
        "bench": ["bench", spec, "--backends", "numpy", "--seconds", "0.1", "--no-memory"],
    }


COMMANDS = ["check", "summary", "summary-json", "keras", "init", "onnx", "run", "bench"]
ONE_MODEL = ["keras", "init", "onnx", "run", "bench"]  # need --model where a file has several
READ_WEIGHTS = ["onnx", "run", "bench"]


def _call(argv: list[str], capsys) -> tuple[int, str, str]:
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("command", COMMANDS)
def test_an_empty_file_is_e114_exit_1_everywhere(command, tmp_path, capsys):
    spec = tmp_path / "empty.cnn"
    spec.write_text("# nothing yet\n")
    status, out, err = _call(command_lines(tmp_path, str(spec))[command], capsys)
    assert status == 1
    if command == "summary-json":
        data = json.loads(out)
        assert data["models"] == [] and [d["code"] for d in data["diagnostics"]] == ["E114"]
    else:
        assert f"{spec}:1:1: error[E114]: the file defines no model" in out + err
    assert not list(tmp_path.glob("out*"))


@pytest.mark.parametrize("command", [*COMMANDS, "fmt"])
def test_an_unreadable_spec_is_e100_exit_2_everywhere(command, tmp_path, capsys):
    missing = str(tmp_path / "missing.cnn")
    argv = ["fmt", missing] if command == "fmt" else command_lines(tmp_path, missing)[command]
    status, out, err = _call(argv, capsys)
    assert status == 2
    assert "E100" in out + err and "no such file" in out + err


@pytest.mark.parametrize("command", ONE_MODEL)
def test_several_models_need_model_and_are_listed(command, tmp_path, capsys):
    spec = tmp_path / "two.cnn"
    spec.write_text(TWO_MODELS)
    argv = command_lines(tmp_path, str(spec))[command]
    status, _, err = _call(argv, capsys)
    assert status == 2
    assert err.strip() == (
        f"{spec}: error: the file defines 2 models (a, b); choose one with --model NAME"
    )
    assert not list(tmp_path.glob("out*"))
    status, _, err = _call([*argv, "--model", "c"], capsys)
    assert status == 2 and "no model named 'c'; the file has a, b" in err


@pytest.mark.parametrize("command", ["check", "summary", "summary-json"])
def test_commands_over_every_model_take_both(command, tmp_path, capsys):
    spec = tmp_path / "two.cnn"
    spec.write_text(TWO_MODELS)
    status, out, err = _call(command_lines(tmp_path, str(spec))[command], capsys)
    assert status == 0, err
    if command == "summary-json":
        assert [m["name"] for m in json.loads(out)["models"]] == ["a", "b"]
    elif command == "summary":
        assert 'Model: "a"' in out and 'Model: "b"' in out
    else:
        assert "1 file(s), 2 model(s): 0 error(s)" in err


@pytest.mark.parametrize("command", READ_WEIGHTS)
@pytest.mark.parametrize("flag", ["-w", "--weights"])
def test_weights_that_do_not_fit_are_e504_exit_2_everywhere(command, flag, tmp_path, capsys):
    import specc

    weights = init_weights(specc.load(CIFAR).model())
    weights["dense/kernel"] = weights["dense/kernel"][:10]
    save_weights(tmp_path / "w.npz", weights)
    argv = [*command_lines(tmp_path, CIFAR)[command], flag, str(tmp_path / "w.npz")]
    status, _, err = _call(argv, capsys)
    assert status == 2
    assert "cifar10_cnn.cnn:12:3: error[E504]: layer 'dense': array 'dense/kernel'" in err
    assert not list(tmp_path.glob("out*"))


def test_a_weights_file_that_is_the_spec_is_not_shown_as_spec_source(tmp_path, capsys):
    status, _, err = _call(["onnx", CIFAR, "-o", str(tmp_path / "m.onnx"), "-w", CIFAR], capsys)
    assert status == 2
    assert f"{CIFAR}:1:1: error[E501]: is not a .npz archive of weights" in err
    assert "CIFAR-10" not in err and " | " not in err  # no line of the spec under it


def test_exit_status_follows_the_code_class():
    span = Span("m.cnn", 1, 1, 1, 2)
    for code in CODES:
        assert exit_class(code) in (1, 2), code
    codes = ("E100", "E101", "E114", "E201", "E301", "E504", "E602", "E605", "E607", "E615")
    assert [exit_class(c) for c in codes] == [2, 1, 1, 1, 1, 2, 2, 2, 1, 2]
    warning = Diagnostic("W401", "w", span)
    assert exit_status([]) == 0 and exit_status([warning]) == 0
    assert exit_status([warning], strict=True) == 1
    assert exit_status([Diagnostic("E201", "e", span), Diagnostic("E501", "e", span)]) == 2
