"""specc's own runtime: the IR executed with NumPy, or with CuPy on a GPU.

Each layer kind has a method of the same name that receives the node and its
weights (already on the device) and returns the function computing the
layer's output from its input arrays. The plan is built once per model; a call
runs it on one batch, freeing every intermediate array as soon as its last
consumer has run.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Collection
from typing import Any

import numpy as np

from specc.diagnostics import Diagnostic, SpeccError
from specc.ir.graph import Model, Node
from specc.runtime import nn, sample_bytes, winograd
from specc.runtime.activations import activate, activate_inplace
from specc.runtime.numpy_extra import ExtraLayers

CACHE_BYTES = 6 * 2**20
"""Working set of one CPU micro-batch: about what a core's share of cache holds."""

Array = Any
Op = Callable[[list[Array]], Array]


def array_module(device: str, model: Model) -> Any:
    """numpy for ``cpu``; cupy for ``gpu`` (E605 when cupy or a GPU is missing)."""
    if device == "cpu":
        return np
    try:
        import cupy

        cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # ImportError, or CUDA errors when no driver/GPU is present
        raise SpeccError(
            Diagnostic(
                "E605",
                f"the numpy backend needs CuPy and a CUDA GPU for --device gpu: {exc}",
                model.span,
                "install cupy-cuda12x (pip install cupy-cuda12x), or use --device cpu",
            )
        ) from None
    return cupy


MONOTONE = ("relu", "relu6")
DEFERRING_KINDS = ("conv2d", "depthwiseconv2d", "separableconv2d", "dense")


def deferred_activations(model: Model) -> dict[int, str]:
    """Nodes whose relu/relu6 can run after the max pooling that alone consumes them.

    ``max(relu(a), relu(b)) == relu(max(a, b))`` exactly, for any monotone
    clamp; pooling first applies the activation to a quarter of the values.
    """
    consumers = model.consumers()
    out = {}
    for node in model.nodes[1:]:
        activation = getattr(node.layer, "activation", None)
        users = consumers[node.index]
        if (
            node.kind in DEFERRING_KINDS
            and activation in MONOTONE
            and node.index != model.output
            and len(users) == 1
            and model.nodes[users[0]].kind == "maxpooling2d"
            and model.nodes[users[0]].inputs == [node.index]
        ):
            out[node.index] = activation
    return out


def fused_poolings(model: Model) -> dict[int, int]:
    """Conv2D nodes computed together with the 2x2 max pooling that alone consumes them.

    Maps the convolution's index to the pooling's. The convolution then
    computes only the four corners of each pooling window and returns their
    maximum (see ``pooled`` in :func:`specc.runtime.nn.conv2d` and
    :func:`specc.runtime.winograd.conv3x3`). Its bias and activation commute
    with the maximum when the activation is linear or a monotone clamp, so the
    result is the unfused one (up to how BLAS rounds a differently sized product).
    """
    consumers = model.consumers()
    out = {}
    for node in model.nodes[1:]:
        users = consumers[node.index]
        if node.kind != "conv2d" or node.index == model.output or len(users) != 1:
            continue
        pool = model.nodes[users[0]]
        shape = node.output_shape or (0, 0)
        if (
            pool.kind == "maxpooling2d"
            and pool.inputs == [node.index]
            and tuple(pool.layer.pool_size) == (2, 2)
            and tuple(pool.layer.effective_strides) == (2, 2)
            and (pool.layer.padding == "valid" or (shape[0] % 2, shape[1] % 2) == (0, 0))
            and node.layer.activation in (None, "linear", *MONOTONE)
        ):
            out[node.index] = pool.index
    return out


def needed_nodes(model: Model, taps: Collection[int] = ()) -> list[Node]:
    """Layer nodes the output (and ``taps``) depend on, in the order written (topological)."""
    needed = {model.output, *taps}
    for node in reversed(model.nodes):
        if node.index in needed:
            needed.update(node.inputs)
    return [node for node in model.nodes[1:] if node.index in needed]


