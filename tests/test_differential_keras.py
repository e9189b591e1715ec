"""Random specs against real Keras: every shape, count, weight, name and refusal.

``specgen`` writes the specs; Keras, never the generator, computes what is
right. For valid specs, the Keras model built from specc's IR must agree with
specc on the layer order and names (also Keras's automatic names), every
layer's output shape, parameter count and weights (names, shapes, order), and
the model's total, trainable and non-trainable parameters. What the computing
language works out (widths from ``let``, ``def`` and ``channels()``, branches,
composed names) is checked against Python: the spec's ``expect output`` line
holds the shape the generator computed, and the names it wrote or composed
must be specc's. For invalid specs,
Keras must refuse the statement at the line the generator names, and specc
must report its error(s) there.
"""

from __future__ import annotations

import pytest
from conftest import require
from specgen import generate_case, generate_invalid_spec, generate_spec

from specc.check import check_source
from specc.ir.graph import Model

GRAPH_SEEDS = range(0, 200)
STACK_SEEDS = range(10_000, 10_100)
INVALID_SEEDS = range(0, 60)
CHUNK = 25
# Codes of what Keras refuses (E107: output_padding >= strides, a value Keras rejects).
KERAS_REFUSALS = {"E107", "E201", "E202", "E203", "E204", "E205", "E206"}


def _chunks(seeds: range) -> list[range]:
    return [seeds[i : i + CHUNK] for i in range(0, len(seeds), CHUNK)]


def _keras_layer(node, written: set[str] | None):
    """The Keras layer for ``node``, named by Keras itself unless its name is ``written``.

    ``written=None`` gives every layer specc's name.
    """
    import keras
    from keras_reference import keras_value, written_params

    cls = getattr(keras.layers, type(node.layer).keras_class)
    kwargs = {k: keras_value(v) for k, v in written_params(node).items()}
    if written is None or node.name in written:
        kwargs["name"] = node.name
    return cls(**kwargs)


def _build(model: Model, written: set[str] | None):
    """A functional Keras model of ``model``; Keras names the layers the spec leaves unnamed
    (``written=None``: every layer gets specc's name)."""
    import keras

    tensors = {0: keras.Input(shape=model.input.output_shape, name=model.input.name)}
    for node in model.nodes[1:]:
        layer = _keras_layer(node, written)
        inputs = [tensors[i] for i in node.inputs]
        tensors[node.index] = layer(inputs if node.layer.merge else inputs[0])
    return keras.Model(tensors[0], tensors[model.output], name=model.name)


def _size(variable) -> int:
    out = 1
    for d in variable.shape:
        out *= int(d)
    return out


def _compare(seed: int, text: str, model: Model, keras_model) -> None:
    where = f"seed {seed}:\n{text}"
    layers = [lay for lay in keras_model.layers if type(lay).__name__ != "InputLayer"]
    assert [lay.name for lay in layers] == [n.name for n in model.layers], where
    for layer, node in zip(layers, model.layers, strict=True):
        at = f"{node.name} (line {node.span.line}) of {where}"
        assert tuple(layer.output.shape[1:]) == node.output_shape, at
        assert layer.count_params() == node.params, at
        keras_weights = [(w.name, tuple(int(d) for d in w.shape)) for w in layer.weights]
        assert keras_weights == [(w.name, w.shape) for w in node.weights], at
    assert tuple(keras_model.output.shape[1:]) == model.output_shape, where
    assert keras_model.count_params() == model.total("params"), where
    trainable = sum(_size(w) for w in keras_model.trainable_weights)
    non_trainable = sum(_size(w) for w in keras_model.non_trainable_weights)
    assert trainable == model.total("trainable_params"), where
    assert non_trainable == model.total("non_trainable_params"), where


def _check_valid(seeds: range, graphs: bool) -> None:
    require("tensorflow")
    import keras

    keras.backend.clear_session()  # frees the previous chunk's models (slow: once a chunk)
    for seed in seeds:
        case = generate_case(seed, graphs=graphs)
        _check_case(seed, case)


