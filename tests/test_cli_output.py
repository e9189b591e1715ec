"""What the commands print: summary as Keras prints it, JSON with errors, tables in a pipe.

The summary table is compared with real Keras's ``model.summary()`` of the
module ``specc keras`` writes; the top-k table with the output of
``specc.runtime.run``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, require

import specc
from specc.cli import main
from specc.runtime import run

EXAMPLES = ROOT / "examples"
CIFAR = str(EXAMPLES / "cifar10_cnn.cnn")


def table_rows(text: str) -> list[list[str]]:
    """The body rows of a box-drawn table, a cell's continuation lines joined with ', '."""
    rows: list[list[str]] = []
    for line in text.splitlines():
        if not line.startswith("│"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("│").split("│")]
        if rows and not cells[0]:
            rows[-1] = [", ".join(filter(None, pair)) for pair in zip(rows[-1], cells, strict=True)]
        else:
            rows.append(cells)
    return rows


def keras_summary_rows(path, monkeypatch) -> list[list[str]]:
    """Keras's own summary of the generated module's model, as table rows."""
    require("tensorflow")
    from specc.emit.keras import emit_keras

    namespace: dict[str, object] = {"__name__": "summary_test"}
    exec(compile(emit_keras(specc.load(path).model()), str(path), "exec"), namespace)
    keras_model = namespace["build_model"]()  # type: ignore[operator]
    monkeypatch.setenv("COLUMNS", "400")  # rich's width, so that Keras wraps no cell
    printed: list[str] = []
    keras_model.summary(line_length=400, print_fn=lambda text, **_: printed.append(text))
    return table_rows("\n".join(printed))


@pytest.mark.parametrize("name", ["tiny_resnet", "inception_mini", "cifar10_cnn"])
def test_summary_rows_are_keras_rows(name, capsys, monkeypatch):
    path = EXAMPLES / f"{name}.cnn"
    assert main(["summary", str(path)]) == 0
    ours = table_rows(capsys.readouterr().out)
    theirs = keras_summary_rows(path, monkeypatch)
    graph = len(theirs[0]) == 4  # Keras adds "Connected to" to graphs only
    assert name != "cifar10_cnn" or not graph
    if not graph:
        ours = ours[1:]  # Keras's Sequential lists no input layer
    # Layer (type), Output Shape, Param # and (graphs) Connected to, then MACs and Line
    assert [row[: len(theirs[0])] for row in ours] == theirs


def test_summary_json_keeps_kinds_and_adds_class_names(capsys):
    assert main(["summary", "--format", "json", CIFAR]) == 0
    layers = json.loads(capsys.readouterr().out)["models"][0]["layers"]
    assert [(layer["kind"], layer["class_name"]) for layer in layers[:2]] == [
        ("conv2d", "Conv2D"),
        ("maxpooling2d", "MaxPooling2D"),
    ]


def test_summary_json_is_printed_when_the_spec_has_errors(tmp_path, capsys):
    spec = tmp_path / "bad.cnn"
    spec.write_text(
        "model good {\n  input 8x8x3\n  conv2d 4 3x3\n}\n"
        "model bad {\n  input 3x3x1\n  conv2d 8 5x5\n}\n"
    )
    assert main(["summary", "--format", "json", str(spec)]) == 1
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert err == ""  # the diagnostics are in the object, not also on stderr
    assert [m["name"] for m in data["models"]] == ["good", "bad"]
    assert data["models"][0]["output_shape"] == [6, 6, 4]
    [diagnostic] = data["diagnostics"]
    assert (diagnostic["code"], diagnostic["line"], diagnostic["file"]) == ("E201", 7, str(spec))
    assert main(["summary", "--format", "json", str(tmp_path / "missing.cnn")]) == 2
    data = json.loads(capsys.readouterr().out)
    assert data["models"] == [] and data["diagnostics"][0]["code"] == "E100"


def test_top_k_table_is_whole_in_a_pipe(tmp_path):
    x = np.random.default_rng(3).standard_normal((3, 32, 32, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.run(
        [sys.executable, "-m", "specc.cli", "run", CIFAR, "-i", str(tmp_path / "x.npy"),
         "--top-k", "10"],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    expected = run(specc.load(CIFAR).model(), x)
    rows = table_rows(proc.stdout)
    assert "…" not in proc.stdout and [row[0] for row in rows] == ["0", "1", "2"]
    for row, scores in zip(rows, expected, strict=True):
        order = np.argsort(-scores, kind="stable")
        assert [cell.split(":")[0] for cell in row[1:]] == [str(j) for j in order]


def test_the_resize_hint_is_for_images_only(tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.zeros((2, 28, 28, 1), np.float32))
    assert main(["run", CIFAR, "-i", str(tmp_path / "x.npy")]) == 2
    err = capsys.readouterr().err
    assert "error[E602]" in err and "--resize" not in err


def test_bench_shows_its_steps_and_hides_tensorflow_logs():
    require("tensorflow")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    proc = subprocess.run(
        [sys.executable, "-m", "specc.cli", "bench", CIFAR, "--backends", "numpy,tensorflow",
         "--batch-size", "2", "--seconds", "0.1", "--no-memory"],
        capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    steps = [line.split(" (")[0] for line in proc.stderr.splitlines()]
    assert steps == [
        "specc bench: preparing numpy",
        "specc bench: preparing tensorflow",
        "specc bench: timing numpy, tensorflow for at least 0.2 s",
    ], proc.stderr
    assert "tensorflow" in proc.stdout and "unavailable" not in proc.stdout


def test_run_on_tensorflow_keeps_its_logs_off_stderr(tmp_path):
    require("tensorflow")
    np.save(tmp_path / "x.npy", np.zeros((1, 32, 32, 3), np.float32))
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    proc = subprocess.run(
        [sys.executable, "-m", "specc.cli", "run", CIFAR, "-i", str(tmp_path / "x.npy"),
         "--backend", "tensorflow"],
        capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert "(tensorflow, cpu)" in proc.stdout
