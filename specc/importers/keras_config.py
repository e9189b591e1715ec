"""Keras layer configs (``config.json``, ``model_config``) as specc layers.

A Keras config is data: class names, parameter values and the tensors each
layer reads. This module maps a class to specc's layer table by its Keras
class name, and each config value to the value the layer class validates;
nothing in it is imported or executed. A class outside the table, a value the
table cannot hold, a Lambda or a custom layer is a coded diagnostic naming the
layer.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from specc.codes import E702, E703, E704
from specc.diagnostics import Diagnostic
from specc.importers.graph import diagnostic
from specc.ir.layers import LAYER_CLASSES, Layer
from specc.ir.values import ACTIVATIONS, CONSTRAINTS, INITIALIZERS, REGULARIZERS, FnValue

BY_KERAS_CLASS: dict[str, type[Layer]] = {cls.keras_class: cls for cls in LAYER_CLASSES}

# Config keys that change nothing specc computes while they hold these values.
_ANY = object()
HARMLESS: dict[str, tuple[Any, ...]] = {
    "name": (_ANY,),
    "dtype": (_ANY,),  # checked on its own: only float32 policies
    "quantization_config": (None,),
    "lora_rank": (None,),
    "lora_alpha": (_ANY,),
    "renorm": (False,),
    "renorm_clipping": (None,),
    "renorm_momentum": (_ANY,),
    "rms_scaling": (False,),  # LayerNormalization's plain (not RMS) normalization
    "groups": (1,),  # Keras 2's DepthwiseConv2D config inherits Conv2D's groups
}
_OBJECT_NAMES = {
    "L1": "l1",
    "L2": "l2",
    "L1L2": "l1_l2",
    "OrthogonalRegularizer": "orthogonal_regularizer",
    "MaxNorm": "max_norm",
    "NonNeg": "non_neg",
    "UnitNorm": "unit_norm",
    "MinMaxNorm": "min_max_norm",
}
# VarianceScaling presets by (scale, mode, distribution), as Keras defines them.
_VARIANCE_SCALING = {
    (1.0, "fan_avg", "uniform"): "glorot_uniform",
    (1.0, "fan_avg", "truncated_normal"): "glorot_normal",
    (2.0, "fan_in", "truncated_normal"): "he_normal",
    (2.0, "fan_in", "uniform"): "he_uniform",
    (1.0, "fan_in", "truncated_normal"): "lecun_normal",
    (1.0, "fan_in", "uniform"): "lecun_uniform",
}
BUILTIN_MODULES = ("keras.layers", "keras.src.layers")


class ConfigError(Exception):
    """A config value specc cannot take: the diagnostic's code and sentence."""

    def __init__(self, code: str, message: str, help: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.help = code, message, help


def snake_case(name: str) -> str:
    """Keras's ``naming.to_snake_case``: ``BatchNormalization`` -> ``batch_normalization``."""
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def article(word: str) -> str:
    """``an`` before a vowel sound (``an Embedding``, ``an LSTM``), else ``a`` (``a GRU``)."""
    initialism = len(word) > 1 and word[1].isupper()
    vowel_sound = word[:1].lower() in "aeiou" or (initialism and word[:1] in "FHLMNRSX")
    return "an" if vowel_sound else "a"


def layer_class(entry: dict[str, Any]) -> type[Layer]:
    """The layer class of one config entry; ConfigError for what specc cannot express."""
    class_name = str(entry.get("class_name"))
    module = entry.get("module")
    registered = entry.get("registered_name")
    if class_name == "Lambda":
        raise ConfigError(
            E703,
            "is a Lambda layer: it holds Python code, which specc never runs",
            "replace the Lambda with built-in layers before saving the model",
        )
    if class_name in ("Functional", "Sequential", "Model"):
        raise ConfigError(
            E702,
            "is a nested model; specc imports one level of layers",
            "flatten the model: call the inner model's layers directly in the outer one",
        )
    builtin = module is None or str(module).startswith(BUILTIN_MODULES)
    if not builtin and str(module).startswith("keras.src.ops"):
        raise ConfigError(
            E702,
            f"is the operation keras.ops.{snake_case(class_name)} used as a layer "
            "(a tensor operator or function call in the model's code)",
            "use the Keras layer of the same name (layers.Add, layers.Multiply, ...)",
        )
    if not builtin or (registered and registered != class_name):
        raise ConfigError(
            E703,
            f"is a custom layer (registered as {registered or class_name!r} in "
            f"{module}); its code is not in the file and specc never runs code",
            "rebuild the model from built-in Keras layers",
        )
    cls = BY_KERAS_CLASS.get(class_name)
    if cls is None:
        raise ConfigError(
            E702,
            f"is {article(class_name)} {class_name} layer, which specc's layer table does "
            "not have yet",
            "the layer kinds specc knows: " + ", ".join(sorted(BY_KERAS_CLASS)),
        )
    return cls


def _dtype_name(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict):
        config = value.get("config")
        if isinstance(config, dict):
            return config.get("name")
        return value.get("name")
    return None


def check_dtype(config: dict[str, Any]) -> None:
    """Only float32 layers: specc computes in float32."""
    name = _dtype_name(config.get("dtype"))
    if name not in (None, "float32"):
        raise ConfigError(
            E704,
            f"computes in dtype policy {name!r}; specc's layers compute in float32",
            "save the model with the float32 policy",
        )


def function_value(value: Any, what: str) -> FnValue | None:
    """A serialized initializer, regularizer or constraint as an :class:`FnValue`."""
    if value is None:
        return None
    if isinstance(value, str):
        return FnValue(snake_case(value) if value[:1].isupper() else value)
    if not isinstance(value, dict) or "class_name" not in value:
        raise ConfigError(E704, f"has a {what} that is not a Keras object: {value!r}")
    class_name = str(value["class_name"])
    config = value.get("config") or {}
    if not isinstance(config, dict):
        raise ConfigError(E704, f"has a {what} with a config that is not a mapping")
    kwargs = {k: v for k, v in config.items() if v is not None}
    name = _OBJECT_NAMES.get(class_name, snake_case(class_name))
    if class_name == "VarianceScaling":
        key = (
            float(kwargs.pop("scale", 1.0)),
            kwargs.pop("mode", "fan_in"),
            kwargs.pop("distribution", "truncated_normal"),
        )
        if key in _VARIANCE_SCALING:
            name = _VARIANCE_SCALING[key]
        else:  # none of Keras's presets: the initializer itself, all three values stated
            kwargs = {"scale": key[0], "mode": key[1], "distribution": key[2], **kwargs}
    table = {**INITIALIZERS, **REGULARIZERS, **CONSTRAINTS}
    if name not in table:
        raise ConfigError(E704, f"has the {what} {class_name}, which specc does not know")
    extra = sorted(set(kwargs) - set(table[name]))
    if extra:
        raise ConfigError(
            E704, f"sets {', '.join(extra)} of its {what} {class_name}, which specc cannot hold"
        )
    kwargs = {k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()}
    return FnValue(name, tuple(kwargs.items()))


def _tuples(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


def _activation(value: Any) -> str | None:
    if isinstance(value, dict):
        raise ConfigError(
            E703, "has a custom activation object; specc never runs code from a model file"
        )
    if value in (None, "linear"):
        return None
    if not isinstance(value, str) or value not in ACTIVATIONS:
        raise ConfigError(
            E704,
            f"has the activation {value!r}, which specc does not know",
            "specc's activations: " + ", ".join(ACTIVATIONS),
        )
    return value


def _last_axis(value: Any, rank: int | None) -> Any:
    """``axis=3`` on a rank-4 tensor (batch counted) is Keras's ``-1``: written as the default."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if rank is not None and isinstance(value, int) and value == rank - 1:
        return -1
    return value


def layer_params(
    cls: type[Layer], config: dict[str, Any], input_rank: int | None
) -> dict[str, Any]:
    """The parameters of one layer: config values converted, harmless keys dropped.

    ``input_rank`` counts the batch axis, as Keras's ``axis`` does.
    """
    check_dtype(config)
    fields = cls.model_fields
    params: dict[str, Any] = {}
    for key, value in config.items():
        if key in fields:
            params[key] = _convert(key, value, input_rank)
            continue
        allowed = HARMLESS.get(key)
        if allowed is None or (_ANY not in allowed and value not in allowed):
            raise ConfigError(
                E704,
                f"sets {key}={value!r}, which specc's {cls.keras_class} cannot hold",
                f"specc's {cls.keras_class} takes " + ", ".join(fields),
            )
    if (
        "strides" in params
        and "pool_size" in fields
        and params["strides"] == params.get("pool_size")
    ):
        params["strides"] = None  # Keras stores strides=None as the pool size
    return params


def _convert(key: str, value: Any, input_rank: int | None) -> Any:
    if key == "activation":
        return _activation(value)
    if key.endswith("_initializer"):
        return function_value(value, "initializer")
    if key.endswith("_regularizer"):
        return function_value(value, "regularizer")
    if key.endswith("_constraint"):
        return function_value(value, "constraint")
    if key == "data_format" and value == "channels_last":
        return None
    if key == "axis":
        return _last_axis(value, input_rank)
    return _tuples(value)


def validated(cls: type[Layer], params: dict[str, Any]) -> Layer:
    """The layer object; ConfigError (E704) with pydantic's sentence when a value is refused."""
    try:
        return cls.model_validate(params)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        raise ConfigError(E704, f"{key}: {message}") from None


def grouped(problems: list[tuple[str, str, ConfigError]], path: str) -> list[Diagnostic]:
    """One diagnostic per kind of problem: the first layer named, the others counted.

    ``problems`` holds ``(layer name, class name, problem)``; MobileNet's 27
    ReLU layers give one error that names the first and counts the rest.
    """
    seen: dict[tuple[str, str, str], list[str]] = {}
    first: dict[tuple[str, str, str], ConfigError] = {}
    for name, class_name, problem in problems:
        key = (problem.code, class_name, problem.message)
        seen.setdefault(key, []).append(name)
        first.setdefault(key, problem)
    out = []
    for key, names in seen.items():
        problem = first[key]
        message = f"layer '{names[0]}' ({key[1]}) {problem.message}"
        if len(names) > 1:
            shown = ", ".join(names[1:4]) + (", ..." if len(names) > 4 else "")
            message += f" ({len(names) - 1} more {key[1]} layers: {shown})"
        out.append(diagnostic(problem.code, path, message, problem.help))
    return out
