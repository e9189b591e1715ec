"""Value types of layer parameters: Keras's vocabulary, validated.

Each ``Annotated`` type below normalises what a spec may write (``3`` or
``(3, 3)``, ``same`` or ``"SAME"``, ``l2`` or ``l2(0.01)``) into one canonical
Python value, or raises ``ValueError`` with a sentence naming what was expected.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BeforeValidator


@dataclass(frozen=True)
class FnValue:
    """A named function value: ``l2(0.01)``, ``random_normal(stddev=0.02)``, ``adam()``.

    ``kwargs`` holds every argument by its Keras keyword name, in the order
    written; positional arguments have been given their names already.
    """

    name: str
    kwargs: tuple[tuple[str, Any], ...] = field(default=())

    def get(self, key: str, default: Any = None) -> Any:
        """The argument ``key``, or ``default``."""
        return dict(self.kwargs).get(key, default)


def suggest(word: str, choices: list[str] | tuple[str, ...] | set[str]) -> str:
    """``"; did you mean 'relu'?"`` when a close choice exists, else ``""``."""
    close = difflib.get_close_matches(word.lower(), sorted(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


ACTIVATIONS = (
    "relu relu6 sigmoid softmax log_softmax tanh elu selu gelu silu swish leaky_relu "
    "hard_sigmoid hard_silu hard_swish softplus softsign mish exponential linear"
).split()

# name -> (positional parameter names, accepted keyword names)
INITIALIZERS: dict[str, tuple[str, ...]] = {
    "glorot_uniform": ("seed",),
    "glorot_normal": ("seed",),
    "he_normal": ("seed",),
    "he_uniform": ("seed",),
    "lecun_normal": ("seed",),
    "lecun_uniform": ("seed",),
    "zeros": (),
    "ones": (),
    "orthogonal": ("gain", "seed"),
    "random_normal": ("mean", "stddev", "seed"),
    "random_uniform": ("minval", "maxval", "seed"),
    "truncated_normal": ("mean", "stddev", "seed"),
    "constant": ("value",),
    "identity": ("gain",),
    "variance_scaling": ("scale", "mode", "distribution", "seed"),
}
# Arguments that take one of a few words, not a number.
WORD_ARGS: dict[tuple[str, str], tuple[str, ...]] = {
    ("variance_scaling", "mode"): ("fan_in", "fan_out", "fan_avg"),
    ("variance_scaling", "distribution"): ("truncated_normal", "untruncated_normal", "uniform"),
}
INITIALIZER_DEFAULTS: dict[str, dict[str, float]] = {
    "orthogonal": {"gain": 1.0},
    "random_normal": {"mean": 0.0, "stddev": 0.05},
    "random_uniform": {"minval": -0.05, "maxval": 0.05},
    "truncated_normal": {"mean": 0.0, "stddev": 0.05},
    "constant": {"value": 0.0},
    "identity": {"gain": 1.0},
    "variance_scaling": {"scale": 1.0, "mode": "fan_in", "distribution": "truncated_normal"},
}
REGULARIZERS: dict[str, tuple[str, ...]] = {
    "l1": ("l1",),
    "l2": ("l2",),
    "l1_l2": ("l1", "l2"),
    "orthogonal_regularizer": ("factor", "mode"),
}
CONSTRAINTS: dict[str, tuple[str, ...]] = {
    "max_norm": ("max_value", "axis"),
    "non_neg": (),
    "unit_norm": ("axis",),
    "min_max_norm": ("min_value", "max_value", "rate", "axis"),
}


def _function(value: Any, table: dict[str, tuple[str, ...]], what: str) -> FnValue:
    if isinstance(value, str):
        value = FnValue(value.lower())
    if not isinstance(value, FnValue):
        raise ValueError(f"expected {what} name such as {next(iter(table))}, received {value!r}")
    name = value.name.lower()
    if name not in table:
        raise ValueError(f"unknown {what} '{value.name}'{suggest(name, table)}")
    allowed = table[name]
    for key, arg in value.kwargs:
        if key not in allowed:
            expected = ", ".join(allowed) or "no arguments"
            raise ValueError(f"{name}() got an unexpected argument '{key}'; it takes {expected}")
        if (name, key) in WORD_ARGS:
            words = WORD_ARGS[name, key]
            if not isinstance(arg, str) or arg.lower() not in words:
                raise ValueError(
                    f"{name}({key}=...) expects one of {', '.join(words)}, received {arg!r}"
                )
            continue
        if key == "mode" or key == "axis":
            continue
        if isinstance(arg, bool) or not isinstance(arg, (int, float)):
            raise ValueError(f"{name}({key}=...) expects a number, received {arg!r}")
        if arg != arg or arg in (float("inf"), float("-inf")):
            raise ValueError(f"{name}({key}=...) expects a finite number, received {arg!r}")
    return FnValue(name, value.kwargs)


def _activation(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"expected an activation name such as relu, received {value!r}")
    name = value.lower()
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation '{value}'{suggest(name, ACTIVATIONS)}")
    return name


def _choice(*choices: str):
    def check(value: Any) -> str:
        if not isinstance(value, str) or value.lower() not in choices:
            raise ValueError(
                f"expected one of {', '.join(choices)}, received {value!r}"
                + (suggest(value, choices) if isinstance(value, str) else "")
            )
        return value.lower()

    return check


def _int(value: Any, minimum: int) -> int:
    if isinstance(value, float):  # `/` divides as in Python: 7 / 2 is 3.5
        raise ValueError(f"expected an integer, received {value!r}; write int(...) or use //")
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer, received {value!r}")
    if value < minimum:
        raise ValueError(f"expected an integer >= {minimum}, received {value}")
    return value


def _pair(minimum: int):
    def check(value: Any) -> tuple[int, int]:
        if isinstance(value, int) and not isinstance(value, bool):
            value = (value, value)
        if isinstance(value, list):
            value = tuple(value)
        if not isinstance(value, tuple) or len(value) != 2:
            raise ValueError(f"expected an integer or a pair such as (2, 2), received {value!r}")
        return (_int(value[0], minimum), _int(value[1], minimum))

    return check


def _padding2d(value: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    """ZeroPadding2D's padding: int, (sym_h, sym_w) or ((top, bottom), (left, right))."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    if isinstance(value, tuple) and len(value) == 2:
        if all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return ((_int(value[0], 0),) * 2, (_int(value[1], 0),) * 2)  # type: ignore[return-value]
        if all(isinstance(v, tuple) and len(v) == 2 for v in value):
            (a, b), (c, d) = value
            return ((_int(a, 0), _int(b, 0)), (_int(c, 0), _int(d, 0)))
    raise ValueError(
        f"expected an integer, a pair (h, w) or ((top, bottom), (left, right)), received {value!r}"
    )


