"""The zoo against keras.applications, layer by layer, and against the papers' counts.

Every model of zoo/ is compared with the network keras.applications builds
(``weights=None``, the default input size, the classifier included, as the
specs have it): the same layers by name, each of the same Keras class, with
the same inputs, output shape, parameter count and configuration (what Keras's
``get_config`` says, so epsilons, momenta, strides and activations count too),
and the same totals. Keras builds the model inside a ``StatelessScope``, so it
computes every shape and count without drawing a single weight; the session
is cleared first, so the names Keras makes up (``conv2d_3``) are the ones a
fresh process gets. The multiply-accumulates specc counts are compared with
the papers' published figures (tests/zoo_reference.py states each source and
the tolerance).
"""

from __future__ import annotations

import functools
import sys

import pytest
from conftest import ROOT, require
from zoo_reference import APPLICATIONS, MODELS, ZOO, ZooModel, by_file

import specc
from specc.ir.graph import Model
from specc.ir.values import FnValue

# Config keys that name the layer or its dtype policy, not what it computes.
_IGNORED = ("name", "dtype")


@functools.cache
def zoo_models(file: str) -> dict[str, Model]:
    """The models of zoo/<file>.cnn, which must check without a single diagnostic."""
    result = specc.load(ZOO / f"{file}.cnn")
    assert result.diagnostics == [], [str(d.message) for d in result.diagnostics]
    return {model.name: model for model in result.models}


def zoo_model(entry: ZooModel) -> Model:
    """The spec's model of ``entry``."""
    return zoo_models(entry.file)[entry.model]


def build_application(name: str, input_shape: tuple[int, ...]):
    """``keras.applications.<name>(weights=None)``: shapes and counts, no weights drawn."""
    keras = require("keras")
    keras.backend.clear_session()  # the automatic names of a fresh process
    with keras.StatelessScope():
        return getattr(keras.applications, name)(weights=None, input_shape=input_shape)


def _config(layer, rank: int) -> dict:
    """A layer's config without its name; ``axis=-1``, ``axis=3`` and ``axis=[3]`` (what
    a built LayerNormalization says) are one axis."""
    config = {k: v for k, v in layer.get_config().items() if k not in _IGNORED}
    axis = config.get("axis")
    if isinstance(axis, int):
        config["axis"] = (axis % rank,)
    elif isinstance(axis, (list, tuple)):
        config["axis"] = tuple(a % rank for a in axis)
    return config


def _inbound(layer) -> list[str]:
    """The names of the layers whose outputs ``layer`` takes, in order."""
    node = layer._inbound_nodes[0]
    return [t._keras_history.operation.name for t in node.input_tensors]


def _custom_scale_layer(layer, inputs: list[str], model: Model) -> tuple[str, set[str]]:
    """InceptionResNetV2's ``CustomScaleLayer(scale)([x, r])``: ``add [x, rescaling(r)]``."""
    nodes = {node.name: node for node in model.layers}
    x, r = (model.node(name) for name in inputs)
    (scaled,) = [n for n in model.layers if n.kind == "rescaling" and n.inputs == [r.index]]
    assert (scaled.layer.scale, scaled.layer.offset) == (layer.scale, 0.0), layer.name
    (add,) = [n for n in nodes.values() if n.kind == "add" and n.inputs == [x.index, scaled.index]]
    return add.name, {scaled.name}


def _tensor_op(op, inputs: list[str], model: Model) -> tuple[str, set[str]]:
    """``x + c`` and ``x * c`` on a Keras tensor (an operation, not a layer): ``rescaling``;
    ``x + y``: ``add``."""
    constants = [a for a in op._inbound_nodes[0].arguments.args if isinstance(a, (int, float))]
    kind = type(op).__name__.lower()
    if not constants:
        wanted = [model.node(name).index for name in inputs]
        (node,) = [n for n in model.layers if n.kind == kind and n.inputs == wanted]
        return node.name, set()
    (constant,) = constants
    scale, offset = (1.0, constant) if kind == "add" else (constant, 0.0)
    (x,) = (model.node(name) for name in inputs)
    (node,) = [
        n
        for n in model.layers
        if n.kind == "rescaling"
        and n.inputs == [x.index]
        and (n.layer.scale, n.layer.offset) == (scale, offset)
    ]
    return node.name, set()


