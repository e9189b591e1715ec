"""Blocks that compute: if/else, let, for, def, float arithmetic, shapes, names, paths.

Expected values are Python's own: each case states the Python expression the
spec's arithmetic must equal, so the spec language and Python cannot drift.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from specc.check import check_source
from specc.fmt import format_source


def model_of(body: str, before: str = "", shape: str = "8x8x4"):
    """The checked model of ``before`` + a model whose statements are ``body``."""
    result = check_source(f"{before}model m {{\n  input {shape}\n{body}\n}}\n", "m.cnn")
    assert not result.errors, [(d.code, d.span.line, d.message) for d in result.errors]
    return result.models[0]


def only_error(body: str, before: str = "", shape: str = "8x8x4"):
    """The single diagnostic of a spec that must fail."""
    result = check_source(f"{before}model m {{\n  input {shape}\n{body}\n}}\n", "m.cnn")
    assert len(result.diagnostics) == 1, [(d.code, d.message) for d in result.diagnostics]
    return result.diagnostics[0]


def units(model) -> list[int]:
    """The ``units`` of every dense layer, in order."""
    return [n.layer.units for n in model.nodes[1:] if n.kind == "dense"]


# -- arithmetic ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "python"),
    [
        ("int(7 / 2 * 3)", int(7 / 2 * 3)),
        ("7 // 2 + 7 % 3", 7 // 2 + 7 % 3),
        ("-7 // 2 + 10", -7 // 2 + 10),
        ("-7 % 3 + 1", -7 % 3 + 1),
        ("round(2.5) + round(3.5)", round(2.5) + round(3.5)),
        ("int(round(2.675, 2) * 1000)", int(round(2.675, 2) * 1000)),
        ("int(min(5, 3.5, 4) * 2)", int(min(5, 3.5, 4) * 2)),
        ("max([1, 9, 4])", max([1, 9, 4])),
        ("ceil(1.2 * 3) + floor(-0.5)", math.ceil(1.2 * 3) + math.floor(-0.5)),
        ("int(96 * 0.5)", int(96 * 0.5)),
    ],
)
def test_arithmetic_is_pythons(spec, python):
    value = model_of(f"  flatten\n  dense {spec}").nodes[-1].layer.units
    assert value == python and isinstance(value, int)


def test_a_float_where_keras_wants_an_integer_says_how_to_convert():
    d = only_error("  flatten\n  dense 7 / 2")
    assert d.code == "E107" and "received 3.5; write int(...) or use //" in d.message


@pytest.mark.parametrize(
    ("spec", "code", "words"),
    [
        ("7 / 0", "E113", "division by zero"),
        ("7 % 0", "E113", "division by zero"),
        ("int(1e308 * 10)", "E113", "not a finite number"),
        ('"a" + 1', "E113", "'+' needs numbers, or two strings"),
        ("int(same)", "E107", "int() needs a number, received 'same'"),
        ("max()", "E105", "max() takes at least 1 argument(s)"),
        ("rund(2.5)", "E102", "unknown function 'rund'; did you mean 'round'?"),
        ("range(3)", "E107", "range() only appears in `for NAME in range(...)`"),
    ],
)
def test_bad_arithmetic_is_located(spec, code, words):
    d = only_error(f"  flatten\n  dense {spec}")
    assert (d.code, d.span.line) == (code, 4) and words in d.message, d.message


# -- if / else, let --------------------------------------------------------------

CHOOSE = """block choose(n) {
  if n < 0 {
    dense 1
  } else if n == 0 or n > 100 {
    dense 2
  }
  else if not n % 2 == 1 {
    dense 3
  } else {
    dense 4
  }
}
"""


def test_if_chains_take_the_first_true_branch():
    body = "  flatten\n" + "\n".join(f"  choose {n}" for n in (-5, 0, 101, 8, 7))
    assert units(model_of(body, CHOOSE)) == [1, 2, 2, 3, 4]


def test_conditions_short_circuit_as_in_python():
    before = 'block named(name=none) {\n  if name != none and name + "_x" == "a_x" {\n    dense 1\n  } else {\n    dense 2\n  }\n}\n'
    model = model_of("  flatten\n  named\n  named name=a\n  named name=b", before)
    assert units(model) == [2, 1, 2]


def test_chained_comparisons_as_in_python():
    before = "block ratio(r) {\n  if 0 < r <= 1 {\n    dense 1\n  } else {\n    dense 2\n  }\n}\n"
    assert units(model_of("  flatten\n  ratio 0.25\n  ratio 0\n  ratio 1.5", before)) == [1, 2, 2]


def test_let_in_a_branch_is_seen_after_it_and_not_by_the_caller():
    before = "block b(n) {\n  let f = n\n  if n > 4 {\n    let f = n * 2\n  }\n  dense f\n}\n"
    model = model_of("  flatten\n  let f = 3\n  b 3\n  b 5\n  dense f", before)
    assert units(model) == [3, 10, 3]


@pytest.mark.parametrize(
    ("body", "code", "line", "words"),
    [
        ("  else {\n    relu\n  }", "E108", 3, "`else` must follow the `}` of an `if`"),
        ("  if 3 {\n    relu\n  }", "E107", 3, "a condition must be true or false, received 3"),
        ("  if a=1 {\n    relu\n  }", "E101", 3, "expected a value in the condition"),
        ("  if 1 == 1 2 {\n    relu\n  }", "E101", 3, "unexpected item in the condition"),
        ("  if 1 < same {\n    relu\n  }", "E113", 3, "'<' compares numbers, received 'same'"),
        ("  if true\n  relu", "E108", 3, "the body is missing"),
        ("  let none = 3", "E107", 3, "'none' is a word of the language"),
        ("  let x", "E108", 3, "expected `let NAME = VALUE`"),
        ("  return 3", "E108", 3, "`return` only appears in a `def` function"),
    ],
)
def test_bad_control_flow_is_located(body, code, line, words):
    d = only_error(body)
    assert (d.code, d.span.line) == (code, line) and words in d.message, d.message


def test_an_if_chain_runs_nothing_after_a_broken_condition():
    result = check_source(
        "model m {\n  input 8\n  if 3 {\n    dense 1\n  } else {\n    dense 2\n  }\n}\n", "m.cnn"
    )
    assert [(d.code, d.span.line) for d in result.diagnostics] == [("E107", 3)]


# -- for -------------------------------------------------------------------------


def test_for_over_ranges_lists_and_tuples():
    body = (
        "  flatten\n  for i in range(3) {\n    dense i + 1\n  }\n"
        "  for i in range(10, 4, -3) {\n    dense i\n  }\n"
        "  for (a, b) in [(1, 2), (3, 4)] {\n    dense a * b\n  }\n"
        "  for i in [] {\n    dense 99\n  }"
    )
    assert units(model_of(body)) == [*[i + 1 for i in range(3)], *range(10, 4, -3), 2, 12]


@pytest.mark.parametrize(
    ("body", "code", "words"),
    [
        ("  for i in 3 {\n    relu\n  }", "E107", "for needs range(...) or a list, received 3"),
        ("  for i in range(1, 2, 0) {\n    relu\n  }", "E107", "range() step must not be zero"),
        ("  for i in range(1.5) {\n    relu\n  }", "E107", "range() takes 1 to 3 whole numbers"),
        ("  for (a, b) in [1] {\n    relu\n  }", "E107", "for unpacks 2 values, received 1"),
        ("  for i of range(2) {\n    relu\n  }", "E108", "expected `for NAME in range"),
    ],
)
def test_bad_loops_are_located(body, code, words):
    d = only_error(body)
    assert (d.code, d.span.line) == (code, 3) and words in d.message, d.message


# -- def ---------------------------------------------------------------------------

MAKE_DIVISIBLE = """def make_divisible(v, divisor=8, min_value=none) {
  if min_value == none {
    let min_value = divisor
  }
  let new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
  if new_v < 0.9 * v {
    let new_v = new_v + divisor
  }
  return new_v
}
"""


def _make_divisible(v, divisor=8, min_value=None):  # keras.applications.mobilenet_v2's
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


@pytest.mark.parametrize("v", [3, 11.2, 16 * 0.35, 32 * 1.4, 1280 * 1.3, 100, 0.5])
def test_a_def_computes_as_the_python_it_mirrors(v):
    model = model_of(f"  flatten\n  dense make_divisible({v})", MAKE_DIVISIBLE)
    assert units(model) == [_make_divisible(v)]


@pytest.mark.parametrize(
    ("before", "body", "code", "line", "words"),
    [
        ("def f(n) {\n  let x = n\n}\n", "  dense f(1)", "E108", 1, "ended without `return`"),
        ("def f(n) {\n  return f(n)\n}\n", "  dense f(1)", "E109", 2, "calls itself (f -> f)"),
        ("def f(n) {\n  relu\n  return n\n}\n", "  dense f(1)", "E108", 2, "never layers"),
        ("def max(n) {\n  return n\n}\n", "  dense 1", "E108", 1, "is a built-in or Keras"),
        ("def f(n) {\n  return n\n}\n", "  dense f()", "E104", 6, "needs argument 'n'"),
        ("def f(n) {\n  return n\n}\n", "  dense f(1, 2)", "E105", 6, "takes 1 argument"),
        ("def f(n) {\n  return n\n}\n", "  dense f(m=1)", "E103", 6, "no parameter 'm'"),
        ("def f(n) {\n  return n / 0\n}\n", "  dense f(1)", "E113", 2, "division by zero"),
    ],
)
def test_bad_functions_are_located(before, body, code, line, words):
    d = only_error(body, before, shape="8")
    assert (d.code, d.span.line) == (code, line) and words in d.message, d.message


# -- shapes ------------------------------------------------------------------------


def test_channels_height_width_of_the_current_tensor_and_of_a_name():
    body = (
        "  conv2d 6 3 name=c\n  maxpool 2\n"
        "  conv2d channels() * 2 1\n"
        "  conv2d height() * 10 + width() 1\n"
        "  conv2d channels(@c) + height(@c) 1"
    )
    filters = [n.layer.filters for n in model_of(body, shape="9x8x3").nodes if n.kind == "conv2d"]
    assert filters == [6, 12, 3 * 10 + 3, 6 + 7]


def test_a_default_sees_the_tensor_at_the_call():
    before = "block widen(f=channels() * 2) {\n  conv2d f 1\n}\n"
    model = model_of("  widen\n  widen\n  widen 5", before)
    assert [n.layer.filters for n in model.nodes[1:]] == [8, 16, 5]


def test_a_shape_error_before_channels_is_reported_once_at_its_layer():
    result = check_source(
        "model m {\n  input 4x4x3\n  conv2d 8 5\n  conv2d channels() 1\n  relu\n}\n", "m.cnn"
    )
    assert [(d.code, d.span.line) for d in result.diagnostics] == [("E201", 3)]


@pytest.mark.parametrize(
    ("body", "code", "words"),
    [
        ("  flatten\n  dense height()", "E205", "height() needs a feature map"),
        ("  dense channels(3)", "E107", "channels() takes nothing or one @name"),
        ("  dense channels(@nowhere)", "E110", "unknown @nowhere"),
    ],
)
def test_bad_shape_questions_are_located(body, code, words):
    d = only_error(body)
    assert d.code == code and words in d.message, d.message


# -- names and graphs --------------------------------------------------------------

UNIT = 'block unit(f, name) {\n  conv2d f 1 name=name+"_conv"\n  relu name=name+"_relu"\n}\n'


def test_a_block_called_twice_composes_distinct_names():
    model = model_of('  unit 4 "a"\n  for i in range(1, 3) {\n    unit 4 "b"+str(i)\n  }', UNIT)
    assert [n.name for n in model.nodes[1:]] == [
        f"{p}_{s}" for p in ("a", "b1", "b2") for s in ("conv", "relu")
    ]


def test_composed_names_must_be_words():
    result = check_source(f'{UNIT}model m {{\n  input 8x8x4\n  unit 4 "a-b"\n}}\n', "m.cnn")
    d = result.diagnostics[0]
    assert (d.code, d.span.line) == ("E107", 2) and "'a-b_conv'" in d.message


def test_paths_from_names_side_paths_and_listed_merges():
    body = (
        "  conv2d 4 1 name=a\n  conv2d 6 1 name=b\n"
        "  path @a {\n    conv2d 3 1 name=side\n  }\n"  # a side path: the current tensor stays b
        "  conv2d 5 1 name=c\n"
        "  concatenate name=cat {\n    path @side { }\n    path { }\n    path @a {\n"
        "      relu name=r\n    }\n  }\n"
        "  concatenate [@a, @cat] name=both"
    )
    model = model_of(body)
    nodes = {n.name: n for n in model.nodes}
    index = {n.index: n.name for n in model.nodes}
    assert index[nodes["c"].inputs[0]] == "b"
    assert [index[i] for i in nodes["cat"].inputs] == ["side", "c", "r"]
    assert [index[i] for i in nodes["both"].inputs] == ["a", "cat"]
    assert model.output_shape == (8, 8, 4 + 3 + 5 + 4)


def test_a_parameter_holding_a_name_stands_for_that_layer():
    before = "block join(other) {\n  add [@other, @other]\n}\n"
    model = model_of('  conv2d 4 1 name=x\n  join "x"', before)
    assert model.nodes[-1].inputs == [1, 1]


@pytest.mark.parametrize(
    ("body", "code", "line", "words"),
    [
        (
            "  conv2d 4 1 name=a\n  path {\n    conv2d 2 1 name=lost\n  }\n  relu",
            "E108",
            5,
            "layer 'lost' does not reach the model's output",
        ),
        ("  add [@a, @b] {\n    path { }\n  }", "E108", 3, "lists every input"),
        ("  conv2d 4 1 name=a\n  relu [@a]", "E107", 4, "only merge layers take @references"),
        ("  path @a @b {\n  }", "E108", 3, "from one @name"),
    ],
)
def test_bad_graphs_are_located(body, code, line, words):
    d = only_error(body)
    assert (d.code, d.span.line) == (code, line) and words in d.message, d.message


def test_a_parameter_that_is_not_a_name_cannot_be_referenced():
    d = only_error("  conv2d 4 1 name=a\n  join 3", "block join(other) {\n  add [@a, @other]\n}\n")
    assert d.code == "E107" and "@other needs a layer name, but other holds 3" in d.message


# -- fmt ---------------------------------------------------------------------------

MESSY = """DEF Scale(V, Ratio = 0.5) {
  IF V*Ratio<1 { RETURN 1 }
  Else If V > 100 AND Ratio == 0.5 { return int( V*Ratio ) }
  return round(V * Ratio)
}
block Unit(F, Name) {
  LET Wide=Scale(F)*2
  conv2d Wide 1 name = Name + "_conv"
}
model m {
  input 8x8x4
  FOR (I, J) IN [(1, 2)] { Unit I+J "u" + str(I) }
  if channels()>4 { relu }
  else { path @u1_conv { } ; concatenate [ @u1_conv, @u1_conv ] }
}
"""

TIDY = """def Scale(V, Ratio=0.5) {
  if V * Ratio < 1 {
    return 1
  } else if V > 100 and Ratio == 0.5 {
    return int(V * Ratio)
  }
  return round(V * Ratio)
}
block Unit(F, Name) {
  let Wide = Scale(F) * 2
  conv2d Wide 1 name=Name+"_conv"
}
model m {
  input 8x8x4
  for (I, J) in [(1, 2)] {
    Unit I+J "u"+str(I)
  }
  if channels() > 4 {
    relu
  } else {
    path @u1_conv { }
    concatenate [@u1_conv, @u1_conv]
  }
}
"""


def test_fmt_writes_the_new_syntax_canonically_and_keeps_its_meaning():
    assert format_source(MESSY) == TIDY
    assert format_source(TIDY) == TIDY
    before, after = check_source(MESSY), check_source(TIDY)
    assert not before.errors and not after.errors
    assert [(n.name, n.kind, n.output_shape) for n in before.models[0].nodes] == [
        (n.name, n.kind, n.output_shape) for n in after.models[0].nodes
    ]


# -- the documentation -------------------------------------------------------------

DOC = Path(__file__).resolve().parent.parent / "docs" / "language-blocks.md"
DOC_BLOCKS = re.findall(r"```cnn\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


@pytest.mark.parametrize("text", DOC_BLOCKS, ids=[f"block{i}" for i in range(len(DOC_BLOCKS))])
def test_every_example_of_the_page_checks_and_is_formatted(text):
    result = check_source(text, "language-blocks.md")
    assert result.models and result.diagnostics == [], [
        (d.code, d.span.line, d.message) for d in result.diagnostics
    ]
    assert format_source(text) == text


SPECS = sorted((Path(__file__).resolve().parent / "specs").glob("*.cnn"))


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_the_keras_application_specs_are_canonical(path):
    text = path.read_text(encoding="utf-8")
    assert format_source(text) == text
