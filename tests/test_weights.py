"""Weights: initial values against Keras's own initializers; .npz load, checks and save.

Distributions are compared statistically with arrays Keras's initializers
draw for the same shape (mean, standard deviation, bounds); constant ones must
be equal. Loading refuses every mismatch with a located diagnostic.
"""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from conftest import EXAMPLES, require

import specc
from specc.check import check_source
from specc.diagnostics import SpeccError
from specc.ir.values import FnValue
from specc.weights import (
    compute_fans,
    init_weights,
    initial_value,
    load_weights,
    save_weights,
)

RANDOM = [
    FnValue("glorot_uniform"),
    FnValue("glorot_normal"),
    FnValue("he_uniform"),
    FnValue("he_normal"),
    FnValue("lecun_uniform"),
    FnValue("lecun_normal"),
    FnValue("random_normal", (("mean", 0.5), ("stddev", 0.2))),
    FnValue("random_uniform", (("minval", -0.3), ("maxval", 0.1))),
    FnValue("truncated_normal", (("mean", -1.0), ("stddev", 0.3))),
    FnValue("random_normal"),
    FnValue("orthogonal", (("gain", 2.0),)),
    FnValue("variance_scaling"),
    FnValue(
        "variance_scaling",
        (("scale", 2.0), ("mode", "fan_out"), ("distribution", "truncated_normal")),
    ),
    FnValue(
        "variance_scaling",
        (("scale", 1.0 / 3.0), ("mode", "fan_out"), ("distribution", "uniform")),
    ),
    FnValue(
        "variance_scaling",
        (("scale", 0.5), ("mode", "fan_avg"), ("distribution", "untruncated_normal")),
    ),
]
CONSTANT = [
    FnValue("zeros"),
    FnValue("ones"),
    FnValue("constant", (("value", 0.25),)),
    FnValue("identity", (("gain", 3.0),)),
]
SHAPES = [(3, 3, 16, 32), (200, 100), (5, 5, 64, 1)]

SPEC = """
model m {
  input 8x8x3
  conv2d 4 3 name=a
  %s
  batchnorm name=n
  flatten
  dense 2 name=b
}
"""


def keras_array(init: FnValue, shape: tuple[int, ...]) -> np.ndarray:
    """What Keras's initializer draws for ``shape`` (seeded, so the test is repeatable)."""
    require("tensorflow")
    from keras_reference import keras_value

    from specc.ir.values import INITIALIZERS

    if "seed" in INITIALIZERS[init.name]:
        init = FnValue(init.name, (*init.kwargs, ("seed", 1)))
    return np.asarray(keras_value(init)(shape))


def model_of(text: str):
    result = check_source(text, "m.cnn")
    assert result.errors == [], result.errors
    return result.models[0]


def test_fans_match_keras():
    require("tensorflow")
    from keras.src.initializers.random_initializers import compute_fans as keras_fans

    for shape in [(7,), (4, 9), (3, 3, 16, 32), (2, 5, 3, 8), (1, 1, 64, 10)]:
        assert compute_fans(shape) == keras_fans(shape)


@pytest.mark.parametrize("init", RANDOM, ids=lambda i: f"{i.name}{dict(i.kwargs)}")
def test_random_initializers_match_keras_statistically(init):
    for shape in SHAPES:
        if init.name == "orthogonal" and shape[-1] == 1:
            continue
        ours = initial_value(init, shape, np.random.default_rng(0)).astype(np.float32)
        keras = keras_array(init, shape)
        assert ours.shape == keras.shape
        # Both are samples: allow five standard errors of each statistic.
        spread, n = float(keras.std()), keras.size
        assert abs(ours.std() - spread) <= 5 * spread / np.sqrt(2 * n), (shape, ours.std())
        assert abs(ours.mean() - keras.mean()) <= 5 * spread * np.sqrt(2 / n), shape
        if (
            init.name.endswith("uniform")
            or "truncated" in init.name
            or init.name
            in (
                "glorot_normal",
                "he_normal",
                "lecun_normal",
            )
        ):
            # Bounded: uniform limits, or two standard deviations when truncated.
            width = float(keras.max() - keras.min())
            assert ours.min() >= keras.min() - 0.05 * width
            assert ours.max() <= keras.max() + 0.05 * width
            assert ours.max() - ours.min() >= 0.9 * width


