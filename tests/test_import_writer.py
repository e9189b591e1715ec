"""The spec writer alone: graphs as paths and @references, values, names, repeat folding.

The writer's output is checked by specc itself (the text must check to the
same graph); the end-to-end proofs against Keras and torch are in
test_import_keras.py and test_import_onnx.py.
"""

from __future__ import annotations

from specc.check import check_source
from specc.fmt import format_source
from specc.importers.graph import ImportedLayer, ImportedModel
from specc.importers.spec_writer import fold_repeats, render_spec, spec_names, value_text
from specc.importers.structure import structure
from specc.ir.values import FnValue


def _model(layers, output, shape=(8, 8, 3)) -> ImportedModel:
    items = [ImportedLayer(n, k, p, i, origin=f"layer '{n}' ({k})") for n, k, p, i in layers]
    return ImportedModel("m", "m.keras", "test", "input_layer", shape, items, output)


def _write(model: ImportedModel) -> str:
    names, notes = spec_names(model)
    model.notes.extend(notes)
    text = render_spec(model, structure(model), names, "m")
    assert format_source(text) == text
    return text


def _graph(text: str) -> list[tuple[str, str, list[str]]]:
    result = check_source(text, "t.cnn")
    assert not result.errors, [d.message for d in result.errors]
    model = result.models[0]
    return [(n.name, n.kind, [model.nodes[i].name for i in n.inputs]) for n in model.nodes[1:]]


CONV = {"filters": 3, "kernel_size": (3, 3), "padding": "same"}


def test_residual_and_skip_connections_check_to_the_same_graph():
    layers = [
        ("stem", "conv2d", CONV, ["input_layer"]),
        ("a", "conv2d", CONV, ["stem"]),
        ("b", "batchnormalization", {}, ["a"]),
        ("res", "add", {}, ["stem", "b"]),
        ("c", "conv2d", CONV, ["res"]),
        ("skip", "concatenate", {}, ["c", "stem"]),
        ("d", "conv2d", CONV, ["skip"]),
        ("e", "conv2d", CONV, ["skip"]),
        ("join", "concatenate", {}, ["e", "d", "skip"]),
    ]
    model = _model(layers, "join")
    text = _write(model)
    assert "add name=res {\n    path { }\n    path {" in text  # the residual: paths
    assert "concatenate @stem name=skip" in text  # the skip connection: a reference
    expected = [(n, k, i) for n, k, _, i in layers]
    assert sorted(_graph(text)) == sorted(expected)


def test_graph_needing_paths_from_named_tensors_is_written_by_name():
    """Not series-parallel (g reads b, which only a branch computes): branch by branch,
    paths from named tensors, a merge naming its inputs where no path ends at them."""
    layers = [
        ("x", "conv2d", CONV, ["input_layer"]),
        ("a", "conv2d", CONV, ["x"]),
        ("b", "conv2d", CONV, ["x"]),
        ("s", "add", {}, ["a", "b"]),
        ("g", "activation", {"activation": "sigmoid"}, ["b"]),
        ("out", "multiply", {}, ["s", "g"]),
        ("h", "conv2d", CONV, ["b"]),
        ("join", "concatenate", {}, ["h", "out", "a"]),
    ]
    text = _write(_model(layers, "join"))
    assert "  add name=s {\n    path @x {\n      conv2d 3 3x3 same name=a\n    }\n" in text
    assert "    path @b { }\n  }\n" in text
    assert "  multiply name=out {\n    path { }\n    path @b {\n      sigmoid name=g\n" in text
    assert "  concatenate [@h, @out, @a] name=join\n" in text
    expected = [(n, k, i) for n, k, _, i in layers]
    assert sorted(_graph(text)) == sorted(expected)


def test_values_are_written_as_a_spec_writes_them():
    assert value_text((3, 3), "kernel_size") == "3x3"
    assert value_text((2, 2), "strides") == "2"
    assert value_text((2, 1), "strides") == "2x1"
    assert value_text(((1, 1), (2, 2)), "padding") == "(1, 2)"
    assert value_text(((0, 1), (0, 1)), "padding") == "((0, 1), (0, 1))"
    assert value_text((10,), "target_shape") == "(10,)"
    assert value_text(1.001e-05) == "1.001e-05"
    assert value_text(FnValue("l2", (("l2", 0.01),))) == "l2(0.01)"
    assert value_text(FnValue("random_normal", (("stddev", 0.02),))) == "random_normal(stddev=0.02)"
    assert value_text("true") == '"true"' and value_text("same") == "same"


def test_names_that_are_no_words_are_made_words_and_noted():
    layers = [("conv.1", "conv2d", CONV, ["input_layer"]), ("true", "flatten", {}, ["conv.1"])]
    model = _model(layers, "true")
    text = _write(model)
    assert "name=conv_1" in text and 'name="true"' in text
    assert "# 'conv.1' is written as conv_1" in text
    assert [n for n, _, _ in _graph(text)] == ["conv_1", "true"]


def test_runs_fold_into_repeat_only_where_shorter():
    a, b = ["conv2d 8 3x3"], ["batchnormalization"]
    assert fold_repeats([a, a, a]) == a * 3  # 3 lines either way: left as is
    assert fold_repeats([a] * 4) == ["repeat 4 {", "  conv2d 8 3x3", "}"]
    assert fold_repeats([a, b, a, b]) == a + b + a + b
    assert fold_repeats([a, b, a, b, a, b])[0] == "repeat 3 {"
    layers = [(f"c{i}", "conv2d", CONV, [f"c{i - 1}" if i else "input_layer"]) for i in range(5)]
    model = _model(layers, "c4")
    for layer in model.layers:  # names Keras would give, which specc gives too
        layer.name = "conv2d" if layer.name == "c0" else f"conv2d_{layer.name[1:]}"
        layer.inputs = [
            "input_layer" if n == "input_layer" else ("conv2d" if n == "c0" else f"conv2d_{n[1:]}")
            for n in layer.inputs
        ]
    model.output = "conv2d_4"
    text = _write(model)
    assert "repeat 5 {\n    conv2d 3 3x3 same\n  }" in text
    assert [n for n, _, _ in _graph(text)] == ["conv2d", *(f"conv2d_{i}" for i in range(1, 5))]
