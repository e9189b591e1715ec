"""Passes for backends whose convolutions take more of the model into one call (cuDNN).

cuDNN's fused convolution computes ``act(conv(x) + z + bias)``: a folded
normalization's bias, a residual ``z`` and a relu in one kernel. The passes
here bring the plan into that shape; each computes the same function as the
plan it rewrites, and like every pass never touches a value in
:attr:`Plan.keep`. :data:`CUDNN_PASSES` is the order the numpy runtime runs
them on a GPU with cuDNN.
"""

from __future__ import annotations

from dataclasses import replace

from specc.lower.passes import (
    Pass,
    activation_of,
    fold_batchnorm,
    fold_zero_padding,
    fuse_activation,
)
from specc.lower.plan import Op, Plan

CONV_ADD = "conv2d_add"
"""A Conv2D whose output is added to another value (a residual), then activated."""


def relu_layer_as_activation(plan: Plan) -> Plan:
    """A ``ReLU`` layer that is plain relu or relu6 as the Activation op it equals.

    Keras Applications write ``ReLU(6.0)`` (MobileNets) where an Activation
    could stand; as an activation op :func:`fuse_activation` can merge it into
    the convolution before it. ``max(x, 0)`` clipped at 6 either way.
    """
    ops = []
    for op in plan.ops:
        name = activation_of(op) if op.kind == "relu_layer" else None
        ops.append(op if name is None else replace(op, kind="activation", activation=name))
    return plan.with_ops(ops)


def fold_zero_padding_conv(plan: Plan) -> Plan:
    """A ZeroPadding2D folded into the pads of the Conv2D that alone reads it.

    :func:`fold_zero_padding` does this for depthwise convolutions; ResNets
    pad before their 7x7 stem. The convolution pads with zeros itself.
    """
    return fold_zero_padding(plan, ("conv2d",))


def fuse_conv_add(plan: Plan) -> Plan:
    """A Conv2D without activation and the two-input Add that alone reads it, as one op.

    The fused op (kind :data:`CONV_ADD`) reads the convolution's input and
    the Add's other input, in that order, and carries the Add's activation;
    it takes the Add's place in the plan, where both inputs exist. The
    convolution's nodes (a folded normalization's too) come first, then the
    Add's, so its weights keep their names.
    """
    ops = {op.index: op for op in plan.ops}
    consumers = plan.consumers()
    fused: dict[int, Op] = {}
    gone: set[int] = set()
    for add in plan.ops:
        if add.kind != "add" or len(add.inputs) != 2 or add.inputs[0] == add.inputs[1]:
            continue
        for position, value in enumerate(add.inputs):
            conv = ops.get(value)
            if (
                conv is None
                or conv.index in gone
                or conv.kind != "conv2d"
                or conv.activation not in (None, "linear")
                or conv.index in plan.keep
                or consumers[conv.index] != [add.index]
                or conv.output_shape != add.output_shape
                or add.input_shapes[1 - position] != add.output_shape  # no broadcast
            ):
                continue
            other = add.inputs[1 - position]
            fused[add.index] = replace(
                conv,
                kind=CONV_ADD,
                nodes=conv.nodes + add.nodes,
                inputs=(conv.inputs[0], other),
                input_shapes=(conv.input_shapes[0], add.input_shapes[1 - position]),
                output_shape=add.output_shape,
                activation=add.activation,
            )
            gone.add(conv.index)
            break
    return plan.with_ops([fused.get(op.index, op) for op in plan.ops if op.index not in gone])


CUDNN_PASSES: tuple[Pass, ...] = (
    fold_zero_padding,
    fold_zero_padding_conv,
    relu_layer_as_activation,
    fold_batchnorm,
    fuse_activation,
    fuse_conv_add,
)
"""The passes the numpy runtime runs on a GPU with cuDNN, in this order."""
