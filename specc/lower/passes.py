"""Rewrites of a plan, each a function ``Plan -> Plan`` computing the same function.

A pass never touches a value in :attr:`Plan.keep` (the model's output, and any
layer output a caller wants to observe): it only rewrites what no one sees.
tests/test_lower.py runs each one alone against the unlowered plan on the
random specs of tests/specgen.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from specc.lower.plan import Op, Plan

Pass = Callable[[Plan], Plan]

CONV_MAXPOOL = "conv2d_maxpool"
SCALED_CONV = "conv2d_scaled"
FUSED_KINDS: tuple[str, ...] = (CONV_MAXPOOL, SCALED_CONV)
"""Op kinds that only passes create; a backend running the passes handles them."""

MONOTONE = ("relu", "relu6")
"""Activations that commute exactly with a maximum: ``max(f(a), f(b)) == f(max(a, b))``."""


def _sole_maxpool(plan: Plan, op: Op, ops: dict[int, Op], consumers: dict[int, list[int]]):
    """The max pooling that alone reads ``op``'s output (which no one observes), or None."""
    users = consumers[op.index]
    if op.index in plan.keep or len(users) != 1:
        return None
    pool = ops[users[0]]
    if pool.kind != "maxpooling2d" or pool.inputs != (op.index,):
        return None
    return pool


def fuse_conv_maxpool(plan: Plan) -> Plan:
    """A Conv2D and the 2x2, stride-2 unpadded max pooling that alone reads it, as one op.

    The fused op (kind :data:`CONV_MAXPOOL`) computes only the four corners of
    each pooling window and keeps their maximum, so the pooling's dropped
    outputs are never computed (``pooled`` in :func:`specc.runtime.nn.conv2d`
    and :func:`specc.runtime.winograd.conv3x3`). The convolution's bias and
    activation (linear or a monotone clamp) are applied after the maximum, with
    which they commute, so the result is the unfused one up to how BLAS rounds
    a differently sized product.
    """
    ops = {op.index: op for op in plan.ops}
    consumers = plan.consumers()
    fused: dict[int, Op] = {}  # the convolution's index -> the fused op
    gone: set[int] = set()  # the poolings absorbed
    for op in plan.ops:
        if op.kind != "conv2d" or op.activation not in (None, "linear", *MONOTONE):
            continue
        pool = _sole_maxpool(plan, op, ops, consumers)
        window = pool.window if pool is not None else None
        if (
            pool is None
            or window is None
            or pool.activation is not None
            or (window.kernel, window.strides) != ((2, 2), (2, 2))
            or window.padded
        ):
            continue
        fused[op.index] = replace(
            op,
            kind=CONV_MAXPOOL,
            nodes=op.nodes + pool.nodes,
            output_shape=pool.output_shape,
            pool=window,
        )
        gone.add(pool.index)
    return plan.with_ops([fused.get(op.index, op) for op in plan.ops if op.index not in gone])


def defer_monotone_activation(plan: Plan) -> Plan:
    """A relu or relu6 moved past the max pooling that alone reads its output.

    ``max(relu(a), relu(b)) == relu(max(a, b))`` exactly, for any monotone
    clamp, so the max pooling applies the activation itself (an op of kind
    ``maxpooling2d`` with an activation), to a quarter of the values for a
    2x2 pooling; the producer leaves its output unactivated.
    """
    ops = {op.index: op for op in plan.ops}
    consumers = plan.consumers()
    changed: dict[int, Op] = {}
    for op in plan.ops:
        if op.activation not in MONOTONE:
            continue
        pool = _sole_maxpool(plan, op, ops, consumers)
        if pool is None or pool.activation is not None or pool.index in changed:
            continue
        changed[op.index] = replace(op, activation=None)
        changed[pool.index] = replace(pool, activation=op.activation)
    return plan.with_ops([changed.get(op.index, op) for op in plan.ops])


FOLDS_NORM = ("conv2d", "depthwiseconv2d", "separableconv2d", "dense")
"""Op kinds whose kernel's last axis (a depthwise kernel's last two) are the output channels."""


