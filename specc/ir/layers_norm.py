"""Keras's scaling and normalization layers beyond BatchNormalization.

``Rescaling`` and ``Normalization`` (the preprocessing layers of Keras
Applications), ``LayerNormalization``, ``GroupNormalization`` and
``UnitNormalization``. Axes are counted with the batch axis, as Keras counts them.
"""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from specc.codes import E107, E202
from specc.ir import shapes as sh
from specc.ir.layer_base import Layer, Weight
from specc.ir.shapes import Shape, ShapeError
from specc.ir.values import Axis, Bool, Constraint, Epsilon, FnValue, Initializer, Regularizer
from specc.ir.values_extra import (
    Axes,
    Groups,
    Numbers,
    OptionalAxes,
    OptionalNonNegNumbers,
    OptionalNumbers,
)

if TYPE_CHECKING:
    import numpy as np


def values_array(values: float | tuple[float, ...], rank: int, axis: int) -> "np.ndarray":
    """A number, or one value per position of ``axis``, as a float32 array of rank ``rank``.

    What Keras's ``convert_to_tensor`` makes of a Rescaling's scale or a
    Normalization's mean, shaped to broadcast against the input (batch included).
    """
    import numpy as np

    return np.asarray(values, dtype=np.float32).reshape(sh.values_shape(values, rank, axis))


class Rescaling(Layer):
    """Keras ``Rescaling``: ``x * scale + offset``; a tuple scales each channel of the last axis."""

    kind: ClassVar[str] = "rescaling"
    keras_class: ClassVar[str] = "Rescaling"
    auto_name: ClassVar[str] = "rescaling"
    positional: ClassVar[tuple[str, ...]] = ("scale", "offset")

    scale: Numbers
    offset: Numbers = 0.0

    def output_shape(self, inputs: list[Shape]) -> Shape:
        sh.check_channel_values(inputs[0], self.scale, "rescaling scale")
        sh.check_channel_values(inputs[0], self.offset, "rescaling offset")
        return inputs[0]

    def constants(self, shape: Shape) -> "tuple[np.ndarray, np.ndarray]":
        """``(scale, offset)`` as float32 arrays that broadcast on the input (batch included)."""
        rank = len(shape) + 1
        return values_array(self.scale, rank, -1), values_array(self.offset, rank, -1)


class Normalization(Layer):
    """Keras ``Normalization``: ``(x - mean) / sqrt(variance)`` per position of ``axis``.

    With ``mean`` and ``variance`` given (a number, or one per channel of the
    last kept axis) the layer holds no weights. Without them, Keras builds
    non-trainable ``mean`` and ``variance`` weights over the kept axes (what
    ``adapt`` fills in) and a scalar ``count``. ``invert`` undoes the normalization.
    """

    kind: ClassVar[str] = "normalization"
    keras_class: ClassVar[str] = "Normalization"
    auto_name: ClassVar[str] = "normalization"
    positional: ClassVar[tuple[str, ...]] = ("axis",)

    axis: OptionalAxes = -1
    mean: OptionalNumbers = None
    variance: OptionalNonNegNumbers = None
    invert: Bool = False

    def kept_axes(self, shape: Shape) -> tuple[int, ...]:
        """The axes that keep their own statistics, sorted, counted with the batch axis."""
        if self.axis is None:
            return ()
        return tuple(sorted(sh.normalized_axes(shape, self.axis, "normalization")))

    def output_shape(self, inputs: list[Shape]) -> Shape:
        if (self.mean is None) != (self.variance is None):
            given, other = ("mean", "variance") if self.mean is not None else ("variance", "mean")
            raise ShapeError(
                E107,
                f"normalization takes mean and variance together: {given} is given, {other} is not",
                "give both, or neither (then they are weights, as adapt() fills them)",
            )
        kept = self.kept_axes(inputs[0])
        for name in ("mean", "variance"):
            value = getattr(self, name)
            if isinstance(value, tuple) and len(value) > 1:
                if not kept:
                    raise ShapeError(
                        E107,
                        f"normalization {name} holds {len(value)} values, but axis=None keeps "
                        "one statistic for the whole input",
                        "give one value, or the axis the values belong to",
                    )
                if inputs[0][kept[-1] - 1] != len(value):
                    raise ShapeError(
                        E107,
                        f"normalization {name} holds {len(value)} values, but axis "
                        f"{kept[-1]} of the input {sh.fmt_shape(inputs[0])} has "
                        f"{inputs[0][kept[-1] - 1]}",
                        "give one value, or one per position of the last kept axis",
                    )
        return inputs[0]

    def folded(self, shape: Shape, weights: Mapping[str, Any]) -> "tuple[np.ndarray, np.ndarray]":
        """``(mean, max(sqrt(variance), 1e-7))`` as float32 arrays that broadcast on the input.

        From ``mean`` and ``variance`` when given, else from the weights, each
        shaped as Keras shapes them (batch axis included); 1e-7 is
        ``keras.backend.epsilon()``.
        """
        import numpy as np

        kept = self.kept_axes(shape)
        broadcast = sh.statistics_shape(shape, kept)
        if self.mean is None:
            mean = np.asarray(weights["mean"], np.float32).reshape(broadcast)
            variance = np.asarray(weights["variance"], np.float32).reshape(broadcast)
        else:
            axis = kept[-1] if kept else 0
            mean = values_array(self.mean, len(broadcast), axis)
            variance = values_array(self.variance, len(broadcast), axis)  # type: ignore[arg-type]
        return mean, np.maximum(np.sqrt(variance), np.float32(1e-7))

    def weights(self, inputs: list[Shape]) -> list[Weight]:
        if self.mean is not None:
            return []
        shape = tuple(inputs[0][a - 1] for a in self.kept_axes(inputs[0]))
        return [
            Weight("mean", shape, FnValue("zeros"), trainable=False),
            Weight("variance", shape, FnValue("ones"), trainable=False),
            Weight("count", (), FnValue("zeros"), trainable=False),
        ]


