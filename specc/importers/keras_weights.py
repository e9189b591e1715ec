"""A Keras weights file (``.weights.h5``, or a full-model ``.h5``) onto an existing spec.

Layers are matched by name: the name Keras 3 records on each layer's
``vars`` group, or the legacy layout's layer names; where a Keras 3 file
records none, its group keys (class in snake case, counted in
``model.layers`` order) are reproduced from the spec's own layers. Every
array the spec lacks, every array the file lacks and every array of the
wrong shape is reported, located at the spec's layer.
"""

from __future__ import annotations

import numpy as np

from specc.codes import E503, E504, E701
from specc.diagnostics import Diagnostic, SpeccError, sort_key
from specc.importers import h5_weights
from specc.importers.graph import import_error
from specc.importers.keras_config import snake_case
from specc.ir.graph import Model
from specc.ir.layers import lookup


def _keras3_by_layer(f, path: str, model: Model) -> tuple[dict, list[str]]:
    stored = h5_weights.keras3_arrays(f, path)
    by_name = {name: arrays for name, arrays in stored.values() if name is not None}
    unnamed = {key: arrays for key, (name, arrays) in stored.items() if name is None}
    counters: dict[str, int] = {"input_layer": 1}
    found: dict[str, list[np.ndarray]] = {}
    for node in model.layers:
        cls = lookup(node.kind)
        base = snake_case(cls.keras_class) if cls is not None else node.kind
        n = counters.get(base, 0)
        counters[base] = n + 1
        key = base if n == 0 else f"{base}_{n}"
        if node.name in by_name:
            found[node.name] = by_name.pop(node.name)
        elif key in unnamed:
            found[node.name] = unnamed.pop(key)
    extra = [name for name, arrays in by_name.items() if arrays]
    extra += [key for key, arrays in unnamed.items() if arrays]
    return found, extra


def _legacy_by_layer(f, path: str) -> tuple[dict, list[str]]:
    group = h5_weights._child(f, "model_weights", path) if "model_weights" in f else f
    stored = h5_weights.legacy_arrays(group, path)
    return {name: [a for _, a in arrays] for name, arrays in stored.items()}, []


def weights_for_spec(path: str, model: Model) -> dict[str, np.ndarray]:
    """The arrays of the Keras weights file ``path`` under ``model``'s keys, checked.

    Raises SpeccError: E701 for a file that is not Keras weights, E502/E503/E504
    for missing, extra and misshapen arrays (at the spec's layers).
    """
    from specc.weights import check_weights

    with h5_weights.open_h5(path) as f:
        if h5_weights.is_keras3_layout(f):
            found, extra = _keras3_by_layer(f, path, model)
        elif "layer_names" in f.attrs or "model_weights" in f:
            found, extra = _legacy_by_layer(f, path)
        else:
            raise import_error(
                E701,
                path,
                "the HDF5 file holds no Keras weights (no layers group, no layer_names)",
                "write them with model.save_weights('model.weights.h5')",
            )
    problems: list[Diagnostic] = []
    arrays: dict[str, np.ndarray] = {}
    names = {node.name for node in model.layers}
    for node in model.layers:
        stored = found.pop(node.name, None)
        if stored is None:
            continue  # check_weights names each array the file lacks
        if len(stored) != len(node.weights):
            wanted = ", ".join(f"{w.name} {tuple(w.shape)}" for w in node.weights) or "none"
            problems.append(
                Diagnostic(
                    E504,
                    f"layer '{node.name}': the weights file has {len(stored)} arrays for it, "
                    f"the spec's {node.kind} has {len(node.weights)} ({wanted})",
                    node.span,
                )
            )
            continue
        for weight, array in zip(node.weights, stored, strict=True):
            arrays[f"{node.name}/{weight.name}"] = array
    for name, stored in found.items():
        if stored and name not in names:
            extra.append(name)
    for name in extra:
        problems.append(
            Diagnostic(
                E503,
                f"weights file holds arrays for layer '{name}', which the spec does not have",
                model.span,
                "rename the spec's layer to the Keras layer's name (name=...)",
            )
        )
    try:
        checked = check_weights(arrays, model)
    except SpeccError as exc:
        problems.extend(exc.diagnostics)
        checked = {}
    if problems:
        raise SpeccError(sorted(problems, key=sort_key))
    return checked
