"""Nothing in a spec can put code into the generated module.

Hostile names, strings and numbers are either refused with a located error
(exit 1, no file written) or written as inert literals: the module's syntax
tree holds only the imports, functions and calls the emitter writes, every
hostile string is one constant, and real Keras gets that string back as data.
"""

from __future__ import annotations

import ast
import keyword

import pytest
from conftest import require
from hypothesis import given, settings
from hypothesis import strategies as st
from test_keras_emit_common import assert_ruff_clean, check_text, import_source, keras_layers

from specc.cli import main
from specc.emit.keras import emit_keras
from specc.emit.keras_values import RESERVED, py_string, variable_names

PAYLOAD = "x'); import os; os.system('echo pwned'); ('"
ALLOWED_CALL_ROOTS = {
    "keras", "layers", "np", "model", "layer", "arrays", "values", "assignments", "npz",
    "build_model", "compile_model", "tuple", "sorted", "ValueError", "hasattr", "open",
    "tf", "os", "data_parallel", "train", "replica",
}  # fmt: skip


def call_root(func: ast.expr) -> ast.expr:
    """The innermost object a call chain starts from: ``layers`` in ``layers.Dense(4)(x)``."""
    while isinstance(func, ast.Attribute | ast.Call | ast.Subscript):
        func = func.value if not isinstance(func, ast.Call) else func.func
    return func


def assert_inert(source: str, strings: list[str] = ()) -> None:
    """The module has the emitter's shape only, and each hostile string is one constant."""
    tree = ast.parse(source)
    imports = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
    base = ["import keras", "import numpy as np", "from keras import layers"]
    # with compile/fit: train()'s data_parallel() scope (tf.distribute inside, on TensorFlow)
    training = ["import contextlib", "import os", *base, "import tensorflow as tf"]
    assert [ast.unparse(n) for n in imports] in (base, training)
    functions = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    assert functions <= {
        "build_model",
        "compile_model",
        "data_parallel",
        "train",
        "load_weights",
        "save_weights",
    }
    for node in tree.body:
        assert isinstance(
            node, ast.Expr | ast.Import | ast.ImportFrom | ast.Assign | ast.FunctionDef | ast.If
        ), ast.unparse(node)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            root = call_root(node.func)
            ok = isinstance(root, ast.Constant) or (
                isinstance(root, ast.Name) and root.id in ALLOWED_CALL_ROOTS
            )
            assert ok, ast.unparse(node)
        assert not isinstance(node, ast.Lambda | ast.Global | ast.Nonlocal | ast.Delete)
    constants = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)}
    for text in strings:
        assert text in constants, text


def spec(*lines: str, name: str = "m") -> str:
    """A one-model spec with an 8-vector input and ``lines`` as its body."""
    return "\n".join([f"model {name} {{", "  input 8", *[f"  {ln}" for ln in lines], "}", ""])


