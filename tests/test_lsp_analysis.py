"""The server's incremental check gives exactly what ``specc check`` gives, edit after edit.

``Analyzer.check(text)`` reuses pieces of earlier checks; each result is
compared, field by field (spans and messages included), with a fresh
``check_source(text)`` on random edit sequences: typing, deleting, inserting
and removing lines, breaking and repairing syntax.
"""

from __future__ import annotations

import random
from pathlib import Path

from conftest import EXAMPLES
from specgen import generate_spec
from test_fmt import facts

from specc.check import CheckResult, check_source
from specc.lsp.analysis import Analyzer, split_pieces

SNIPPETS = ["", "# c", "  dense 3", "  relu", "model q {", "}", "  conv2d 8 3", "block z(a) {",
            "  input 4", "  repeat 2 {", "  add { path { } path { relu } }", "  concatenate @t0",
            '  dense 2 name="x"', "  expect params == 10", "  dense (1,", ")"]  # fmt: skip
CHARS = list("abc12 ({)}#=@x\"'[];,*")


def everything(result: CheckResult) -> dict:
    """Facts, plus every span and every diagnostic as written."""
    out = facts(result)
    out["diagnostics"] = [
        (d.code, d.severity, d.message, d.span, d.help) for d in result.diagnostics
    ]
    out["spans"] = [
        [(n.span, n.call_site, sorted(n.arg_spans.items())) for n in m.nodes]
        + [m.span, [e.span for e in m.expects]]
        + [s and (s.span, sorted(s.spans.items())) for s in (m.compile, m.fit)]
        for m in result.models
    ]
    return out


def _edit(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    i = rng.randrange(len(lines))
    op = rng.random()
    if op < 0.3:
        lines.insert(i, rng.choice(SNIPPETS))
    elif op < 0.45 and len(lines) > 1:
        del lines[i]
    elif op < 0.8:
        j = rng.randrange(len(lines[i]) + 1)
        lines[i] = lines[i][:j] + rng.choice(CHARS) + lines[i][j:]
    elif lines[i]:
        j = rng.randrange(len(lines[i]))
        lines[i] = lines[i][:j] + lines[i][j + 1 :]
    return "\n".join(lines)


def test_incremental_check_equals_a_fresh_check():
    rng = random.Random(6)
    specs = sorted((Path(__file__).resolve().parent / "specs").glob("*.cnn"))  # def, if, for
    sources = [generate_spec(seed) for seed in range(40)] + [
        p.read_text() for p in [*EXAMPLES, *specs]
    ]
    checks = reused = 0
    for trial in range(40):
        text = "\n".join(rng.sample(sources, 4))
        analyzer = Analyzer("edit.cnn")
        for _ in range(30):
            text = _edit(text, rng)
            got = analyzer.check(text)
            assert everything(got) == everything(check_source(text, "edit.cnn")), (trial, text)
            checks += 1
            reused += analyzer.reused
    assert checks == 1200
    assert reused > checks  # most pieces were not parsed again


def test_a_changed_function_is_not_served_from_the_cache():
    before = "def scale(n) {\n  return n * 2\n}\nmodel m {\n  input 8\n  dense scale(3)\n}\n"
    after = before.replace("n * 2", "n * 5")
    analyzer = Analyzer("f.cnn")
    analyzer.check(before)
    result = analyzer.check(after)
    assert everything(result) == everything(check_source(after, "f.cnn"))
    assert result.models[0].nodes[1].layer.units == 15


def test_moved_models_are_reused_with_their_spans_moved():
    text = "\n\n".join(p.read_text() for p in EXAMPLES)
    analyzer = Analyzer("moved.cnn")
    first = analyzer.check(text)
    entries = set(map(id, analyzer.models.values()))
    moved = "# a new first line\n\n" + text
    again = analyzer.check(moved)
    assert analyzer.reused == len(split_pieces(moved) or [])
    assert everything(again) == everything(check_source(moved, "moved.cnn"))
    assert [m.span.line for m in again.models] == [m.span.line + 2 for m in first.models]
    assert entries.isdisjoint(map(id, analyzer.models.values()))  # relocated copies


def test_syntax_errors_and_odd_text_match_a_fresh_check():
    cases = [
        "model m {\n  input 8\n",  # unclosed: the error is at the end of the file
        "model m {\n  input 8\n  dense (4,\n}\n",
        "}\nmodel m {\n  input 8\n  dense 2\n}\n",
        "model a {\n  input 8\n  dense 1.0001k\n}\nmodel b {\n  input 8\n  dense 2 +\n}\n",
        "model m {\n  input 8\x0c\n  dense 2\n}\n",  # a form feed: checked whole
        'model m {\n  input 8\n  dense 2 name="{"\n}\n',
        "model m { input 8; dense 2 } model n { input 4\n dense 1 }\n",
        "block b(x) {\n  dense x\n}\nblock b(y) {\n  dense y\n}\nmodel m {\n  input 4\n  b 2\n}\n",
    ]
    for text in cases:
        analyzer = Analyzer("odd.cnn")
        assert everything(analyzer.check(text)) == everything(check_source(text, "odd.cnn")), text
        assert everything(analyzer.check(text)) == everything(check_source(text, "odd.cnn")), text
