"""What one diagnostic code is: :class:`Code`, and the two exit classes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]

EXIT_SPEC = 1
"""Exit class of a problem in the spec: fix the ``.cnn`` file (warnings: with ``--strict``)."""
EXIT_USAGE = 2
"""Exit class of a problem outside the spec: a file, an input, weights, the machine."""


@dataclass(frozen=True)
class Code:
    """One diagnostic code: what it means, an example that triggers it, and the fix.

    ``example`` is the text of a spec, ``example.cnn``; ``command`` is the
    ``specc`` command line that reports the code for it, and ``setup`` says
    what other files that command reads (an input, a weights file). A code
    that only the Python API can report has ``python`` instead of a command.
    The diagnostics reference (``docs/diagnostics.md``) is generated from
    these fields, and a test runs every example.
    """

    code: str
    title: str
    severity: Severity
    exit_class: int
    doc: str
    example: str
    fix: str
    command: str = "specc check example.cnn"
    setup: str = ""
    python: str = ""

    def __post_init__(self) -> None:
        expected = "warning" if self.code.startswith("W") else "error"
        if self.severity != expected or self.exit_class not in (EXIT_SPEC, EXIT_USAGE):
            raise ValueError(f"{self.code}: severity or exit class does not fit the code")

    def __str__(self) -> str:
        return self.code


def error(code: str, title: str, *, exit_class: int = EXIT_SPEC, **fields: str) -> Code:
    """An error code (exit class 1 unless the spec is not at fault)."""
    return Code(code, title, "error", exit_class, **fields)


def warning(code: str, title: str, **fields: str) -> Code:
    """A lint warning: exit class 1, which only ``--strict`` turns into an exit status."""
    return Code(code, title, "warning", EXIT_SPEC, **fields)