def _sole_reader(plan: Plan, op: Op, ops: dict[int, Op], consumers: dict[int, list[int]]):
    """The op that alone reads ``op``'s output, and reads nothing else, or None.

    None too when someone observes ``op``'s output (it is in :attr:`Plan.keep`).
    """
    users = consumers[op.index]
    if op.index in plan.keep or len(users) != 1:
        return None
    user = ops[users[0]]
    return user if user.inputs == (op.index,) else None


def fold_batchnorm(plan: Plan) -> Plan:
    """A BatchNormalization folded into the convolution or Dense that alone feeds it.

    Keras Applications write ``conv(use_bias=False) -> BatchNormalization ->
    activation``. At inference the normalization is ``y * scale + offset`` per
    output channel, so the convolution's kernel scaled by ``scale`` and its
    bias ``bias * scale + offset`` compute it in one op. The op keeps its kind
    and gains the normalization's node (:attr:`Op.norm`); the backend folds
    the weights once, when it prepares the op. Only for a producer without an
    activation and a normalization over the last (channel) axis; the result
    differs from the unfolded one by float32 reassociation.
    """
    ops = {op.index: op for op in plan.ops}
    consumers = plan.consumers()
    folded: dict[int, Op] = {}
    gone: set[int] = set()
    for op in plan.ops:
        if op.kind not in FOLDS_NORM or op.activation not in (None, "linear") or op.norm:
            continue
        bn = _sole_reader(plan, op, ops, consumers)
        if bn is None or bn.kind != "batchnormalization" or bn.axis != len(bn.output_shape):
            continue
        folded[bn.index] = replace(op, nodes=op.nodes + bn.nodes, activation=None, norm=bn.node)
        gone.add(op.index)
    return plan.with_ops([folded.get(op.index, op) for op in plan.ops if op.index not in gone])


ACTIVATES = (*FOLDS_NORM, "add", "batchnormalization")
"""Op kinds whose backends apply :attr:`Op.activation` to their output (a
BatchNormalization that no convolution takes in: DenseNet's and ResNetV2's
pre-activations, which read a concatenation or a sum)."""


def activation_of(op: Op) -> str | None:
    """The activation function an Activation or ReLU layer's op computes, or None.

    A ReLU layer (``relu_layer``) without a negative slope or threshold is
    ``relu``, or ``relu6`` with ``max_value`` 6 (Keras Applications' MobileNets
    write ``ReLU(6.0)``): ``min(max(x, 0), 6)`` is exactly ``clip(x, 0, 6)``.
    """
    if op.kind == "activation":
        return op.activation
    layer = op.layer
    if op.kind != "relu_layer" or layer.negative_slope != 0 or layer.threshold != 0:
        return None
    return {None: "relu", 6: "relu6"}.get(layer.max_value)


def fuse_activation(plan: Plan) -> Plan:
    """An Activation or plain ReLU layer merged into the op that alone feeds it.

    The op (a convolution, Dense, Add or BatchNormalization, with no
    activation of its own) takes the layer's activation
    (:func:`activation_of`) and applies it in place on its fresh output,
    instead of the layer allocating another array. The same function, exactly.
    """
    ops = {op.index: op for op in plan.ops}
    consumers = plan.consumers()
    merged: dict[int, Op] = {}
    gone: set[int] = set()
    for op in plan.ops:
        if op.kind not in ACTIVATES or op.activation not in (None, "linear"):
            continue
        act = _sole_reader(plan, op, ops, consumers)
        activation = None if act is None else activation_of(act)
        if act is None or activation is None:
            continue
        merged[act.index] = replace(
            op, nodes=op.nodes + act.nodes, output_shape=act.output_shape, activation=activation
        )
        gone.add(op.index)
    return plan.with_ops([merged.get(op.index, op) for op in plan.ops if op.index not in gone])


