"""specc/syntax/lalr_parser.py is lark's standalone parser of the grammar as it is now.

The module is generated (scripts/gen_parser.py): its recorded digest must be
the grammar's, its code lark's own, and it must parse every shipped spec, and
every broken prefix of one, exactly as lark itself does when it builds the
parser from grammar/cnn.lark with specc's options and post-lexer.
"""

from __future__ import annotations

import sys

import lark
import pytest
from conftest import EXAMPLES, ROOT

sys.path.insert(0, str(ROOT / "scripts"))

from gen_parser import GRAMMAR, NO_REGEX, OUTPUT, build_lark, generate, grammar_digest

from specc.syntax import lalr_parser
from specc.syntax.parse import _Brackets, _parser

CORPUS = [*EXAMPLES, *sorted((ROOT / "zoo").glob("*.cnn"))]
CORPUS += sorted((ROOT / "tests" / "golden" / "diagnostics").glob("*.cnn"))


def _shape(node: object) -> object:
    """A tree or token as plain data: kind, text and every position."""
    if isinstance(node, (lark.Token, lalr_parser.Token)):
        return ("token", node.type, str(node), node.line, node.column, node.end_line, node.end_pos)
    meta = node.meta
    where = (meta.line, meta.column, meta.end_line, meta.end_column) if not meta.empty else None
    return (node.data, where, [_shape(child) for child in node.children])


def _outcome(parser: object, text: str) -> object:
    """The tree, or what the syntax error says (kind, place, token, expected terminals)."""
    try:
        return _shape(parser.parse(text))
    except (lark.exceptions.UnexpectedInput, lalr_parser.UnexpectedInput) as exc:
        token = getattr(exc, "token", None)
        return (
            type(exc).__name__,
            getattr(exc, "line", None),
            getattr(exc, "column", None),
            None if token is None else (token.type, str(token)),
            sorted(getattr(exc, "expected", None) or ()),
            sorted(getattr(exc, "accepts", None) or ()),
        )


@pytest.fixture(scope="module")
def both():
    reference = build_lark(GRAMMAR.read_text(encoding="utf-8"), postlex=_Brackets(""))
    return reference, _parser()


def test_the_module_was_generated_from_the_grammar_as_it_is():
    assert lalr_parser.GRAMMAR_SHA256 == grammar_digest(GRAMMAR.read_text(encoding="utf-8")), (
        "grammar/cnn.lark changed: run python scripts/gen_parser.py"
    )


def test_the_module_is_lark_code_with_only_the_regex_import_left_out():
    text = OUTPUT.read_text(encoding="utf-8")
    assert NO_REGEX in text and "import regex" not in text
    if lalr_parser.__version__ == lark.__version__:
        fresh = generate(GRAMMAR.read_text(encoding="utf-8"))
        # the tables' state numbers vary from run to run; lark's code does not
        code = text.split("\nDATA = (\n")[0]
        assert fresh.split("\nDATA = (\n")[0] == code, "run python scripts/gen_parser.py"


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_every_shipped_spec_parses_as_lark_parses_it(both, path):
    reference, standalone = both
    text = path.read_text(encoding="utf-8")
    assert _outcome(standalone, text) == _outcome(reference, text)


def test_broken_text_fails_as_it_fails_in_lark(both):
    reference, standalone = both
    text = "\n".join(p.read_text(encoding="utf-8") for p in EXAMPLES)
    cuts = range(1, len(text), max(1, len(text) // 400))
    samples = [text[:cut] for cut in cuts]
    samples += ['model m {\n  input 8x8x1\n  conv2d 3 "oops\n}\n', "model m {\n  x = (1,\n 2\n"]
    samples += ["}", "model m { input 8 } else { }", "@", "model m { $ }", "a(1,\n 2"]
    failures = 0
    for sample in samples:
        want = _outcome(reference, sample)
        failures += isinstance(want[0], str) and want[0].startswith("Unexpected")
        assert _outcome(standalone, sample) == want, sample[-80:]
    assert failures > 100  # the samples do reach the error paths


def test_the_post_lexer_joins_lines_inside_brackets_as_in_lark(both):
    reference, standalone = both
    text = "model m {\n  input 8x8x1\n  conv2d 8 (3,\n    3) padding=same\n  foo [1,\n 2]\n}\n"
    tree = _outcome(standalone, text)
    assert tree == _outcome(reference, text) and tree[0] == "start"
