"""Arithmetic, comparisons and the built-in functions of blocks, as in Python, bounded.

Numbers are Python's ints and floats: ``+ - * / // %`` with Python's meaning,
``int``, ``round`` (Python's: halves to even), ``min``, ``max``, ``ceil``,
``floor``; ``+`` also joins strings, and ``str`` makes a number a string, so a
block can compose Keras's layer names. Every result is checked: integers stay
below 2**63, floats stay finite, strings stay short, so no spec can make the
front end allocate or loop without bound.
"""

from __future__ import annotations

import math
from typing import Any

from specc.codes import E105, E107, E112, E113
from specc.diagnostics import Span, error
from specc.ir.values import FnValue

MAX_INT = 2**63 - 1
MAX_STRING = 1024  # layer names are at most 128 characters

# name -> (fewest, most) positional arguments (None: any number)
BUILTINS: dict[str, tuple[int, int | None]] = {
    "int": (1, 1),
    "round": (1, 2),
    "min": (1, None),
    "max": (1, None),
    "ceil": (1, 1),
    "floor": (1, 1),
    "str": (1, 1),
}
SHAPE_FUNCTIONS = ("channels", "height", "width")
CMP_OPS = ("==", "!=", "<", "<=", ">", ">=")


def is_number(value: Any) -> bool:
    """An int or float, not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def describe(value: Any) -> str:
    """A value as a message shows it: ``'same'``, ``l2(...)``, ``3``."""
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, FnValue):
        return f"{value.name}(...)"
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def checked(value: Any, span: Span, what: str) -> Any:
    """``value`` when it is within bounds: a finite float, an int below 2**63, a short string."""
    if isinstance(value, float) and not math.isfinite(value):
        raise error(E113, f"{what} is not a finite number", span)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
        raise error(E113, f"{what} overflows (larger than 2**63)", span)
    if isinstance(value, str) and len(value) > MAX_STRING:
        raise error(E112, f"{what} is longer than {MAX_STRING} characters", span)
    return value


def arith(op: str, left: Any, right: Any, span: Span) -> int | float | str:
    """``left op right`` for ``+ - * / // %`` (``+`` also on two strings)."""
    if op == "+" and isinstance(left, str) and isinstance(right, str):
        return checked(left + right, span, "the joined string")
    for side in (left, right):
        if not is_number(side):
            also = ", or two strings" if op == "+" else ""
            raise error(
                E113,
                f"'{op}' needs numbers{also}, received {describe(side)}",
                span,
                "write str(n) to join a number to a name: prefix + str(i)"
                if op == "+"
                else "arithmetic works on numbers and the parameters holding them",
            )
    if op in ("/", "//", "%") and right == 0:
        raise error(E113, "division by zero", span)
    try:
        if op == "+":
            result = left + right
        elif op == "-":
            result = left - right
        elif op == "*":
            result = left * right
        elif op == "/":
            result = left / right
        elif op == "%":
            result = left % right
        else:
            result = left // right
    except OverflowError:
        raise error(E113, f"value {op} overflows", span) from None
    return checked(result, span, f"the value of '{op}'")


def compare(op: str, left: Any, right: Any, span: Span) -> bool:
    """``left op right``: ``==``/``!=`` on any values, ordering on numbers only."""
    if op == "==":
        return _same(left, right)
    if op == "!=":
        return not _same(left, right)
    for side in (left, right):
        if not is_number(side):
            raise error(E113, f"'{op}' compares numbers, received {describe(side)}", span)
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, bool) != isinstance(right, bool):
        return False  # true is not 1 in a spec
    return bool(left == right)


def _number_arg(name: str, value: Any, span: Span) -> int | float:
    if not is_number(value):
        raise error(E107, f"{name}() needs a number, received {describe(value)}", span)
    return value


def call_builtin(name: str, args: list[Any], span: Span) -> Any:
    """The value of built-in ``name`` on ``args`` (positional, evaluated)."""
    low, high = BUILTINS[name]
    if len(args) < low or (high is not None and len(args) > high):
        want = f"{low}" if low == high else f"{low} to {high}" if high else f"at least {low}"
        raise error(E105, f"{name}() takes {want} argument(s), received {len(args)}", span)
    if name == "str":
        value = args[0]
        if isinstance(value, str):
            return value
        return checked(str(_number_arg(name, value, span)), span, "str()")
    if name in ("min", "max"):
        items = args[0] if len(args) == 1 and isinstance(args[0], (list, tuple)) else args
        if not items:
            raise error(E107, f"{name}() of nothing", span)
        numbers = [_number_arg(name, v, span) for v in items]
        return min(numbers) if name == "min" else max(numbers)
    value = _number_arg(name, args[0], span)
    if name == "int":
        return checked(int(value), span, "int()")
    if name == "ceil":
        return checked(math.ceil(value), span, "ceil()")
    if name == "floor":
        return checked(math.floor(value), span, "floor()")
    if len(args) == 2:
        digits = args[1]
        if isinstance(digits, bool) or not isinstance(digits, int) or abs(digits) > 20:
            raise error(
                E107,
                f"round() digits must be an integer from -20 to 20, received {describe(digits)}",
                span,
            )
        return checked(round(value, digits), span, "round()")
    return checked(round(value), span, "round()")
