"""The language server's check: :func:`specc.check.check_source`'s result, fast after an edit.

It runs specc check's own steps (:func:`specc.check.check_model` on each
model, :func:`specc.check.settle` on the file), remembering what an edit did
not touch.


An edit touches one top-level definition; re-checking a 1,000-line file from
scratch costs far more than the 50 ms an editor can wait. :class:`Analyzer`
splits the text into top-level pieces (a ``model`` or ``block`` and the lines
it spans), parses each piece once and remembers it by its text, and remembers
each model's expansion, inference and lint by the text of the model and of the
blocks. A piece that only moved (lines inserted above it) is shifted, not
re-parsed; a model whose text and blocks did not change is reused, its spans
moved with its lines. Whatever cannot be reused exactly is recomputed, and a
file the splitter does not understand is checked whole: the result is always
the one ``check_source`` gives (tests/test_lsp_analysis.py compares them on
thousands of edits).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from specc.check import (
    CheckResult,
    check_model,
    check_source,
    gc_paused,
    settle,
)
from specc.check.unused import unused_definition_warnings
from specc.codes import E101, E112
from specc.diagnostics import Diagnostic, RelatedSpan, Span, SpeccError, sort_key
from specc.ir.graph import Model
from specc.syntax import tree as t
from specc.syntax.expand import Expander
from specc.syntax.parse import MAX_FILE_BYTES, parse
from specc.syntax.scope import MAX_STEPS

# Line breaks that str.splitlines() sees and lark does not: such files are checked whole.
_EXOTIC = re.compile("[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]|\r(?!\n)")
_LEXEMES = re.compile(r"\"([^\"\\\n]|\\.)*\"|'([^'\\\n]|\\.)*'|#|[{}()\[\]]")
_PARSE_PHASE = (E101, E112)  # raised while parsing; others while building the tree


@dataclass(frozen=True)
class Piece:
    """A top-level part of the file: whole lines from ``line`` (0-based)."""

    line: int
    text: str

    @property
    def lines(self) -> int:
        """How many lines it spans."""
        return self.text.count("\n") + (not self.text.endswith("\n"))


def split_pieces(text: str) -> list[Piece] | None:
    """The top-level pieces of ``text``, or None where brackets do not balance."""
    pieces: list[Piece] = []
    start: tuple[int, int] | None = None
    braces = parens = offset = 0
    for number, line in enumerate(text.splitlines(keepends=True)):
        code = False
        for match in _LEXEMES.finditer(line):
            token = match.group()
            if token == "#":
                code = code or bool(line[: match.start()].strip())
                break
            braces += (token == "{") - (token == "}")
            parens += (token in "([") - (token in ")]")
            if braces < 0 or parens < 0:
                return None
        else:
            code = bool(line.strip())
        if start is None and code:
            start = (number, offset)
        offset += len(line)
        if start is not None and braces == 0 and parens == 0:
            pieces.append(Piece(start[0], text[start[1] : offset]))
            start = None
    if start is not None:
        pieces.append(Piece(start[0], text[start[1] :]))
    return pieces


_TREE = frozenset(
    cls for cls in vars(t).values() if isinstance(cls, type) and dataclasses.is_dataclass(cls)
)
_ATOMS = frozenset({str, int, float, bool, type(None), tuple})


def _span(span: Span, lines: int) -> Span:
    return Span(span.file, span.line + lines, span.column, span.end_line + lines, span.end_column)


def _tree(obj: Any, lines: int) -> Any:
    kind = type(obj)
    if kind in _ATOMS:
        return obj
    if kind is Span:
        return _span(obj, lines)
    if kind is list:
        return [_tree(x, lines) for x in obj]
    if kind in _TREE:
        copy = object.__new__(kind)
        copy.__dict__ = {k: _tree(v, lines) for k, v in obj.__dict__.items()}
        return copy
    return obj


def shift(obj: Any, lines: int) -> Any:
    """A copy of a syntax tree (or span, list, diagnostic) moved down by ``lines``."""
    if lines == 0:
        return obj
    if isinstance(obj, Diagnostic):
        related = tuple(RelatedSpan(_span(r.span, lines), r.message) for r in obj.related)
        return dataclasses.replace(obj, span=_span(obj.span, lines), related=related)
    if isinstance(obj, list) and obj and isinstance(obj[0], Diagnostic):
        return [shift(d, lines) for d in obj]
    return _tree(obj, lines)


@dataclass
class _Entry:
    """One model checked: the IR (inferred) and every diagnostic it produced."""

    model: Model | None
    diagnostics: list[Diagnostic]  # expansion, inference, lint, expectations
    steps: int
    ranges: list[tuple[int, int, int]]  # (first line, last line, piece index) when computed


def _moved_diagnostic(d: Diagnostic, deltas: list[tuple[int, int, int]]) -> Diagnostic | None:
    """``d`` with its span and related spans moved, or None where one cannot be."""
    span = _moved(d.span, deltas)
    related = []
    for r in d.related:
        moved = _moved(r.span, deltas)
        if moved is None:
            return None
        related.append(RelatedSpan(moved, r.message))
    if span is None:
        return None
    return dataclasses.replace(d, span=span, related=tuple(related))


def _moved(span: Span, deltas: list[tuple[int, int, int]]) -> Span | None:
    for first, last, delta in deltas:
        if first <= span.line <= last:
            if delta == 0:
                return span
            return _span(span, delta) if first <= span.end_line <= last else None
    return None


class _RelocationError(Exception):
    """A span outside the pieces the model was computed from: recompute instead."""


def _copy(obj: Any, **changes: Any) -> Any:
    """A shallow copy of a pydantic object with some fields replaced (no validation)."""
    new = obj.__copy__()
    new.__dict__.update(changes)
    return new


def _relocate_model(model: Model, deltas: list[tuple[int, int, int]]) -> Model:
    memo: dict[Span, Span] = {}

    def move(span: Span | None) -> Span | None:
        if span is None:
            return None
        moved = memo.get(span)
        if moved is None:
            moved = memo[span] = _moved(span, deltas)  # type: ignore[assignment]
            if moved is None:
                raise _RelocationError
        return moved

    nodes = [
        _copy(
            node,
            span=move(node.span),
            call_site=move(node.call_site),
            arg_spans={k: move(v) for k, v in node.arg_spans.items()},
        )
        for node in model.nodes
    ]
    update: dict[str, Any] = {"span": move(model.span), "nodes": nodes}
    for key in ("compile", "fit"):
        settings = getattr(model, key)
        if settings is not None:
            spans = {k: move(v) for k, v in settings.spans.items()}
            update[key] = _copy(settings, span=move(settings.span), spans=spans)
    update["expects"] = [_copy(e, span=move(e.span)) for e in model.expects]
    return _copy(model, **update)


class _CachingExpander(Expander):
    """The expander, with each model's whole check remembered by the text it came from."""

    def __init__(self, analyzer: Analyzer, origin: dict[int, tuple[int, int]]) -> None:
        super().__init__(analyzer.file)
        self.analyzer = analyzer
        self.origin = origin  # id(statement) -> (piece index, position in the piece)
        self.entries: dict[int, _Entry] = {}  # id(model) -> its entry

    def _key(self, stmt: t.Statement) -> tuple[tuple, list[int]]:
        pieces = self.analyzer.pieces
        index, position = self.origin[id(stmt)]
        used = [index]
        blocks = []
        for name, block in [*self.blocks.items(), *self.functions.items()]:  # what it may call
            b_index, b_position = self.origin[id(self.analyzer.block_stmts[id(block.body)])]
            blocks.append((name, pieces[b_index].text, b_position))
            used.append(b_index)
        return (pieces[index].text, position, tuple(blocks)), used

    def _model(self, name: str, stmt: t.Statement) -> Model | None:
        key, used = self._key(stmt)
        pieces = self.analyzer.pieces
        ranges = [(pieces[i].line + 1, pieces[i].line + pieces[i].lines, i) for i in used]
        entry = self.analyzer.models.get(key)
        if entry is not None and self.steps + entry.steps <= MAX_STEPS:
            entry = self._reuse(entry, ranges)
        else:
            entry = None
        if entry is None:
            entry = self._compute(name, stmt, ranges)
        if not any(d.code == E112 for d in entry.diagnostics):  # step limits add up
            self.analyzer.fresh_models[key] = entry
        self.diagnostics.extend(entry.diagnostics)
        self.steps += entry.steps
        if entry.model is not None:
            self.entries[id(entry.model)] = entry
        return entry.model

    def _reuse(self, entry: _Entry, ranges: list[tuple[int, int, int]]) -> _Entry | None:
        if entry.ranges == ranges:
            return entry
        if len(entry.ranges) != len(ranges):
            return None
        deltas = [(a, b, new[0] - a) for (a, b, _), new in zip(entry.ranges, ranges, strict=True)]
        try:
            model = _relocate_model(entry.model, deltas) if entry.model is not None else None
            diagnostics = []
            for d in entry.diagnostics:
                moved = _moved_diagnostic(d, deltas)
                if moved is None:
                    return None
                diagnostics.append(moved)
        except _RelocationError:
            return None
        return _Entry(model, diagnostics, entry.steps, ranges)

    def _compute(self, name: str, stmt: t.Statement, ranges: list) -> _Entry:
        outer, before = self.diagnostics, self.steps
        self.diagnostics = []
        try:
            model = super()._model(name, stmt)
            diagnostics = self.diagnostics
        finally:
            self.diagnostics = outer
        if model is not None:
            analyzer = self.analyzer
            diagnostics.extend(check_model(model, analyzer.max_params, analyzer.max_macs))
        steps = self.steps - before
        self.steps = before
        return _Entry(model, diagnostics, steps, ranges)