def test_orthogonal_is_orthogonal_as_keras():
    init = FnValue("orthogonal", (("gain", 2.0),))
    for shape in [(3, 3, 4, 8), (20, 6), (6, 20)]:
        ours = initial_value(init, shape, np.random.default_rng(1)).reshape(-1, shape[-1])
        keras = keras_array(init, shape).reshape(-1, shape[-1])
        for q in (ours, keras):
            small = q.T @ q if q.shape[0] >= q.shape[1] else q @ q.T
            np.testing.assert_allclose(small, 4.0 * np.eye(len(small)), atol=1e-4)


@pytest.mark.parametrize("init", CONSTANT, ids=lambda i: i.name)
def test_constant_initializers_equal_keras(init):
    shape = (6, 4)
    ours = initial_value(init, shape, np.random.default_rng(0)).astype(np.float32)
    np.testing.assert_array_equal(ours, keras_array(init, shape))


def test_keras_refusals_are_located_errors():
    for bad in ("bias_initializer=orthogonal", "kernel_initializer=identity"):
        model = model_of(SPEC.replace("conv2d 4 3 name=a", f"conv2d 4 3 name=a {bad}") % "")
        with pytest.raises(SpeccError) as info:
            init_weights(model)
        (diag,) = info.value.diagnostics
        assert diag.code == "E107" and diag.span.line == 4
        init = FnValue(bad.split("=")[1])
        shape = (4,) if "bias" in bad else (3, 3, 3, 4)
        with pytest.raises(ValueError):
            keras_array(init, shape)


def test_init_is_reproducible_float32_and_independent_of_other_layers():
    model = model_of(SPEC % "")
    first = init_weights(model, seed=4)
    again = init_weights(model, seed=4)
    other = init_weights(model, seed=5)
    expected = [f"{n.name}/{w.name}" for n in model.layers for w in n.weights]
    assert list(first) == expected
    for node in model.layers:
        for w in node.weights:
            array = first[f"{node.name}/{w.name}"]
            assert array.dtype == np.float32 and array.shape == w.shape
    assert all(np.array_equal(first[k], again[k]) for k in first)
    assert not np.array_equal(first["a/kernel"], other["a/kernel"])
    # One more layer before 'n' and 'b' leaves the weights of 'a', 'n' and 'b' as they were.
    wider = init_weights(model_of(SPEC % "conv2d 4 1 name=z padding=same"), seed=4)
    assert "z/kernel" in wider
    for key in ("a/kernel", "b/kernel", "n/gamma"):
        np.testing.assert_array_equal(wider[key], first[key])


def test_every_example_initializes_its_ir_weights():
    for path in EXAMPLES:
        model = specc.load(path).model()
        weights = init_weights(model)
        assert sum(a.size for a in weights.values()) == model.total("params")


def test_save_is_deterministic_and_loads_back(tmp_path):
    model = model_of(SPEC % "")
    weights = init_weights(model, seed=1)
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    save_weights(a, weights)
    save_weights(b, init_weights(model, seed=1))
    assert a.read_bytes() == b.read_bytes()
    with np.load(a, allow_pickle=False) as data:
        assert list(data.files) == list(weights)
    loaded = load_weights(a, model)
    assert list(loaded) == list(weights)
    assert all(np.array_equal(loaded[k], weights[k]) for k in weights)
    # Any float dtype is accepted and given as float32.
    np.savez(tmp_path / "f64.npz", **{k: v.astype(np.float64) for k, v in weights.items()})
    assert all(v.dtype == np.float32 for v in load_weights(tmp_path / "f64.npz", model).values())


def _diagnostics(path, model) -> list:
    with pytest.raises(SpeccError) as info:
        load_weights(path, model)
    return info.value.diagnostics


