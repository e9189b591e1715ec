"""The activation, normalization and reshaping kinds against real Keras and onnxruntime.

Each kind of ``specc/ir/layers_activation.py``, ``layers_norm.py`` and
``layers_reshape.py`` is written out below with its options. Keras, not
specc, is the ground truth: its constructor signatures give the defaults; the
Keras model built from the IR gives every output shape, parameter count and
weight (name, shape, order); the generated Keras module must build the same
summary; and with the same weights and input, the generated module, the numpy
and TensorFlow backends and the ONNX graph in onnxruntime (after
``onnx.checker`` and strict shape inference) compute Keras's output to 1e-5.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import require
from test_runtime_cases import assert_agrees, make_case

from specc.check import check_source
from specc.diagnostics import SpeccError
from specc.ir import layers_activation, layers_norm, layers_reshape
from specc.ir.layers import LAYER_CLASSES

NEW_CLASSES = [
    cls
    for cls in LAYER_CLASSES
    if cls.__module__ in (m.__name__ for m in (layers_activation, layers_norm, layers_reshape))
]

SPECS = """
model activations { input 6x7x4
  rescaling 3 name=x
  concatenate {
    path { relu_layer }
    path { relu_layer 2.5 }
    path { relu_layer 6 }
    path { relu_layer negative_slope=0.2 }
    path { relu_layer threshold=1.5 }
    path { relu_layer 4 negative_slope=0.1 threshold=0.5 }
    path { relu_layer 6 negative_slope=0.3 }
    path { leakyrelu }
    path { leakyrelu 0.05 }
    path { prelu }
    path { prelu shared_axes=(1, 2) alpha_initializer=random_normal(stddev=0.5) }
    path { prelu shared_axes=3 }
    path { elu_layer }
    path { elu_layer 0.4 }
  } }
model activation_vectors { input 3x5
  prelu shared_axes=1
  flatten
  elu_layer alpha=2
  relu_layer max_value=0.5
  softmax_layer }
model softmaxes { input 5x4x3
  concatenate {
    path { softmax_layer }
    path { softmax_layer 1 }
    path { softmax_layer axis=(1, 2) }
    path { softmax_layer (-1, 1) }
    path { softmax_layer (1, 2, 3) }
  } }
model rescalings { input 5x5x3
  rescaling 0.0078125 offset=-1
  rescaling (0.5, 1.0, 2.0) offset=(0.1, 0.2, 0.3)
  rescaling 2 (1, 2, 3)
  rescaling scale=(0.25,) offset=0.5 }
model normalizations { input 4x5x3
  concatenate {
    path { normalization }
    path { normalization axis=(1, 3) }
    path { normalization axis=none }
    path { normalization 2 invert=true }
    path { normalization mean=0.5 variance=4 }
    path { normalization mean=(0.485, 0.456, 0.406) variance=(0.052, 0.05, 0.051) }
    path { normalization axis=2 mean=(1, 2, 3, 4, 5) variance=(1, 2, 3, 4, 0) invert=true }
    path { normalization axis=(1, -1) }
  } }
model normalization_vector { input 7
  normalization
  normalization axis=none mean=1 variance=2 }
model layernorms { input 4x5x6
  concatenate {
    path { layernorm }
    path { layernormalization axis=(1, 2, 3) epsilon=0.01 }
    path { layernorm (-1, 1) center=false }
    path { layernorm 2 scale=false }
    path { layernorm axis=(3, 1) gamma_initializer=random_normal(mean=1, stddev=0.2) }
  } }
model layernorm_vector { input 12
  dense 8
  layernormalization
  layernormalization center=false scale=false }
model groupnorms { input 4x5x6
  concatenate {
    path { groupnorm 3 }
    path { groupnormalization -1 }
    path { groupnorm 1 center=false }
    path { groupnorm 2 axis=1 epsilon=0.1 }
    path { groupnorm 6 scale=false beta_initializer=ones }
  } }
model groupnorm_vector { input 3x8
  groupnorm 4
  groupnorm 3 axis=1 }
model unitnorms { input 4x5x6
  concatenate {
    path { unitnorm }
    path { unitnormalization axis=(1, 2) }
    path { unitnorm (1, 2, 3) }
  } }
model croppings { input 9x8x3
  cropping2d ((1, 2), (0, 3))
  crop 1
  crop (1, 0)
  spatialdropout2d 0.3 seed=3
  identity
  permute (2, 1, 3)
  conv2d 4 2x2
  permute (3, 1, 2)
  identity name=end }
model permute_matrix { input 3x5
  permute (2, 1)
  dense 4 }