def _check_case(seed: int, case) -> Model:
    """One generated spec: no error (its ``expect`` holds), its names, Keras agrees."""
    import keras

    text = case.text
    result = check_source(text, f"seed{seed}.cnn")
    assert result.errors == [], f"seed {seed}:\n{text}\n{result.errors}"
    (model,) = result.models
    written = set(case.names)
    assert written <= {n.name for n in model.layers}, f"seed {seed}:\n{text}"
    keras.backend.clear_session(free_memory=False)  # restarts Keras's name counters
    # Fresh session: Keras's own automatic names must be specc's.
    _compare(seed, text, model, _build(model, written))
    return model


@pytest.mark.parametrize("seeds", _chunks(GRAPH_SEEDS), ids=lambda r: f"{r.start}-{r.stop}")
def test_random_graphs_match_keras(seeds):
    _check_valid(seeds, graphs=True)


@pytest.mark.parametrize("seeds", _chunks(STACK_SEEDS), ids=lambda r: f"{r.start}-{r.stop}")
def test_random_stacks_match_keras(seeds):
    _check_valid(seeds, graphs=False)


# The computing language: branches, let, loops, functions, shape questions, names, paths.
SYNTAX = (
    *("if ", "} else if ", "} else {", "let ", "for ", " in range(", "def ", "return "),
    *("channels()", "height()", "width()", " / ", "int(", "round(", "min(", "max(", "ceil("),
    *("floor(", 'name=name+"_', "+ str(i)", "path @", "[@", "(prev, s=1) {"),
)


def _features(text: str, model: Model) -> set[str]:
    """The language features and layer options one generated spec uses."""
    out = {node.kind for node in model.layers}
    out |= {word for word in ("repeat", "@", "path { }", "block", " * ", " // ") if word in text}
    out |= {word for word in SYNTAX if word in text}
    for node in model.layers:
        layer, kind = node.layer, node.kind
        inputs = [model.nodes[i].output_shape for i in node.inputs]
        if getattr(layer, "activation", None):
            out.add(f"activation:{layer.activation}")
        for key in ("strides", "dilation_rate"):
            if max(getattr(layer, key, None) or (1,)) > 1:
                out.add(f"{kind}:{key}")
        if (
            kind in ("depthwiseconv2d", "separableconv2d")
            and {
                f"{kind}:strides",
                f"{kind}:dilation_rate",
            }
            <= out
        ):
            out.add(f"{kind}:strides+dilation")
        if getattr(layer, "padding", None) == "same":
            out.add(f"{kind}:same")
            if min(getattr(layer, "kernel_size", (1,))) % 2 == 0:
                out.add(f"{kind}:same-even-kernel")
        checks = {
            "groups": getattr(layer, "groups", 1) > 1,
            "depth_multiplier": getattr(layer, "depth_multiplier", 1) > 1,
            "output_padding": getattr(layer, "output_padding", None) is not None,
            "no_bias": getattr(layer, "use_bias", True) is False,
            "frozen": layer.trainable is False,
            "keepdims": getattr(layer, "keepdims", False),
            "no_center": getattr(layer, "center", True) is False,
            "no_scale": getattr(layer, "scale", True) is False,
            "bilinear": getattr(layer, "interpolation", "") == "bilinear",
            "minus_one": -1 in getattr(layer, "target_shape", ()),
            "feature_map": kind == "dense" and len(inputs[0]) > 1,
            "axis": kind == "concatenate" and layer.axis != -1,
            "three_inputs": len(node.inputs) > 2,
            "asymmetric": kind == "zeropadding2d" and any(a != b for a, b in layer.padding),
            "block": node.block is not None,
            "shared_axes": bool(getattr(layer, "shared_axes", None)),
            "axes": kind.endswith(("_layer", "normalization")) and getattr(layer, "axis", -1) != -1,
            "mean": getattr(layer, "mean", None) is not None,
            "instance": kind == "groupnormalization" and layer.groups == -1,
            "antialias": getattr(layer, "antialias", False),
            "aspect": kind == "resizing"
            and (layer.crop_to_aspect_ratio or layer.pad_to_aspect_ratio),
            "per_channel": isinstance(getattr(layer, "scale", None), tuple),
            "clipped": kind == "relu_layer" and layer.max_value is not None,
        }
        out |= {
            f"{kind}:{name}" if name != "block" else name for name, hit in checks.items() if hit
        }
    return out


