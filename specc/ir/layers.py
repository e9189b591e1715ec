"""The table of layers: one small Pydantic class per Keras layer.

Each class holds Keras's parameters with Keras's defaults and knows three
things about itself: its output shape (through the pure rules of
:mod:`specc.ir.shapes`), its weights (names, shapes, initializers, as Keras
builds them) and its multiply-accumulates. Params are counted from the weights,
so the two can never disagree.
"""

from __future__ import annotations

from typing import Any

from specc.ir.layer_base import Layer, Weight, bias_weight
from specc.ir.layers_activation import ELU, LeakyReLU, PReLU, ReLU, Softmax
from specc.ir.layers_conv import (
    AveragePooling2D,
    Conv2D,
    Conv2DTranspose,
    DepthwiseConv2D,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    MaxPooling2D,
    SeparableConv2D,
)
from specc.ir.layers_core import (
    ActivationLayer,
    Add,
    Average,
    BatchNormalization,
    Concatenate,
    Dense,
    Dropout,
    Flatten,
    Maximum,
    Minimum,
    Multiply,
    Reshape,
    Subtract,
    UpSampling2D,
    ZeroPadding2D,
)
from specc.ir.layers_norm import (
    GroupNormalization,
    LayerNormalization,
    Normalization,
    Rescaling,
    UnitNormalization,
)
from specc.ir.layers_reshape import Cropping2D, Identity, Permute, Resizing, SpatialDropout2D

__all__ = [
    "ELU",
    "KINDS",
    "LAYER_CLASSES",
    "REGISTRY",
    "ActivationLayer",
    "Add",
    "Average",
    "AveragePooling2D",
    "BatchNormalization",
    "Concatenate",
    "Conv2D",
    "Conv2DTranspose",
    "Cropping2D",
    "Dense",
    "DepthwiseConv2D",
    "Dropout",
    "Flatten",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling2D",
    "GroupNormalization",
    "Identity",
    "Layer",
    "LayerNormalization",
    "LeakyReLU",
    "MaxPooling2D",
    "Maximum",
    "Minimum",
    "Multiply",
    "Normalization",
    "PReLU",
    "Permute",
    "ReLU",
    "Rescaling",
    "Reshape",
    "Resizing",
    "SeparableConv2D",
    "Softmax",
    "SpatialDropout2D",
    "Subtract",
    "UnitNormalization",
    "UpSampling2D",
    "Weight",
    "ZeroPadding2D",
    "bias_weight",
    "explicit_params",
    "lookup",
]

LAYER_CLASSES: tuple[type[Layer], ...] = (
    Conv2D,
    DepthwiseConv2D,
    SeparableConv2D,
    Conv2DTranspose,
    MaxPooling2D,
    AveragePooling2D,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    Dense,
    Flatten,
    Dropout,
    BatchNormalization,
    ActivationLayer,
    ZeroPadding2D,
    UpSampling2D,
    Reshape,
    Add,
    Subtract,
    Multiply,
    Average,
    Maximum,
    Minimum,
    Concatenate,
    # activation, normalization and reshaping layers (issue 12)
    ReLU,
    LeakyReLU,
    PReLU,
    ELU,
    Softmax,
    Rescaling,
    Normalization,
    LayerNormalization,
    GroupNormalization,
    UnitNormalization,
    Cropping2D,
    SpatialDropout2D,
    Permute,
    Resizing,
    Identity,
)

# kind or alias (lowercase) -> class
REGISTRY: dict[str, type[Layer]] = {}
for _cls in LAYER_CLASSES:
    for _word in (_cls.kind, *_cls.aliases):
        REGISTRY[_word] = _cls

KINDS: tuple[str, ...] = tuple(cls.kind for cls in LAYER_CLASSES)


def lookup(word: str) -> type[Layer] | None:
    """The layer class for a kind or alias, case-insensitively."""
    return REGISTRY.get(word.lower())


def explicit_params(layer: Layer) -> dict[str, Any]:
    """The parameters Keras needs or whose value differs from Keras's default, in order."""
    out = {}
    for name, info in type(layer).model_fields.items():
        value = getattr(layer, name)
        if info.is_required() or name in layer.keras_required or value != info.default:
            out[name] = value
    return out