model resizings { input 9x7x2
  concatenate {
    path { resizing 5 4 }
    path { resizing 5 4 interpolation=nearest }
    path { resizing 5 4 interpolation=bicubic }
    path { resizing 5 4 antialias=true }
    path { resizing 5 4 interpolation=bicubic antialias=true }
    path { resizing 5 4 crop_to_aspect_ratio=true }
    path { resizing 5 4 pad_to_aspect_ratio=true fill_value=0.5 }
    path { resizing 5 4 interpolation=nearest crop_to_aspect_ratio=true }
  } }
model resizing_up { input 3x4x2
  concatenate {
    path { resizing 7 10 }
    path { resize 7 10 interpolation=nearest }
    path { resizing 7 10 interpolation=bicubic }
    path { resizing 7 10 interpolation=bilinear antialias=true }
    path { resizing 7 10 pad_to_aspect_ratio=true }
    path { resizing 7 10 crop_to_aspect_ratio=true interpolation=bicubic }
  } }
model resizings_matrices { input 9x6x2
  concatenate {
    path { resizing 4 5 interpolation=area }
    path { resizing 4 5 interpolation=lanczos3 }
    path { resizing 4 5 interpolation=lanczos5 }
    path { resizing 4 5 interpolation=lanczos3 antialias=true }
    path { resizing 4 5 interpolation=lanczos5 antialias=true crop_to_aspect_ratio=true }
  } }
model upsizings_matrices { input 3x4x2
  concatenate {
    path { resizing 7 10 interpolation=area }
    path { resizing 7 10 interpolation=lanczos3 }
    path { resizing 7 10 interpolation=lanczos5 antialias=true }
  } }
"""
NOT_IN_ONNX: set[str] = set()  # every Resizing method is expressible (as matrices)


def _models():
    result = check_source(SPECS, "new_kinds.cnn")
    assert result.errors == [], result.errors
    return result.models


MODELS = {model.name: model for model in _models()}


def test_every_new_kind_is_written_out():
    kinds = {node.kind for model in MODELS.values() for node in model.layers}
    assert {cls.kind for cls in NEW_CLASSES} <= kinds
    assert len(NEW_CLASSES) == 15


@pytest.mark.parametrize("cls", NEW_CLASSES, ids=lambda c: c.kind)
def test_defaults_are_keras_constructor_defaults(cls):
    """Every field is a parameter of the Keras class, with Keras's default (or none)."""
    keras = require("keras")
    signature = inspect.signature(getattr(keras.layers, cls.keras_class).__init__)
    params = signature.parameters
    takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in params.values())
    for name, info in cls.model_fields.items():
        if name == "trainable":
            assert takes_kwargs or cls.kind == "spatialdropout2d", cls.keras_class
            continue
        assert name in params, f"{cls.keras_class} has no parameter {name}"
        default = params[name].default
        if default is inspect.Parameter.empty:
            assert info.is_required(), f"{cls.keras_class}.{name} has no default in Keras"
            continue
        assert not info.is_required(), f"{cls.keras_class}.{name} defaults to {default!r}"
        ours = info.default
        ours = getattr(ours, "name", ours)  # initializers: FnValue("zeros") is "Zeros"
        if isinstance(default, str) and isinstance(ours, str):
            default, ours = default.lower(), ours.lower()
        assert ours == default, f"{cls.keras_class}.{name}: {ours!r} != Keras's {default!r}"
    required = [
        n
        for n, p in params.items()
        if n != "self"
        and p.default is inspect.Parameter.empty
        and p.kind is p.POSITIONAL_OR_KEYWORD
    ]
    assert [n for n in required if n not in cls.model_fields] == []


@pytest.mark.parametrize("name", list(MODELS))
def test_keras_builds_the_same_layers(name):
    """Keras's own shapes, parameter counts, weights and automatic names are specc's."""
    require("tensorflow")
    import keras
    from test_differential_keras import _build, _compare

    keras.backend.clear_session(free_memory=False)
    model = MODELS[name]
    _compare(0, name, model, _build(model, written=None))


@pytest.fixture(scope="module")
def cases():
    require("tensorflow")
    return {name: make_case(name, model, seed=i) for i, (name, model) in enumerate(MODELS.items())}


@pytest.mark.parametrize("backend", ["numpy", "tensorflow", "onnxruntime"])
def test_backends_compute_what_keras_computes(cases, backend):
    from specc.runtime import prepare

    if backend == "onnxruntime":
        require("onnxruntime")
    failures = []
    for name, case in cases.items():
        if backend == "onnxruntime" and name in NOT_IN_ONNX:
            with pytest.raises(SpeccError) as refusal:
                prepare(case.model, case.weights, backend)
            assert refusal.value.diagnostics[0].code == "E605"
            continue
        try:
            out = prepare(case.model, case.weights, backend)(case.x)
            assert_agrees(out, case.expected, f"{backend} on {name}")
        except Exception as exc:  # one report names every failing model
            failures.append(f"{name}: {type(exc).__name__}: {str(exc)[:600]}")
    assert not failures, "\n".join(failures)


