"""Every diagnostic code: triggered by a small spec, reported at the right place."""

from __future__ import annotations

import pytest

from specc.check import check_source
from specc.diagnostics import CODES, render_github, render_text, sarif_log

M = "model m {{\n  input {shape}\n{body}}}\n"


def spec(body: str, shape: str = "16x16x3") -> str:
    return M.format(shape=shape, body="".join(f"  {line}\n" for line in body.split("\n")))


# (source, code, line, column, words the message must contain)
CASES = [
    ("model m {\n  input 8\n  dense 4 (\n}\n", "E101", 4, 1, "unexpected"),
    ("model m {\n  input 8\n  dense 4 $\n}\n", "E101", 3, 11, "unexpected character"),
    ("model m {\n  input 8\n  dense 4\n", "E101", 3, 10, "end of file"),
    (spec("conv2d 8 3\nconvd 8 3"), "E102", 4, 3, "did you mean 'conv2d'"),
    (spec("conv2d 8 3 paddin=same"), "E103", 3, 14, "did you mean 'padding'"),
    (spec("conv2d 8"), "E104", 3, 3, "needs kernel_size"),
    (spec("dense 4 5", "8"), "E105", 3, 11, "positional"),
    (spec("conv2d 8 3 same padding=valid"), "E106", 3, 19, "twice"),
    (spec("conv2d 8 3 rleu"), "E107", 3, 14, "did you mean 'relu'"),
    (
        spec("conv2d 8 3 activation=rleu"),
        "E107",
        3,
        14,
        "unknown activation 'rleu'; did you mean 'relu'?",
    ),
    (spec("conv2d -8 3"), "E107", 3, 10, "filters"),
    (spec("dropout 1.5", "8"), "E107", 3, 11, "rate"),
    ("model m {\n  conv2d 8 3\n}\n", "E108", 2, 3, "must start with `input SHAPE`"),
    (
        "block a(n) {\n  b n\n}\nblock b(n) {\n  a n\n}\nmodel m {\n  input 8\n  a 1\n}\n",
        "E109",
        5,
        3,
        "calls itself",
    ),
    (spec("conv2d 8 3\nconcatenate @stme"), "E110", 4, 15, "unknown @stme"),
    (spec("conv2d 8 3 name=x\nconv2d 8 3 name=x"), "E111", 4, 19, "'x' is already used"),
    (spec("repeat 1000000000 {\n  conv2d 8 3 same\n}"), "E112", 3, 10, "more than"),
    (spec("dense 7 / 0", "8"), "E113", 3, 9, "division by zero"),
    (spec("conv2d 8 5x5", "3x3x1"), "E201", 3, 3, "does not fit the 3x3 input"),
    (spec("maxpool 4", "3x3x1"), "E201", 3, 3, "pool"),
    (spec("conv2d 8 3 groups=2"), "E202", 3, 14, "groups=2"),
    (spec("conv2d 8 3 strides=2 dilation_rate=2"), "E203", 3, 24, "dilation_rate"),
    (spec("add {\n  path { }\n  path { conv2d 8 1 }\n}"), "E204", 3, 3, "same shape"),
    (spec("flatten\nconv2d 8 3"), "E205", 4, 3, "rank 3"),
    (spec("reshape (5, 5)", "4x4x1"), "E206", 3, 11, "16 elements"),
    (spec("dense 100000000000", "8"), "E207", 3, 3, "too large"),
    (spec("dense 4\nexpect params == 5", "8"), "E301", 4, 3, "has params 36"),
    (spec("dense 4", "8x8x3"), "W401", 3, 3, "feature map"),
    (
        spec(
            "dense 3 softmax\ncompile optimizer=adam "
            "loss=sparse_categorical_crossentropy(from_logits=true)",
            "8",
        ),
        "W402",
        3,
        11,
        "from_logits=true",
    ),
    (spec("conv2d 8 2 strides=3"), "W403", 3, 14, "never seen"),
    (spec("dense 1 softmax", "8"), "W405", 3, 11, "always gives 1"),
    ("block unused(n) {\n  dense n\n}\n" + spec("dense 4", "8"), "W404", 1, 7, "never used"),
    ("def unused(n) {\n  return n\n}\n" + spec("dense 4", "8"), "W406", 1, 5, "never called"),
]