REFUSED = {
    "quote in a layer name": (spec('dense 4 name="a\'b"'), 3),
    "newline escape in a layer name": (spec('dense 4 name="a\\nb"'), 3),
    "code as a loss": (spec("dense 4", f'compile optimizer=adam loss="{PAYLOAD}"'), 4),
    "keyword as an argument name": (spec("dense 4", "compile optimizer=adam(class=1) loss=mse"), 4),
    "infinite initializer argument": (
        spec("dense 4 kernel_initializer=random_normal(stddev=1e999)"),
        3,
    ),
    "infinite learning rate": (spec("dense 4", "compile optimizer=sgd(1e999) loss=mse"), 4),
    "a call as a fit value": (spec("dense 4", "fit epochs=1 shuffle=l2(0.5)"), 4),
    "metric without its required arguments": (
        spec("dense 4", "compile optimizer=adam loss=mse metrics=[mean_iou]"),
        4,
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_with_a_located_error_and_no_file(case, tmp_path, capsys):
    text, line = REFUSED[case]
    path = tmp_path / "hostile.cnn"
    path.write_text(text)
    out = tmp_path / "out.py"
    # E607 (Keras cannot express it) is the spec's fault, as every check error is: exit 1
    assert main(["keras", str(path), "-o", str(out)]) == 1
    assert not out.exists() and list(tmp_path.iterdir()) == [path]
    err = capsys.readouterr().err
    assert f"{path}:{line}:" in err, err
    assert "error[E" in err


INERT = {
    "keywords and dunders as names": spec(
        "dense 4 name=class",
        "dense 4 name=import",
        "dense 4 name=__import__",
        "dense 4 name=Import",
        "dense 4 name=keras",
        "dense 4 name=layers",
        "dense 4 name=inputs",
        "dense 4 name=outputs",
        "dense 4 name=print",
        "add @class @import @__import__ @Import @keras @layers @inputs",
        name="__import__",
    ),
    "strings full of quotes, backslashes, newlines": spec(
        "dense 4",
        f'compile optimizer=adam(learning_rate=0.01, name="{PAYLOAD}\\"\\\\\\n") loss=mse',
        'fit epochs=1 shuffle="batch\\"); import os; #"',
    ),
    "very long names": spec(
        "dense 4 name=" + "n" * 128,
        "dense 4 name=" + "N" * 127 + "_",
        "add @" + "n" * 128,
        name="m" * 128,
    ),
    "model named class": spec("dense 4 name=def", name="class"),
}


@pytest.mark.parametrize("case", sorted(INERT))
def test_written_as_inert_literals(case, tmp_path):
    model = check_text(INERT[case])
    source = emit_keras(model, "hostile.cnn")
    strings = [n.name for n in model.nodes] + [model.name]
    for settings_ in (model.compile, model.fit):
        if settings_ is not None:
            for value in settings_.kwargs.values():
                strings += [v for k, v in getattr(value, "kwargs", ()) if isinstance(v, str)]
                strings += [value] if isinstance(value, str) else []
    assert_inert(source, strings)
    (tmp_path / "check").mkdir()
    (tmp_path / "check" / "gen.py").write_text(source)
    assert_ruff_clean(tmp_path / "check")

    require("tensorflow")
    module = import_source(source, tmp_path)
    keras_model = module.build_model()
    assert keras_model.name == model.name
    assert keras_model.inputs[0].name == model.input.name
    assert [lay.name for lay in keras_layers(keras_model)] == [n.name for n in model.layers]
    if model.compile is not None:
        module.compile_model(keras_model)
        optimizer = model.compile.kwargs["optimizer"]
        assert keras_model.optimizer.name == optimizer.get("name")
        assert module.FIT_SETTINGS == model.fit.kwargs


def test_source_file_name_cannot_break_out_of_the_comment():
    model = check_text(spec("dense 4"))
    source = emit_keras(model, f'evil\nimport os\n"""{PAYLOAD}\r\u2028.cnn')
    assert_inert(source)
    assert source.splitlines()[0].startswith("# Generated by specc from evil\\n")


def test_cli_writes_hostile_but_valid_specs_inertly(tmp_path):
    path = tmp_path / "h.cnn"
    path.write_text(INERT["keywords and dunders as names"])
    out = tmp_path / "out.py"
    assert main(["keras", str(path), "-o", str(out)]) == 0
    assert_inert(out.read_text(), ["__import__", "class"])


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_string_literals_round_trip(text):
    literal = py_string(text)
    assert ast.literal_eval(literal) == text
    assert "\n" not in literal and "\r" not in literal
    tokens = ast.parse(f"x = {literal}").body
    assert len(tokens) == 1 and isinstance(tokens[0].value, ast.Constant)


def test_string_literals_are_ruff_formatted(tmp_path):
    samples = [
        "",
        "same",
        "it's",
        'say "hi"',
        "both ' and \"",
        'more "" than \'',
        "a\\b",
        "\t\x00é",
    ]
    samples += ["\u2028", "\x7f", "ünï", PAYLOAD, '"""', "'''", "\\N{DASH}"]
    lines = [f"X{i} = {py_string(text)}" for i, text in enumerate(samples)]
    (tmp_path / "strings.py").write_text("\n".join(lines) + "\n")
    assert_ruff_clean(tmp_path)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,127}", fullmatch=True), unique=True))
def test_variable_names_are_safe_and_distinct(names):
    out = variable_names(names)
    values = [out[n] for n in names]
    assert len(set(values)) == len(values)
    for var in values:
        assert var.isidentifier() and var.isascii() and var == var.lower()
        assert not keyword.iskeyword(var) and not keyword.issoftkeyword(var)
        assert var not in RESERVED and len(var) <= 40
