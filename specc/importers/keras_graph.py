"""A Keras model config (Functional or Sequential) as an :class:`ImportedModel`.

Keras 3 writes each layer's inputs as ``inbound_nodes`` of ``{"args": ...}``
holding ``__keras_tensor__`` records (``keras_history``: producing layer,
node, tensor; ``shape``: the tensor's shape, batch first); Keras 2 wrote lists
``[layer, node, tensor, kwargs]``. Both are read; the recorded shapes become
each layer's expected output shape, which the written spec must reproduce.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from specc.codes import E701, E703, E704, E705
from specc.diagnostics import SpeccError
from specc.importers.graph import ImportedLayer, ImportedModel, import_error
from specc.importers.keras_config import (
    ConfigError,
    grouped,
    layer_class,
    layer_params,
    snake_case,
    validated,
)

WeightLookup = Callable[[str, str], "list[np.ndarray] | None"]
MODEL_CLASSES = ("Functional", "Model", "Sequential")


def model_from_config(
    config: dict[str, Any], weights: WeightLookup, path: str, about: str
) -> ImportedModel:
    """The model a Keras config describes, its weights found by ``weights(name, key)``."""
    class_name = str(config.get("class_name"))
    body = config.get("config")
    if class_name not in MODEL_CLASSES:
        module = str(config.get("module") or "")
        if config.get("registered_name") and not module.startswith("keras"):
            raise import_error(
                E703,
                path,
                f"the model is a subclass '{class_name}': its call() is Python code, which "
                "specc never runs",
                "build the model with the functional API or keras.Sequential",
            )
        raise import_error(E701, path, f"the config describes a {class_name}, not a model")
    if not isinstance(body, dict) or not isinstance(body.get("layers"), list):
        raise import_error(E701, path, "the model config has no list of layers")
    reader = _Reader(path, weights)
    if class_name == "Sequential":
        reader.sequential(body)
    else:
        reader.functional(body)
    if reader.problems:
        raise SpeccError(grouped(reader.problems, path))
    kind = "Sequential" if class_name == "Sequential" else "functional"
    return ImportedModel(
        name=str(body.get("name") or "model"),
        source=path,
        description=f"{about} {kind} model '{body.get('name')}'",
        input_name=reader.input_name,
        input_shape=reader.input_shape,
        input_dtype=reader.input_dtype,
        layers=reader.layers,
        output=reader.output,
    )


def _shape(value: Any, path: str, what: str) -> tuple[int, ...]:
    if not isinstance(value, list) or len(value) < 2:
        raise import_error(E701, path, f"{what} has no shape with a batch axis: {value!r}")
    dims = value[1:]
    if not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in dims):
        raise import_error(
            E704,
            path,
            f"{what} has the shape {tuple(value)}, with sizes left open; a spec's input has "
            "fixed sizes",
            "build the model with a fixed input shape, such as keras.Input((224, 224, 3))",
        )
    return tuple(dims)


class _Reader:
    def __init__(self, path: str, weights: WeightLookup) -> None:
        self.path = path
        self.weights = weights
        self.layers: list[ImportedLayer] = []
        self.problems: list[tuple[str, str, ConfigError]] = []
        self.input_name = "input_layer"
        self.input_shape: tuple[int, ...] = ()
        self.input_dtype = "float32"
        self.output = ""
        self.counters: dict[str, int] = {}
        self.recorded: dict[str, tuple[int, ...]] = {}

    # -- the two kinds of model ------------------------------------------------------

    def functional(self, body: dict[str, Any]) -> None:
        inputs = _endpoints(body.get("input_layers"), self.path, "input")
        outputs = _endpoints(body.get("output_layers"), self.path, "output")
        for entry in body["layers"]:
            name, class_name, config = self._entry(entry)
            if class_name == "InputLayer":
                if name != inputs:
                    raise import_error(
                        E705, self.path, f"input '{name}' is not the model's input '{inputs}'"
                    )
                self._input(name, config)
                continue
            tensors = _inbound(entry, name, self.path)
            for producer, shape in tensors:
                if shape is not None:
                    self.recorded[producer] = shape
            rank = len(tensors[0][1]) + 1 if tensors and tensors[0][1] is not None else None
            self._layer(name, class_name, entry, config, [p for p, _ in tensors], rank)
        self.output = outputs
        for layer in self.layers:
            layer.output_shape = self.recorded.get(layer.name)

    def sequential(self, body: dict[str, Any]) -> None:
        entries = list(body["layers"])
        if entries and self._entry(entries[0])[1] == "InputLayer":
            name, _, config = self._entry(entries.pop(0))
            self._input(name, config)
        else:
            first = self._entry(entries[0])[2] if entries else {}
            shape = body.get("build_input_shape") or first.get("batch_input_shape")
            self.input_shape = _shape(shape, self.path, "the model's input")
        previous = self.input_name
        for entry in entries:
            name, class_name, config = self._entry(entry)
            built = (entry.get("build_config") or {}).get("input_shape")
            known = isinstance(built, list) and len(built) > 1 and None not in built[1:]
            if known and self.layers and self.layers[-1].name == previous:
                self.layers[-1].output_shape = tuple(built[1:])  # what the layer before made
            rank = len(built) if known else (len(self.input_shape) + 1 if not self.layers else None)
            self._layer(name, class_name, entry, config, [previous], rank)
            previous = name
        self.output = previous

    # -- pieces ------------------------------------------------------------------------

    def _entry(self, entry: Any) -> tuple[str, str, dict[str, Any]]:
        if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
            raise import_error(E701, self.path, f"a layer entry is not a config: {entry!r:.80}")
        config = entry["config"]
        name = entry.get("name") or config.get("name")
        if not isinstance(name, str) or not name:
            raise import_error(E701, self.path, "a layer has no name")
        return name, str(entry.get("class_name")), config

    def _input(self, name: str, config: dict[str, Any]) -> None:
        self.input_name = name
        shape = config.get("batch_shape") or config.get("batch_input_shape")
        self.input_shape = _shape(shape, self.path, f"input '{name}'")
        for flag in ("sparse", "ragged"):
            if config.get(flag):
                raise import_error(
                    E704, self.path, f"input '{name}' is {flag}; specc's inputs are dense"
                )
        dtype = config.get("dtype")
        dtype = dtype.get("config", {}).get("name") if isinstance(dtype, dict) else dtype
        if dtype not in (None, "float32", "float16", "bfloat16", "float64"):
            raise import_error(
                E704, self.path, f"input '{name}' has dtype {dtype!r}; specc's inputs are floats"
            )
        self.input_dtype = dtype or "float32"
        self._weight_key("InputLayer")

    def _weight_key(self, class_name: str) -> str:
        base = snake_case(class_name)
        n = self.counters.get(base, 0)
        self.counters[base] = n + 1
        return base if n == 0 else f"{base}_{n}"

    def _layer(
        self,
        name: str,
        class_name: str,
        entry: dict[str, Any],
        config: dict[str, Any],
        inputs: list[str],
        rank: int | None,
    ) -> None:
        key = self._weight_key(class_name)
        try:
            cls = layer_class(entry)
            params = layer_params(cls, config, rank)
            validated(cls, params)
        except ConfigError as problem:
            self.problems.append((name, class_name, problem))
            return
        arrays = self.weights(name, key)
        self.layers.append(
            ImportedLayer(
                name=name,
                kind=cls.kind,
                params=params,
                inputs=inputs,
                weights=[np.asarray(a) for a in arrays] if arrays is not None else [],
                origin=f"layer '{name}' ({class_name})",
            )
        )


def _endpoints(value: Any, path: str, what: str) -> str:
    """The single input or output layer of a functional config (E705 for several)."""
    if isinstance(value, list) and value and isinstance(value[0], str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise import_error(E701, path, f"the model config names no {what} layer")
    if len(value) != 1:
        names = ", ".join(str(v[0]) for v in value if isinstance(v, list) and v)
        raise import_error(
            E705,
            path,
            f"the model has {len(value)} {what}s ({names}); a spec has one input and one output",
        )
    return str(value[0][0])


def _tensor_records(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        return [value]
    if isinstance(value, list):
        return [t for item in value for t in _tensor_records(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in _tensor_records(item)]
    return []


def _inbound(
    entry: dict[str, Any], name: str, path: str
) -> list[tuple[str, tuple[int, ...] | None]]:
    """The tensors a layer reads: ``(producing layer, recorded shape or None)``."""
    nodes = entry.get("inbound_nodes") or []
    if len(nodes) > 1:
        raise import_error(
            E705,
            path,
            f"layer '{name}' is called {len(nodes)} times (shared weights); each specc layer "
            "is applied once",
        )
    if not nodes:
        raise import_error(E705, path, f"layer '{name}' reads no tensor")
    node = nodes[0]
    if isinstance(node, list):  # Keras 2: [[layer, node_index, tensor_index, kwargs], ...]
        return [(_history(item[:3], name, path), None) for item in node]
    args = node.get("args", []) if isinstance(node, dict) else []
    kwargs = node.get("kwargs", {}) if isinstance(node, dict) else {}
    if _tensor_records(kwargs):
        raise import_error(
            E705, path, f"layer '{name}' takes a tensor as a keyword argument (a mask or state)"
        )
    records = _tensor_records(args)
    out = []
    for record in records:
        config = record.get("config") or {}
        shape = config.get("shape")
        recorded = tuple(shape[1:]) if isinstance(shape, list) and None not in shape[1:] else None
        out.append((_history(config.get("keras_history"), name, path), recorded))
    if not out:
        raise import_error(E705, path, f"layer '{name}' reads no tensor")
    return out


def _history(value: Any, name: str, path: str) -> str:
    if not isinstance(value, list) or len(value) < 3 or not isinstance(value[0], str):
        raise import_error(E701, path, f"layer '{name}' reads a tensor with no keras_history")
    producer, node_index, tensor_index = value[0], value[1], value[2]
    if node_index != 0 or tensor_index != 0:
        raise import_error(
            E705,
            path,
            f"layer '{name}' reads output {tensor_index} of call {node_index} of '{producer}'; "
            "specc layers are called once and have one output",
        )
    return producer