@pytest.mark.parametrize(("source", "code", "line", "column", "words"), CASES)
def test_code_is_reported_at_its_place(source, code, line, column, words):
    result = check_source(source, "t.cnn")
    found = [d for d in result.diagnostics if d.code == code]
    assert found, [f"{d.code} {d.message}" for d in result.diagnostics]
    d = found[0]
    assert (d.span.line, d.span.column) == (line, column), d
    assert words in d.message, d.message
    assert d.severity == ("warning" if code.startswith("W") else "error")


def test_every_spec_code_has_a_case():
    tested = {case[1] for case in CASES}
    # E100 and E114 are about files (tests/test_cli.py, tests/test_cli_skeleton.py); E302/E303
    # are CLI budgets; E5xx/E6xx are weights and inputs, tested with the commands that read
    # them; E7xx are imported model files (tests/test_import_*.py), E8xx training data
    # (tests/test_train_*.py).
    untested = {c for c in CODES if c not in tested and c[:2] not in ("E5", "E6", "E7", "E8")}
    assert untested <= {"E100", "E114", "E302", "E303"}, untested


def test_noqa_silences_warnings_on_its_line_only():
    source = spec("dense 4  # noqa: W401\ndense 4\ndense 2  # noqa", "8x8x3")
    result = check_source(source, "t.cnn")
    assert [(d.code, d.span.line) for d in result.diagnostics] == [("W401", 4)]


def test_noqa_does_not_silence_errors():
    result = check_source(spec("conv2d 8 5x5  # noqa", "3x3x1"), "t.cnn")
    assert [d.code for d in result.diagnostics] == ["E201"]


def test_error_in_block_is_reported_at_the_call():
    source = "block b(k) {\n  conv2d 8 k\n}\n" + spec("b 3\nb 9", "8x8x1")
    result = check_source(source, "t.cnn")
    [d] = result.diagnostics
    assert d.code == "E201" and d.span.line == 7
    assert "line" not in d.message  # where inside the block is a related span, not text
    [inside] = d.related
    assert (inside.span.line, inside.span.column, inside.span.end_column) == (2, 3, 13)
    assert inside.message == "the layer, in block 'b'"
    text = render_text(result.diagnostics, {"t.cnn": source})
    assert "  note: t.cnn:2:3: the layer, in block 'b'\n    2 |   conv2d 8 k\n" in text
    assert d.to_json()["related"] == [
        {"message": inside.message, "file": "t.cnn", "line": 2, "column": 3, "end_line": 2,
         "end_column": 13}
    ]  # fmt: skip
    [result_] = sarif_log(result.diagnostics, "0")["runs"][0]["results"]
    [location] = result_["relatedLocations"]
    assert location["physicalLocation"]["region"]["startLine"] == 2
    assert location["message"]["text"] == inside.message
    assert "note: the layer, in block 'b' (t.cnn:2:3)" in render_github(result.diagnostics)


def test_a_duplicate_name_points_at_its_first_use():
    result = check_source(spec("conv2d 8 3 name=x\nconv2d 8 3 name=x"), "t.cnn")
    [d] = result.diagnostics
    assert [(r.span.line, r.message) for r in d.related] == [(3, "'x' is first used here")]
    model = "model m {\n  input 8\n  dense 2\n}\n"
    [d] = check_source(model + model, "t.cnn").diagnostics
    assert d.code == "E111" and [r.span.line for r in d.related] == [1]


def test_several_errors_in_one_file():
    source = spec("conv2d 8 3 paddin=same\nconvd 8\ndense 4 foo=1", "8x8x1")
    codes = [d.code for d in check_source(source, "t.cnn").diagnostics]
    assert codes == ["E103", "E102", "E103"]


def test_one_shape_error_is_not_repeated_downstream():
    source = spec("conv2d 8 5x5\nconv2d 8 3\ndense 4", "3x3x1")
    assert [d.code for d in check_source(source, "t.cnn").diagnostics] == ["E201"]
