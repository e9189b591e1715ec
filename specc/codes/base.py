"""What one diagnostic code is: :class:`Code`, and the two exit classes."""

from __future__ import annotations

from typing import Any, Literal

Severity = Literal["error", "warning"]

EXIT_SPEC = 1
"""Exit class of a problem in the spec: fix the ``.cnn`` file (warnings: with ``--strict``)."""
EXIT_USAGE = 2
"""Exit class of a problem outside the spec: a file, an input, weights, the machine."""

_FIELDS = ("title", "severity", "exit_class", "doc", "example", "fix", "command", "setup")
_FIELDS += ("python",)


class Code(str):
    """One diagnostic code: what it means, an example that triggers it, and the fix.

    A Code is its code string (``E201 == "E201"``), so it can stand wherever a
    code does: a Diagnostic's code, a dict key, a comparison. ``example`` is
    the text of a spec, ``example.cnn``; ``command`` is the ``specc`` command
    line that reports the code for it, and ``setup`` says what other files
    that command reads (an input, a weights file). A code that only the Python
    API can report has ``python`` instead of a command. The diagnostics
    reference (``docs/diagnostics.md``) is generated from these fields, and a
    test runs every example. Immutable.
    """

    title: str
    severity: Severity
    exit_class: int
    doc: str
    example: str
    fix: str
    command: str
    setup: str
    python: str

    def __new__(
        cls,
        code: str,
        title: str,
        severity: Severity,
        exit_class: int,
        *,
        doc: str,
        example: str,
        fix: str,
        command: str = "specc check example.cnn",
        setup: str = "",
        python: str = "",
    ) -> Code:
        expected = "warning" if code.startswith("W") else "error"
        if severity != expected or exit_class not in (EXIT_SPEC, EXIT_USAGE):
            raise ValueError(f"{code}: severity or exit class does not fit the code")
        self = super().__new__(cls, code)
        values = (title, severity, exit_class, doc, example, fix, command, setup, python)
        for name, value in zip(_FIELDS, values, strict=True):
            object.__setattr__(self, name, value)
        return self

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{self.code} is immutable")

    @property
    def code(self) -> str:
        """The code as a plain string: ``"E201"``."""
        return str.__str__(self)

    def replace(self, **changes: Any) -> Code:
        """A copy with some fields changed (tests run an example with other flags)."""
        fields = {name: getattr(self, name) for name in _FIELDS} | changes
        title, severity, exit_class = (fields.pop(k) for k in ("title", "severity", "exit_class"))
        return Code(self.code, title, severity, exit_class, **fields)


def error(code: str, title: str, *, exit_class: int = EXIT_SPEC, **fields: str) -> Code:
    """An error code ``E...`` (exit class 1 unless the spec is not at fault)."""
    return Code(code, title, "error", exit_class, **fields)


def warning(code: str, title: str, **fields: str) -> Code:
    """A lint warning ``W...``: exit class 1, which only ``--strict`` makes an exit status."""
    return Code(code, title, "warning", EXIT_SPEC, **fields)