def _layer_scale(layer, inputs: list[str], model: Model) -> tuple[str, set[str]]:
    """ConvNeXt's ``LayerScale``: x times a weight per channel, a 1x1 depthwise
    convolution without bias, initialized as LayerScale is."""
    node = model.node(layer.name)
    conv = node.layer
    assert node.kind == "depthwiseconv2d" and node.inputs == [model.node(inputs[0]).index]
    assert (conv.kernel_size, conv.depth_multiplier, conv.use_bias) == ((1, 1), 1, False)
    assert conv.depthwise_initializer == FnValue("constant", (("value", layer.init_values),))
    return node.name, set()


# What keras.applications builds with something that is not a public Keras
# layer -> the spec's stand-in: (the node that takes its place, the extra nodes
# folded into it). Each checks that the stand-in computes the same function.
STAND_INS = {
    "CustomScaleLayer": _custom_scale_layer,  # private to inception_resnet_v2
    "LayerScale": _layer_scale,  # private to convnext
    "op:Add": _tensor_op,  # keras.ops on tensors (mobilenet_v3's hard_sigmoid, convnext)
    "op:Multiply": _tensor_op,
}


def _operations(application):
    """(operation, the names of its inputs) of a Keras model in order, the layers of
    a nested Sequential (ConvNeXt's stem) in its place."""
    out = []
    for operation in application.operations[1:]:
        inbound = _inbound(operation)
        if type(operation).__name__ == "Sequential":
            for layer in operation.layers:
                out.append((layer, inbound))
                inbound = [layer.name]
        else:
            out.append((operation, inbound))
    return out


def _stand_in(operation):
    """The stand-in rule for a Keras operation, None for a public Keras layer."""
    from keras.layers import Layer

    cls = type(operation).__name__
    return STAND_INS.get(cls if isinstance(operation, Layer) else f"op:{cls}")


def assert_matches_application(model: Model, application) -> None:
    """``model`` is ``application`` layer for layer, and in its totals."""
    from keras_reference import keras_layer

    summary = specc.summary(model)
    entries = {entry["name"]: entry for entry in summary["layers"]}
    operations = _operations(application)  # layers, and keras.ops applied to tensors
    spec_name = {application.operations[0].name: model.input.name}  # Keras name -> spec's
    for operation in application.operations:
        if type(operation).__name__ == "Sequential":
            spec_name[operation.name] = operation.layers[-1].name
    folded: set[str] = set()
    for lay, inbound in operations:
        stand_in = _stand_in(lay)
        if stand_in is None:
            spec_name[lay.name] = lay.name
        else:
            inputs = [spec_name[name] for name in inbound]
            spec_name[lay.name], extra = stand_in(lay, inputs, model)
            folded |= extra
    missing = sorted(set(spec_name.values()) - set(entries) - {model.input.name})
    extra = sorted(set(entries) - set(spec_name.values()) - folded)
    assert not missing and not extra, f"Keras only: {missing[:8]}; spec only: {extra[:8]}"
    for lay, keras_inbound in operations:
        node = model.node(spec_name[lay.name])
        entry = entries[node.name]
        where = f"{model.name}: layer {lay.name}"
        assert list(lay.output.shape[1:]) == entry["output_shape"], where
        if _stand_in(lay) is not None:
            assert entry["params"] == (lay.count_params() if hasattr(lay, "weights") else 0), where
            continue  # its stand-in's inputs and function are checked above
        assert lay.count_params() == entry["params"], where
        inbound = [spec_name[name] for name in keras_inbound]
        assert inbound == [model.nodes[i].name for i in node.inputs], where
        assert type(lay).__name__ == type(node.layer).keras_class, where
        rank = len(entry["output_shape"]) + 1
        assert _config(keras_layer(node), rank) == _config(lay, rank), where
    assert application.count_params() == summary["params"]
    frozen = sum(int(w.numpy().size) for w in application.non_trainable_weights)
    assert frozen == summary["non_trainable_params"]
    assert list(application.inputs[0].shape[1:]) == summary["input_shape"]
    assert list(application.outputs[0].shape[1:]) == summary["output_shape"]


