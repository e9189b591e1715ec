"""``compile`` and ``fit``: Keras's keyword arguments, checked by name.

Names of optimizers, losses and metrics are checked against Keras's own so a
typo is caught at its place, before any training code is generated.
"""

from __future__ import annotations

from typing import Any

from specc.codes import E103, E104, E107
from specc.diagnostics import Span, error
from specc.ir.graph import Settings
from specc.ir.training import (
    CALLBACK_REQUIRED,
    CALLBACKS,
    LOSSES,
    METRICS,
    OPTIMIZERS,
    accepted_args,
)
from specc.ir.values import FnValue, suggest

COMPILE_ARGS = (
    "optimizer loss loss_weights metrics weighted_metrics run_eagerly "
    "steps_per_execution jit_compile auto_scale_loss"
).split()
FIT_ARGS = (
    "batch_size epochs verbose validation_split shuffle class_weight initial_epoch "
    "steps_per_epoch validation_steps validation_batch_size validation_freq callbacks"
).split()
DATA_ARGS = ("x", "y", "validation_data", "sample_weight")


def _named(
    value: Any, table: dict[str, tuple[str, tuple[str, ...]]], what: str, span: Span
) -> None:
    name = value.name if isinstance(value, FnValue) else value
    if not isinstance(name, str):
        example = next(iter(table))
        raise error(E107, f"{what} must be a name such as {example}, received {value!r}", span)
    if name.lower() not in table:
        raise error(E107, f"unknown {what} '{name}'{suggest(name, table)}", span)
    if isinstance(value, FnValue):
        accepted = accepted_args(table, value.name)
        for key, _ in value.kwargs:
            if key not in accepted:
                raise error(
                    E103,
                    f"{what} {value.name}() takes no argument '{key}'{suggest(key, accepted)}",
                    span,
                    f"keras.{what}s.{table[value.name][0]} takes " + ", ".join(accepted),
                )


def _required(value: Any, span: Span) -> None:
    """Refuse a callback that lacks an argument Keras gives no default."""
    name = (value.name if isinstance(value, FnValue) else value).lower()
    given = {key for key, _ in value.kwargs} if isinstance(value, FnValue) else set()
    missing = [key for key in CALLBACK_REQUIRED.get(name, ()) if key not in given]
    if missing:
        raise error(
            E104,
            f"callback {name} needs {', '.join(missing)}",
            span,
            f"write {name}({', '.join(f'{key}=...' for key in missing)})",
        )


def _number(value: Any, span: Span, key: str, integer: bool = False) -> None:
    ok = isinstance(value, int if integer else (int, float)) and not isinstance(value, bool)
    if not ok or value < 0:
        kind = "a whole number" if integer else "a number"
        raise error(E107, f"{key} must be {kind} >= 0, received {value!r}", span)


def check_settings(keyword: str, settings: Settings) -> None:
    """Refuse unknown arguments, data arguments and unknown optimizer/loss/metric names."""
    allowed = COMPILE_ARGS if keyword == "compile" else FIT_ARGS
    for key, value in settings.kwargs.items():
        span = settings.spans[key]
        if key in DATA_ARGS:
            raise error(
                E103,
                f"{keyword} takes no data argument '{key}'",
                span,
                "data is passed to the generated train() function",
            )
        if key not in allowed:
            raise error(
                E103,
                f"unknown {keyword} argument '{key}'{suggest(key, allowed)}",
                span,
                f"{keyword} takes " + ", ".join(allowed),
            )
        if key == "optimizer":
            _named(value, OPTIMIZERS, "optimizer", span)
        elif key == "loss":
            _named(value, LOSSES, "loss", span)
        elif key in ("metrics", "weighted_metrics"):
            items = value if isinstance(value, (list, tuple)) else [value]
            for item in items:
                _named(item, METRICS, "metric", span)
        elif key == "callbacks":
            items = value if isinstance(value, (list, tuple)) else [value]
            for item in items:
                _named(item, CALLBACKS, "callback", span)
                _required(item, span)
        elif key in ("batch_size", "epochs", "initial_epoch", "steps_per_epoch", "verbose"):
            _number(value, span, key, integer=True)
        elif key == "validation_split":
            _number(value, span, key)
            if value >= 1:
                raise error(E107, f"validation_split must be below 1, received {value}", span)