def test_generator_is_deterministic_and_covers_every_option():
    from specc.ir.layers import KINDS
    from specc.ir.values import ACTIVATIONS

    assert generate_spec(7) == generate_spec(7)
    assert generate_invalid_spec(7) == generate_invalid_spec(7)
    seen: set[str] = set()
    for seed in (*GRAPH_SEEDS, *STACK_SEEDS):
        text = generate_spec(seed, graphs=seed in GRAPH_SEEDS)
        seen |= _features(text, check_source(text).models[0])
    wanted = {*KINDS, *(f"activation:{a}" for a in ACTIVATIONS)}
    wanted |= {"repeat", "@", "path { }", "block", " * ", " // "}
    wanted |= {f"conv2d:{o}" for o in ("strides", "dilation_rate", "groups", "no_bias", "frozen")}
    wanted |= {"conv2d:same-even-kernel", "depthwiseconv2d:depth_multiplier"}
    wanted |= {"depthwiseconv2d:strides+dilation", "separableconv2d:strides+dilation"}
    wanted |= {"separableconv2d:depth_multiplier", "conv2dtranspose:output_padding"}
    wanted |= {"conv2dtranspose:strides", "conv2dtranspose:dilation_rate"}
    wanted |= {"maxpooling2d:same", "averagepooling2d:same"}
    wanted |= {"maxpooling2d:strides", "globalaveragepooling2d:keepdims"}
    wanted |= {"globalmaxpooling2d:keepdims", "dense:feature_map", "zeropadding2d:asymmetric"}
    wanted |= {"upsampling2d:bilinear", "reshape:minus_one", "batchnormalization:no_center"}
    wanted |= {"batchnormalization:no_scale", "concatenate:axis", "add:three_inputs"}
    wanted |= {"prelu:shared_axes", "softmax_layer:axes", "normalization:axes"}
    wanted |= {"normalization:mean", "groupnormalization:instance", "resizing:antialias"}
    wanted |= {"resizing:aspect", "rescaling:per_channel", "relu_layer:clipped"}
    wanted |= {"layernormalization:axes", "unitnormalization:axes", *SYNTAX}
    assert wanted - seen == set()


def test_stacks_are_sequential_and_kinds_are_honoured():
    for seed in STACK_SEEDS[:40]:
        assert check_source(generate_spec(seed, graphs=False)).models[0].is_sequential
    kinds = frozenset({"conv2d", "dense", "flatten"})
    for seed in range(40):
        model = check_source(generate_spec(seed, kinds=kinds)).models[0]
        assert {node.kind for node in model.layers} <= kinds


def test_single_kind_specs_match_keras():
    """``kinds={k}`` works for every kind alone, and Keras agrees with specc on it."""
    require("tensorflow")
    import keras

    from specc.ir.layers import KINDS

    keras.backend.clear_session()
    for kind in KINDS:
        for seed in range(3):
            case = generate_case(seed, kinds=frozenset({kind}))
            model = _check_case(seed, case)
            assert {node.kind for node in model.layers} == {kind}, case.text


def _keras_refusal_line(model: Model) -> int | None:
    """Construct and call each layer in order; the line of the first one Keras refuses."""
    import keras

    tensors = {0: keras.Input(shape=model.input.output_shape)}
    for node in model.nodes[1:]:
        try:
            layer = _keras_layer(node, written=None)
            inputs = [tensors[i] for i in node.inputs]
            tensors[node.index] = layer(inputs if node.layer.merge else inputs[0])
        except Exception:  # Keras refuses with ValueError, TypeError, ...: any refusal counts
            return node.span.line
    return None


@pytest.mark.parametrize("seeds", _chunks(INVALID_SEEDS), ids=lambda r: f"{r.start}-{r.stop}")
def test_invalid_specs_refused_by_keras_and_specc_at_the_line(seeds):
    require("tensorflow")
    import keras

    keras.backend.clear_session()
    for seed in seeds:
        text, line = generate_invalid_spec(seed)
        where = f"seed {seed}, line {line}:\n{text}"
        result = check_source(text, f"invalid{seed}.cnn")
        assert result.errors, where
        assert {d.span.line for d in result.errors} == {line}, f"{where}\n{result.errors}"
        assert {d.code for d in result.errors} <= KERAS_REFUSALS, result.errors
        (model,) = result.models
        assert _keras_refusal_line(model) == line, where
