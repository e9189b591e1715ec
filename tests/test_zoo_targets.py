"""Every target computes the same function on every zoo model.

For each model of zoo/ (tests/zoo_reference.py), at a reduced input size
where the full one would only cost time (its spec with the ``input`` side
changed and the ``expect`` lines, which state the full size's counts, left
out): random weights under which the network is well conditioned (tests/zoo_weights.py:
perturbed, residual branches scaled down, normalization statistics those of a
batch), one random image, and three outputs: the Keras module ``specc keras``
generates, built by Keras and loaded with the weights through its own
``load_weights``; specc's ONNX graph in onnxruntime; and specc's numpy
backend. They are compared on the logits: the classifier's softmax is made
linear, since a saturated softmax hides the logits' differences and a flat
one shrinks them.

Tolerance: rtol 1e-5, and an atol of 1e-5 x the logits' scale or, when
larger, the float32 reassociation bound of tests/test_runtime_cases.py
(``reassociation_atol``): the targets add each dot product's terms in
different orders (oneDNN, MLAS, OpenBLAS), and over a hundred layers those
roundings add up to more than 1e-5 of the logits. A wrong weight layout,
padding or axis moves outputs by their scale.
Large models are marked ``slow``; CI runs them too.
"""

from __future__ import annotations

import gc
import re
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import require
from test_keras_emit_common import import_source
from test_runtime_cases import reassociation_atol, reduction_lengths
from zoo_reference import MODELS, ZooModel
from zoo_weights import calibrate, pixels, random_weights

from specc.check import check_source
from specc.emit.keras import emit_keras
from specc.ir.graph import Model
from specc.runtime import prepare
from specc.weights import load_weights, save_weights

_INPUT = re.compile(r"^(\s*input )\d+x\d+x3\b", re.M)
_EXPECT = re.compile(r"^\s*expect .*\n", re.M)


def reduced_model(entry: ZooModel, side: int | None = None) -> Model:
    """The entry's model with a ``side x side`` input (``entry.reduced``), no ``expect``
    lines, and its classifier's softmax made linear (the logits)."""
    text = entry.path.read_text(encoding="utf-8")
    side = side or entry.reduced
    text = _EXPECT.sub("", _INPUT.sub(rf"\g<1>{side}x{side}x3", text))
    result = check_source(text, str(entry.path))
    assert result.diagnostics == [], [d.message for d in result.diagnostics]
    model = result.model(entry.model)
    classifier = model.nodes[model.output]
    assert classifier.layer.activation == "softmax", classifier.name
    classifier.layer = classifier.layer.model_copy(update={"activation": "linear"})
    return model


def assert_close(actual: np.ndarray, expected: np.ndarray, model: Model, what: str) -> None:
    """Agreement within float32 rounding of ``model``'s whole computation (see above),
    relative to the logits' scale."""
    assert actual.shape == expected.shape and actual.dtype == np.float32, what
    scale = float(np.abs(expected).max())
    bound = reassociation_atol(reduction_lengths(model), expected / scale) * scale
    np.testing.assert_allclose(
        actual, expected, rtol=1e-5, atol=max(1e-5 * scale, bound), err_msg=what
    )


def _cases() -> list:
    marks = {True: [pytest.mark.slow], False: []}
    return [pytest.param(entry, id=entry.id, marks=marks[entry.heavy]) for entry in MODELS]


def keras_output(module, model: Model, x: np.ndarray, path, rng, calibrated: bool):
    """The generated module's output for ``x`` with the weights saved at ``path``
    (loaded through its own ``load_weights``), and, when asked, the weights with
    the normalization statistics calibrated."""
    keras = require("keras")
    keras.backend.clear_session()
    keras_model = module.load_weights(module.build_model(), str(path))
    weights = calibrate(keras_model, model, rng) if calibrated else None
    out = np.asarray(keras_model(x, training=False), dtype=np.float32)
    del keras_model
    keras.backend.clear_session()
    gc.collect()
    return out, weights


@pytest.mark.parametrize("entry", _cases())
def test_targets_agree_on_zoo_model(entry: ZooModel, tmp_path):
    require("tensorflow")
    require("onnxruntime")
    check_targets(entry.model, tmp_path)


def check_targets(name: str, folder: str | Path) -> None:
    """The three targets agree on the zoo model ``name`` (files go in ``folder``)."""
    (entry,) = [e for e in MODELS if e.model == name]
    tmp_path = Path(folder)
    model = reduced_model(entry)
    rng = np.random.default_rng(zlib.crc32(entry.model.encode()))
    x = pixels(rng, (1, *model.input.output_shape))
    module = import_source(emit_keras(model, entry.path.name), tmp_path, entry.model)
    path = tmp_path / "weights.npz"
    save_weights(path, random_weights(model, rng))
    # Keras calibrates the normalization statistics first where there are any;
    # otherwise it runs last, since TensorFlow keeps the memory it took and
    # ConvNeXtXLarge's weights alone are 1.4 GB.
    keras_out = None
    if any(node.kind == "batchnormalization" for node in model.layers):
        keras_out, weights = keras_output(module, model, x, path, rng, calibrated=True)
        save_weights(path, weights)
    else:
        weights = load_weights(path, model)

    run_numpy = prepare(model, weights, "numpy")
    numpy_out = run_numpy(x)
    other = run_numpy(pixels(rng, x.shape))
    del run_numpy
    change = float(np.abs(other - numpy_out).max() / np.abs(numpy_out).max())
    assert change > 0.02, f"the logits hardly depend on the input ({change:.1%})"
    onnx_out = prepare(model, weights, "onnxruntime")(x)
    del weights
    gc.collect()
    assert_close(onnx_out, numpy_out, model, f"{entry.model}: onnxruntime against numpy")

    if keras_out is None:
        keras_out, _ = keras_output(module, model, x, path, rng, calibrated=False)
    assert_close(keras_out, numpy_out, model, f"{entry.model}: generated Keras against numpy")