class _ScaleShift(Layer):
    """What LayerNormalization and GroupNormalization share: epsilon, gamma and beta."""

    epsilon: Epsilon = 1e-3
    center: Bool = True
    scale: Bool = True
    beta_initializer: Initializer = FnValue("zeros")
    gamma_initializer: Initializer = FnValue("ones")
    beta_regularizer: Regularizer = None
    gamma_regularizer: Regularizer = None
    beta_constraint: Constraint = None
    gamma_constraint: Constraint = None

    def _gamma_beta(self, shape: Shape) -> list[Weight]:
        out = []
        if self.scale:
            out.append(Weight("gamma", shape, self.gamma_initializer))
        if self.center:
            out.append(Weight("beta", shape, self.beta_initializer))
        return out


class LayerNormalization(_ScaleShift):
    """Keras ``LayerNormalization``: each sample normalized over ``axis``, then scaled and shifted.

    ``gamma`` and ``beta`` span the normalized axes, in the order of Keras's
    ``sorted(axis)`` (negative axes first when both kinds are written).
    """

    kind: ClassVar[str] = "layernormalization"
    aliases: ClassVar[tuple[str, ...]] = ("layernorm",)
    keras_class: ClassVar[str] = "LayerNormalization"
    auto_name: ClassVar[str] = "layer_normalization"
    positional: ClassVar[tuple[str, ...]] = ("axis",)

    axis: Axes = -1

    def output_shape(self, inputs: list[Shape]) -> Shape:
        sh.normalized_axes(inputs[0], self.axis, "layernormalization")
        return inputs[0]

    def sorted_axes(self) -> tuple[int, ...]:
        """The axes as Keras's ``sorted(axis)`` orders them (as written: negatives first)."""
        return tuple(sorted((self.axis,) if isinstance(self.axis, int) else self.axis))

    def reduction(self, shape: Shape) -> tuple[tuple[int, ...], list[int]]:
        """The axes the statistics reduce (>= 1), and the shape gamma and beta reshape to."""
        axes = tuple(sorted(sh.normalized_axes(shape, self.axis, "layernormalization")))
        return axes, sh.statistics_shape(shape, self.sorted_axes())

    def weights(self, inputs: list[Shape]) -> list[Weight]:
        rank = len(inputs[0]) + 1
        sh.normalized_axes(inputs[0], self.sorted_axes(), "layernormalization")
        return self._gamma_beta(tuple(inputs[0][a % rank - 1] for a in self.sorted_axes()))


class GroupNormalization(_ScaleShift):
    """Keras ``GroupNormalization``: the channels of ``axis`` in ``groups``, each normalized.

    ``groups=-1`` gives each channel its own group (instance normalization).
    """

    kind: ClassVar[str] = "groupnormalization"
    aliases: ClassVar[tuple[str, ...]] = ("groupnorm",)
    keras_class: ClassVar[str] = "GroupNormalization"
    auto_name: ClassVar[str] = "group_normalization"
    positional: ClassVar[tuple[str, ...]] = ("groups",)

    groups: Groups = 32
    axis: Axis = -1

    def group_count(self, shape: Shape) -> int:
        """The number of groups on this input (``-1`` resolved), checked as Keras checks it."""
        (axis,) = sh.normalized_axes(shape, self.axis, "groupnormalization")
        channels = shape[axis - 1]
        groups = channels if self.groups == -1 else self.groups
        if channels < groups or channels % groups:
            raise ShapeError(
                E202,
                f"groupnormalization groups={groups} must divide the {channels} channels of "
                f"axis {self.axis}",
                "choose groups among the divisors of the channel count, or -1",
            )
        return groups

    def output_shape(self, inputs: list[Shape]) -> Shape:
        self.group_count(inputs[0])
        return inputs[0]

    def grouping(self, shape: Shape) -> tuple[list[int], tuple[int, ...], list[int]]:
        """How Keras computes the groups: the input reshaped with ``axis`` split in
        (groups, channels per group); the axes the statistics reduce (all but the batch
        and the groups); and the shape gamma and beta reshape to.
        """
        (axis,) = sh.normalized_axes(shape, self.axis, "groupnormalization")
        groups = self.group_count(shape)
        grouped = [*shape]
        grouped[axis - 1 : axis] = [groups, shape[axis - 1] // groups]
        reduce = tuple(a for a in range(1, len(grouped) + 1) if a != axis)
        broadcast = [1] * (len(grouped) + 1)
        broadcast[axis : axis + 2] = grouped[axis - 1 : axis + 1]
        return grouped, reduce, broadcast

    def weights(self, inputs: list[Shape]) -> list[Weight]:
        (axis,) = sh.normalized_axes(inputs[0], self.axis, "groupnormalization")
        return self._gamma_beta((inputs[0][axis - 1],))


class UnitNormalization(Layer):
    """Keras ``UnitNormalization``: each sample divided by its L2 norm over ``axis``."""

    kind: ClassVar[str] = "unitnormalization"
    aliases: ClassVar[tuple[str, ...]] = ("unitnorm",)
    keras_class: ClassVar[str] = "UnitNormalization"
    auto_name: ClassVar[str] = "unit_normalization"
    positional: ClassVar[tuple[str, ...]] = ("axis",)

    axis: Axes = -1

    def output_shape(self, inputs: list[Shape]) -> Shape:
        sh.normalized_axes(inputs[0], self.axis, "unitnormalization")
        return inputs[0]
