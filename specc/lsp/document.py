"""One open document: its text, its check result, and positions in the client's units.

Spans are 1-based with columns in code points (lark's); LSP positions are
0-based with columns in the negotiated encoding (UTF-16 unless the client and
server agreed on another). This module is the one place that converts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from lsprotocol import types as lsp

from specc.check import CheckResult
from specc.diagnostics import Diagnostic, Span
from specc.ir.graph import Model, Node
from specc.lsp.analysis import Analyzer
from specc.syntax import tree as t

WORD = re.compile(r"@?[A-Za-z_][A-Za-z0-9_]*")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_SURROGATE = re.compile("[\ud800-\udfff]")


def units(text: str, encoding: str) -> int:
    """The length of ``text`` in the client's position units."""
    if text.isascii() or encoding == "utf-32":
        return len(text)
    if encoding == "utf-8":
        return len(text.encode("utf-8"))
    return len(text.encode("utf-16-le")) // 2


def column_index(line: str, character: int, encoding: str) -> int:
    """The code point index in ``line`` of a client column, clamped to the line."""
    if line.isascii() or encoding == "utf-32":
        return min(character, len(line))
    count = 0
    for index, char in enumerate(line):
        if count >= character:
            return index
        count += units(char, encoding)
    return len(line)


def without_lone_surrogates(text: str) -> str:
    """``text`` with each unpaired UTF-16 surrogate (JSON allows ``"\\ud800"``) as U+FFFD.

    Both count one UTF-16 unit, so the client's positions still hold; a lone
    surrogate cannot be encoded, which stopped every later conversion.
    """
    return _SURROGATE.sub("\ufffd", text)


def apply_edit(text: str, edit: lsp.Range, new_text: str, encoding: str) -> str:
    """``text`` with ``edit`` replaced by ``new_text``, counting lines as LSP does.

    LSP lines end at ``\\r\\n``, ``\\r`` or ``\\n`` (not at form feeds or
    U+2028, where ``str.splitlines`` also splits); positions past a line's end
    or the text's end are clamped to them, as the protocol asks.
    """
    breaks = [match.end() for match in _LINE_BREAK.finditer(text)]

    def offset(position: lsp.Position) -> int:
        if position.line > len(breaks):
            return len(text)
        begin = breaks[position.line - 1] if position.line else 0
        end = breaks[position.line] if position.line < len(breaks) else len(text)
        line = text[begin:end].rstrip("\r\n")
        return begin + column_index(line, position.character, encoding)

    start, end = offset(edit.start), offset(edit.end)
    return text[:start] + new_text + text[max(start, end) :]


