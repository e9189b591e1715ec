"""One diagnostic type, rendered in one place (text, json, sarif, github).

Every stage reports problems as :class:`Diagnostic` values carrying a
:class:`Span`; this module is the only one that turns them into text.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from specc.codes import REGISTRY, Code, Severity

# Every code specc can emit, with its title: derived from the registry in
# specc.codes (one object per code: title, severity, exit class, doc, example,
# fix). Tests check that each code used anywhere is registered.
CODES: dict[str, str] = {code: entry.title for code, entry in REGISTRY.items()}


@dataclass(frozen=True)
class Span:
    """A range in a source file; lines and columns start at 1, end is exclusive."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    @classmethod
    def of_token(cls, file: str, token: object) -> Span:
        """The span of a lark token or tree-meta object."""
        line = getattr(token, "line", None) or 1
        column = getattr(token, "column", None) or 1
        end_line = getattr(token, "end_line", None) or line
        end_column = getattr(token, "end_column", None) or column + 1
        return cls(file, line, column, end_line, end_column)

    def to(self, other: Span) -> Span:
        """The span from the start of this one to the end of ``other``."""
        return Span(self.file, self.line, self.column, other.end_line, other.end_column)


@dataclass(frozen=True)
class RelatedSpan:
    """Another place a diagnostic concerns, with what it is: the layer inside a called block."""

    span: Span
    message: str

    def to_json(self) -> dict[str, object]:
        """``{"message", "file", "line", "column", "end_line", "end_column"}``."""
        return {"message": self.message, **_location(self.span)}


def _location(span: Span) -> dict[str, object]:
    return {
        "file": span.file,
        "line": span.line,
        "column": span.column,
        "end_line": span.end_line,
        "end_column": span.end_column,
    }


@dataclass(frozen=True)
class Diagnostic:
    """A problem at a place in a file: code, severity, message, span, help, related places.

    ``code`` is a registered code: a string, or its :class:`specc.codes.Code` constant.
    ``related`` are other spans the problem concerns (a layer inside the block
    that a model calls at ``span``); they are rendered as notes, LSP
    ``relatedInformation`` and SARIF ``relatedLocations``.
    """

    code: str
    message: str
    span: Span
    help: str | None = None
    severity: Severity = field(default="error")
    related: tuple[RelatedSpan, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.code, Code):  # a registry constant: keep the plain string
            object.__setattr__(self, "code", self.code.code)
        if self.code not in REGISTRY:
            raise ValueError(f"unregistered diagnostic code {self.code}")
        if self.code.startswith("W") and self.severity == "error":
            object.__setattr__(self, "severity", "warning")

    def to_json(self) -> dict[str, object]:
        """The JSON object of design.md's `diagnostics` list (``related`` only when there are)."""
        out: dict[str, object] = {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            **_location(self.span),
            "help": self.help,
        }
        if self.related:
            out["related"] = [r.to_json() for r in self.related]
        return out


class SpeccError(Exception):
    """Raised by a stage that cannot go on; carries its diagnostics."""

    def __init__(self, diagnostics: Diagnostic | Sequence[Diagnostic]) -> None:
        if isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics = list(diagnostics)
        super().__init__("; ".join(d.message for d in self.diagnostics))


def error(
    code: str,
    message: str,
    span: Span,
    help: str | None = None,
    related: tuple[RelatedSpan, ...] = (),
) -> SpeccError:
    """A :class:`SpeccError` holding one error diagnostic."""
    return SpeccError(Diagnostic(code, message, span, help, related=related))


def sort_key(d: Diagnostic) -> tuple[str, int, int, str]:
    """Diagnostics are reported in file order."""
    return (d.span.file, d.span.line, d.span.column, d.code)


def source_lines(text: str) -> list[str]:
    """The lines of ``text`` as the parser numbers them: split at newlines only.

    ``str.splitlines`` also splits at form feeds, U+2028, a lone carriage return
    and other characters the grammar reads as spaces, which would shift every
    later line against the diagnostics' line numbers.
    """
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


# Characters a terminal acts on rather than shows: C0 and C1 controls (ESC starts
# colours, OSC 52 clipboard writes, cursor moves; a newline fakes a diagnostic),
# line separators and the bidirectional overrides that reorder what is read.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

# A code repeated more than this many times in text output is summarised.
MAX_REPEATS = 10


def printable(text: str) -> str:
    """``text`` with every control character written as an escape (``\\x1b``, ``\\n``)."""
    return _UNPRINTABLE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _ESCAPES.get(char) or (f"\\x{code:02x}" if code < 256 else f"\\u{code:04x}")


def cap_repeated(diagnostics: Iterable[Diagnostic], limit: int = MAX_REPEATS) -> list[Diagnostic]:
    """The first ``limit`` diagnostics of each code and file, then one that counts the rest.

    The count stands where the first left-out diagnostic stood: one line instead
    of 10,000 E503s for 10,000 arrays a model does not have.
    """
    found = list(diagnostics)
    total = Counter((d.span.file, d.code) for d in found)
    seen: Counter[tuple[str, str]] = Counter()
    out = []
    for d in found:
        key = (d.span.file, d.code)
        seen[key] += 1
        if seen[key] <= limit:
            out.append(d)
        elif seen[key] == limit + 1:
            rest = total[key] - limit
            kind = "errors" if d.severity == "error" else "warnings"
            message = f"... and {rest:,} more {d.code} {kind} like these, not shown"
            out.append(Diagnostic(d.code, message, d.span, severity=d.severity))
    return out


