"""Text to syntax tree: the Lark LALR parser and its error messages."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import lru_cache

from specc.codes import E100, E101, E107, E112
from specc.diagnostics import Span, SpeccError, error, source_lines
from specc.syntax import MAX_FILE_BYTES
from specc.syntax import tree as t

# lark's standalone parser of grammar/cnn.lark (scripts/gen_parser.py writes it):
# lark's own runtime and this grammar's tables, so a check imports neither lark's
# grammar compiler nor its analysed-grammar cache.
from specc.syntax.lalr_parser import (
    Lark,
    Lark_StandAlone,
    Token,
    Transformer,
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
    v_args,
)

MAX_NESTING = 100
BOM = "\ufeff"
# Operators in one statement: expression trees are walked recursively, so an
# arithmetic chain of thousands of terms must stop here, located, not in a RecursionError.
MAX_OPERATORS = 256
_OPERATORS = ("+", "-", "*", "/", "//", "%")

_OPEN = {"LPAR": "RPAR", "LSQB": "RSQB", "LBRACE": "RBRACE"}
_CLOSE = {v: k for k, v in _OPEN.items()}

# What the user sees instead of lark's terminal names.
_TERMINAL_WORDS = {
    "NAME": "a name",
    "CALLNAME": "a name",
    "NUMBER": "a number",
    "COUNT": "a count",
    "DIMS": "dimensions like 3x3",
    "STRING": "a string",
    "REF": "an @reference",
    "CMP": "a comparison",
    "ELSE": "else",
    "_NL": "end of line",
    "SEMICOLON": "';'",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "LPAR": "'('",
    "RPAR": "')'",
    "LSQB": "'['",
    "RSQB": "']'",
    "COMMA": "','",
    "EQUAL": "'='",
    "PLUS": "'+'",
    "MINUS": "'-'",
    "STAR": "'*'",
    "SLASH": "'/'",
    "PERCENT": "'%'",
    "__ANON_0": "'//'",
    "$END": "end of file",
}


class _Brackets:
    """Post-lexer: newlines inside ( ) and [ ] continue a statement; bounded nesting."""

    always_accept = ("_NL",)

    def __init__(self, file: str) -> None:
        self.file = file

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        stack: list[Token] = []
        operators = 0
        for tok in stream:
            kind = tok.type
            if kind in ("_NL", "SEMICOLON", "LBRACE", "RBRACE") and not (
                kind == "_NL" and stack and stack[-1].type in ("LPAR", "LSQB")
            ):
                operators = 0
            elif tok.value in _OPERATORS and kind != "STRING":
                operators += 1
                if operators > MAX_OPERATORS:
                    raise error(
                        E112,
                        f"more than {MAX_OPERATORS} operators in one statement",
                        Span.of_token(self.file, tok),
                        "compute the value in fewer steps; no model needs this",
                    )
            if kind in _OPEN:
                stack.append(tok)
                if len(stack) > MAX_NESTING:
                    raise error(
                        E112,
                        f"brackets nested more than {MAX_NESTING} deep",
                        Span.of_token(self.file, tok),
                        "flatten the structure; no model needs this depth",
                    )
            elif kind in _CLOSE and stack and stack[-1].type == _CLOSE[kind]:
                stack.pop()
            elif kind == "_NL" and stack and stack[-1].type in ("LPAR", "LSQB"):
                continue
            yield tok


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark_StandAlone(postlex=_Brackets(""))


def _span(file: str, meta: object) -> Span:
    return Span.of_token(file, meta)


class _Build(Transformer):
    """Lark tree to :mod:`specc.syntax.tree` nodes."""

    def __init__(self, file: str) -> None:
        super().__init__()
        self.file = file

    def _s(self, meta: object) -> Span:
        return _span(self.file, meta)

    @v_args(meta=True)
    def start(self, meta, children):
        return _statements(children)

    @v_args(meta=True)
    def body(self, meta, children):
        return (self._s(meta), _statements(children))

    @v_args(meta=True)
    def stmt(self, meta, children):
        head: Token = children[0]
        body = None
        body_span = None
        items = []
        chained: list[t.Statement] = []
        for c in children[1:]:
            if isinstance(c, tuple):
                body_span, body = c
            elif isinstance(c, (t.Statement, list)):
                chained = c if isinstance(c, list) else [c]
            else:
                items.append(c)
        span = self._s(meta)
        if chained:
            assert body_span is not None
            span = self._s(head).to(body_span)
        stmt = t.Statement(str(head), self._s(head), items, body, span, body_span=body_span)
        return [stmt, *chained] if chained else stmt

    else_stmt = stmt

    @v_args(meta=True)
    def positional(self, meta, children):
        return t.Positional(children[0], self._s(meta))

    @v_args(meta=True)
    def keyword(self, meta, children):
        name, value = children
        return t.Keyword(str(name), self._s(name), value, self._s(meta))

    kwarg = keyword

    @v_args(meta=True)
    def comparison(self, meta, children):
        return t.Comparison(str(children[0]), self._s(children[0]))

    def _binop(op):  # noqa: N805 - a factory used in the class body
        @v_args(meta=True)
        def method(self, meta, children):
            return t.BinOp(op, children[0], children[1], self._s(meta))

        return method

    add = _binop("+")
    sub = _binop("-")
    mul = _binop("*")
    floordiv = _binop("//")
    truediv = _binop("/")
    mod = _binop("%")

    @v_args(meta=True)
    def neg(self, meta, children):
        return t.Neg(children[0], self._s(meta))

    @v_args(meta=True)
    def pos(self, meta, children):
        return children[0]

    def number(self, children):
        tok = children[0]
        text = str(tok)
        value: int | float = int(text) if text.isdigit() else float(text)
        return t.Number(value, self._s(tok), text)

    def count(self, children):
        tok = children[0]
        text = str(tok)
        scale = {"k": 10**3, "M": 10**6, "G": 10**9}[text[-1]]
        digits = text[:-1]
        whole, _, frac = digits.partition(".")
        # Exact decimal arithmetic: 1.5M is 1500000, never 1499999.99.
        numerator = int((whole or "0") + frac)
        denominator = 10 ** len(frac)
        value = numerator * scale
        if value % denominator:
            raise error(E107, f"count {text} is not a whole number", self._s(tok))
        return t.Number(value // denominator, self._s(tok), text)

    def dims(self, children):
        tok = children[0]
        return t.Dims(tuple(int(x) for x in str(tok).split("x")), self._s(tok))

    def string(self, children):
        tok = children[0]
        try:
            value = ast.literal_eval(str(tok))
        except (ValueError, SyntaxError) as exc:
            raise error(E107, f"invalid string literal: {exc}", self._s(tok)) from None
        return t.String(value, self._s(tok))

    def word(self, children):
        return t.Word(str(children[0]), self._s(children[0]))

    def ref(self, children):
        return t.Ref(str(children[0])[1:], self._s(children[0]))

    @v_args(meta=True)
    def call(self, meta, children):
        name = children[0]
        args = [c for c in children[1:] if not isinstance(c, t.Keyword)]
        kwargs = [c for c in children[1:] if isinstance(c, t.Keyword)]
        return t.Call(str(name), args, kwargs, self._s(meta))

    @v_args(meta=True)
    def tuple(self, meta, children):
        return t.TupleExpr(list(children), self._s(meta))

    @v_args(meta=True)
    def list(self, meta, children):
        return t.ListExpr(list(children), self._s(meta))


def _statements(children: list) -> list[t.Statement]:
    """The statements among a body's children, a chained `} else {` flattened."""
    out: list[t.Statement] = []
    for child in children:
        if isinstance(child, t.Statement):
            out.append(child)
        elif isinstance(child, list):
            out.extend(child)
    return out