@dataclass
class Document:
    """What the server knows about one open ``.cnn`` document."""

    uri: str
    path: str
    encoding: str = "utf-16"
    text: str = ""
    lines: list[str] = field(default_factory=list)
    result: CheckResult | None = None
    last_models: list[Model] = field(default_factory=list)  # the last models seen
    last_statements: list[t.Statement] = field(default_factory=list)  # the last good parse
    analyzer: Analyzer | None = None
    max_params: int | None = None  # the budgets of specc check --max-params/--max-macs
    max_macs: int | None = None
    _models_lines: int = -1
    _statements_lines: int = -1

    def update(self, text: str) -> CheckResult:
        """Check the new text; models and statements survive edits that break them."""
        if self.analyzer is None:
            self.analyzer = Analyzer(self.path, self.max_params, self.max_macs)
        self.text = text
        self.lines = text.split("\n")
        self.result = self.analyzer.check(text)
        if self.result.models:
            self.last_models, self._models_lines = self.result.models, len(self.lines)
        if self.analyzer.statements is not None:
            self.last_statements = self.analyzer.statements
            self._statements_lines = len(self.lines)
        return self.result

    @property
    def models(self) -> list[Model]:
        """The models to show: the last ones that checked, while the lines have not moved.

        While someone types, the text often does not parse; the shapes of the last
        good check stay on screen until a line is inserted or removed, which would
        put them at the wrong places.
        """
        return self.last_models if self._models_lines == len(self.lines) else []

    @property
    def statements(self) -> list[t.Statement]:
        """The last good parse, on the same terms as :attr:`models`."""
        return self.last_statements if self._statements_lines == len(self.lines) else []

    # -- positions ------------------------------------------------------------

    def line(self, number: int) -> str:
        """Line ``number`` (1-based), without its line break; '' past the end."""
        if 1 <= number <= len(self.lines):
            return self.lines[number - 1].rstrip("\r")
        return ""

    def position(self, line: int, column: int) -> lsp.Position:
        """The LSP position of a 1-based (line, column) in code points."""
        text = self.line(line)
        return lsp.Position(
            line=max(line - 1, 0), character=units(text[: column - 1], self.encoding)
        )

    def range(self, span: Span) -> lsp.Range:
        """The LSP range of a span."""
        return lsp.Range(
            start=self.position(span.line, span.column),
            end=self.position(span.end_line, span.end_column),
        )

    def locate(self, position: lsp.Position) -> tuple[int, int]:
        """A client position as a 1-based (line, column) in code points."""
        text = self.line(position.line + 1)
        return position.line + 1, column_index(text, position.character, self.encoding) + 1

    def word_at(self, line: int, column: int) -> tuple[str, Span] | None:
        """The word (``@ref`` included) under a 1-based position, with its span."""
        for match in WORD.finditer(self.line(line)):
            if match.start() + 1 <= column <= match.end() + 1:
                return match.group(), Span(
                    self.path, line, match.start() + 1, line, match.end() + 1
                )
        return None

    # -- diagnostics ------------------------------------------------------------

    def diagnostic(self, d: Diagnostic) -> lsp.Diagnostic:
        """A specc diagnostic as an LSP one."""
        message = d.message + (f"\nhelp: {d.help}" if d.help else "")
        severity = (
            lsp.DiagnosticSeverity.Error
            if d.severity == "error"
            else lsp.DiagnosticSeverity.Warning
        )
        related = [
            lsp.DiagnosticRelatedInformation(
                location=lsp.Location(uri=self.uri_of(r.span.file), range=self.range(r.span)),
                message=r.message,
            )
            for r in d.related
        ]
        return lsp.Diagnostic(
            range=self.range(d.span),
            message=message,
            severity=severity,
            code=d.code,
            source="specc",
            related_information=related or None,
        )

    def uri_of(self, file: str) -> str:
        """The URI of a span's file: this document's, or a ``file://`` URI of the path."""
        if file == self.path:
            return self.uri
        return Path(file).absolute().as_uri()

    # -- the IR under a position ---------------------------------------------------

    def model_at(self, line: int, column: int) -> Model | None:
        """The model whose text holds the position."""
        for model in self.models:
            if contains(model.span, line, column):
                return model
        return None

    def nodes_at(self, line: int, column: int) -> tuple[Span, list[tuple[Model, Node]]] | None:
        """The innermost statement under the position that made layers, and those layers.

        A statement in a model gives its node; a block call gives every node of
        the call; a statement inside a block gives its node in every call.
        """
        best: Span | None = None
        for model in self.models:
            for node in model.nodes:
                for site in (node.span, node.call_site):
                    if site is not None and contains(site, line, column):
                        if best is None or size(site) < size(best):
                            best = site
        if best is None:
            return None
        found = [
            (model, node)
            for model in self.models
            for node in model.nodes
            if node.span == best or node.call_site == best
        ]
        return best, found


def contains(span: Span, line: int, column: int) -> bool:
    """Whether a 1-based position lies in the span (its end included, as a cursor sees it)."""
    return (span.line, span.column) <= (line, column) <= (span.end_line, span.end_column)


def size(span: Span) -> tuple[int, int]:
    """An order on spans: fewer lines first, then fewer columns."""
    return (span.end_line - span.line, span.end_column - span.column)


def site(node: Node) -> Span:
    """Where a node was written in its model: its block call, or its own statement."""
    return node.call_site or node.span
