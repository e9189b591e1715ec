"""What every layer class shares: the Pydantic base, its class facts, and weights."""

import math
import re
from dataclasses import dataclass
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from specc.ir import shapes as sh
from specc.ir.shapes import Shape
from specc.ir.values import (
    Bool,
    FnValue,
)

Pair = tuple[int, int]
Window = tuple[Pair, Pair, Pair, str]  # kernel, strides, dilation, padding


@dataclass(frozen=True)
class Weight:
    """One weight array as Keras builds it: ``kernel`` of shape (kh, kw, in, out), ..."""

    name: str
    shape: Shape
    initializer: FnValue
    trainable: bool = True

    @property
    def size(self) -> int:
        """Number of scalars."""
        return math.prod(self.shape)


def snake_case(name: str) -> str:
    """Keras's ``to_snake_case``: ``MaxPooling2D`` -> ``max_pooling2d`` (automatic layer names)."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


class Layer(BaseModel):
    """Base of every layer class; subclasses declare Keras's parameters as fields.

    A class named after its Keras class needs no more: its ``keras_class`` is
    its name, its ``kind`` that name in lower case, and its ``auto_name`` (the
    name Keras gives an unnamed layer) the name in snake case. Classes whose
    name starts with ``_`` are shared bases, not kinds.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    kind: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    keras_class: ClassVar[str]
    auto_name: ClassVar[str]
    positional: ClassVar[tuple[str, ...]] = ()
    bare_words: ClassVar[bool] = False
    merge: ClassVar[bool] = False
    input_rank: ClassVar[int | None] = None
    # Parameters Keras requires although specc gives them a default (always passed on).
    keras_required: ClassVar[tuple[str, ...]] = ()
    # A transposed window op: its window scatters each input pixel (Conv2DTranspose).
    transposed: ClassVar[bool] = False
    # The output has the input's shape (dropout, activation): no shape rule of its own.
    same_shape: ClassVar[bool] = False

    trainable: Bool = True

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: object) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if cls.__name__.startswith("_"):
            return
        own = cls.__dict__
        cls.keras_class = own.get("keras_class", cls.__name__)
        cls.kind = own.get("kind", cls.keras_class.lower())
        cls.auto_name = own.get("auto_name", snake_case(cls.keras_class))

    def output_shape(self, inputs: list[Shape]) -> Shape:
        """The output shape for the given input shapes (batch axis left out).

        Every layer class overrides it, or declares ``same_shape`` (dropout,
        activation); tests/test_completeness.py names a class that does neither.
        """
        if not self.same_shape:
            raise NotImplementedError(f"layer class {type(self).__name__} has no shape rule")
        return inputs[0]

    def weights(self, inputs: list[Shape]) -> list[Weight]:
        """The weights Keras creates when it builds this layer on ``inputs``."""
        return []

    def macs(self, inputs: list[Shape], output: Shape) -> int:
        """Multiply-accumulates for one sample (only convolutions and dense count)."""
        return 0

    def window(self) -> Window | None:
        """(kernel, strides, dilation, padding) of a 2-D window op; None for other layers.

        The lowering stage resolves them, with the input and output sizes, into
        explicit pads once for every target (:class:`specc.lower.Window`).
        """
        return None

    def check_input(self, inputs: list[Shape]) -> None:
        """Refuse inputs of the wrong rank before the shape rule runs."""
        if self.input_rank is not None:
            sh.require_rank(inputs[0], self.input_rank, self.kind)


def bias_weight(use_bias: bool, n: int, init: FnValue) -> list[Weight]:
    """``[bias]`` of ``n`` units when the layer uses a bias, else ``[]``."""
    return [Weight("bias", (n,), init)] if use_bias else []