class NumpyBackend(ExtraLayers):
    """A prepared forward pass; call it with a float32 batch (numpy) to get numpy back.

    ``taps`` names layers whose outputs :meth:`with_taps` returns too. A tapped
    layer is computed on its own: no pooling fused into it, no activation
    deferred past it, so its output is the one Keras's layer gives.
    """

    name = "numpy"

    def __init__(
        self,
        model: Model,
        weights: dict[str, np.ndarray],
        device: str = "cpu",
        threads: int | None = None,
        winograd: bool | None = None,
        fuse_pooling: bool | None = None,
        taps: Collection[str] = (),
    ) -> None:
        from specc.runtime.threads import cpu_count, keep_freed_memory

        self.model = model
        self.device = device
        self.xp = array_module(device, model)
        self.threads = 1 if self.xp is not np else (threads or cpu_count())
        if self.xp is np:
            keep_freed_memory()
        self.micro_batch = max(1, min(64, CACHE_BYTES // sample_bytes(model)))
        # Winograd for 3x3 stride-1 convolutions on the CPU (specc.runtime.winograd).
        self.winograd = self.xp is np if winograd is None else winograd
        self._bias_rows: dict[tuple[int, int], Array] = {}
        self.plan: list[tuple[Node, Op]] = []
        self.last_use: dict[int, int] = {}
        self.taps = {model.node(name).index: name for name in taps}
        self.kept = {model.output, *self.taps}  # values never freed during a pass
        self.deferred = deferred_activations(model) if self.xp is np else {}
        fuse = self.xp is np if fuse_pooling is None else fuse_pooling
        self.fused = fused_poolings(model) if fuse else {}
        for tapped in self.taps:
            self.deferred.pop(tapped, None)
            self.fused.pop(tapped, None)
        for node in needed_nodes(model, self.taps):
            w = {
                wt.name: self.xp.asarray(weights[f"{node.name}/{wt.name}"], dtype=np.float32)
                for wt in node.weights
            }
            self.plan.append((node, getattr(self, node.kind)(node, w)))
            for i in node.inputs:
                self.last_use[i] = node.index

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """The model's output for the batch ``x`` (N, *input_shape), float32.

        On the CPU the batch runs in micro-batches of :data:`CACHE_BYTES` of
        working set each (cache-friendly), spread over the cores
        (:mod:`specc.runtime.threads`).
        """
        outs = [kept[self.model.output] for kept in self._micro_batches(x)]
        return outs[0] if len(outs) == 1 else np.concatenate(outs)

    def with_taps(self, x: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The output for the batch ``x`` and the output of each tapped layer, by name."""
        parts = self._micro_batches(x)
        joined = {i: np.concatenate([part[i] for part in parts]) for i in self.kept}
        return joined[self.model.output], {name: joined[i] for i, name in self.taps.items()}

    def _micro_batches(self, x: np.ndarray) -> list[dict[int, np.ndarray]]:
        n = x.shape[0]
        if self.xp is not np or n == 1:
            return [self._forward(x)]
        size = max(1, min(self.micro_batch, -(-n // self.threads)))
        parts = [x[i : i + size] for i in range(0, n, size)]
        if self.threads > 1 and len(parts) > 1:
            from specc.runtime.threads import pool

            return list(pool().map(self._forward, parts))
        return [self._forward(part) for part in parts]

    def _forward(self, x: np.ndarray) -> dict[int, np.ndarray]:
        """The kept values (the output and the taps) for one micro-batch."""
        xp = self.xp
        values: dict[int, Array] = {0: xp.asarray(x, dtype=np.float32)}
        with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
            for node, op in self.plan:
                values[node.index] = op([values[i] for i in node.inputs])
                for i in set(node.inputs):
                    if self.last_use.get(i) == node.index and i not in self.kept:
                        del values[i]
        kept = {}
        for i in self.kept:
            out = values[i] if xp is np else xp.asnumpy(values[i])
            kept[i] = np.ascontiguousarray(out, dtype=np.float32)
        return kept

    def synchronize(self) -> None:
        """Wait for queued device work (benchmarks); nothing to do on the CPU."""
        if self.xp is not np:
            self.xp.cuda.Device().synchronize()

    # helpers ---------------------------------------------------------------

    def _in_hw(self, node: Node) -> tuple[int, int]:
        shape = self.model.nodes[node.inputs[0]].output_shape
        assert shape is not None
        return shape[0], shape[1]

    def _pads(self, node: Node) -> tuple[tuple[int, int], tuple[int, int]]:
        """((top, bottom), (left, right)) a convolution node adds for its ``padding``."""
        layer = node.layer
        return nn.window_pads(
            self._in_hw(node), layer.kernel_size, layer.strides, layer.dilation_rate, layer.padding
        )

    def _finish(self, node: Node, y: Array, bias: Array | None) -> Array:
        if bias is not None:
            self._add_bias(node, y, bias)
        if node.index in self.deferred:
            return y  # applied after the max pooling that follows (4x fewer values)
        return activate_inplace(self.xp, y, getattr(node.layer, "activation", None))

    def _add_bias(self, node: Node, y: Array, bias: Array) -> None:
        """``y += bias`` over the last axis, a whole row of pixels per NumPy inner loop.

        Broadcasting a (F,) bias makes NumPy's inner loops F values long;
        adding the bias tiled along the width runs about twice as fast.
        """
        width = y.shape[-2] if y.ndim >= 3 else 1
        if not y.flags.c_contiguous or width == 1:
            y += bias
            return
        key = (node.index, width)
        row = self._bias_rows.get(key)
        if row is None:
            row = self._bias_rows[key] = self.xp.tile(bias, width)
        rows = y.reshape(-1, row.shape[0])
        rows += row

    # convolutions ------------------------------------------------------------

    def conv2d(self, node: Node, w: dict[str, Array]) -> Op:
        """Keras Conv2D: Winograd, or im2col and one matrix product (per group).

        When the node is in :attr:`fused` the op returns its max pooling too.
        """
        layer, xp = node.layer, self.xp
        pads = self._pads(node)
        kernel, bias = w["kernel"], w.get("bias")
        pooled = node.index in self.fused
        if self.winograd and winograd.applies(
            kernel.shape, layer.strides, layer.dilation_rate, layer.groups
        ):
            u = winograd.transform_kernel(kernel)

            def fast(inputs: list[Array]) -> Array:
                y = winograd.conv3x3(xp, inputs[0], u, pads, pooled)
                return self._finish(node, y, bias)

            return fast
        matrix = None
        if layer.groups == 1:
            # The bias rides along in the matrix product, unless the pooling
            # leaves a quarter of the values to add it to.
            matrix = nn.kernel_matrix(kernel, None if pooled else bias, xp)
            bias = bias if pooled else None

        def op(inputs: list[Array]) -> Array:
            y = nn.conv2d(
                xp,
                inputs[0],
                kernel,
                layer.strides,
                layer.dilation_rate,
                pads,
                layer.groups,
                matrix,
                pooled,
            )
            return self._finish(node, y, bias)

        return op

    def depthwiseconv2d(self, node: Node, w: dict[str, Array]) -> Op:
        """Keras DepthwiseConv2D: a multiply-add per kernel tap over all channels."""
        layer, xp = node.layer, self.xp
        pads = self._pads(node)
        kernel, bias = w["kernel"], w.get("bias")

        def op(inputs: list[Array]) -> Array:
            y = nn.depthwise_conv2d(xp, inputs[0], kernel, layer.strides, layer.dilation_rate, pads)
            return self._finish(node, y, bias)

        return op

    def separableconv2d(self, node: Node, w: dict[str, Array]) -> Op:
        """Keras SeparableConv2D: depthwise, then a 1x1 convolution, then bias."""
        layer, xp = node.layer, self.xp
        pads = self._pads(node)
        depthwise, bias = w["depthwise_kernel"], w.get("bias")
        pointwise = w["pointwise_kernel"]
        mid, filters = pointwise.shape[2], pointwise.shape[3]
        pointwise = pointwise.reshape(mid, filters)

        def op(inputs: list[Array]) -> Array:
            y = nn.depthwise_conv2d(
                xp, inputs[0], depthwise, layer.strides, layer.dilation_rate, pads
            )
            n, h, wd, _ = y.shape
            y = (y.reshape(n * h * wd, mid) @ pointwise).reshape(n, h, wd, filters)
            return self._finish(node, y, bias)

        return op

    def conv2dtranspose(self, node: Node, w: dict[str, Array]) -> Op:
        """Keras Conv2DTranspose: one matrix product, then col2im over the kernel taps."""
        layer, xp = node.layer, self.xp
        assert node.output_shape is not None
        out_hw = (node.output_shape[0], node.output_shape[1])
        kernel, bias = w["kernel"], w.get("bias")

        def op(inputs: list[Array]) -> Array:
            y = nn.conv2d_transpose(
                xp, inputs[0], kernel, out_hw, layer.strides, layer.dilation_rate, layer.padding
            )
            if bias is not None:
                y = y + bias
            return activate(xp, y, layer.activation)

        return op

    def dense(self, node: Node, w: dict[str, Array]) -> Op:
        """Keras Dense on the last axis."""
        kernel, bias = w["kernel"], w.get("bias")

        def op(inputs: list[Array]) -> Array:
            x = inputs[0]
            y = (x.reshape(-1, x.shape[-1]) @ kernel).reshape(*x.shape[:-1], kernel.shape[1])
            return self._finish(node, y, bias)

        return op

    # pooling -----------------------------------------------------------------

    def maxpooling2d(self, node: Node, w: dict[str, Array]) -> Op:
        """Keras MaxPooling2D (with its input's relu/relu6 when that was deferred to it)."""
        layer = node.layer
        deferred = self.deferred.get(node.inputs[0])
        if node.inputs[0] in self.fused:  # the convolution pooled already

            def pooled(inputs: list[Array]) -> Array:
                y = inputs[0]
                return y if deferred is None else activate_inplace(self.xp, y, deferred)

            return pooled

        def op(inputs: list[Array]) -> Array:
            y = nn.max_pool(
                self.xp, inputs[0], layer.pool_size, layer.effective_strides, layer.padding
            )
            return y if deferred is None else activate_inplace(self.xp, y, deferred)

        return op

    def averagepooling2d(self, node: Node, w: dict[str, Array]) -> Op:
        """Keras AveragePooling2D (padded cells not counted)."""
        layer = node.layer
        return lambda inputs: nn.avg_pool(
            self.xp, inputs[0], layer.pool_size, layer.effective_strides, layer.padding
        )

    def globalaveragepooling2d(self, node: Node, w: dict[str, Array]) -> Op:
        """Mean over height and width."""
        keep = node.layer.keepdims
        return lambda inputs: inputs[0].mean(axis=(1, 2), keepdims=keep)

    def globalmaxpooling2d(self, node: Node, w: dict[str, Array]) -> Op:
        """Max over height and width."""
        keep = node.layer.keepdims
        return lambda inputs: inputs[0].max(axis=(1, 2), keepdims=keep)

    # shape and elementwise layers ---------------------------------------------

    def flatten(self, node: Node, w: dict[str, Array]) -> Op:
        """(N, ...) to (N, prod(...)) in row-major (Keras's NHWC) order."""
        return lambda inputs: inputs[0].reshape(inputs[0].shape[0], -1)

    def reshape(self, node: Node, w: dict[str, Array]) -> Op:
        """To the inferred target shape (``-1`` resolved by the IR)."""
        shape = tuple(node.output_shape or ())
        return lambda inputs: inputs[0].reshape(inputs[0].shape[0], *shape)

    def dropout(self, node: Node, w: dict[str, Array]) -> Op:
        """Identity at inference."""
        return lambda inputs: inputs[0]

    def activation(self, node: Node, w: dict[str, Array]) -> Op:
        """A Keras activation function."""
        name = node.layer.activation
        return lambda inputs: activate(self.xp, inputs[0], name)

    def batchnormalization(self, node: Node, w: dict[str, Array]) -> Op:
        """Inference: moving statistics, as ``tf.nn.batch_normalization`` folds them."""
        layer, xp = node.layer, self.xp
        shape = node.output_shape or ()
        rank = len(shape) + 1
        axis = layer.axis % rank
        inv = 1.0 / xp.sqrt(w["moving_variance"] + np.float32(layer.epsilon))
        if "gamma" in w:
            inv = inv * w["gamma"]
        shift = -w["moving_mean"] * inv
        if "beta" in w:
            shift = shift + w["beta"]
        broadcast = [1] * rank
        broadcast[axis] = shape[axis - 1]
        scale = inv.astype(np.float32).reshape(broadcast)
        offset = shift.astype(np.float32).reshape(broadcast)
        return lambda inputs: inputs[0] * scale + offset

    def zeropadding2d(self, node: Node, w: dict[str, Array]) -> Op:
        """Zeros around height and width."""
        pads = node.layer.padding
        return lambda inputs: nn.pad_hw(self.xp, inputs[0], pads)

    def upsampling2d(self, node: Node, w: dict[str, Array]) -> Op:
        """Nearest: repeat; other interpolations: TensorFlow's resize as two matrices."""
        layer, xp = node.layer, self.xp
        if layer.interpolation == "nearest":
            return lambda inputs: nn.upsample_nearest(xp, inputs[0], layer.size)
        h, wd = self._in_hw(node)
        rows = xp.asarray(nn.resize_matrix(h, h * layer.size[0], layer.interpolation))
        cols = xp.asarray(nn.resize_matrix(wd, wd * layer.size[1], layer.interpolation))
        return lambda inputs: nn.resize(xp, inputs[0], rows, cols)

    # merges --------------------------------------------------------------------

    def add(self, node: Node, w: dict[str, Array]) -> Op:
        """Sum of the inputs (broadcast as Keras does)."""
        return lambda inputs: functools.reduce(operator.add, inputs)

    def subtract(self, node: Node, w: dict[str, Array]) -> Op:
        """First input minus the second."""
        return lambda inputs: inputs[0] - inputs[1]

    def multiply(self, node: Node, w: dict[str, Array]) -> Op:
        """Product of the inputs."""
        return lambda inputs: functools.reduce(operator.mul, inputs)

    def average(self, node: Node, w: dict[str, Array]) -> Op:
        """Sum of the inputs over their count."""
        return lambda inputs: functools.reduce(operator.add, inputs) / np.float32(len(inputs))

    def maximum(self, node: Node, w: dict[str, Array]) -> Op:
        """Elementwise maximum."""
        return lambda inputs: functools.reduce(self.xp.maximum, inputs)

    def minimum(self, node: Node, w: dict[str, Array]) -> Op:
        """Elementwise minimum."""
        return lambda inputs: functools.reduce(self.xp.minimum, inputs)

    def concatenate(self, node: Node, w: dict[str, Array]) -> Op:
        """Joined along ``axis`` (counted with the batch axis, as Keras does)."""
        axis = node.layer.axis
        return lambda inputs: self.xp.concatenate(inputs, axis=axis)
