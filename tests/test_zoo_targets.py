"""Every target computes the same function on every zoo model.

For each model of zoo/ (tests/zoo_reference.py), at a reduced input size
where the full one would only cost time (its spec with the ``input`` side
changed and the ``expect`` lines, which state the full size's counts, left
out): random weights (the initializers' draws, with biases and
BatchNormalization statistics perturbed so that every weight matters), one
random input, and three outputs: the Keras module ``specc keras`` generates,
built by Keras and loaded with the weights through its own ``load_weights``;
specc's ONNX graph in onnxruntime; and specc's numpy backend. Each pair agrees
within ``assert_agrees``'s float32 tolerance (tests/test_runtime_cases.py).
Large models are marked ``slow``; CI runs them too.
"""

from __future__ import annotations

import gc
import re
import zlib

import numpy as np
import pytest
from conftest import require
from test_keras_emit_common import import_source
from test_runtime_cases import _weights, assert_agrees
from zoo_reference import MODELS, ZooModel

from specc.check import check_source
from specc.emit.keras import emit_keras
from specc.ir.graph import Model
from specc.runtime import prepare
from specc.weights import save_weights

_INPUT = re.compile(r"^(\s*input )\d+x\d+x3\b", re.M)
_EXPECT = re.compile(r"^\s*expect .*\n", re.M)


def reduced_model(entry: ZooModel) -> Model:
    """The entry's model with a ``reduced x reduced`` input and no ``expect`` lines."""
    text = entry.path.read_text(encoding="utf-8")
    side = entry.reduced
    text = _EXPECT.sub("", _INPUT.sub(rf"\g<1>{side}x{side}x3", text))
    result = check_source(text, str(entry.path))
    assert result.diagnostics == [], [d.message for d in result.diagnostics]
    return result.model(entry.model)


def _cases() -> list:
    marks = {True: [pytest.mark.slow], False: []}
    return [pytest.param(entry, id=entry.id, marks=marks[entry.heavy]) for entry in MODELS]


@pytest.mark.parametrize("entry", _cases())
def test_targets_agree_on_zoo_model(entry: ZooModel, tmp_path):
    require("tensorflow")
    require("onnxruntime")
    model = reduced_model(entry)
    rng = np.random.default_rng(zlib.crc32(entry.model.encode()))
    weights = _weights(model, rng)
    x = rng.standard_normal((1, *model.input.output_shape)).astype(np.float32)

    numpy_out = prepare(model, weights, "numpy")(x)
    onnx_out = prepare(model, weights, "onnxruntime")(x)
    gc.collect()
    assert_agrees(onnx_out, numpy_out, f"{entry.model}: onnxruntime against numpy")

    keras = require("keras")
    keras.backend.clear_session()
    module = import_source(emit_keras(model, entry.path.name), tmp_path, entry.model)
    path = tmp_path / "weights.npz"
    save_weights(path, weights)
    del weights
    keras_model = module.load_weights(module.build_model(), str(path))
    keras_out = np.asarray(keras_model(x, training=False), dtype=np.float32)
    assert_agrees(keras_out, numpy_out, f"{entry.model}: generated Keras against numpy")
    assert np.ptp(numpy_out) > 0, "the output depends on the input"
