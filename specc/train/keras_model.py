"""The spec's Keras model in this process, built by the very module ``specc keras`` writes.

The source comes from :func:`specc.emit.keras.generated_module`, executed as
a module of its own: it is specc's template with the spec's values rendered
as escaped literals, so no spec text runs. ``build_model``, ``compile_model``,
``data_parallel`` and ``train`` are then the same functions a user of the
generated module calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Any

import numpy as np

from specc.codes import E805
from specc.diagnostics import Diagnostic, SpeccError
from specc.emit.keras import assign_weights
from specc.ir.graph import Model
from specc.train.labels import Loss, loss_of
from specc.weights import check_weights

_EXAMPLE = "compile optimizer=adam loss=sparse_categorical_crossentropy metrics=[accuracy]"


def training_loss(model: Model) -> Loss:
    """The loss training will use; E805 when the spec has no ``compile`` or no loss in it."""
    if model.compile is None:
        raise SpeccError(
            Diagnostic(
                E805,
                f"model '{model.name}' has no compile settings: training needs at least a loss",
                model.span,
                f"add a line such as `{_EXAMPLE}`",
            )
        )
    loss = loss_of(model)
    if loss is None:
        raise SpeccError(
            Diagnostic(
                E805,
                "compile names no loss to train with",
                model.compile.span,
                "add loss=..., e.g. loss=sparse_categorical_crossentropy",
            )
        )
    return loss


def build(module: ModuleType, weights: Mapping[str, np.ndarray]) -> Any:
    """``build_model()`` with ``weights`` assigned, compiled with ``compile_model``.

    The optimizer is built too, so its state exists (to checkpoint or restore)
    inside whatever distribution scope the caller holds.
    """
    keras_model = module.build_model()
    assign_weights(keras_model, weights)
    module.compile_model(keras_model)
    keras_model.optimizer.build(keras_model.trainable_variables)
    return keras_model


def read_weights(keras_model: Any, model: Model) -> dict[str, np.ndarray]:
    """The Keras model's weights as specc's arrays, in Keras's layer order, checked."""
    arrays = {
        f"{layer.name}/{w.name}": np.asarray(w.numpy())
        for layer in keras_model.layers
        for w in layer.weights
    }
    return check_weights(arrays, model)