@pytest.mark.parametrize("entry", APPLICATIONS, ids=lambda e: e.id)
def test_zoo_model_matches_keras_applications(entry: ZooModel):
    require("tensorflow")
    model = zoo_model(entry)
    application = build_application(entry.application, model.input.output_shape)
    assert_matches_application(model, application)


@pytest.mark.parametrize("entry", MODELS, ids=lambda e: e.id)
def test_zoo_macs_match_the_paper(entry: ZooModel):
    """specc's multiply-accumulates (and the parameters) are the paper's, within its rounding."""
    if entry.paper_macs is None:
        assert entry.source, "an entry without figures says why"
        return
    summary = specc.summary(zoo_model(entry))
    macs = summary["macs"]
    assert abs(macs / entry.paper_macs - 1) <= entry.macs_tolerance, (
        f"{entry.model}: {macs:,} MACs, the paper {entry.paper_macs:,.0f} ({entry.source})"
    )
    if entry.paper_params is not None:
        assert abs(summary["params"] / entry.paper_params - 1) <= 0.05, entry.source


def test_zoo_is_listed_and_states_its_counts():
    """Every spec in zoo/ is in the table (and back), ``specc fmt``-canonical, and each
    model states its params and MACs."""
    from specc.fmt import format_source

    listed = {(entry.file, entry.model) for entry in MODELS}
    found = set()
    for path in sorted(ZOO.glob("*.cnn")):
        text = path.read_text(encoding="utf-8")
        assert format_source(text, path.name) == text, f"run specc fmt {path}"
        for name, model in zoo_models(path.stem).items():
            found.add((path.stem, name))
            kinds = {expect.quantity for expect in model.expects}
            assert {"params", "macs"} <= kinds, f"{path.name}: {name} states params and macs"
    assert found == listed


def test_readme_lists_the_zoo_with_its_counts():
    """The zoo tables of the README and docs/zoo.md are what ``scripts/zoo_table.py``
    prints (params and MACs)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from zoo_table import BEGIN, END, PAGES, zoo_table

    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        assert text.split(BEGIN + "\n", 1)[1].split(END, 1)[0] == zoo_table(), page.name


def test_each_spec_is_shorter_than_the_keras_source_it_mirrors():
    keras = require("keras")
    import inspect

    for file, entries in by_file().items():
        modules = {
            inspect.getmodule(getattr(keras.applications, e.application))
            for e in entries
            if e.application
        }
        if not modules:
            continue  # RegNet: Keras 2's regnet.py (1,838 lines) is not installed
        keras_lines = min(len(inspect.getsource(module).splitlines()) for module in modules)
        spec_lines = len((ZOO / f"{file}.cnn").read_text(encoding="utf-8").splitlines())
        assert spec_lines < keras_lines, (file, spec_lines, keras_lines)


def test_every_keras_application_is_in_the_zoo():
    """Each model keras.applications exports has its spec (RegNet, gone from Keras 3,
    is compared with torchvision in tests/test_zoo_torchvision.py)."""
    keras = require("keras")
    exported = {name for name in dir(keras.applications) if name[:1].isupper()}
    assert exported == {entry.application for entry in APPLICATIONS}
    assert all(entry.torchvision for entry in MODELS if entry.application is None)
