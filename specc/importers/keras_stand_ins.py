"""Keras entries outside specc's layer table that compute what table layers compute.

keras.applications builds a few things that are not public Keras layers, and
the spec writes each as the layers zoo/ uses for it, only where they compute
exactly the same function:

- a ``keras.ops`` call on a tensor, recorded as an operation (Keras 3: class
  ``Add``, ``Subtract`` or ``Multiply`` of module ``keras.src.ops.numpy``;
  Keras 2: a ``TFOpLambda`` of ``__operators__.add``, ``math.add``,
  ``math.subtract`` or ``math.multiply``). Of a tensor and a number it is
  ``rescaling``: ``x + c`` is ``rescaling 1.0 c``, ``x - c`` is
  ``rescaling 1.0 -c``, ``c - x`` is ``rescaling -1.0 c``, ``x * c`` is
  ``rescaling c``; each is one float32 operation either way, since
  ``x * 1.0``, ``x * -1.0`` and ``+ 0.0`` change no value. Of two tensors it
  is the merge layer of the same name. MobileNetV3's ``hard_sigmoid`` is
  ``ReLU(6.0)(x + 3.0) * (1.0 / 6.0)``.
- InceptionResNetV2's ``CustomScaleLayer(scale)([x, r])``, ``x + r * scale``:
  ``rescaling scale`` on ``r`` (a layer named ``<name>_scale``), then ``add``.
- ConvNeXt's ``LayerScale``, ``x * gamma`` per channel: a 1x1 depthwise
  convolution without bias whose kernel is ``gamma``, initialized as
  LayerScale initializes it.
- ConvNeXt's ``StochasticDepth``, which drops a residual branch at random
  while training and is the identity at inference: ``identity`` (the header
  says so, since training with the spec does not drop branches).

Anything else of these kinds (a division, a keyword argument, a LayerScale
on a tensor that is not a feature map) is a coded error naming the layer.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from specc.codes import E702, E704
from specc.importers.graph import ImportedLayer
from specc.importers.keras_config import ConfigError, check_dtype, snake_case
from specc.ir.values import FnValue

# A call's positional arguments: the producing layer's name, or a number.
Argument = str | float
WeightLookup = Callable[[str, str], "list[np.ndarray] | None"]

_OPS = {"Add": "add", "Subtract": "subtract", "Multiply": "multiply"}
_TF_FUNCTIONS = {
    "__operators__.add": "Add",
    "math.add": "Add",
    "math.subtract": "Subtract",
    "math.multiply": "Multiply",
}
_PRIVATE = {
    ("keras.src.applications.inception_resnet_v2", "CustomScaleLayer"),
    ("keras.src.applications.convnext", "LayerScale"),
    ("keras.src.applications.convnext", "StochasticDepth"),
}


def is_stand_in(entry: dict[str, Any]) -> bool:
    """True for an entry this module writes as table layers (or refuses with its own reason)."""
    class_name, module = entry.get("class_name"), str(entry.get("module") or "")
    if class_name == "TFOpLambda":
        return True
    if module.startswith("keras.src.ops") and class_name in _OPS:
        return True
    return (module, class_name) in _PRIVATE


class StandIn:
    """Writes one stand-in entry as table layers; ``fresh(base)`` gives an unused layer name."""

    def __init__(self, weights: WeightLookup, fresh: Callable[[str], str]) -> None:
        self.weights = weights
        self.fresh = fresh

    def layers(
        self,
        entry: dict[str, Any],
        name: str,
        args: list[Argument],
        key: str,
        rank: int | None,
    ) -> tuple[list[ImportedLayer], str]:
        """The layers that compute ``entry`` (the last one named ``name``) and a header note."""
        class_name = str(entry.get("class_name"))
        config = entry.get("config") or {}
        check_dtype(config)
        origin = f"layer '{name}' ({class_name})"
        if class_name == "TFOpLambda":
            function = str(config.get("function"))
            if function not in _TF_FUNCTIONS:
                raise ConfigError(
                    E702,
                    f"is the TensorFlow function tf.{function} used as a layer (TFOpLambda); "
                    "specc writes only +, - and * of a tensor and a number, or of two tensors",
                    "use Keras layers (layers.Add, layers.Rescaling, ...) for the operation",
                )
            return self._operation(_TF_FUNCTIONS[function], f"tf.{function}", name, args, origin)
        if class_name in _OPS:  # a keras.ops operation (is_stand_in checked its module)
            op = f"keras.ops.{snake_case(class_name)}"
            return self._operation(class_name, op, name, args, origin)
        if class_name == "CustomScaleLayer":
            return self._custom_scale(config, name, args, origin)
        if class_name == "LayerScale":
            return self._layer_scale(config, name, args, key, rank, origin)
        _expect_tensors(args, 1, "StochasticDepth")
        note = "StochasticDepth is the identity at inference, written as identity"
        return [ImportedLayer(name, "identity", {}, [args[0]], origin=origin)], note  # type: ignore[list-item]

    def _operation(
        self, op: str, spelled: str, name: str, args: list[Argument], origin: str
    ) -> tuple[list[ImportedLayer], str]:
        if len(args) != 2:
            raise ConfigError(E702, f"is {spelled} of {len(args)} arguments; specc writes two")
        tensors = [a for a in args if isinstance(a, str)]
        if len(tensors) == 2:
            layer = ImportedLayer(name, _OPS[op], {}, tensors, origin=origin)
            return [layer], f"{spelled} of two tensors is written as {_OPS[op]}"
        if not tensors:
            raise ConfigError(E702, f"is {spelled} of two numbers, not of a tensor")
        (x,) = tensors
        c = float(args[1] if args[0] == x else args[0])  # type: ignore[arg-type]
        if op == "Add":
            scale, offset = 1.0, c
        elif op == "Multiply":
            scale, offset = c, 0.0
        elif args[0] == x:  # x - c
            scale, offset = 1.0, -c
        else:  # c - x
            scale, offset = -1.0, c
        params: dict[str, Any] = {"scale": scale, "offset": offset}
        layer = ImportedLayer(name, "rescaling", params, [x], origin=origin)
        return [layer], f"{spelled} of a tensor and a number is written as rescaling"

    def _custom_scale(
        self, config: dict[str, Any], name: str, args: list[Argument], origin: str
    ) -> tuple[list[ImportedLayer], str]:
        _expect_tensors(args, 2, "CustomScaleLayer")
        _only_keys(config, ("scale",), "CustomScaleLayer")
        scale = _number(config.get("scale"), "scale")
        x, r = args
        scaled = self.fresh(f"{name}_scale")
        return [
            ImportedLayer(scaled, "rescaling", {"scale": scale}, [r], origin=origin),  # type: ignore[list-item]
            ImportedLayer(name, "add", {}, [x, scaled], origin=origin),  # type: ignore[list-item]
        ], "CustomScaleLayer(scale)([x, r]) is written as rescaling scale on r, then add"

    def _layer_scale(
        self,
        config: dict[str, Any],
        name: str,
        args: list[Argument],
        key: str,
        rank: int | None,
        origin: str,
    ) -> tuple[list[ImportedLayer], str]:
        _expect_tensors(args, 1, "LayerScale")
        _only_keys(config, ("init_values", "projection_dim"), "LayerScale")
        if rank != 4:
            raise ConfigError(
                E702,
                f"scales a tensor of rank {rank}; specc writes LayerScale as a 1x1 depthwise "
                "convolution, which needs a feature map (batch, height, width, channels)",
            )
        init = _number(config.get("init_values"), "init_values")
        arrays = self.weights(name, key)
        if arrays is not None and len(arrays) == 1 and np.ndim(arrays[0]) == 1:
            arrays = [np.asarray(arrays[0]).reshape(1, 1, -1, 1)]  # gamma as the kernel
        params = {
            "kernel_size": (1, 1),
            "use_bias": False,
            "depthwise_initializer": FnValue("constant", (("value", init),)),
        }
        if config.get("trainable") is False:
            params["trainable"] = False
        layer = ImportedLayer(
            name,
            "depthwiseconv2d",
            params,
            [args[0]],
            list(arrays or []),
            origin,  # type: ignore[list-item]
        )
        return [layer], "LayerScale is written as a 1x1 depthwiseconv2d, its weight the kernel"


def _expect_tensors(args: list[Argument], count: int, what: str) -> None:
    if len(args) != count or not all(isinstance(a, str) for a in args):
        raise ConfigError(E702, f"is a {what} called on {args!r}; it takes {count} tensor(s)")


def _only_keys(config: dict[str, Any], keys: tuple[str, ...], what: str) -> None:
    extra = sorted(set(config) - {"name", "trainable", "dtype", *keys})
    if extra:
        raise ConfigError(E704, f"sets {', '.join(extra)}, which specc's stand-in for {what} lacks")


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(E704, f"has {what}={value!r}, which is not a finite number")
    return float(value)
