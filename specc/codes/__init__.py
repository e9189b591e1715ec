"""Every diagnostic code specc reports: one :class:`Code` object each, in one registry.

A code has a title, a severity, an exit class, a paragraph of documentation,
an example that triggers it and the fix. Everything else derives from this
table: ``specc.diagnostics.CODES`` and the validation of every
:class:`~specc.diagnostics.Diagnostic`, the rules of a SARIF log, the exit
status of the commands (:func:`exit_class`), and the diagnostics reference
``docs/diagnostics.md`` (``python docs/gen_diagnostics.py`` writes it; a test
runs every example).

Codes by their first digits: ``E1xx`` the language, ``E2xx`` what Keras would
refuse, ``E3xx`` expectations and budgets, ``W4xx`` lint warnings, ``E5xx``
weights files, ``E6xx`` inputs, backends, targets and outputs.
"""

from __future__ import annotations

from collections.abc import Iterable

from specc.codes.base import EXIT_SPEC, EXIT_USAGE, Code, Severity
from specc.codes.checks import (
    E201,
    E202,
    E203,
    E204,
    E205,
    E206,
    E207,
    E301,
    E302,
    E303,
    W401,
    W402,
    W403,
    W404,
    W405,
    W406,
)
from specc.codes.imports import E701, E702, E703, E704, E705, E706, E707
from specc.codes.language import (
    E100,
    E101,
    E102,
    E103,
    E104,
    E105,
    E106,
    E107,
    E108,
    E109,
    E110,
    E111,
    E112,
    E113,
    E114,
)
from specc.codes.targets import (
    E501,
    E502,
    E503,
    E504,
    E505,
    E601,
    E602,
    E603,
    E604,
    E605,
    E606,
    E607,
    E611,
    E612,
    E613,
    E614,
    E615,
)
from specc.codes.training import E801, E802, E803, E804, E805, E806, E807

__all__ = ["EXIT_SPEC", "EXIT_USAGE", "REGISTRY", "Code", "Severity", "exit_class", "lookup"]

REGISTRY: dict[str, Code] = {
    c.code: c
    for c in sorted(
        (
            *(E100, E101, E102, E103, E104, E105, E106, E107, E108, E109, E110, E111, E112),
            *(E113, E114, E201, E202, E203, E204, E205, E206, E207, E301, E302, E303),
            *(W401, W402, W403, W404, W405, W406),
            *(E501, E502, E503, E504, E505, E601, E602, E603, E604, E605, E606, E607),
            *(E611, E612, E613, E614, E615),
            *(E701, E702, E703, E704, E705, E706, E707),
            *(E801, E802, E803, E804, E805, E806, E807),
        ),
        key=lambda c: c.code[1:],
    )
}
"""Code string -> :class:`Code`, in numeric order (W4xx between E3xx and E5xx)."""


def lookup(code: str) -> Code:
    """The registered :class:`Code` for ``"E201"``; KeyError when unregistered."""
    return REGISTRY[code]


def exit_class(codes: str | Iterable[str]) -> int:
    """The exit status for diagnostics with these codes: 0 none, else the highest class.

    1: the spec is at fault (errors, failed expectations, budgets, and warnings
    where ``--strict`` counts them); 2: something outside the spec is (an
    unreadable file, weights or input that do not fit, a missing backend).
    A command decides which warnings count; pass it only the codes that do.
    """
    if isinstance(codes, str):  # a Code is a str too
        codes = [codes]
    return max((lookup(c).exit_class for c in codes), default=0)
