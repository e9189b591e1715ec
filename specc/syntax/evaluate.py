"""Values of expressions: literals, names bound in a scope, arithmetic and calls.

Evaluation is pure data: nothing a spec writes can run code. Words stand for
themselves unless they name a parameter or a ``let``; calls are built-in
functions (:mod:`specc.syntax.builtins`), the current tensor's shape
(``channels()``), the file's own ``def`` functions, or Keras values such as
``l2(0.01)``, which become :class:`~specc.ir.values.FnValue` with their
arguments named. The expander reaches in through :class:`Hooks`.
"""

from __future__ import annotations

from typing import Any, Protocol

from specc.codes import E102, E103, E105, E106, E107, E113, E205
from specc.diagnostics import Span, error
from specc.ir.shapes import Shape
from specc.ir.training import CALLBACK_POSITIONAL, CALLBACKS, LOSSES, METRICS, OPTIMIZERS
from specc.ir.values import CONSTRAINTS, INITIALIZERS, REGULARIZERS, FnValue, suggest
from specc.syntax import tree as t
from specc.syntax.builtins import (
    BUILTINS,
    SHAPE_FUNCTIONS,
    arith,
    call_builtin,
    checked,
    describe,
    is_number,
)

# Positional parameters of the Keras functions a spec may call, by Keras's names.
CALL_POSITIONAL: dict[str, tuple[str, ...]] = {
    **INITIALIZERS,
    **REGULARIZERS,
    **CONSTRAINTS,
    **{name: ("learning_rate",) for name in OPTIMIZERS},
    **CALLBACK_POSITIONAL,
}
KERAS_FUNCTIONS = frozenset({*CALL_POSITIONAL, *LOSSES, *METRICS, *CALLBACKS})


class Hooks(Protocol):
    """What evaluation asks of the expander: the file's functions and the graph's shapes."""

    def has_function(self, name: str) -> bool:
        """True when the file defines ``def name(...)``."""
        ...

    def call_function(self, expr: t.Call, env: Env) -> Any:
        """The value of a call to one of the file's functions."""
        ...

    def function_names(self) -> list[str]:
        """The file's function names, for suggestions."""
        ...

    def tensor_shape(self, ref: t.Ref | None, env: Env, span: Span) -> Shape:
        """The shape of the current tensor, or of ``@ref``."""
        ...


class Env(dict):
    """Names bound in a scope (parameters, ``let``, loop variables), and the hooks."""

    def __init__(self, values: Any = (), hooks: Hooks | None = None) -> None:
        super().__init__(values)
        self.hooks = hooks

    def child(self, values: dict[str, Any]) -> Env:
        """A new scope with ``values``, sharing the hooks."""
        return Env(values, self.hooks)


def evaluate(expr: t.Expr, env: dict[str, Any]) -> Any:
    """The Python value of ``expr``; names are looked up in ``env``."""
    if isinstance(expr, t.Number):
        return expr.value
    if isinstance(expr, t.Dims):
        return expr.values
    if isinstance(expr, t.String):
        return checked(expr.value, expr.span, "the string")
    if isinstance(expr, t.Word):
        if expr.name in env:
            return env[expr.name]
        lowered = expr.name.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        if lowered == "none":
            return None
        return expr.name
    if isinstance(expr, t.TupleExpr):
        return tuple(evaluate(item, env) for item in expr.items)
    if isinstance(expr, t.ListExpr):
        return [evaluate(item, env) for item in expr.items]
    if isinstance(expr, t.Neg):
        value = evaluate(expr.operand, env)
        if not is_number(value):
            raise error(E113, f"cannot negate {describe(value)}", expr.span)
        return -value
    if isinstance(expr, t.BinOp):
        return arith(expr.op, evaluate(expr.left, env), evaluate(expr.right, env), expr.span)
    if isinstance(expr, t.Call):
        return evaluate_call(expr, env)
    if isinstance(expr, t.Ref):
        raise error(
            E107,
            f"@{expr.name} can only be an input of a merge layer, a path or channels()",
            expr.span,
            "write it after add, concatenate, multiply, ...: `concatenate @name`",
        )
    raise AssertionError(f"unknown expression {expr!r}")  # the grammar has no other


def evaluate_call(expr: t.Call, env: dict[str, Any]) -> Any:
    """A built-in, shape or ``def`` function's value, or a Keras value as an FnValue."""
    hooks: Hooks | None = getattr(env, "hooks", None)
    if hooks is not None and hooks.has_function(expr.name):
        return hooks.call_function(expr, env)  # type: ignore[arg-type]
    name = expr.name.lower()
    if name in BUILTINS or name in SHAPE_FUNCTIONS:
        if expr.kwargs:
            raise error(E103, f"{name}() takes no key=value arguments", expr.kwargs[0].span)
        if name in BUILTINS:
            return call_builtin(name, [evaluate(a, env) for a in expr.args], expr.span)
        return _shape_function(name, expr, env, hooks)
    if name == "range":
        raise error(E107, "range() only appears in `for NAME in range(...)`", expr.span)
    if name not in KERAS_FUNCTIONS:
        own = hooks.function_names() if hooks is not None else []
        known = [*own, *BUILTINS, *SHAPE_FUNCTIONS, *sorted(KERAS_FUNCTIONS)]
        raise error(
            E102,
            f"unknown function '{expr.name}'{suggest(expr.name, known)}",
            expr.span,
            "functions are int, round, min, max, ceil, floor, str, channels, height, width, "
            "the file's own `def`s, and Keras's initializers, regularizers, constraints, "
            "optimizers, losses, metrics and callbacks",
        )
    names = CALL_POSITIONAL.get(name, ())
    if len(expr.args) > len(names):
        hint = f"{name}() takes {', '.join(names)}" if names else "write key=value arguments"
        raise error(
            E105,
            f"{name}() takes {len(names)} positional argument(s), received {len(expr.args)}",
            expr.span,
            hint,
        )
    kwargs: dict[str, Any] = {}
    for key, arg in zip(names, expr.args, strict=False):
        kwargs[key] = evaluate(arg, env)
    for kw in expr.kwargs:
        if kw.name in kwargs:
            raise error(E106, f"{name}() got '{kw.name}' twice", kw.span)
        kwargs[kw.name] = evaluate(kw.value, env)
    return FnValue(name, tuple(kwargs.items()))


def _shape_function(name: str, expr: t.Call, env: dict[str, Any], hooks: Hooks | None) -> int:
    """``channels()``, ``height()``, ``width()``: of the current tensor or of ``@name``."""
    if len(expr.args) > 1 or (expr.args and not isinstance(expr.args[0], t.Ref)):
        raise error(
            E107,
            f"{name}() takes nothing or one @name",
            expr.span,
            f"write {name}() for the current tensor, {name}(@stem) for the layer named stem",
        )
    if hooks is None:
        raise error(E107, f"{name}() only appears inside a model or block", expr.span)
    ref = expr.args[0] if expr.args else None
    shape = hooks.tensor_shape(ref, env, expr.span)  # type: ignore[arg-type]
    if name == "channels":
        return shape[-1]
    if len(shape) != 3:
        what = f"@{ref.name}" if ref else "the current tensor"
        raise error(
            E205,
            f"{name}() needs a feature map (height, width, channels); {what} has shape "
            + "x".join(map(str, shape)),
            expr.span,
        )
    return shape[0] if name == "height" else shape[1]
