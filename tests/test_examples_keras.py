"""Every example agrees with real Keras: layer order, names, shapes, params, totals."""

from __future__ import annotations

import pytest
from conftest import EXAMPLES, require

import specc


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_matches_keras(path):
    require("tensorflow")
    from keras_reference import build_keras_model

    result = specc.load(path)
    assert result.errors == []
    for model in result.models:
        keras_model = build_keras_model(model)
        keras_layers = [lay for lay in keras_model.layers if type(lay).__name__ != "InputLayer"]
        assert [lay.name for lay in keras_layers] == [n.name for n in model.layers]
        for keras_layer, node in zip(keras_layers, model.layers, strict=True):
            assert tuple(keras_layer.output.shape[1:]) == node.output_shape, node.name
            assert keras_layer.count_params() == node.params, node.name
        assert keras_model.count_params() == model.total("params")
        non_trainable = sum(int(w.numpy().size) for w in keras_model.non_trainable_weights)
        assert non_trainable == model.total("non_trainable_params")
        assert tuple(keras_model.output.shape[1:]) == model.output_shape


def test_examples_exist_and_state_params():
    assert len(EXAMPLES) >= 7
    for path in EXAMPLES:
        assert "expect params ==" in path.read_text(), path