def test_onnx_graphs_pass_the_checker_and_shape_inference(cases):
    require("onnx")
    from test_onnx import check_graph

    from specc.emit.onnx import emit_onnx

    for name, case in cases.items():
        if name not in NOT_IN_ONNX:
            check_graph(emit_onnx(case.model, case.weights), case.model)


def test_generated_keras_modules_build_and_compute_the_same(cases, tmp_path):
    from test_keras_emit_common import assert_matches_summary, emit_and_import

    for name, case in cases.items():
        module = emit_and_import(case.model, tmp_path, f"{name}.cnn")
        keras_model = module.build_model()
        assert_matches_summary(keras_model, case.model)
        np.savez(tmp_path / "w.npz", **case.weights)
        module.load_weights(keras_model, str(tmp_path / "w.npz"))
        got = np.asarray(keras_model(case.x, training=False), dtype=np.float32)
        assert_agrees(got, case.expected, f"generated module of {name}")


def _labels(text: str) -> list[str]:
    """Completion labels at the end of ``text`` (the last line is the one being typed)."""
    from lsprotocol import types as lsp

    from specc.lsp.completion import completion
    from specc.lsp.document import Document

    doc = Document("file:///k.cnn", "/k.cnn")
    doc.update(text)
    end = lsp.Position(line=len(doc.lines) - 1, character=len(doc.lines[-1]))
    return [item.label for item in completion(doc, end).items]


def test_language_server_completes_the_new_kinds_and_their_parameters():
    require("pygls")
    model = "model m {\n  input 8x8x3\n  "
    heads = _labels(model)
    assert {cls.kind for cls in NEW_CLASSES} <= set(heads)
    assert {"layernorm", "groupnorm", "crop", "resize"} <= set(heads)
    assert {"relu", "elu", "softmax"} <= set(heads)  # the activations, as before
    assert {"max_value=", "negative_slope=", "threshold="} <= set(_labels(model + "relu_layer "))
    assert "shared_axes=" in _labels(model + "PReLU ")
    resizing = set(_labels(model + "resizing 4 4 "))
    assert {"interpolation=", "antialias=", "crop_to_aspect_ratio=", "fill_value="} <= resizing
    assert "lanczos5" in _labels(model + "resizing 4 4 interpolation=")
    assert set(_labels(model + "resizing 4 4 antialias=")) == {"true", "false"}
    assert _labels(model + "resizing 4 4 fill_mode=") == ["constant"]
    assert "gamma_initializer=" in _labels(model + "LayerNormalization ")


DOCS = Path(__file__).resolve().parent.parent / "docs" / "layers-new.md"
# The page's stems of Keras Applications models, with the function that builds each.
APPLICATION_STEMS = {
    "efficientnet_b0_stem": "EfficientNetB0",
    "convnext_tiny_stem": "ConvNeXtTiny",
    "mobilenet_v3_small_stem": "MobileNetV3Small",
    "mobilenet_v2_stem": "MobileNetV2",
}


def _docs_models() -> dict:
    blocks = re.findall(r"```cnn\n(.*?)```", DOCS.read_text(), re.S)
    assert len(blocks) >= 5
    models = {}
    for block in blocks:
        result = check_source(block, "layers-new.md")
        assert result.diagnostics == [], (block, result.diagnostics)
        models.update({model.name: model for model in result.models})
    return models


def test_docs_page_examples_check_and_hold_their_expectations():
    models = _docs_models()
    assert set(APPLICATION_STEMS) <= set(models)
    kinds = {node.kind for model in models.values() for node in model.layers}
    assert {cls.kind for cls in NEW_CLASSES} <= kinds


@pytest.mark.parametrize("name", list(APPLICATION_STEMS))
def test_docs_stems_are_the_first_layers_of_keras_applications(name):
    """Each stem on the page is, layer by layer, how Keras Applications' model begins."""
    require("tensorflow")
    import keras

    def flat(layers):
        for layer in layers:
            if isinstance(layer, keras.Sequential):  # ConvNeXt nests its stem
                yield from flat(layer.layers)
            elif type(layer).__name__ != "InputLayer":
                yield layer

    model = _docs_models()[name]
    keras.backend.clear_session(free_memory=False)  # Keras's automatic names from _1
    build = getattr(keras.applications, APPLICATION_STEMS[name])
    built = list(flat(build(weights=None, input_shape=model.input.output_shape).layers))
    assert len(built) > len(model.layers)
    for layer, node in zip(built, model.layers, strict=False):
        at = f"{name}: {node.name}"
        assert (layer.name, type(layer).__name__) == (node.name, node.layer.keras_class), at
        assert tuple(layer.output.shape[1:]) == node.output_shape, at
        assert layer.count_params() == node.params, at