def _float(lo: float, hi: float, hi_open: bool = False):
    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"expected a number, received {value!r}")
        if value < lo or value > hi or (hi_open and value == hi):
            bound = f"[{lo}, {hi})" if hi_open else f"[{lo}, {hi}]"
            raise ValueError(f"expected a number in {bound}, received {value}")
        return float(value)

    return check


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, received {value!r}")
    return value


def _optional(check):
    return lambda value: None if value is None else check(value)


def _data_format(value: Any) -> str | None:
    if value is None:
        return None
    fmt = _choice("channels_last", "channels_first")(value)
    if fmt == "channels_first":
        raise ValueError("specc supports data_format=channels_last only (Keras's default, NHWC)")
    return fmt


def _seed(value: Any) -> int | None:
    return None if value is None else _int(value, 0)


def _axis(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer axis, received {value!r}")
    return value


def _target_shape(value: Any) -> tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,)
    if isinstance(value, list):
        value = tuple(value)
    if not isinstance(value, tuple) or not value:
        raise ValueError(f"expected a shape tuple such as (8, 8, 4), received {value!r}")
    dims = tuple(_int(v, -1) for v in value)
    if any(d == 0 for d in dims):
        raise ValueError(f"target_shape dimensions must be positive or -1, received {value!r}")
    if dims.count(-1) > 1:
        raise ValueError(f"target_shape may contain -1 at most once, received {value!r}")
    return dims


PositiveInt = Annotated[int, BeforeValidator(lambda v: _int(v, 1))]
NonNegInt = Annotated[int, BeforeValidator(lambda v: _int(v, 0))]
Pair = Annotated[tuple[int, int], BeforeValidator(_pair(1))]
Padding = Annotated[str, BeforeValidator(_choice("valid", "same"))]
DataFormat = Annotated[str | None, BeforeValidator(_data_format)]
Activation = Annotated[str | None, BeforeValidator(_activation)]
Initializer = Annotated[
    FnValue, BeforeValidator(lambda v: _function(v, INITIALIZERS, "initializer"))
]
Regularizer = Annotated[
    FnValue | None,
    BeforeValidator(_optional(lambda v: _function(v, REGULARIZERS, "regularizer"))),
]
Constraint = Annotated[
    FnValue | None, BeforeValidator(_optional(lambda v: _function(v, CONSTRAINTS, "constraint")))
]
Bool = Annotated[bool, BeforeValidator(_bool)]
Rate = Annotated[float, BeforeValidator(_float(0.0, 1.0, hi_open=True))]
Fraction = Annotated[float, BeforeValidator(_float(0.0, 1.0))]
Epsilon = Annotated[float, BeforeValidator(_float(0.0, float("inf")))]
Seed = Annotated[int | None, BeforeValidator(_seed)]
Axis = Annotated[int, BeforeValidator(_axis)]
Padding2D = Annotated[tuple[tuple[int, int], tuple[int, int]], BeforeValidator(_padding2d)]
TargetShape = Annotated[tuple[int, ...], BeforeValidator(_target_shape)]
Interpolation = Annotated[
    str, BeforeValidator(_choice("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5", "area"))
]
OptionalPair = Annotated[tuple[int, int] | None, BeforeValidator(_optional(_pair(0)))]
NoiseShape = Annotated[tuple[int | None, ...] | None, BeforeValidator(lambda v: v)]
