"""Blocks that compute write keras.applications models exactly, layer by layer.

The specs in tests/specs/ use composed names (``name=name+"_1_conv"``),
``for`` loops, ``def`` functions (MobileNetV2's ``_make_divisible`` and
``correct_pad``), ``if``/``else`` and the current tensor's shape
(DenseNet's ``int(channels() * reduction)``). Each is compared with the model
keras.applications builds (``weights=None``): every layer's name, class,
output shape and parameter count, the totals, and the configuration of every
layer of the Keras module specc generates.
"""

from __future__ import annotations

import pytest
from conftest import ROOT, require
from test_keras_emit_common import import_source, keras_layers

import specc
from specc.check import check_source
from specc.emit.keras import emit_keras
from specc.ir.layers import lookup

SPECS = ROOT / "tests" / "specs"
# Config keys that name the layer or its dtype policy, not what it computes.
_IGNORED = ("name", "dtype")


def _spec_models(file: str):
    result = check_source((SPECS / file).read_text(encoding="utf-8"), file)
    assert result.diagnostics == [], [d.message for d in result.diagnostics]
    return {model.name: model for model in result.models}


def _config(layer, rank: int) -> dict:
    """A layer's config without its name; ``axis=-1`` and ``axis=3`` are one axis."""
    config = {k: v for k, v in layer.get_config().items() if k not in _IGNORED}
    if isinstance(config.get("axis"), int):
        config["axis"] %= rank
    return config


def _keras_class(entry: dict) -> str:
    return lookup(entry["kind"]).keras_class


def assert_same_as_application(
    model, application, folder, relu6_as_relu_layer: bool = False
) -> None:
    """The spec's summary and generated module against a keras.applications model."""
    keras = require("keras")
    summary = specc.summary(model)
    built = keras_layers(application)
    assert [lay.name for lay in built] == [e["name"] for e in summary["layers"]]
    for lay, entry in zip(built, summary["layers"], strict=True):
        expected = type(lay).__name__
        if relu6_as_relu_layer and expected == "ReLU":
            assert lay.max_value == 6.0 and entry["kind"] == "activation", lay.name
        else:
            assert _keras_class(entry) == expected, lay.name
        assert list(lay.output.shape[1:]) == list(entry["output_shape"]), lay.name
        assert lay.count_params() == entry["params"], lay.name
    assert application.count_params() == summary["params"]
    generated = import_source(emit_keras(model), folder, "app")
    ours = {lay.name: lay for lay in keras_layers(generated.build_model())}
    for lay in built:
        if isinstance(lay, keras.layers.ReLU) and relu6_as_relu_layer:
            continue
        rank = len(lay.output.shape)
        mine = _config(ours[lay.name], rank)
        assert mine == _config(lay, rank), lay.name


@pytest.mark.keras
def test_resnet50_with_composed_names_and_for_loops(tmp_path):
    keras = require("keras")
    keras.backend.clear_session()
    application = keras.applications.ResNet50(weights=None)
    assert_same_as_application(_spec_models("resnet50.cnn")["resnet50"], application, tmp_path)


@pytest.mark.keras
@pytest.mark.parametrize(("alpha", "name"), [(0.35, "mobilenetv2_0_35"), (1.4, "mobilenetv2_1_40")])
def test_mobilenet_v2_widths_from_make_divisible(alpha, name, tmp_path):
    keras = require("keras")
    keras.backend.clear_session()
    application = keras.applications.MobileNetV2(alpha=alpha, weights=None)
    model = _spec_models("mobilenet_v2.cnn")[name]
    assert_same_as_application(model, application, tmp_path, relu6_as_relu_layer=True)


@pytest.mark.keras
def test_densenet121_transition_halves_the_channels_it_receives(tmp_path):
    keras = require("keras")
    keras.backend.clear_session()  # Keras's automatic names (zero_padding2d) restart
    application = keras.applications.DenseNet121(weights=None)
    model = _spec_models("densenet121.cnn")["densenet121"]
    assert_same_as_application(model, application, tmp_path)


@pytest.mark.keras
def test_nasnet_normal_cells_branch_from_the_previous_cells_tensor(tmp_path):
    """Keras's own cell function builds the reference: paths from @p, merges of named tensors."""
    keras = require("keras")
    from keras.src.applications import nasnet

    keras.backend.clear_session()
    inputs = keras.Input((16, 16, 24))
    p = keras.layers.Conv2D(32, 1, name="stem_p")(inputs)
    ip = keras.layers.Conv2D(44, 1, name="stem_ip")(p)
    x, p = nasnet._normal_a_cell(ip, p, 44, block_id="0")
    x, _ = nasnet._normal_a_cell(x, p, 44, block_id="1")
    reference = keras.Model(inputs, x, name="nasnet_cells")
    model = _spec_models("nasnet_cells.cnn")["nasnet_cells"]
    assert_same_as_application(model, reference, tmp_path)
