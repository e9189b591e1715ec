"""``specc fmt``: one canonical layout for ``.cnn`` files.

The layout, decided once so that nobody argues about it:

- One statement per line, bodies indented by two spaces, ``{`` at the end of
  the statement's line and ``}`` on a line of its own; an empty body is ``{ }``.
  A statement written across lines (inside ``( )`` or ``[ ]``) is joined onto
  one line; ``;`` separators become line breaks. Lines are never wrapped.
- Statement heads: keywords lowercase (``Model`` -> ``model``); a layer kind or
  alias becomes its canonical kind, the ``kind`` of its class in
  :mod:`specc.ir.layers` (``conv`` and ``Conv2D`` -> ``conv2d``, ``maxpool`` ->
  ``maxpooling2d``, ``bn`` -> ``batchnormalization``); a bare activation
  statement is lowercased (``ReLU`` -> ``relu``). Block calls, model, block and
  layer names keep their case.
- Arguments are separated by one space; ``key=value`` has no spaces; tuples,
  lists and calls are written as in Python (``(3, 3)``, ``(1000,)``,
  ``[accuracy, auc]``, ``l2(0.01)``). Arithmetic is tight among a statement's
  arguments, where spaces separate arguments (``conv2d f*2 3``), and spaced
  inside brackets as in Python (``(f + 1, 3)``); parentheses only where the
  precedence needs them. Parameter names of layers and enum words (padding,
  activations, initializers, ``true``/``false``/``none``) are lowercased, except
  where a block parameter of that name would change the meaning. Numbers and
  strings stay exactly as written.
- Comments are kept: a comment on a line of its own stays on its own line, at
  the indentation of the code around it; a comment after code stays after it,
  separated by two spaces. Comments from inside a statement written across
  lines go to the end of the joined line (so ``# noqa`` still applies there).
- Runs of blank lines become one blank line; blank lines at the start or end of
  the file or of a body are dropped. The file ends with one newline.

Formatting is idempotent, and the formatted file checks to the same IR
(tests/test_fmt.py proves both on every example and on random specs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import accumulate

from specc.ir.layers import lookup
from specc.ir.values import ACTIVATIONS, CONSTRAINTS, INITIALIZERS, REGULARIZERS
from specc.syntax import tree as t
from specc.syntax.parse import BOM, parse
from specc.syntax.scope import DTYPES, KEYWORDS, LOGIC_WORDS

INDENT = "  "
_ENUM_WORDS = frozenset(
    {"true", "false", "none", "valid", "same", "channels_last", "channels_first"}
    | {"nearest", "bilinear", "bicubic", "lanczos3", "lanczos5", "area"}
    | set(ACTIVATIONS)
    | set(INITIALIZERS)
    | set(REGULARIZERS)
    | set(CONSTRAINTS)
    | set(DTYPES)
)
_CONSTANTS = frozenset({"true", "false", "none"})
# Strings and comments as the grammar's STRING and COMMENT terminals define them.
_LEXEMES = re.compile(r"\"([^\"\\\n]|\\.)*\"|'([^'\\\n]|\\.)*'|#[^\n]*")
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "//": 2, "/": 2, "%": 2}
# Statements whose arguments are one expression or a condition, written with spaces
# as in Python (`if new_v < 0.9 * v {`), and the words of their conditions.
_SPACED = ("if", "else", "for", "return")
_CONTROL_WORDS = frozenset({*LOGIC_WORDS, "if", "in"})

Pos = tuple[int, int]


def format_source(text: str, file: str = "<input>") -> str:
    """The canonical layout of ``text``; raises :class:`~specc.diagnostics.SpeccError`
    (E101, located) when the text does not parse: a file with syntax errors is never
    formatted."""
    body = text.removeprefix(BOM)
    statements = parse(body, file)
    formatted = _Formatter(body, statements).run()
    return BOM + formatted if body != text else formatted  # kept, as ruff keeps it


@dataclass
class _Attached:
    """Comments that belong to one statement."""

    before: list[tuple[int, str]] = field(default_factory=list)  # own-line, above it
    inner: list[str] = field(default_factory=list)  # inside a multi-line header
    end: str | None = None  # after a statement without body
    open: str | None = None  # after its '{'
    close: str | None = None  # after its '}'
    body_end: list[tuple[int, str]] = field(default_factory=list)  # own-line, before '}'


def _start(span) -> Pos:
    return (span.line, span.column)


def _end(span) -> Pos:
    return (span.end_line, span.end_column)


def _header_end(stmt: t.Statement) -> Pos:
    return _end(stmt.items[-1].span if stmt.items else stmt.head_span)


class _Formatter:
    def __init__(self, text: str, statements: list[t.Statement]) -> None:
        self.lines = [line.rstrip("\r") for line in text.split("\n")]
        self.statements = statements
        self.attached: dict[int, _Attached] = {}
        self.file_end: list[tuple[int, str]] = []
        self.blank = [0, *accumulate(not line.strip() for line in self.lines)]
        self.blocks, self.functions = (
            {
                s.items[0].value.name
                for s in statements
                if s.keyword == keyword
                and s.items
                and isinstance(s.items[0], t.Positional)
                and isinstance(s.items[0].value, (t.Word, t.Call))
            }
            for keyword in ("block", "def")
        )
        self.out: list[str] = []

    # -- comments --------------------------------------------------------------

    def _at(self, stmt: t.Statement) -> _Attached:
        return self.attached.setdefault(id(stmt), _Attached())

    def _attach_comments(self) -> None:
        ends: dict[int, list[tuple[int, str, t.Statement]]] = {}

        def index(stmts: list[t.Statement]) -> None:
            for s in stmts:
                if s.body is None:
                    line, col = _header_end(s)
                    ends.setdefault(line, []).append((col, "end", s))
                else:
                    assert s.body_span is not None
                    ends.setdefault(s.body_span.line, []).append(
                        (s.body_span.column + 1, "open", s)
                    )
                    ends.setdefault(s.body_span.end_line, []).append(
                        (s.body_span.end_column, "close", s)
                    )
                    index(s.body)

        index(self.statements)
        for number, line in enumerate(self.lines, start=1):
            comment = next((m for m in _LEXEMES.finditer(line) if m.group().startswith("#")), None)
            if comment is None:
                continue
            col, text = comment.start() + 1, comment.group().rstrip()
            if line[: col - 1].strip():
                before = [e for e in ends.get(number, []) if e[0] <= col]
                if before:
                    end_col, where, stmt = max(before, key=lambda e: e[0])
                    if not line[end_col - 1 : col - 1].replace(";", "").strip():
                        setattr(self._at(stmt), where, text)
                        continue
            self._place((number, col), text, self.statements, None)

    def _place(self, pos: Pos, text: str, stmts: list[t.Statement], owner) -> None:
        for s in stmts:
            if pos < _start(s.span):
                self._at(s).before.append((pos[0], text))
                return
            if pos <= _end(s.span):
                body = s.body_span
                if body is not None and _start(body) < pos < _end(body):
                    self._place(pos, text, s.body or [], s)
                else:
                    self._at(s).inner.append(text)
                return
        if owner is None:
            self.file_end.append((pos[0], text))
        else:
            self._at(owner).body_end.append((pos[0], text))

    # -- layout ------------------------------------------------------------------

    def run(self) -> str:
        self._attach_comments()
        self._body(self.statements, self.file_end, 0, frozenset())
        return "\n".join(self.out) + "\n" if self.out else ""

    def _blank_between(self, last: int, first: int) -> bool:
        return first - last > 1 and self.blank[first - 1] - self.blank[last] > 0

    def _body(
        self,
        stmts: list[t.Statement],
        trailing: list[tuple[int, str]],
        depth: int,
        params: frozenset[str],
    ) -> None:
        indent = INDENT * depth
        last: int | None = None
        entries: list[tuple[int, int, t.Statement | str]] = []
        for s in stmts:
            for line, text in self._at(s).before:
                entries.append((line, line, text))
            entries.append((s.span.line, s.span.end_line, s))
        entries += [(line, line, text) for line, text in trailing]
        previous: t.Statement | str | None = None
        for first, end, entry in entries:
            joined = (
                isinstance(entry, t.Statement)
                and entry.keyword == "else"
                and isinstance(previous, t.Statement)
                and previous.keyword in ("if", "else")
                and previous.body is not None
                and self.out[-1].endswith("}")
            )
            if last is not None and self._blank_between(last, first) and not joined:
                self.out.append("")
            if isinstance(entry, str):
                self.out.append(indent + entry)
            else:
                self._statement(entry, depth, params, joined)
            last, previous = end, entry

    def _statement(
        self, s: t.Statement, depth: int, params: frozenset[str], joined: bool = False
    ) -> None:
        indent = INDENT * depth
        at = self._at(s)
        header = indent + self._header(s, params)
        if joined:  # `} else {` on the line of the `}` before it
            header = self.out.pop() + " " + header.lstrip()
        if s.body is None:
            self.out.append(header + _comment([*at.inner, at.end]))
            return
        if s.keyword in ("block", "def") and s.items and isinstance(s.items[0], t.Positional):
            head = s.items[0].value
            params = frozenset()
            if isinstance(head, t.Call):
                params = frozenset(
                    [a.name for a in head.args if isinstance(a, t.Word)]
                    + [k.name for k in head.kwargs]
                )
        if s.keyword in ("block", "def", "model"):
            params = params | _bound_names(s.body)
        opening = [*at.inner, at.open]
        if not s.body and not at.body_end and not any(opening):
            self.out.append(header + " { }" + _comment([at.close]))
            return
        self.out.append(header + " {" + _comment(opening))
        self._body(s.body, at.body_end, depth + 1, params)
        self.out.append(indent + "}" + _comment([at.close]))

    # -- statements and expressions ----------------------------------------------

    def _header(self, s: t.Statement, params: frozenset[str]) -> str:
        low = s.keyword
        if low in KEYWORDS:
            head, context = low, low
        elif s.head in self.blocks:
            head, context = s.head, "call"
        elif low in ACTIVATIONS:
            head, context = low, "layer"
        elif (cls := lookup(low)) is not None:
            head, context = cls.kind, "layer"
        else:
            head, context = s.head, "call"
        parts = [head]
        previous: t.Item | None = None
        for index, item in enumerate(s.items):
            parts.append(self._item(item, context, index, previous, params))
            previous = item
        return " ".join(parts)

    def _item(
        self, item: t.Item, context: str, index: int, previous: t.Item | None, params: frozenset
    ) -> str:
        if isinstance(item, t.Comparison):
            return item.op
        if isinstance(item, t.Keyword) and context == "let":
            return f"{item.name} = {self._expr(item.value, 'plain', params, tight=False)}"
        if isinstance(item, t.Keyword):
            if context in ("layer", "input"):
                name = item.name.lower()
                mode = "keep" if name == "name" else "enum"
            else:
                name, mode = item.name, "plain"
            if context in ("model", "block"):
                mode = "keep"
            return f"{name}={self._expr(item.value, mode, params, tight=True)}"
        mode = {"layer": "enum", "input": "enum", "model": "keep"}.get(context, "plain")
        if context == "expect" and index == 0:
            mode = "lower"
        if context in ("block", "def"):
            text = self._block_head(item.value, params)
        elif context in _SPACED:
            value = item.value
            if isinstance(value, t.Word) and value.name.lower() in _CONTROL_WORDS:
                text = value.name.lower()
            else:
                text = self._expr(value, mode, params, tight=False)
        else:
            text = self._expr(item.value, mode, params, tight=True)
        if text.startswith("-") and isinstance(previous, (t.Positional, t.Keyword)):
            text = f"({text})"  # `8 -1` would read as `8 - 1`
        return text

    def _block_head(self, value: t.Expr, params: frozenset[str]) -> str:
        if not isinstance(value, t.Call):
            return self._expr(value, "keep", params, tight=True)
        args = [self._expr(a, "keep", params, tight=False) for a in value.args]
        args += [f"{k.name}={self._expr(k.value, 'plain', params, False)}" for k in value.kwargs]
        return f"{value.name}({', '.join(args)})"

    def _word(self, name: str, mode: str, params: frozenset[str]) -> str:
        low = name.lower()
        if mode == "keep" or name in params or low in params:
            return name
        if mode == "lower" or low in _CONSTANTS or (mode == "enum" and low in _ENUM_WORDS):
            return low
        return name

    def _expr(self, e: t.Expr, mode: str, params: frozenset[str], tight: bool) -> str:
        if isinstance(e, t.Number):
            return e.text or str(e.value)
        if isinstance(e, t.Dims):
            return "x".join(str(v) for v in e.values)
        if isinstance(e, t.String):
            return self.lines[e.span.line - 1][e.span.column - 1 : e.span.end_column - 1]
        if isinstance(e, t.Word):
            return self._word(e.name, mode, params)
        if isinstance(e, t.Ref):
            return f"@{e.name}"
        if isinstance(e, t.TupleExpr):
            items = [self._expr(i, mode, params, False) for i in e.items]
            return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
        if isinstance(e, t.ListExpr):
            return "[" + ", ".join(self._expr(i, mode, params, False) for i in e.items) + "]"
        if isinstance(e, t.Call):
            args = [self._expr(a, mode, params, False) for a in e.args]
            args += [f"{k.name}={self._expr(k.value, mode, params, False)}" for k in e.kwargs]
            name = e.name if e.name in self.functions else e.name.lower()
            return f"{name}({', '.join(args)})"
        if isinstance(e, t.Neg):
            inner = self._expr(e.operand, mode, params, tight)
            return f"-({inner})" if isinstance(e.operand, t.BinOp) else f"-{inner}"
        assert isinstance(e, t.BinOp)
        level = _PRECEDENCE[e.op]
        left = self._expr(e.left, mode, params, tight)
        right = self._expr(e.right, mode, params, tight)
        if isinstance(e.left, t.BinOp) and _PRECEDENCE[e.left.op] < level:
            left = f"({left})"
        if isinstance(e.right, t.BinOp) and _PRECEDENCE[e.right.op] <= level:
            right = f"({right})"
        sep = "" if tight else " "
        return f"{left}{sep}{e.op}{sep}{right}"


def _bound_names(body: list[t.Statement]) -> frozenset[str]:
    """Names that ``let`` and ``for`` bind anywhere in ``body``: their case is kept."""
    names: set[str] = set()
    for s in body:
        if s.keyword == "let" and s.items and isinstance(s.items[0], t.Keyword):
            names.add(s.items[0].name)
        if s.keyword == "for" and s.items and isinstance(s.items[0], t.Positional):
            target = s.items[0].value
            words = target.items if isinstance(target, t.TupleExpr) else [target]
            names.update(w.name for w in words if isinstance(w, t.Word))
        names |= _bound_names(s.body or [])
    return frozenset(names)


def _comment(parts: list[str | None]) -> str:
    texts = [p for p in parts if p]
    return "  " + "  ".join(texts) if texts else ""
