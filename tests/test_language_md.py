"""docs/language.md is a contract: every example in it checks exactly as written.

The examples are read from the page itself, so the document and the compiler
cannot drift apart (tests/test_docs.py runs the blocks of every page too; this
file also rebuilds the page's diagnostic example and checks its quoted fragments).
"""

from __future__ import annotations

import re

import pytest
from conftest import ROOT

from specc.check import check_source
from specc.diagnostics import render_text

LANGUAGE_MD = ROOT / "docs" / "language.md"


def _doc() -> str:
    return LANGUAGE_MD.read_text(encoding="utf-8")


def _blocks() -> list[str]:
    """Code blocks of specs (```cnn) and of diagnostics (```text starting as one does)."""
    found = re.findall(r"^```(\w*)\n(.*?)^```", _doc(), re.S | re.M)
    return [
        body
        for info, body in found
        if info in ("", "cnn") or (info == "text" and _classify(body) == "diagnostic")
    ]


def _wrap(fragment: str) -> str:
    """Statements that belong inside a model (compile, fit, expect) in the first example's model."""
    first = _blocks()[0]
    body = "\n".join(line for line in first.splitlines() if "expect" not in line)
    return body.rstrip().removesuffix("}") + fragment + "}\n"


def _checked(text: str, file: str = "example.cnn"):
    result = check_source(text, file)
    assert result.diagnostics == [], render_text(result.diagnostics, {file: text})
    assert result.models
    return result


def test_every_code_block_is_covered():
    blocks = _blocks()
    kinds = [_classify(b) for b in blocks]
    assert kinds.count("spec") >= 3
    assert "diagnostic" in kinds
    assert len(blocks) >= 6


def _classify(block: str) -> str:
    if re.match(r"\S+\.cnn:\d+:\d+: ", block):
        return "diagnostic"
    if re.search(r"^\s*(model|block)\s", block, re.M):
        return "spec"
    return "fragment"


_COUNT = len(_blocks())


@pytest.mark.parametrize("index", range(_COUNT))
def test_code_block(index):
    block = _blocks()[index]
    kind = _classify(block)
    if kind == "spec":
        result = _checked(block)
        for model in result.models:
            assert model.inferred
    elif kind == "fragment":
        _checked(_wrap(block))
    else:
        _check_diagnostic_example(block)


def _check_diagnostic_example(block: str):
    """Rebuild a file that produces the documented diagnostic and compare the text exactly."""
    header = block.splitlines()[0]
    file, line, _column = re.match(r"(\S+):(\d+):(\d+):", header).groups()
    source_line = re.search(r"^\s*\d+ \| (.*)$", block, re.M).group(1)
    kernel = re.search(r"the (\d+)x(\d+) input", header).groups()
    # A model whose line `line` is the documented statement, fed a feature map of that size.
    size = int(kernel[0])
    lines = ["model m {", f"  input {size}x{size}x1"]
    while len(lines) < int(line) - 1:
        lines.append("  # padding line")
    lines.append(source_line)
    lines.append("}")
    text = "\n".join(lines) + "\n"
    result = check_source(text, file)
    assert render_text(result.diagnostics, {file: text}) == block


INLINE = {
    # fragment quoted in language.md -> a file that uses it
    "conv2d filters*2 1x1": "block b(filters) {\n  conv2d filters*2 1x1\n}\n"
    "model m {\n  input 8x8x3\n  b 4\n}\n",
    "repeat blocks - 1 { ... }": "block b(blocks) {\n  repeat blocks - 1 {\n    conv2d 4 3 same\n  }\n}\n"
    "model m {\n  input 8x8x3\n  b 3\n}\n",
    "(f + 1) // 2": "block b(f) {\n  conv2d (f + 1) // 2 3\n}\nmodel m {\n  input 8x8x3\n  b 5\n}\n",
    "conv2d f * 2 3": "block b(f) {\n  conv2d f * 2 3\n}\nmodel m {\n  input 8x8x3\n  b 5\n}\n",
    "block b(pad=same) { conv2d 8 3 padding=pad }": "block b(pad=same) { conv2d 8 3 padding=pad }\n"
    "model m {\n  input 8x8x3\n  b\n}\n",
    "relu6 name=out_relu": "model m {\n  input 8\n  relu6 name=out_relu\n}\n",
    "strides=2": "model m {\n  input 8x8x3\n  conv2d 4 3 strides=2\n}\n",
    "l2(0.01)": "model m {\n  input 8\n  dense 4 kernel_regularizer=l2(0.01)\n}\n",
    "random_normal(stddev=0.02)": "model m {\n  input 8\n  dense 4 "
    "kernel_initializer=random_normal(stddev=0.02)\n}\n",
    "concatenate @a @b": "model m {\n  input 8x8x3\n  conv2d 4 1 name=a\n  conv2d 4 1 name=b\n"
    "  conv2d 4 1\n  concatenate @a @b\n}\n",
    "`1.5M` = 1,500,000": "model m {\n  input 8\n  dense 4\n  expect params <= 1.5M\n}\n",
    "((0, 1), (0, 1))": "model m {\n  input 8x8x3\n  zeropadding2d ((0, 1), (0, 1))\n}\n",
    "`Conv2D`": "model m {\n  input 8x8x3\n  Conv2D 4 3\n  CONV2D 4 3\n}\n",
    "`[accuracy, auc]`": "model m {\n  input 8\n  dense 1 sigmoid\n"
    "  compile optimizer=adam loss=binary_crossentropy metrics=[accuracy, auc]\n}\n",
}


@pytest.mark.parametrize("fragment", sorted(INLINE))
def test_inline_fragment(fragment):
    assert fragment in _doc(), "language.md no longer quotes this fragment"
    _checked(INLINE[fragment])


def test_counts_use_decimal_suffixes():
    result = _checked("model m {\n  input 8\n  dense 4\n  expect params <= 1.5M\n}\n")
    assert result.models[0].total("params") == 36
    bad = check_source("model m {\n  input 8\n  dense 4\n  expect params >= 1.5M\n}\n", "m.cnn")
    assert [d.code for d in bad.diagnostics] == ["E301"]
    assert "1,500,000" in bad.diagnostics[0].message
