"""The command line: exit codes, formats, budgets, and what `specc check` must not import."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import EXAMPLES, ROOT

from specc.cli import main

CIFAR = str(ROOT / "examples" / "cifar10_cnn.cnn")


def run_cli(args, capsys):
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_clean_examples_exit_0(capsys):
    code, _, err = run_cli(["check", *map(str, EXAMPLES)], capsys)
    assert code == 0
    assert f"{len(EXAMPLES)} file(s)" in err and "0 error(s)" in err


def test_errors_exit_1(tmp_path, capsys):
    bad = tmp_path / "bad.cnn"
    bad.write_text("model m {\n  input 3x3x1\n  conv2d 8 5\n}\n")
    code, out, _ = run_cli(["check", str(bad)], capsys)
    assert code == 1
    assert "bad.cnn:3:3: error[E201]" in out


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: None, "no such file"),
        (lambda p: p.mkdir(), "is a directory"),
        (lambda p: p.write_bytes(b"model m {\xff\xfe}"), "not UTF-8"),
    ],
)
def test_unreadable_file_exits_2(tmp_path, capsys, setup, message):
    path = tmp_path / "x.cnn"
    setup(path)
    code, out, _ = run_cli(["check", str(path)], capsys)
    assert code == 2
    assert "E100" in out and message in out


def test_bad_usage_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["check", "--max-params", "lots", CIFAR])
    assert exc.value.code == 2
    assert "expected a count" in capsys.readouterr().err


def test_budgets_accept_counts_with_suffixes(capsys):
    code, out, _ = run_cli(["check", "--max-params", "300k", CIFAR], capsys)
    assert code == 1 and "E302" in out and "356,810 params" in out
    code, _, _ = run_cli(["check", "--max-params", "1.5M", "--max-macs", "11M", CIFAR], capsys)
    assert code == 0
    code, out, _ = run_cli(["check", "--max-macs", "10M", CIFAR], capsys)
    assert code == 1 and "E303" in out


def test_strict_fails_on_warnings(tmp_path, capsys):
    path = tmp_path / "w.cnn"
    path.write_text("model m {\n  input 4x4x3\n  dense 2\n}\n")
    assert run_cli(["check", str(path)], capsys)[0] == 0
    assert run_cli(["check", "--strict", str(path)], capsys)[0] == 1


def test_stdin(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", open(CIFAR, encoding="utf-8"))
    assert run_cli(["check", "-"], capsys)[0] == 0


def test_summary_json_matches_design_md(capsys):
    code, out, _ = run_cli(["summary", "--format", "json", CIFAR], capsys)
    assert code == 0
    data = json.loads(out)
    [model] = data["models"]
    assert model["name"] == "cifar10_cnn"
    assert model["input_shape"] == [32, 32, 3] and model["output_shape"] == [10]
    assert model["params"] == sum(layer["params"] for layer in model["layers"])
    assert model["macs"] == sum(layer["macs"] for layer in model["layers"])
    assert model["layers"][0]["name"] == "conv2d" and model["layers"][0]["line"] == 5
    assert data["diagnostics"] == []


def test_summary_table(capsys):
    code, out, _ = run_cli(["summary", CIFAR], capsys)
    assert code == 0
    assert "cifar10_cnn" in out and "Total params: 356,810" in out


def test_summary_places_block_layers_at_their_call(tmp_path, capsys):
    spec = tmp_path / "blocks.cnn"
    spec.write_text(
        "block pair(f) {\n"  # line 1
        "  conv2d f 3x3\n"  # line 2
        "  relu\n"  # line 3
        "}\n"
        "model m {\n"
        "  input 8x8x3\n"  # line 6
        "  pair 4\n"  # line 7
        "  pair 8\n"  # line 8
        "  flatten\n"  # line 9
        "}\n"
    )
    code, out, _ = run_cli(["summary", "--format", "json", str(spec)], capsys)
    assert code == 0
    layers = json.loads(out)["models"][0]["layers"]
    lines = [(layer["line"], layer.get("block_line")) for layer in layers]
    assert lines == [(7, 2), (7, 3), (8, 2), (8, 3), (9, None)]
    code, out, _ = run_cli(["summary", str(spec)], capsys)
    assert code == 0
    assert "8 (3)" in out and "the block call's line" in out


def test_summary_unknown_model_exits_2(capsys):
    code, _, err = run_cli(["summary", "--model", "nope", CIFAR], capsys)
    assert code == 2 and "no model named 'nope'" in err


def test_summary_refuses_errors(tmp_path, capsys):
    path = tmp_path / "bad.cnn"
    path.write_text("model m {\n  input 8\n  convd 3\n}\n")
    assert run_cli(["summary", str(path)], capsys)[0] == 1


def test_check_imports_no_framework():
    code = (
        f"import sys; from specc.cli import main; rc = main(['check', '-q', {CIFAR!r}]); "
        "heavy = [m for m in ('tensorflow', 'keras', 'onnx', 'onnxruntime', 'torch', 'jax')"
        " if m in sys.modules]; print(heavy); sys.exit(rc)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_console_script_help():
    proc = subprocess.run(
        [sys.executable, "-m", "specc.cli", "--help"], capture_output=True, text=True
    )
    assert proc.returncode == 0
    for command in ("check", "summary"):
        assert command in proc.stdout