class Analyzer:
    """``check_source`` for one document, remembering what an edit did not touch.

    ``max_params`` and ``max_macs`` are the budgets of ``specc check --max-params/--max-macs``.
    """

    def __init__(
        self, file: str, max_params: int | None = None, max_macs: int | None = None
    ) -> None:
        self.file = file
        self.max_params, self.max_macs = max_params, max_macs
        self.parsed: dict[tuple[str, bool], list[t.Statement] | SpeccError] = {}
        self.placed: dict[tuple[str, int], list[t.Statement]] = {}
        self.models: dict[tuple, _Entry] = {}
        self.fresh_models: dict[tuple, _Entry] = {}
        self.pieces: list[Piece] = []
        self.block_stmts: dict[int, t.Statement] = {}
        self.reused = 0  # pieces not re-parsed in the last check (for tests and benchmarks)
        self.statements: list[t.Statement] | None = None  # the last check's parse, if it parsed

    def check(self, text: str) -> CheckResult:
        """The result ``check_source(text, file, max_params, max_macs)`` gives, incrementally."""
        self.statements = None
        pieces = split_pieces(text)
        if pieces is None or len(text) > MAX_FILE_BYTES or _EXOTIC.search(text):
            return check_source(text, self.file, self.max_params, self.max_macs)
        try:
            with gc_paused():
                return self._check(text, pieces)
        except RecursionError:
            return check_source(text, self.file, self.max_params, self.max_macs)

    def _parse_piece(self, piece: Piece) -> list[t.Statement] | SpeccError:
        """A piece's syntax tree, lines counted from the line before it.

        A piece after the first line is parsed after a dummy statement line
        (``x``), so the parser meets its first token in the state the whole
        file's parse would be in (after a line break), and a syntax error there
        names the same expected tokens.
        """
        after = piece.line > 0
        try:
            statements = parse("x\n" * after + piece.text, self.file)
        except SpeccError as exc:
            return exc
        return statements[after:]

    def _parse(self, pieces: list[Piece]) -> tuple[list[t.Statement], dict] | list[Diagnostic]:
        parsed: dict[tuple[str, bool], list[t.Statement] | SpeccError] = {}
        placed: dict[tuple[str, int], list[t.Statement]] = {}
        statements: list[t.Statement] = []
        origin: dict[int, tuple[int, int]] = {}
        failure: list[Diagnostic] | None = None
        self.reused = 0
        for index, piece in enumerate(pieces):
            key = (piece.text, piece.line > 0)
            lines = piece.line - (piece.line > 0)  # how far the piece's tree is moved
            tree = self.parsed.get(key)
            if tree is None:
                tree = self._parse_piece(piece)
            else:
                self.reused += 1
            parsed[key] = tree
            if isinstance(tree, SpeccError):
                diagnostics = shift(list(tree.diagnostics), lines)
                if any(d.code in _PARSE_PHASE for d in diagnostics):
                    self.parsed, self.placed = parsed, placed
                    return diagnostics
                failure = failure or diagnostics
                continue
            here = self.placed.get((piece.text, piece.line))
            if here is None:
                here = shift(tree, lines)
            placed[(piece.text, piece.line)] = here
            for position, stmt in enumerate(here):
                origin[id(stmt)] = (index, position)
                statements.append(stmt)
        self.parsed, self.placed = parsed, placed
        return failure if failure is not None else (statements, origin)

    def _check(self, text: str, pieces: list[Piece]) -> CheckResult:
        result = CheckResult(self.file, text)
        self.pieces = pieces
        outcome = self._parse(pieces)
        if isinstance(outcome, list):
            result.diagnostics = sorted(outcome, key=sort_key)
            return result
        statements, origin = outcome
        self.statements = statements
        self.block_stmts = {id(s.body): s for s in statements if s.body is not None}
        expander = _CachingExpander(self, origin)
        self.fresh_models = {}
        try:
            models = expander.run(statements)
        except SpeccError as exc:
            result.diagnostics = sorted(exc.diagnostics, key=sort_key)
            return result
        self.models = self.fresh_models
        diagnostics = list(expander.diagnostics)
        diagnostics.extend(
            unused_definition_warnings(statements, expander.blocks, expander.functions)
        )
        result.models = models
        result.diagnostics = settle(diagnostics, text)
        return result
