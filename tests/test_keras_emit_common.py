"""Helpers shared by the ``specc keras`` tests: emit, import, compare with real Keras.

The ground truth is always real Keras: the generated module is imported and
built by Keras, and what Keras reports (layer names, output shapes, parameter
counts, layer configs, outputs) is compared with specc's summary and with the
independent reference model of ``tests/keras_reference.py``.
"""

from __future__ import annotations

import importlib.util
import itertools
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np

import specc
from specc.check import check_source
from specc.emit.keras import emit_keras
from specc.ir.graph import Model

_counter = itertools.count()


def check_text(text: str, file: str = "spec.cnn") -> Model:
    """The first model of a spec that must check cleanly."""
    result = check_source(text, file)
    assert not result.errors, [d.message for d in result.errors]
    return result.models[0]


def import_source(source: str, folder: Path, stem: str = "gen") -> ModuleType:
    """Write ``source`` under ``folder`` and import it as a fresh module."""
    path = folder / f"{stem}_{next(_counter)}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def emit_and_import(model: Model, folder: Path, source: str = "spec.cnn") -> ModuleType:
    """The generated module of ``model``, imported."""
    return import_source(emit_keras(model, source), folder)


def keras_layers(keras_model) -> list:
    """``model.layers`` without the input layer (Sequential and functional alike)."""
    return [lay for lay in keras_model.layers if type(lay).__name__ != "InputLayer"]


def assert_matches_summary(keras_model, model: Model) -> None:
    """Every layer's name, output shape and params, and the totals, as specc's summary says."""
    summary = specc.summary(model)
    built = keras_layers(keras_model)
    assert [lay.name for lay in built] == [e["name"] for e in summary["layers"]]
    for lay, entry in zip(built, summary["layers"], strict=True):
        assert list(lay.output.shape[1:]) == list(entry["output_shape"]), lay.name
        assert lay.count_params() == entry["params"], lay.name
        assert type(lay).__name__ == entry["class_name"], lay.name
    assert keras_model.count_params() == summary["params"]
    trainable = sum(int(np.prod(w.shape)) for w in keras_model.trainable_weights)
    frozen = sum(int(np.prod(w.shape)) for w in keras_model.non_trainable_weights)
    assert trainable == summary["trainable_params"]
    assert frozen == summary["non_trainable_params"]
    assert list(keras_model.inputs[0].shape[1:]) == list(summary["input_shape"])
    assert list(keras_model.outputs[0].shape[1:]) == list(summary["output_shape"])
    assert keras_model.name == model.name


def assert_same_configs(keras_model, reference) -> None:
    """Each generated layer is configured exactly as the reference builds it from the IR."""
    ref = {lay.name: lay for lay in keras_layers(reference)}
    for lay in keras_layers(keras_model):
        assert type(lay) is type(ref[lay.name]), lay.name
        assert lay.get_config() == ref[lay.name].get_config(), lay.name


def weights_of(keras_model) -> dict[str, np.ndarray]:
    """A model's weights in specc's ``.npz`` layout: ``LAYER/WEIGHT`` keys."""
    out = {}
    for lay in keras_model.layers:
        for w in lay.weights:
            out[f"{lay.name}/{w.name}"] = np.asarray(w.numpy())
    return out


def random_input(model: Model, batch: int, seed: int = 0) -> np.ndarray:
    """A random float32 batch of the model's input shape."""
    rng = np.random.default_rng(seed)
    shape = (batch, *(model.input.output_shape or ()))
    return rng.standard_normal(shape).astype("float32")


def random_targets(model: Model, batch: int, seed: int = 1) -> np.ndarray:
    """Targets that suit the model's loss: labels, one-hot rows, 0/1 or real values."""
    rng = np.random.default_rng(seed)
    out = tuple(model.output_shape or ())
    loss = model.compile.kwargs.get("loss") if model.compile else None
    name = getattr(loss, "name", loss)
    if name == "sparse_categorical_crossentropy":
        return rng.integers(0, out[-1], size=(batch, *out[:-1]))
    if name == "categorical_crossentropy":
        return np.eye(out[-1], dtype="float32")[rng.integers(0, out[-1], size=(batch, *out[:-1]))]
    if name == "binary_crossentropy":
        return rng.integers(0, 2, size=(batch, *out)).astype("float32")
    return rng.standard_normal((batch, *out)).astype("float32")


def ruff(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ruff (the test extra installs it) with the project's configuration."""
    from conftest import require

    require("ruff")
    config = Path(__file__).resolve().parent.parent / "pyproject.toml"
    command = [sys.executable, "-m", "ruff", *args, "--config", str(config)]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, check=False)


def assert_ruff_clean(folder: Path) -> None:
    """``ruff format --check`` and ``ruff check`` pass on every file of ``folder``."""
    fmt = ruff("format", "--check", "--diff", str(folder))
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
    lint = ruff("check", "--no-cache", str(folder))
    assert lint.returncode == 0, lint.stdout + lint.stderr