def _describe(token: Token) -> str:
    if token.type == "$END":
        return "end of file"
    if token.type == "_NL":
        return "end of line"
    return f"'{token}'"


def _expected(names: set[str]) -> str:
    words = sorted({_TERMINAL_WORDS.get(n, n.lower()) for n in names})
    if len(words) > 6:
        words = [*words[:6], "..."]
    return ", ".join(words)


def _syntax_error(file: str, text: str, exc: UnexpectedInput) -> Exception:
    line = getattr(exc, "line", 1) or 1
    column = getattr(exc, "column", 1) or 1
    if isinstance(exc, UnexpectedCharacters):
        char = text[exc.pos_in_stream] if exc.pos_in_stream < len(text) else ""
        span = Span(file, line, column, line, column + 1)
        hint = None
        if char in "\"'":
            hint = "close the string on the same line"
        return error(E101, f"unexpected character {char!r}", span, hint)
    if isinstance(exc, UnexpectedEOF):
        lines = source_lines(text) or [""]
        span = Span(file, len(lines), len(lines[-1]) + 1, len(lines), len(lines[-1]) + 2)
        return error(
            E101,
            "unexpected end of file",
            span,
            f"expected {_expected(set(exc.expected))}; is a '}}' or ')' missing?",
        )
    assert isinstance(exc, UnexpectedToken)
    tok = exc.token
    span = Span.of_token(file, tok)
    if tok.type in ("$END", "_NL"):
        span = Span(file, line, column, line, column + 1)
    expected = set(exc.expected) | set(getattr(exc, "accepts", None) or ())
    message = f"unexpected {_describe(tok)}"
    hint = f"expected {_expected(expected)}"
    if tok.type == "$END":
        hint += "; is a '}' or ')' missing?"
    elif tok.type == "RBRACE":
        hint = "this '}' closes nothing; remove it or open a block with '{'"
    elif tok.type == "SLASH":
        hint = "use '//' for integer division"
    return error(E101, message, span, hint)


def parse(text: str, file: str = "<input>") -> list[t.Statement]:
    """Parse ``.cnn`` text into top-level statements; raises SpeccError (E101) when malformed."""
    if len(text) > MAX_FILE_BYTES:
        raise error(
            E100,
            f"file is {len(text):,} characters, more than the limit of {MAX_FILE_BYTES:,}",
            Span(file, 1, 1, 1, 2),
            "a spec this large is not a model description; split it or generate less",
        )
    text = text.removeprefix(BOM)  # Windows editors begin UTF-8 files with one
    parser = _parser()
    parser.options.postlex.file = file
    try:
        lark_tree = parser.parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(file, text, exc) from None
    try:
        return _Build(file).transform(lark_tree)
    except VisitError as exc:  # lark wraps what a tree-building method raises (E107, ...)
        if isinstance(exc.orig_exc, SpeccError):
            raise exc.orig_exc from None
        raise