def fold_zero_padding(plan: Plan, kinds: tuple[str, ...] = ("depthwiseconv2d",)) -> Plan:
    """A ZeroPadding2D folded into the pads of the depthwise convolution that alone reads it.

    Keras Applications pad explicitly before a stride-2 depthwise convolution
    (MobileNets, EfficientNets); the numpy runtime's depthwise convolution
    skips padded cells instead of copying the input into a padded array, so
    with the pads in its window the padding copy is gone. The op keeps the
    convolution's node alone: its input is the padding's input. ``kinds``
    are the convolutions that take the pads (cuDNN's Conv2D too:
    :func:`specc.lower.fusions.fold_zero_padding_conv`).
    """
    ops = {op.index: op for op in plan.ops}
    consumers = plan.consumers()
    folded: dict[int, Op] = {}
    gone: set[int] = set()
    for op in plan.ops:
        if op.kind != "zeropadding2d":
            continue
        conv = _sole_reader(plan, op, ops, consumers)
        if conv is None or conv.kind not in kinds or conv.window is None:
            continue
        window = conv.window
        (t, b), (left, r) = op.layer.padding
        ((ct, cb), (cl, cr)) = window.pads
        pads = ((t + ct, b + cb), (left + cl, r + cr))
        in_hw = (op.input_shapes[0][0], op.input_shapes[0][1])
        folded[conv.index] = replace(
            conv,
            inputs=op.inputs,
            input_shapes=op.input_shapes,
            window=replace(window, pads=pads, in_hw=in_hw),
        )
        gone.add(op.index)
    return plan.with_ops([folded.get(op.index, op) for op in plan.ops if op.index not in gone])


def _is_pointwise(op: Op) -> bool:
    """A one-group 1x1 Conv2D, stride 1, unpadded: a matrix product over the pixels."""
    window = op.window
    return (
        op.kind == "conv2d"
        and window is not None
        and window.kernel == window.strides == window.dilation == (1, 1)
        and window.pads == ((0, 0), (0, 0))
        and getattr(op.layer, "groups", 1) == 1
    )


def fuse_scale_into_conv(plan: Plan) -> Plan:
    """A squeeze-and-excitation product folded into the 1x1 Conv2D that alone reads it.

    A two-input Multiply of a (H, W, C) map by a (1, 1, C) factor, read only
    by a 1x1 stride-1 convolution (EfficientNets, MobileNetV3, RegNetY):
    ``(x * s) @ K`` is ``x @ (s K)``, so the fused op (kind
    :data:`SCALED_CONV`) scales the kernel's rows by each image's factor, a
    C x F product, instead of writing the whole map again. It keeps the
    convolution's nodes alone (as :func:`fold_zero_padding` does) and reads
    the map and the factor, in that order. The same function up to the
    rounding of ``s * k`` instead of ``x * s``.
    """
    ops = {op.index: op for op in plan.ops}
    consumers = plan.consumers()
    fused: dict[int, Op] = {}
    gone: set[int] = set()
    for op in plan.ops:
        if op.kind != "multiply" or len(op.inputs) != 2 or op.activation not in (None, "linear"):
            continue
        shapes = [tuple(shape) for shape in op.input_shapes]
        full = tuple(op.output_shape)
        if len(full) != 3 or full not in shapes or op.inputs[0] == op.inputs[1]:
            continue
        big = shapes.index(full)
        if shapes[1 - big] != (1, 1, full[2]):
            continue
        conv = _sole_reader(plan, op, ops, consumers)
        if conv is None or not _is_pointwise(conv) or conv.pool is not None:
            continue
        fused[conv.index] = replace(
            conv,
            kind=SCALED_CONV,
            inputs=(op.inputs[big], op.inputs[1 - big]),
            input_shapes=(op.input_shapes[big], op.input_shapes[1 - big]),
        )
        gone.add(op.index)
    return plan.with_ops([fused.get(op.index, op) for op in plan.ops if op.index not in gone])


RUNTIME_PASSES: tuple[Pass, ...] = (
    fold_zero_padding,
    fold_batchnorm,
    fuse_activation,
    fuse_conv_maxpool,
    defer_monotone_activation,
    fuse_scale_into_conv,
)
"""The passes the numpy runtime runs on the CPU, in this order."""
