"""``compile`` and ``fit``: Keras's keyword arguments, checked by name.

Names of optimizers, losses and metrics are checked against Keras's own so a
typo is caught at its place, before any training code is generated.
"""

from __future__ import annotations

from typing import Any

from specc.diagnostics import Span, error
from specc.ir.graph import Settings
from specc.ir.values import FnValue, suggest
from specc.syntax.evaluate import CALL_POSITIONAL

COMPILE_ARGS = (
    "optimizer loss loss_weights metrics weighted_metrics run_eagerly "
    "steps_per_execution jit_compile auto_scale_loss"
).split()
FIT_ARGS = (
    "batch_size epochs verbose validation_split shuffle class_weight initial_epoch "
    "steps_per_epoch validation_steps validation_batch_size validation_freq"
).split()
DATA_ARGS = ("x", "y", "validation_data", "sample_weight", "callbacks")

OPTIMIZERS = [name for name, args in CALL_POSITIONAL.items() if args == ("learning_rate",)]
LOSSES = (
    "binary_crossentropy binary_focal_crossentropy categorical_crossentropy "
    "categorical_focal_crossentropy sparse_categorical_crossentropy mean_squared_error mse "
    "mean_absolute_error mae mean_absolute_percentage_error mape "
    "mean_squared_logarithmic_error msle huber log_cosh kl_divergence kld poisson hinge "
    "squared_hinge categorical_hinge cosine_similarity dice tversky"
).split()
METRICS = (
    "accuracy acc binary_accuracy categorical_accuracy sparse_categorical_accuracy "
    "top_k_categorical_accuracy sparse_top_k_categorical_accuracy auc precision recall "
    "mae mse rmse mape msle mean_absolute_error mean_squared_error "
    "root_mean_squared_error binary_crossentropy categorical_crossentropy "
    "sparse_categorical_crossentropy kl_divergence poisson cosine_similarity "
    "f1_score fbeta_score r2_score iou mean_iou hinge log_cosh"
).split()


def _named(value: Any, choices: list[str], what: str, span: Span) -> None:
    name = value.name if isinstance(value, FnValue) else value
    if not isinstance(name, str):
        raise error("E107", f"{what} must be a name such as {choices[0]}, received {value!r}", span)
    if name.lower() not in choices:
        raise error("E107", f"unknown {what} '{name}'{suggest(name, choices)}", span)


def _number(value: Any, span: Span, key: str, integer: bool = False) -> None:
    ok = isinstance(value, int if integer else (int, float)) and not isinstance(value, bool)
    if not ok or value < 0:
        kind = "a whole number" if integer else "a number"
        raise error("E107", f"{key} must be {kind} >= 0, received {value!r}", span)


def check_settings(keyword: str, settings: Settings) -> None:
    """Refuse unknown arguments, data arguments and unknown optimizer/loss/metric names."""
    allowed = COMPILE_ARGS if keyword == "compile" else FIT_ARGS
    for key, value in settings.kwargs.items():
        span = settings.spans[key]
        if key in DATA_ARGS:
            raise error(
                "E103",
                f"{keyword} takes no data argument '{key}'",
                span,
                "data is passed to the generated train() function",
            )
        if key not in allowed:
            raise error(
                "E103",
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
        elif key in ("batch_size", "epochs", "initial_epoch", "steps_per_epoch", "verbose"):
            _number(value, span, key, integer=True)
        elif key == "validation_split":
            _number(value, span, key)
            if value >= 1:
                raise error("E107", f"validation_split must be below 1, received {value}", span)
