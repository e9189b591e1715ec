"""W404 and W406: blocks and functions no model reaches, read from the text of the file."""

from __future__ import annotations

from specc.check import check_source
from specc.lsp.analysis import Analyzer

REACH = """\
def twice(x) {
  return x * 2
}

def grow(x, extra=twice(1)) {
  return x + extra
}

def orphan(n) {
  return orphan(n) + helper_of_orphan(n)
}

def helper_of_orphan(n) {
  return n
}

block head(kind) {
  if kind == 1 {
    dense grow(3)
  } else {
    spare
  }
}

block spare {
  dense halve(8)
}

def halve(x) {
  return x // 2
}

block lonely(n) {
  dense n
}

model m {
  input 8
  head 1
}
"""


def _unused(result) -> list[tuple[str, str, int, int, int]]:
    return [
        (d.code, d.message.split("'")[1], d.span.line, d.span.column, d.span.end_column)
        for d in result.diagnostics
    ]


def test_reach_follows_calls_written_anywhere_a_model_reaches():
    # `spare` and `halve` sit in the branch `head 1` never takes: still used. `orphan`
    # calls itself and `helper_of_orphan`, but nothing reaches `orphan`.
    result = check_source(REACH, "reach.cnn")
    assert _unused(result) == [
        ("W406", "orphan", 9, 5, 11),
        ("W406", "helper_of_orphan", 13, 5, 21),
        ("W404", "lonely", 33, 7, 13),
    ]
    assert result.models and not result.errors


def test_the_language_server_reports_the_same():
    assert _unused(Analyzer("reach.cnn").check(REACH)) == _unused(check_source(REACH, "reach.cnn"))


def test_a_function_only_an_unused_block_calls_is_unused():
    source = "def f(x) {\n  return x\n}\n\nblock b {\n  dense f(2)\n}\n\n"
    source += "model m {\n  input 8\n  dense 2\n}\n"
    assert [d.code for d in check_source(source).diagnostics] == ["W406", "W404"]


def test_a_model_with_an_error_still_uses_what_it_calls():
    # Expansion stops at the unknown layer; the call after it is still written there.
    source = "def f(x) {\n  return x\n}\n\nmodel m {\n  input 8\n  nolayer 3\n  dense f(2)\n}\n"
    assert [d.code for d in check_source(source).diagnostics] == ["E102"]


def test_noqa_silences_it_on_the_name_line():
    source = "def f(x) {  # noqa: W406\n  return x\n}\n\nmodel m {\n  input 8\n  dense 2\n}\n"
    assert check_source(source).diagnostics == []


def test_deeply_nested_expressions_are_walked_without_recursion():
    depth = 3_000
    expr = "(" * depth + "f(1)" + " + 1)" * depth
    source = f"def f(x) {{\n  return x\n}}\n\nmodel m {{\n  input 8\n  dense {expr}\n}}\n"
    codes = [d.code for d in check_source(source).diagnostics]
    assert "W406" not in codes