def test_load_refuses_what_does_not_fit(tmp_path):
    model = model_of(SPEC % "")
    weights = init_weights(model)
    weights.pop("a/bias")
    weights["b/kernel"] = np.zeros((3, 3), np.float32)
    weights["n/beta"] = np.arange(4, dtype=np.int32)
    weights["n/gamma"] = np.array([1, np.nan, 1, 1], np.float32)
    weights["n/moving_mean"] = np.array([1e300, 0, 0, 0])  # inf as float32
    weights["a/extra"] = np.zeros(1, np.float32)
    weights["ghost/kernel"] = np.zeros(1, np.float32)
    path = tmp_path / "bad.npz"
    np.savez(path, **weights)
    found = {(d.code, d.span.line): d.message for d in _diagnostics(path, model)}
    assert set(found) == {
        ("E502", 4),
        ("E504", 8),
        ("E505", 6),
        ("E503", 4),
        ("E503", 2),
    }
    assert "(3, 3)" in found[("E504", 8)] and "(144, 2)" in found[("E504", 8)]
    assert "'b'" in found[("E504", 8)] and "b/kernel" in found[("E504", 8)]
    assert "a/bias" in found[("E502", 4)] and "ghost/kernel" in found[("E503", 2)]
    codes = [d.code for d in _diagnostics(path, model)]
    assert codes.count("E505") == 3  # int, NaN, and a float64 that overflows float32


def test_unreadable_files_are_e501(tmp_path):
    model = model_of(SPEC % "")
    good = tmp_path / "good.npz"
    save_weights(good, init_weights(model))
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    text = tmp_path / "text.npz"
    text.write_text("not weights\n")
    npy = tmp_path / "one.npy"
    np.save(npy, np.zeros(3))
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, **{"a/kernel": np.array([object()], dtype=object)})
    corrupt = tmp_path / "corrupt.npz"
    data = bytearray(good.read_bytes())
    data[200:400] = b"\xff" * 200
    corrupt.write_bytes(bytes(data))
    for path in (tmp_path / "missing.npz", tmp_path, truncated, text, npy, corrupt):
        (diag,) = _diagnostics(path, model)
        assert diag.code == "E501", (path, diag)
        assert (diag.span.file, diag.span.line) == (str(path), 1)
        # a sentence, never an exception's class name ("BadZipFile: ...", "ValueError: ...")
        assert not re.search(r"[A-Z][a-z]+[A-Z]\w*|Error|Exception", diag.message), diag.message
    # an object array is read as far as its header, and refused for its dtype
    (diag,) = [d for d in _diagnostics(pickled, model) if "a/kernel" in d.message]
    assert diag.code == "E505" and "dtype object" in diag.message
    assert zipfile.is_zipfile(good)


def _specc(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "specc.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_cli_init(tmp_path):
    spec = tmp_path / "m.cnn"
    spec.write_text(SPEC % "")
    out = tmp_path / "w.npz"
    run = _specc("init", str(spec), "-o", str(out), "--seed", "9")
    assert run.returncode == 0, run.stderr
    model = model_of(SPEC % "")
    loaded = load_weights(out, model)
    expected = init_weights(model, seed=9)
    assert all(np.array_equal(loaded[k], expected[k]) for k in expected)
    bad = tmp_path / "bad.cnn"
    bad.write_text("model m {\n  input 4x4x1\n  conv2d 4 5x5\n}\n")
    run = _specc("init", str(bad), "-o", str(tmp_path / "x.npz"))
    assert run.returncode == 1 and "E201" in run.stderr
    refused = tmp_path / "refused.cnn"
    refused.write_text("model m {\n  input 4x4x1\n  conv2d 4 3 kernel_initializer=identity\n}\n")
    run = _specc("init", str(refused), "-o", str(tmp_path / "x.npz"))
    assert run.returncode == 1 and "refused.cnn:3:3: error[E107]" in run.stderr
    assert _specc("init", str(spec), "-o", str(tmp_path / "x.npz"), "--seed", "-1").returncode == 2
    assert not (tmp_path / "x.npz").exists()
