"""Stage 3: the whole check of a file: parse, expand, infer, lint, expectations, budgets.

:func:`check_model` checks one expanded model and :func:`settle` turns what a
file produced into what is reported; ``specc check`` (:func:`check_source`)
and the language server (:mod:`specc.lsp.analysis`, incrementally) call both.
"""

from __future__ import annotations

import contextlib
import gc
import operator
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from specc.check.rules import RULES
from specc.check.unused import unused_definition_warnings
from specc.codes import E107, E112, E301, E302, E303
from specc.diagnostics import Diagnostic, Span, SpeccError, sort_key, source_lines
from specc.ir.graph import Model
from specc.ir.infer import infer
from specc.ir.shapes import fmt_shape
from specc.syntax.expand import Expander
from specc.syntax.parse import parse

_OPS = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_NOQA = re.compile(r"#.*\bnoqa\b(?::\s*(?P<codes>[A-Z][0-9]+(?:[\s,]+[A-Z][0-9]+)*))?", re.I)


@dataclass
class CheckResult:
    """What ``specc check`` knows about a file: its models and its diagnostics."""

    file: str
    source: str
    models: list[Model] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        """Diagnostics of severity error."""
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        """Diagnostics of severity warning."""
        return [d for d in self.diagnostics if d.severity == "warning"]

    def model(self, name: str | None = None) -> Model:
        """The model called ``name``, or the only / first one."""
        if name is None:
            if not self.models:
                raise KeyError("the file defines no valid model")
            return self.models[0]
        for model in self.models:
            if model.name == name:
                return model
        raise KeyError(name)


def check_expects(model: Model) -> list[Diagnostic]:
    """E301 for every ``expect`` of an inferred model that does not hold."""
    out = []
    for expect in model.expects:
        if expect.quantity == "output":
            actual: object = model.output_shape
            if expect.op not in ("==", "!="):
                out.append(
                    Diagnostic(E107, "expect output compares with == or != only", expect.span)
                )
                continue
            shown, wanted = fmt_shape(actual), fmt_shape(expect.value)  # type: ignore[arg-type]
        else:
            actual = model.total(expect.quantity)
            shown, wanted = f"{actual:,}", f"{expect.value:,}"  # type: ignore[str-format]
        if not _OPS[expect.op](actual, expect.value):
            out.append(
                Diagnostic(
                    E301,
                    f"expect {expect.quantity} {expect.op} {wanted} failed: "
                    f"{model.name} has {expect.quantity} {shown}",
                    expect.span,
                )
            )
    return out


def check_budgets(model: Model, max_params: int | None, max_macs: int | None) -> list[Diagnostic]:
    """E302 and E303 for a model over ``--max-params`` or ``--max-macs``."""
    out = []
    if max_params is not None and model.total("params") > max_params:
        out.append(
            Diagnostic(
                E302,
                f"{model.name} has {model.total('params'):,} params, over the budget "
                f"of {max_params:,}",
                model.span,
            )
        )
    if max_macs is not None and model.total("macs") > max_macs:
        out.append(
            Diagnostic(
                E303,
                f"{model.name} needs {model.total('macs'):,} MACs, over the budget of {max_macs:,}",
                model.span,
            )
        )
    return out


def check_model(
    model: Model, max_params: int | None = None, max_macs: int | None = None
) -> list[Diagnostic]:
    """One expanded model's problems: inference's errors, else lint, expectations and budgets.

    The model's nodes get their shapes, weights and MACs. Lint rules, ``expect``
    lines and budgets need every shape, so they run only when inference found
    no error.
    """
    errors = infer(model)
    if errors:
        return errors
    found: list[Diagnostic] = []
    for rule in RULES:
        found.extend(rule.check(model))
    found.extend(check_expects(model))
    found.extend(check_budgets(model, max_params, max_macs))
    return found


def settle(diagnostics: list[Diagnostic], source: str) -> list[Diagnostic]:
    """What is reported of a file's diagnostics: duplicates once, ``# noqa`` applied, file order."""
    lines = source_lines(source)
    unique = {(d.code, d.span, d.message, d.related): d for d in diagnostics}
    return sorted((d for d in unique.values() if not silenced(d, lines)), key=sort_key)


def silenced(diagnostic: Diagnostic, lines: list[str]) -> bool:
    """True for a warning whose line carries ``# noqa`` or ``# noqa: CODE``."""
    if diagnostic.severity != "warning" or not 1 <= diagnostic.span.line <= len(lines):
        return False
    match = _NOQA.search(lines[diagnostic.span.line - 1])
    if not match:
        return False
    codes = match.group("codes")
    return codes is None or diagnostic.code in re.split(r"[\s,]+", codes.upper())


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: a check allocates many small acyclic
    objects, and collections that rescan them all made large files quadratic."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def check_source(
    source: str,
    file: str = "<input>",
    max_params: int | None = None,
    max_macs: int | None = None,
) -> CheckResult:
    """Check ``.cnn`` text: every model inferred, every problem as a located diagnostic."""
    with gc_paused():
        return _check(source, file, max_params, max_macs)


def _check(source: str, file: str, max_params: int | None, max_macs: int | None) -> CheckResult:
    result = CheckResult(file, source)
    diagnostics: list[Diagnostic] = []
    try:
        statements = parse(source, file)
        expander = Expander(file)
        models = expander.run(statements)
    except SpeccError as exc:
        result.diagnostics = sorted(exc.diagnostics, key=sort_key)
        return result
    except RecursionError:
        result.diagnostics = [
            Diagnostic(
                E112,
                "the file nests expressions too deeply to analyse",
                Span(file, 1, 1, 1, 2),
                "split long expressions; no model needs this",
            )
        ]
        return result
    diagnostics.extend(expander.diagnostics)
    diagnostics.extend(unused_definition_warnings(statements, expander.blocks, expander.functions))
    for model in models:
        diagnostics.extend(check_model(model, max_params, max_macs))
        result.models.append(model)
    result.diagnostics = settle(diagnostics, source)
    return result
