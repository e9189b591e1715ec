"""Keras's cropping, spatial dropout, permuting, resizing and identity layers."""

from typing import ClassVar

from specc.codes import E107
from specc.ir import shapes as sh
from specc.ir.layer_base import Layer
from specc.ir.shapes import Shape, ShapeError
from specc.ir.values import (
    Bool,
    DataFormat,
    Fraction,
    Interpolation,
    Padding2D,
    PositiveInt,
    Seed,
)
from specc.ir.values_extra import FillMode, Number, Permutation


class Cropping2D(Layer):
    """Keras ``Cropping2D``: rows and columns cut from the top, bottom, left and right."""

    kind: ClassVar[str] = "cropping2d"
    aliases: ClassVar[tuple[str, ...]] = ("crop",)
    keras_class: ClassVar[str] = "Cropping2D"
    auto_name: ClassVar[str] = "cropping2d"
    positional: ClassVar[tuple[str, ...]] = ("cropping",)
    input_rank: ClassVar[int | None] = 3

    cropping: Padding2D = ((0, 0), (0, 0))
    data_format: DataFormat = None

    def output_shape(self, inputs: list[Shape]) -> Shape:
        return sh.cropped_shape(inputs[0], self.cropping)


class SpatialDropout2D(Layer):
    """Keras ``SpatialDropout2D``: whole channels dropped in training; the identity at inference.

    Keras's constructor takes no ``trainable`` argument, so specc refuses one.
    """

    kind: ClassVar[str] = "spatialdropout2d"
    keras_class: ClassVar[str] = "SpatialDropout2D"
    auto_name: ClassVar[str] = "spatial_dropout2d"
    positional: ClassVar[tuple[str, ...]] = ("rate",)
    input_rank: ClassVar[int | None] = 3

    rate: Fraction
    data_format: DataFormat = None
    seed: Seed = None

    def output_shape(self, inputs: list[Shape]) -> Shape:
        if not self.trainable:
            raise ShapeError(
                E107,
                "spatialdropout2d takes no trainable argument (Keras's SpatialDropout2D "
                "constructor refuses it); it has no weights to freeze",
                "remove trainable=false",
            )
        return inputs[0]


class Permute(Layer):
    """Keras ``Permute``: the axes reordered by ``dims`` (1-based; the batch axis stays first)."""

    kind: ClassVar[str] = "permute"
    keras_class: ClassVar[str] = "Permute"
    auto_name: ClassVar[str] = "permute"
    positional: ClassVar[tuple[str, ...]] = ("dims",)

    dims: Permutation

    def output_shape(self, inputs: list[Shape]) -> Shape:
        return sh.permuted_shape(inputs[0], self.dims)


class Resizing(Layer):
    """Keras ``Resizing``: each image resized to ``height`` x ``width`` (``tf.image.resize``).

    ``crop_to_aspect_ratio`` first cuts the largest centred window of the
    target's aspect ratio; ``pad_to_aspect_ratio`` first surrounds the image
    with ``fill_value`` to it; ``antialias`` widens the kernel when shrinking.
    """

    kind: ClassVar[str] = "resizing"
    aliases: ClassVar[tuple[str, ...]] = ("resize",)
    keras_class: ClassVar[str] = "Resizing"
    auto_name: ClassVar[str] = "resizing"
    positional: ClassVar[tuple[str, ...]] = ("height", "width")
    input_rank: ClassVar[int | None] = 3

    height: PositiveInt
    width: PositiveInt
    interpolation: Interpolation = "bilinear"
    crop_to_aspect_ratio: Bool = False
    pad_to_aspect_ratio: Bool = False
    fill_mode: FillMode = "constant"
    fill_value: Number = 0.0
    antialias: Bool = False
    data_format: DataFormat = None

    def output_shape(self, inputs: list[Shape]) -> Shape:
        if self.crop_to_aspect_ratio and self.pad_to_aspect_ratio:
            raise ShapeError(
                E107,
                "resizing takes crop_to_aspect_ratio or pad_to_aspect_ratio, not both",
                "Keras refuses both at once; keep one",
            )
        return (self.height, self.width, inputs[0][2])

    def aspect_window(self, shape: Shape) -> tuple[tuple[int, int], tuple[int, int]]:
        """((top, left), (height, width)) of what is resized: the crop, the padded frame
        (see :func:`specc.ir.shapes.aspect_window`), or the whole input."""
        if not (self.crop_to_aspect_ratio or self.pad_to_aspect_ratio):
            return (0, 0), (shape[0], shape[1])
        size = (self.height, self.width)
        return sh.aspect_window((shape[0], shape[1]), size, self.pad_to_aspect_ratio)


class Identity(Layer):
    """Keras ``Identity``: the input unchanged (a named point in the graph)."""

    kind: ClassVar[str] = "identity"
    same_shape: ClassVar[bool] = True
    keras_class: ClassVar[str] = "Identity"
    auto_name: ClassVar[str] = "identity"
