"""Values of expressions: literals, block parameters and integer arithmetic.

Evaluation is pure data: nothing a spec writes can run code. Words stand for
themselves unless they name a block parameter; calls become
:class:`~specc.ir.values.FnValue` with their arguments named.
"""

from __future__ import annotations

from typing import Any

from specc.diagnostics import Span, error
from specc.ir.training import CALLBACK_POSITIONAL, OPTIMIZERS
from specc.ir.values import CONSTRAINTS, INITIALIZERS, REGULARIZERS, FnValue
from specc.syntax import tree as t

MAX_INT = 2**63 - 1

# Positional parameters of the functions a spec may call, by Keras's names.
CALL_POSITIONAL: dict[str, tuple[str, ...]] = {
    **INITIALIZERS,
    **REGULARIZERS,
    **CONSTRAINTS,
    **{name: ("learning_rate",) for name in OPTIMIZERS},
    **CALLBACK_POSITIONAL,
}

Env = dict[str, Any]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, FnValue):
        return f"{value.name}(...)"
    return repr(value)


def _arith(op: str, left: Any, right: Any, span: Span) -> int | float:
    for side in (left, right):
        if not _is_number(side):
            raise error(
                "E113",
                f"'{op}' needs numbers, received {_describe(side)}",
                span,
                "arithmetic works on integers and block parameters holding them",
            )
    if op == "/":
        raise error("E113", "'/' is not integer division", span, "use '//' as in Python")
    if op == "//":
        if right == 0:
            raise error("E113", "division by zero", span)
        result = left // right
    elif op == "+":
        result = left + right
    elif op == "-":
        result = left - right
    else:
        result = left * right
    if abs(result) > MAX_INT:
        raise error("E113", f"value {op} overflows (larger than 2**63)", span)
    return result


def evaluate(expr: t.Expr, env: Env) -> Any:
    """The Python value of ``expr``; block parameters are looked up in ``env``."""
    if isinstance(expr, t.Number):
        return expr.value
    if isinstance(expr, t.Dims):
        return expr.values
    if isinstance(expr, t.String):
        return expr.value
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
        if not _is_number(value):
            raise error("E113", f"cannot negate {_describe(value)}", expr.span)
        return -value
    if isinstance(expr, t.BinOp):
        return _arith(expr.op, evaluate(expr.left, env), evaluate(expr.right, env), expr.span)
    if isinstance(expr, t.Call):
        return evaluate_call(expr, env)
    if isinstance(expr, t.Ref):
        raise error(
            "E107",
            f"@{expr.name} can only be an input of a merge layer",
            expr.span,
            "write it after add, concatenate, multiply, ...: `concatenate @name`",
        )
    raise AssertionError(f"unknown expression {expr!r}")  # the grammar has no other


def evaluate_call(expr: t.Call, env: Env) -> FnValue:
    """``l2(0.01)`` as ``FnValue('l2', (('l2', 0.01),))``."""
    name = expr.name.lower()
    names = CALL_POSITIONAL.get(name, ())
    if len(expr.args) > len(names):
        hint = f"{name}() takes {', '.join(names)}" if names else "write key=value arguments"
        raise error(
            "E105",
            f"{name}() takes {len(names)} positional argument(s), received {len(expr.args)}",
            expr.span,
            hint,
        )
    kwargs: dict[str, Any] = {}
    for key, arg in zip(names, expr.args, strict=False):
        kwargs[key] = evaluate(arg, env)
    for kw in expr.kwargs:
        if kw.name in kwargs:
            raise error("E106", f"{name}() got '{kw.name}' twice", kw.span)
        kwargs[kw.name] = evaluate(kw.value, env)
    return FnValue(name, tuple(kwargs.items()))
