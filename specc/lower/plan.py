"""The Plan: a model's reachable layers as ops whose attributes are resolved once.

Every target (the Keras and ONNX emitters, the numpy and TensorFlow backends)
reads the same facts from an :class:`Op` instead of deriving them again from
the layer's Keras parameters: the explicit pads of a window op, its effective
strides and dilation, a transposed convolution's crop and output padding, a
normalized axis, the activation applied last, and the parameters Keras must be
given. Each fact comes from a pure function of :mod:`specc.ir.shapes`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from specc.ir import shapes as sh
from specc.ir.graph import Model, Node
from specc.ir.layers import Layer, explicit_params
from specc.ir.shapes import Shape

Pair = tuple[int, int]
Pads = tuple[Pair, Pair]
NO_PADS: Pads = ((0, 0), (0, 0))


@dataclass(frozen=True)
class Window:
    """A 2-D window op's geometry: kernel, strides, dilation, explicit pads and both sizes.

    ``pads`` is ((top, bottom), (left, right)): for a convolution or a pooling
    what is added around the input (Keras's 'same' puts the odd pixel at the
    end); for a transposed convolution what is cropped from its full output,
    ``output_padding`` being the zeros added past that output's end (the
    meaning of ONNX ``ConvTranspose``'s ``pads`` and ``output_padding``).
    """

    kernel: Pair
    strides: Pair
    dilation: Pair
    pads: Pads
    in_hw: Pair
    out_hw: Pair
    output_padding: Pair = (0, 0)

    @property
    def padded(self) -> bool:
        """True when any pad is not zero."""
        return self.pads != NO_PADS

    @property
    def onnx_pads(self) -> list[int]:
        """The pads in ONNX's order: [top, left, bottom, right]."""
        (top, bottom), (left, right) = self.pads
        return [top, left, bottom, right]


def window_of(
    in_hw: Pair,
    kernel: Pair,
    strides: Pair = (1, 1),
    padding: str = "valid",
    dilation: Pair = (1, 1),
) -> Window:
    """The window of a convolution or pooling with Keras's ``padding`` over ``in_hw``."""
    out_hw = tuple(
        sh.conv_output_length(n, k, s, padding, d)
        for n, k, s, d in zip(in_hw, kernel, strides, dilation, strict=True)
    )
    pads = sh.window_padding(in_hw, kernel, strides, padding, dilation)
    return Window(kernel, strides, dilation, pads, in_hw, out_hw)  # type: ignore[arg-type]


def transposed_window_of(
    in_hw: Pair, out_hw: Pair, kernel: Pair, strides: Pair, padding: str, dilation: Pair
) -> Window:
    """The window of a transposed convolution from ``in_hw`` to Keras's ``out_hw``."""
    axes = [
        sh.conv_transpose_padding(n, o, k, s, padding, d)
        for n, o, k, s, d in zip(in_hw, out_hw, kernel, strides, dilation, strict=True)
    ]
    pads = ((axes[0][0], axes[0][1]), (axes[1][0], axes[1][1]))
    extra = (axes[0][2], axes[1][2])
    return Window(kernel, strides, dilation, pads, in_hw, out_hw, extra)


@dataclass(frozen=True)
class Op:
    """One step of a plan: the layer (or layers, for a fused op) computing one value.

    ``kind`` is the layer's kind, or the kind a pass gave a fused op
    (:data:`specc.lower.passes.FUSED_KINDS`). ``nodes`` are the layers the op
    computes, in order; the op's parameters, weights and span are the first
    one's, its output is the last one's.
    """

    kind: str
    nodes: tuple[Node, ...]
    inputs: tuple[int, ...]
    input_shapes: tuple[Shape, ...]
    output_shape: Shape
    params: Mapping[str, Any] = field(default_factory=dict)
    activation: str | None = None
    window: Window | None = None
    pool: Window | None = None  # a fused max pooling's window, after ``window``
    axis: int | None = None  # the layer's ``axis``, counted from the batch axis, >= 0
    norm: Node | None = None  # a BatchNormalization folded into the kernel (fold_batchnorm)

    @property
    def node(self) -> Node:
        """The layer node whose parameters, weights and span the op carries."""
        return self.nodes[0]

    @property
    def layer(self) -> Layer:
        """That node's validated layer."""
        assert self.nodes[0].layer is not None
        return self.nodes[0].layer

    @property
    def index(self) -> int:
        """The value this op produces: the index of its last node."""
        return self.nodes[-1].index

    @property
    def name(self) -> str:
        """The name of the layer whose output this op produces."""
        return self.nodes[-1].name

    def weights(self) -> Iterator[tuple[str, str]]:
        """``(name in the op, LAYER/WEIGHT key)`` of every weight the op's layers hold.

        The first layer's weights go by their own names (``kernel``, ``bias``);
        those of the layers a pass fused after it by their keys, so that no two
        collide (a folded ``batch_normalization/gamma``).
        """
        for position, node in enumerate(self.nodes):
            for weight in node.weights:
                key = f"{node.name}/{weight.name}"
                yield (key if position else weight.name), key


@dataclass(frozen=True)
class Plan:
    """A model's reachable ops in a topological order (the order written).

    ``keep`` holds the values that must stay observable after every pass: the
    model's output, and any layer output a caller asked to see.
    """

    model: Model
    ops: tuple[Op, ...]
    keep: frozenset[int]

    @property
    def output(self) -> int:
        """The value the model returns."""
        return self.model.output

    def consumers(self) -> dict[int, list[int]]:
        """For each value (the input's included), the ops that read it, by :attr:`Op.index`."""
        out: dict[int, list[int]] = {0: []}
        for op in self.ops:
            out.setdefault(op.index, [])
        for op in self.ops:
            for i in op.inputs:
                out[i].append(op.index)
        return out

    def with_ops(self, ops: list[Op]) -> Plan:
        """The same plan with other ops (what a pass returns)."""
        return replace(self, ops=tuple(ops))


def resolve(node: Node, model: Model) -> Op:
    """The op computing one layer node, its attributes resolved from its layer class."""
    layer = node.layer
    assert layer is not None and node.output_shape is not None
    shapes = tuple(model.nodes[i].output_shape for i in node.inputs)
    assert all(s is not None for s in shapes), node.name
    shape = shapes[0]
    window = None
    geometry = layer.window()
    if geometry is not None:
        kernel, strides, dilation, padding = geometry
        in_hw, out_hw = (shape[0], shape[1]), (node.output_shape[0], node.output_shape[1])
        if layer.transposed:
            window = transposed_window_of(in_hw, out_hw, kernel, strides, padding, dilation)
        else:
            pads = sh.window_padding(in_hw, kernel, strides, padding, dilation)
            window = Window(kernel, strides, dilation, pads, in_hw, out_hw)
    axis = getattr(layer, "axis", None)
    if isinstance(axis, int):
        axis %= len(shape) + 1
    else:  # a tuple or None (Normalization, LayerNormalization, ...): the handler reads the layer's
        axis = None
    return Op(
        kind=node.kind,
        nodes=(node,),
        inputs=tuple(node.inputs),
        input_shapes=shapes,  # type: ignore[arg-type]
        output_shape=node.output_shape,
        params=explicit_params(layer),
        activation=getattr(layer, "activation", None),
        window=window,
        axis=axis,
    )