def render_text(diagnostics: Iterable[Diagnostic], sources: dict[str, str]) -> str:
    """Compiler-style text: location, code, message, source line with carets, notes, help.

    Control characters in file names, messages and source lines are escaped, so
    a spec cannot drive the terminal; a code repeated more than
    :data:`MAX_REPEATS` times is summarised (:func:`cap_repeated`).
    """
    out: list[str] = []
    for d in cap_repeated(diagnostics):
        s = d.span
        out.append(
            f"{printable(s.file)}:{s.line}:{s.column}: {d.severity}[{d.code}]: "
            f"{printable(d.message)}"
        )
        out.extend(_source_excerpt(s, sources))
        for r in d.related:
            out.append(
                f"  note: {printable(r.span.file)}:{r.span.line}:{r.span.column}: "
                f"{printable(r.message)}"
            )
            out.extend(_source_excerpt(r.span, sources))
        if d.help:
            out.append(f"  help: {printable(d.help)}")
    return "\n".join(out) + ("\n" if out else "")


def _source_excerpt(s: Span, sources: dict[str, str]) -> list[str]:
    """The span's source line with carets under it (nothing when the line is unknown)."""
    lines = source_lines(sources.get(s.file, ""))
    if not 1 <= s.line <= len(lines):
        return []
    end = s.end_column if s.end_line == s.line else None
    text, start, carets = _excerpt(lines[s.line - 1], s.column, end)
    width = max(5, len(str(s.line)))
    return [f"{s.line:>{width}} | {text}", f"{'':>{width}} | {' ' * start}{'^' * carets}"]


def _excerpt(line: str, column: int, end_column: int | None) -> tuple[str, int, int]:
    """A source line as shown (tabs as one space, controls escaped, cut at 200
    characters), with the caret start and count under columns ``column..end_column``."""
    shown = [" " if c == "\t" else printable(c) for c in line]
    offsets = [0]
    for piece in shown:
        offsets.append(offsets[-1] + len(piece))

    def at(col: int) -> int:  # where column ``col`` is shown; past the end, one per column
        return offsets[col - 1] if col <= len(offsets) else offsets[-1] + col - len(offsets)

    text = "".join(shown)
    if len(text) > 200:
        text = text[:200] + "..."
    limit = min(len(text), offsets[-1])
    start = at(column)
    stop = at(end_column) if end_column is not None else limit
    return text, start, max(1, min(stop, limit) - start)


def render_github(diagnostics: Iterable[Diagnostic]) -> str:
    """GitHub Actions workflow commands (annotations on the pull request)."""

    def esc(text: str) -> str:
        return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

    def esc_prop(text: str) -> str:
        return esc(text).replace(":", "%3A").replace(",", "%2C")

    out = []
    for d in diagnostics:
        s = d.span
        notes = "".join(
            f"\nnote: {r.message} ({r.span.file}:{r.span.line}:{r.span.column})" for r in d.related
        )
        message = d.message + notes + (f"\n{d.help}" if d.help else "")
        props = (
            f"file={esc_prop(s.file)},line={s.line},col={s.column},"
            f"endLine={s.end_line},endColumn={s.end_column},title={esc_prop(d.code)}"
        )
        out.append(f"::{d.severity} {props}::{esc(message)}")
    return "\n".join(out) + ("\n" if out else "")


def sarif_log(diagnostics: Sequence[Diagnostic], version: str) -> dict[str, object]:
    """A SARIF 2.1.0 log with one run of the tool ``specc``."""
    used = sorted({d.code for d in diagnostics})
    rules = [
        {
            "id": entry.code,
            "name": entry.title.title().replace(" ", "").replace(":", "").replace(">", "Gt"),
            "shortDescription": {"text": entry.title},
            "fullDescription": {"text": entry.doc},
            "help": {"text": entry.fix},
            "defaultConfiguration": {"level": entry.severity},
        }
        for entry in (REGISTRY[code] for code in used)
    ]
    results = []
    for d in diagnostics:
        text = d.message + (f" (help: {d.help})" if d.help else "")
        result: dict[str, object] = {
            "ruleId": d.code,
            "ruleIndex": used.index(d.code),
            "level": d.severity,
            "message": {"text": text},
            "locations": [{"physicalLocation": _sarif_location(d.span)}],
        }
        if d.related:
            result["relatedLocations"] = [
                {
                    "id": i,
                    "physicalLocation": _sarif_location(r.span),
                    "message": {"text": r.message},
                }
                for i, r in enumerate(d.related)
            ]
        results.append(result)
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "specc",
                        "version": version,
                        "informationUri": "https://pypi.org/project/specc/",
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }


def _sarif_location(s: Span) -> dict[str, object]:
    """A SARIF ``physicalLocation`` of a span."""
    return {
        "artifactLocation": {"uri": s.file.replace("\\", "/")},
        "region": {
            "startLine": s.line,
            "startColumn": s.column,
            "endLine": s.end_line,
            "endColumn": s.end_column,
        },
    }


def render_sarif(diagnostics: Sequence[Diagnostic], version: str) -> str:
    """SARIF 2.1.0 as indented JSON text."""
    return json.dumps(sarif_log(diagnostics, version), indent=2) + "\n"
