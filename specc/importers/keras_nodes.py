"""How a Keras config says which tensors a layer reads.

Keras 3 writes each layer's inputs as ``inbound_nodes`` of ``{"args": ...}``
holding ``__keras_tensor__`` records (``keras_history``: producing layer,
node, tensor; ``shape``: the tensor's shape, batch first); Keras 2 wrote lists
``[layer, node, tensor, kwargs]``, and for a TensorFlow function used as a
layer (``TFOpLambda``) one such list with its other arguments as keywords.
"""

from __future__ import annotations

import math
from typing import Any

from specc.codes import E701, E704, E705
from specc.importers.graph import import_error
from specc.importers.keras_config import ConfigError
from specc.importers.keras_stand_ins import Argument

Tensor = tuple[str, "tuple[int, ...] | None"]  # (producing layer, recorded shape or None)


def endpoints(value: Any, path: str, what: str) -> str:
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


def _tensor_list(
    record: dict[str, Any], name: str, path: str
) -> list[tuple[str, tuple[int, ...] | None]]:
    """One ``__keras_tensor__`` record as ``[(producing layer, recorded shape or None)]``."""
    config = record.get("config") or {}
    shape = config.get("shape")
    recorded = tuple(shape[1:]) if isinstance(shape, list) and None not in shape[1:] else None
    return [(_history(config.get("keras_history"), name, path), recorded)]


def _tensor_records(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        return [value]
    if isinstance(value, list):
        return [t for item in value for t in _tensor_records(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in _tensor_records(item)]
    return []


def inbound(
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
    out = [t for record in _tensor_records(args) for t in _tensor_list(record, name, path)]
    if not out:
        raise import_error(E705, path, f"layer '{name}' reads no tensor")
    return out


def call_arguments(
    entry: dict[str, Any], name: str, path: str
) -> tuple[list[Argument], list[tuple[str, tuple[int, ...] | None]]]:
    """An operation's positional arguments (tensors by producer, numbers) and its tensors.

    Keras 3 records ``{"args": [...], "kwargs": {}}``; Keras 2's TFOpLambda
    ``[producer, node, tensor, {"y": ..., "name": ...}]``.
    """
    nodes = entry.get("inbound_nodes") or []
    if len(nodes) != 1:
        raise import_error(E705, path, f"layer '{name}' is called {len(nodes)} times")
    node = nodes[0]
    args: list[Argument] = []
    tensors: list[tuple[str, tuple[int, ...] | None]] = []
    if isinstance(node, list) and node and isinstance(node[0], str):  # Keras 2 TFOpLambda
        args.append(_history(node[:3], name, path))
        tensors.append((str(args[0]), None))
        kwargs = node[3] if len(node) > 3 and isinstance(node[3], dict) else {}
        for key, value in kwargs.items():
            if key == "name" and value is None:
                continue
            if key == "y" and _is_number(value):
                args.append(float(value))
            elif key == "y" and isinstance(value, list) and value and isinstance(value[0], str):
                args.append(_history(value[:3], name, path))
                tensors.append((str(args[-1]), None))
            else:
                raise ConfigError(E704, f"is called with {key}={value!r}, which specc cannot hold")
        return args, tensors
    if isinstance(node, list):  # Keras 2 layer: [[producer, node, tensor, kwargs], ...]
        for item in node:
            args.append(_history(item[:3] if isinstance(item, list) else item, name, path))
            tensors.append((str(args[-1]), None))
        return args, tensors
    if not isinstance(node, dict) or node.get("kwargs"):
        raise ConfigError(E704, "is called with keyword arguments, which specc cannot hold")

    def flatten(value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                flatten(item)
        elif isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            (record,) = _tensor_records(value)
            (tensor,) = _tensor_list(record, name, path)
            args.append(tensor[0])
            tensors.append(tensor)
        elif _is_number(value):
            args.append(float(value))
        else:
            raise ConfigError(E704, f"is called with {value!r:.60}, neither a tensor nor a number")

    flatten(node.get("args", []))
    return args, tensors


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


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
