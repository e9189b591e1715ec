"""A Keras model config (Functional or Sequential) as an :class:`ImportedModel`.

Keras 3 writes each layer's inputs as ``inbound_nodes`` of ``{"args": ...}``
holding ``__keras_tensor__`` records (``keras_history``: producing layer,
node, tensor; ``shape``: the tensor's shape, batch first); Keras 2 wrote lists
``[layer, node, tensor, kwargs]``. Both are read (specc.importers.keras_nodes);
the recorded shapes become each layer's expected output shape, which the
written spec must reproduce. A Sequential model used as a layer is read as
its layers, its name standing for its last one; operations and the
applications' private layers are written by specc.importers.keras_stand_ins.
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
from specc.importers.keras_nodes import call_arguments, endpoints, inbound
from specc.importers.keras_stand_ins import StandIn, is_stand_in

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
        notes=reader.note_lines(),
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
        self.alias: dict[str, str] = {}  # a nested Sequential's name -> its last layer's
        self.notes: dict[str, list[str]] = {}
        self.taken: set[str] = set()
        self.stand_ins = StandIn(weights, self._fresh)

    # -- the two kinds of model ------------------------------------------------------

    def functional(self, body: dict[str, Any]) -> None:
        inputs = endpoints(body.get("input_layers"), self.path, "input")
        outputs = endpoints(body.get("output_layers"), self.path, "output")
        self.taken = {self._entry(entry)[0] for entry in body["layers"]}
        for entry in body["layers"]:
            name, class_name, config = self._entry(entry)
            if class_name == "InputLayer":
                if name != inputs:
                    raise import_error(
                        E705, self.path, f"input '{name}' is not the model's input '{inputs}'"
                    )
                self._input(name, config)
                continue
            if is_stand_in(entry):
                self._stand_in(entry, name, class_name)
                continue
            tensors = inbound(entry, name, self.path)
            self._record(tensors)
            rank = len(tensors[0][1]) + 1 if tensors and tensors[0][1] is not None else None
            inputs_of = [p for p, _ in tensors]
            if class_name == "Sequential" and str(entry.get("module")) in ("keras", "None"):
                self._nested(name, config, inputs_of, rank)
                continue
            self._layer(name, class_name, entry, config, inputs_of, rank)
        self.output = self.alias.get(outputs, outputs)
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

    def _weight_key(self, class_name: str, counters: dict[str, int] | None = None) -> str:
        counters = self.counters if counters is None else counters
        base = snake_case(class_name)
        n = counters.get(base, 0)
        counters[base] = n + 1
        return base if n == 0 else f"{base}_{n}"

    def _fresh(self, base: str) -> str:
        """A layer name no layer of the file has: ``base``, else ``base_1``, ..."""
        name, n = base, 1
        while name in self.taken:
            name, n = f"{base}_{n}", n + 1
        self.taken.add(name)
        return name

    def _record(self, tensors: list[tuple[str, tuple[int, ...] | None]]) -> None:
        for producer, shape in tensors:
            if shape is not None:
                self.recorded[self.alias.get(producer, producer)] = shape

    def note_lines(self) -> list[str]:
        """The header's lines on stand-ins: what was written how, the first layer named."""
        out = []
        for note, names in self.notes.items():
            more = f" and {len(names) - 1} more" if len(names) > 1 else ""
            out.append(f"{note} ('{names[0]}'{more})")
        return out

    def _stand_in(self, entry: dict[str, Any], name: str, class_name: str) -> None:
        """An operation or applications-private layer, as the table layers computing it."""
        key = self._weight_key(class_name)
        try:
            args, tensors = call_arguments(entry, name, self.path)
            self._record(tensors)
            args = [self.alias.get(a, a) if isinstance(a, str) else a for a in args]
            shape = next((s for _, s in tensors if s is not None), None)
            rank = len(shape) + 1 if shape is not None else None
            made, note = self.stand_ins.layers(entry, name, args, key, rank)
        except ConfigError as problem:
            self.problems.append((name, class_name, problem))
            return
        self.layers.extend(made)
        self.notes.setdefault(note, []).append(name)

    def _nested(
        self, name: str, config: dict[str, Any], inputs: list[str], rank: int | None
    ) -> None:
        """A Sequential inside a functional model (ConvNeXt's stems): its layers in its place."""
        entries = config.get("layers")
        if not isinstance(entries, list) or len(inputs) != 1:
            raise import_error(E701, self.path, f"nested model '{name}' has no list of layers")
        key = self._weight_key("Sequential")
        counters: dict[str, int] = {}
        previous = self.alias.get(inputs[0], inputs[0])
        for inner in entries:
            inner_name, inner_class, inner_config = self._entry(inner)
            if inner_class == "InputLayer":
                continue
            if inner_name in self.taken:
                raise import_error(E705, self.path, f"two layers are called '{inner_name}'")
            self.taken.add(inner_name)
            built = (inner.get("build_config") or {}).get("input_shape")
            if isinstance(built, list) and len(built) > 1 and None not in built[1:]:
                rank = len(built)
                if previous != inputs[0]:
                    self.recorded[previous] = tuple(built[1:])
            inner_key = f"{key}/{self._weight_key(inner_class, counters)}"
            self._layer(inner_name, inner_class, inner, inner_config, [previous], rank, inner_key)
            previous = inner_name
        self.alias[name] = previous

    def _layer(
        self,
        name: str,
        class_name: str,
        entry: dict[str, Any],
        config: dict[str, Any],
        inputs: list[str],
        rank: int | None,
        key: str | None = None,
    ) -> None:
        key = self._weight_key(class_name) if key is None else key
        inputs = [self.alias.get(p, p) for p in inputs]
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
