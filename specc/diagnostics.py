"""One diagnostic type, rendered in one place (text, json, sarif, github).

Every stage reports problems as :class:`Diagnostic` values carrying a
:class:`Span`; this module is the only one that turns them into text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]

# Every code specc can emit, with a short title. Tests check that each code
# used anywhere is listed here, and SARIF publishes this table as its rules.
CODES: dict[str, str] = {
    "E100": "file cannot be read or is too large",
    "E101": "syntax error",
    "E102": "unknown statement, layer or block",
    "E103": "unknown parameter",
    "E104": "missing argument",
    "E105": "too many positional arguments",
    "E106": "argument given twice",
    "E107": "invalid value",
    "E108": "invalid model structure",
    "E109": "recursive block",
    "E110": "unknown @reference",
    "E111": "duplicate name",
    "E112": "resource limit exceeded",
    "E113": "invalid arithmetic",
    "E201": "empty output: kernel or pool does not fit its input",
    "E202": "groups do not divide the channels",
    "E203": "strides > 1 with dilation_rate > 1",
    "E204": "incompatible merge inputs",
    "E205": "input of the wrong rank",
    "E206": "reshape does not preserve the number of elements",
    "E207": "tensor or weight too large",
    "E301": "expectation failed",
    "E302": "parameter budget exceeded",
    "E303": "MAC budget exceeded",
    "E501": "weights file cannot be read",
    "E502": "weights file lacks an array the model needs",
    "E503": "weights file holds an array the model does not have",
    "E504": "weight array of the wrong shape",
    "E505": "weight array of the wrong dtype or with non-finite values",
    "E601": "input cannot be read",
    "E602": "input of the wrong shape",
    "E603": "input of the wrong dtype",
    "E604": "input holds NaN or infinity",
    "E605": "what the target cannot express",
    "E801": "training data cannot be read",
    "E802": "training data lacks an array",
    "E803": "labels do not fit the model or its loss",
    "E804": "no training samples",
    "E805": "the spec has no compile settings to train with",
    "E806": "training cannot run on this backend or distribution",
    "E807": "checkpoint cannot be resumed",
    "W401": "dense applied to a feature map",
    "W402": "probabilities fed to a from_logits loss",
    "W403": "stride larger than the kernel",
    "W404": "unused block",
    "W405": "softmax over a single unit",
}


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
class Diagnostic:
    """A problem at a place in a file: code, severity, message, span, help."""

    code: str
    message: str
    span: Span
    help: str | None = None
    severity: Severity = field(default="error")

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unregistered diagnostic code {self.code}")
        if self.code.startswith("W") and self.severity == "error":
            object.__setattr__(self, "severity", "warning")

    def to_json(self) -> dict[str, object]:
        """The JSON object of design.md's `diagnostics` list."""
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "file": self.span.file,
            "line": self.span.line,
            "column": self.span.column,
            "end_line": self.span.end_line,
            "end_column": self.span.end_column,
            "help": self.help,
        }


class SpeccError(Exception):
    """Raised by a stage that cannot go on; carries its diagnostics."""

    def __init__(self, diagnostics: Diagnostic | Sequence[Diagnostic]) -> None:
        if isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics = list(diagnostics)
        super().__init__("; ".join(d.message for d in self.diagnostics))


def error(code: str, message: str, span: Span, help: str | None = None) -> SpeccError:
    """A :class:`SpeccError` holding one error diagnostic."""
    return SpeccError(Diagnostic(code, message, span, help))


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


def render_text(diagnostics: Iterable[Diagnostic], sources: dict[str, str]) -> str:
    """Compiler-style text: location, code, message, source line with carets, help."""
    out: list[str] = []
    for d in diagnostics:
        s = d.span
        out.append(f"{s.file}:{s.line}:{s.column}: {d.severity}[{d.code}]: {d.message}")
        lines = source_lines(sources.get(s.file, ""))
        if 1 <= s.line <= len(lines):
            text = lines[s.line - 1].expandtabs(1)
            if len(text) > 200:
                text = text[:200] + "..."
            width = max(5, len(str(s.line)))
            end = s.end_column if s.end_line == s.line else len(text) + 1
            carets = max(1, min(end, len(text) + 1) - s.column)
            out.append(f"{s.line:>{width}} | {text}")
            out.append(f"{'':>{width}} | {' ' * (s.column - 1)}{'^' * carets}")
        if d.help:
            out.append(f"  help: {d.help}")
    return "\n".join(out) + ("\n" if out else "")


def render_github(diagnostics: Iterable[Diagnostic]) -> str:
    """GitHub Actions workflow commands (annotations on the pull request)."""

    def esc(text: str) -> str:
        return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

    def esc_prop(text: str) -> str:
        return esc(text).replace(":", "%3A").replace(",", "%2C")

    out = []
    for d in diagnostics:
        s = d.span
        message = d.message + (f"\n{d.help}" if d.help else "")
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
            "id": code,
            "name": CODES[code].title().replace(" ", "").replace(":", "").replace(">", "Gt"),
            "shortDescription": {"text": CODES[code]},
            "defaultConfiguration": {"level": "warning" if code.startswith("W") else "error"},
        }
        for code in used
    ]
    results = []
    for d in diagnostics:
        s = d.span
        text = d.message + (f" (help: {d.help})" if d.help else "")
        results.append(
            {
                "ruleId": d.code,
                "ruleIndex": used.index(d.code),
                "level": d.severity,
                "message": {"text": text},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": s.file.replace("\\", "/")},
                            "region": {
                                "startLine": s.line,
                                "startColumn": s.column,
                                "endLine": s.end_line,
                                "endColumn": s.end_column,
                            },
                        }
                    }
                ],
            }
        )
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


def render_sarif(diagnostics: Sequence[Diagnostic], version: str) -> str:
    """SARIF 2.1.0 as indented JSON text."""
    return json.dumps(sarif_log(diagnostics, version), indent=2) + "\n"
