"""Intermediate outputs: the layers named by ``--taps``, ``--layers`` or ``--layer``.

The numpy runtime keeps the outputs of tapped layers
(:meth:`specc.runtime.numpy_backend.NumpyBackend.with_taps`); this module
finds the layers a command line names and runs a batch in chunks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import numpy as np

from specc.codes import E611
from specc.diagnostics import error
from specc.ir.graph import Model, Node
from specc.ir.values import suggest

SHOWN_NAMES = 12  # layer names listed in the help of E611


def find_layers(model: Model, names: Iterable[str], option: str) -> list[Node]:
    """The nodes of ``model`` called ``names``; E611 at the model for a name it lacks."""
    known = [node.name for node in [model.input, *model.layers]]
    found = []
    for name in names:
        if name not in known:
            shown = ", ".join(known[:SHOWN_NAMES]) + (", ..." if len(known) > SHOWN_NAMES else "")
            raise error(
                E611,
                f"{option}: model '{model.name}' has no layer named '{name}'"
                + suggest(name, known),
                model.span,
                f"its layers: {shown} (specc summary lists them all)",
            )
        node = model.node(name)
        if node not in found:
            found.append(node)
    return found


def run_with_taps(
    model: Model,
    weights: Mapping[str, np.ndarray] | None,
    batch: np.ndarray,
    taps: list[Node],
    batch_size: int,
    device: str = "cpu",
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The output of ``batch`` on the numpy runtime and each tapped layer's output, by name."""
    from specc.runtime.numpy_backend import NumpyBackend
    from specc.weights import check_weights, init_weights

    arrays = init_weights(model) if weights is None else check_weights(weights, model)
    executor = NumpyBackend(model, arrays, device, taps=[node.name for node in taps])
    outputs, tapped = [], []
    n = batch.shape[0]
    for start in range(0, n, batch_size):
        output, values = executor.with_taps(batch[start : start + batch_size])
        outputs.append(output)
        tapped.append(values)
        if progress is not None:
            progress(min(start + batch_size, n), n)
    joined = {node.name: np.concatenate([part[node.name] for part in tapped]) for node in taps}
    return np.concatenate(outputs), joined
