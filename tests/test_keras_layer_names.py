"""A Keras layer that specc lacks is said to be unsupported, never taken for another layer.

The lists of :mod:`specc.syntax.keras_layers` are checked against the installed
``keras.layers``, so they stay true when Keras or specc gains a layer.
"""

from __future__ import annotations

import inspect

import pytest
from conftest import require

from specc.check import check_source
from specc.ir.layers import LAYER_CLASSES, lookup
from specc.syntax.keras_layers import KERAS_ALIASES, UNSUPPORTED_KERAS_LAYERS


@pytest.mark.keras
def test_every_keras_layer_class_is_supported_an_alias_or_listed():
    keras = require("keras")
    supported = {getattr(keras.layers, cls.keras_class) for cls in LAYER_CLASSES}
    aliases = {
        name: obj
        for name in dir(keras.layers)
        if inspect.isclass(obj := getattr(keras.layers, name)) and obj in supported
        if name != obj.__name__
    }
    lacking = {
        name
        for name in dir(keras.layers)
        if inspect.isclass(obj := getattr(keras.layers, name))
        and issubclass(obj, keras.layers.Layer)
        and obj not in supported
    }
    assert set(UNSUPPORTED_KERAS_LAYERS) == lacking
    assert set(KERAS_ALIASES) == {name.lower() for name in aliases}
    for name, obj in aliases.items():
        assert getattr(keras.layers, lookup(KERAS_ALIASES[name.lower()]).keras_class) is obj


def _only_diagnostic(statement: str):
    source = f"model m {{\n  input 8x8x3\n  {statement}\n  flatten\n  dense 2\n}}\n"
    [d] = check_source(source, "m.cnn").diagnostics
    assert (d.code, d.span.line, d.span.column) == ("E102", 3, 3)
    return d


@pytest.mark.parametrize(
    ("statement", "keras_name"),
    [
        ("rmsnormalization", "RMSNormalization"),
        ("cropping1d 1", "Cropping1D"),
        ("GaussianNoise", "GaussianNoise"),
        ("SpatialDropout1D 0.1", "SpatialDropout1D"),
    ],
)
def test_a_keras_layer_specc_lacks_is_not_supported(statement, keras_name):
    d = _only_diagnostic(statement)
    assert d.message.endswith(f"is Keras's {keras_name} layer, which specc does not support")
    assert "did you mean" not in d.message


@pytest.mark.parametrize(
    ("statement", "keras_name"),
    [("rmsnormalizaton", "RMSNormalization"), ("cropping3", "Cropping3D")],
)
def test_a_misspelt_keras_layer_specc_lacks_is_not_offered_another(statement, keras_name):
    d = _only_diagnostic(statement)
    assert f"it looks like Keras's {keras_name}, which specc does not support" in d.message
    assert "did you mean" not in d.message


def test_a_misspelt_supported_layer_still_gets_a_suggestion():
    assert "did you mean 'batchnormalization'?" in _only_diagnostic("batchnormalizaton").message


def test_keras_alias_names_point_at_the_specc_kind():
    d = _only_diagnostic("MaxPool2D")
    assert "other name for MaxPooling2D; specc calls it maxpooling2d" in d.message
