"""specc's own runtime: a model's plan executed with NumPy, or with CuPy on a GPU.

The model is lowered once (:func:`specc.lower.lower`; on the CPU with
:data:`specc.lower.RUNTIME_PASSES`, which fold BatchNormalizations and
zero paddings into convolutions, merge activations into the op before them,
fuse a convolution with its max pooling and defer activations past
poolings; a folded normalization's weights are folded into the kernel here,
when the op is prepared). Each op kind has a method of
the same name that receives the op and its weights (already on the device)
and returns the function computing the op's output from its input arrays
(the window ops are in :mod:`specc.runtime.numpy_conv`). A call runs the
steps in order on one batch, freeing every intermediate array as soon as its
last consumer has run.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any

import numpy as np

from specc.codes import E605
from specc.diagnostics import Diagnostic, SpeccError
from specc.ir.graph import Model
from specc.lower import RUNTIME_PASSES, Op, Pass, Window, lower
from specc.lower.plan import NO_PADS
from specc.runtime import nn, resize, sample_bytes
from specc.runtime.activations import activate
from specc.runtime.compiled import activation_mode, kernels
from specc.runtime.numpy_conv import WindowOps, is_depthwise, uses_winograd
from specc.runtime.numpy_extra import ExtraLayers
from specc.runtime.threads import split_width

CACHE_BYTES = 6 * 2**20
"""Working set of one CPU micro-batch: about what a core's share of cache holds."""
MIN_MICRO_BATCH = 2
"""Images per micro-batch even where one exceeds :data:`CACHE_BYTES` (224x224
models: the blocked kernels keep their own pieces in cache, and two images
halve the per-op overhead and double the late layers' matrix rows: 5-12% less
CPU per image on MobileNetV2, EfficientNetB0, ResNet50 and DenseNet121; four
is slower on the last two)."""

Array = Any
Fn = Callable[[list[Array]], Array]


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
                E605,
                f"the numpy backend needs CuPy and a CUDA GPU for --device gpu: {exc}",
                model.span,
                "install cupy-cuda12x (pip install cupy-cuda12x), or use --device cpu",
            )
        ) from None
    return cupy


class NumpyBackend(WindowOps, ExtraLayers):
    """A prepared forward pass; call it with a float32 batch (numpy) to get numpy back.

    ``passes`` rewrite the plan (default: :data:`RUNTIME_PASSES` on the CPU,
    :func:`specc.runtime.cuda_ops.gpu_passes` on a GPU); ``keep`` names layer
    outputs (node indices) no pass may fuse away. ``taps`` names layers (by
    name) whose outputs :meth:`with_taps` returns too; they are kept the same
    way, so a tapped layer's output is the one Keras's layer gives (no pooling
    fused into it, no activation deferred).
    """

    name = "numpy"

    def __init__(
        self,
        model: Model,
        weights: dict[str, np.ndarray],
        device: str = "cpu",
        threads: int | None = None,
        winograd: bool | None = None,
        passes: Sequence[Pass] | None = None,
        keep: Iterable[int] = (),
        taps: Collection[str] = (),
    ) -> None:
        from specc.runtime.threads import cpu_count, keep_freed_memory

        self.model = model
        self.device = device
        self.xp = array_module(device, model)
        self.threads = 1 if self.xp is not np else (threads or cpu_count())
        if self.xp is np:
            keep_freed_memory()
        self.micro_batch = max(MIN_MICRO_BATCH, min(64, CACHE_BYTES // sample_bytes(model)))
        # Winograd for 3x3 stride-1 convolutions on the CPU (specc.runtime.winograd).
        self.winograd = self.xp is np if winograd is None else winograd
        self._bias_rows: dict[tuple[int, int], Array] = {}
        self._gpu = None
        if self.xp is not np:  # cuDNN, fused kernels, CUDA graphs (specc.runtime.cuda_ops)
            from specc.runtime.cuda_ops import CudaOps, gpu_passes

            self._gpu = CudaOps(lambda op, w: getattr(self, op.kind)(op, w))
        if passes is None:
            passes = RUNTIME_PASSES if self.xp is np else gpu_passes()
        self.taps = {model.node(name).index: name for name in taps}
        self.plan = lower(model, passes, (*keep, *self.taps))
        self.kept = (self.plan.output, *self.taps)  # values returned by a pass
        ops = self.plan.ops
        # numba's fused kernels on the CPU (specc.runtime.compiled), when installed,
        # for plans with a depthwise or a Winograd convolution: loading them costs
        # about a second per process, which other models would not win back.
        # (Winograd's compiled transforms serve the convolutions without a pooling.)
        winograd = [self.winograd and op.kind == "conv2d" and uses_winograd(op) for op in ops]
        self.wants_compiled = self.xp is np and (any(map(is_depthwise, ops)) or any(winograd))
        self.compiled = kernels() if self.wants_compiled else None
        # Each step: the op, its function, and the values it is the last to read.
        self.steps: list[tuple[Op, Fn, tuple[int, ...]]] = []
        last_use = {i: op.index for op in self.plan.ops for i in op.inputs}
        for op in self.plan.ops:
            w = {
                name: self.xp.asarray(weights[key], dtype=np.float32) for name, key in op.weights()
            }
            free = tuple(
                i
                for i in sorted(set(op.inputs))
                if last_use[i] == op.index and i not in self.plan.keep
            )
            if op.norm is not None:
                w = self._fold_norm(op, w)
            fn = self._gpu.build(op, w) if self._gpu else None
            self.steps.append((op, fn or getattr(self, op.kind)(op, w), free))
        if self._gpu:
            from specc.runtime.cuda_graphs import GraphRunner

            self._graphs = GraphRunner(self._values, self._gpu.stream)

    def _fold_norm(self, op: Op, w: dict[str, Array]) -> dict[str, Array]:
        """The op's weights with its folded BatchNormalization (:attr:`Op.norm`) in the kernel.

        ``y * scale + offset`` after a kernel whose last axis (a depthwise
        kernel's last two) are the output channels: the kernel times
        ``scale`` on them, the bias ``bias * scale + offset``.
        """
        norm = op.norm
        assert norm is not None and norm.layer is not None
        prefix = f"{norm.name}/"
        scale, offset = nn.batchnorm_affine(self.xp, w, norm.layer.epsilon, prefix)
        out = {name: a for name, a in w.items() if not name.startswith(prefix)}
        name = "pointwise_kernel" if op.kind == "separableconv2d" else "kernel"
        kernel = out[name]
        if op.kind == "depthwiseconv2d":
            out[name] = kernel * scale.reshape(kernel.shape[-2:])
        else:
            out[name] = kernel * scale
        bias = out.get("bias")
        out["bias"] = offset if bias is None else bias * scale + offset
        return out

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """The model's output for the batch ``x`` (N, *input_shape), float32.

        On the CPU the batch runs in micro-batches of :data:`CACHE_BYTES` of
        working set each (cache-friendly), spread over the cores
        (:mod:`specc.runtime.threads`).
        """
        outs = [kept[self.plan.output] for kept in self._micro_batches(x)]
        return outs[0] if len(outs) == 1 else np.concatenate(outs)

    def with_taps(self, x: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The output for the batch ``x`` and the output of each tapped layer, by name."""
        parts = self._micro_batches(x)
        joined = {i: np.concatenate([part[i] for part in parts]) for i in self.kept}
        return joined[self.plan.output], {name: joined[i] for i, name in self.taps.items()}

    def _micro_batches(self, x: np.ndarray) -> list[dict[int, np.ndarray]]:
        n = x.shape[0]
        if self.xp is not np:
            return [self._graphs(x)]
        size = max(1, min(self.micro_batch, -(-n // self.threads)))
        parts = [x[i : i + size] for i in range(0, n, size)]
        # A single part runs on a worker too: there BLAS is single-threaded,
        # where on the calling thread its threads spin (batch 1 of MobileNetV2
        # on the busy 2-core machine: 7x slower).
        if self.threads > 1:
            from specc.runtime.threads import pool

            # Fewer parts than threads (batch 1): the ops split their own work.
            width = max(1, self.threads // len(parts))
            return list(pool().map(functools.partial(self._forward, width=width), parts))
        return [self._forward(part) for part in parts]

    def _forward(self, x: np.ndarray, width: int = 1) -> dict[int, np.ndarray]:
        """The kept values (the output and the taps) for one micro-batch.

        The ops may spread their work over ``width`` threads
        (:func:`specc.runtime.threads.run_split`).
        """
        from specc.runtime.threads import spread

        xp = self.xp
        with spread(width):
            values = self._values(xp.asarray(x, dtype=np.float32))
        kept = {}
        for i in self.kept:
            out = values[i] if xp is np else xp.asnumpy(values[i])
            kept[i] = np.ascontiguousarray(out, dtype=np.float32)
        return kept

    def _values(self, x: Array) -> dict[int, Array]:
        """The kept values for the batch ``x``, on the backend's device."""
        values: dict[int, Array] = {0: x}
        with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
            for op, fn, free in self.steps:
                values[op.index] = fn([values[i] for i in op.inputs])
                for i in free:
                    del values[i]
        return {i: values[i] for i in self.kept}

    def synchronize(self) -> None:
        """Wait for queued device work (benchmarks); nothing to do on the CPU."""
        if self.xp is not np:
            self.xp.cuda.Device().synchronize()

    def dense(self, op: Op, w: dict[str, Array]) -> Fn:
        """Keras Dense on the last axis (over a map on the CPU, split over threads as a
        1x1 convolution is: ConvNeXt's are most of its work)."""
        kernel, bias = w["kernel"], w.get("bias")
        pointwise = None
        if self.xp is np and len(op.input_shapes[0]) == 3:
            h, wd, _ = op.input_shapes[0]
            pointwise = Window((1, 1), (1, 1), (1, 1), NO_PADS, (h, wd), (h, wd))

        def op_fn(inputs: list[Array]) -> Array:
            x = inputs[0]
            if pointwise and split_width(op.node.macs * x.shape[0]) > 1:
                return self._split_product(op, x, kernel, bias, pointwise)
            y = (x.reshape(-1, x.shape[-1]) @ kernel).reshape(*x.shape[:-1], kernel.shape[1])
            return self._finish(op, y, bias)

        return op_fn

    def globalaveragepooling2d(self, op: Op, w: dict[str, Array]) -> Fn:
        """Mean over height and width (on the CPU the sum as a matrix-vector product:
        one pass, where NumPy's reduction over outer axes runs loops of C values)."""
        keep, xp = op.layer.keepdims, self.xp
        if xp is not np:
            return lambda inputs: inputs[0].mean(axis=(1, 2), keepdims=keep)
        h, wd, c = op.input_shapes[0]
        ones = np.ones(h * wd, dtype=np.float32)

        def fn(inputs: list[Array]) -> Array:
            x = inputs[0]
            y = np.matmul(ones, x.reshape(x.shape[0], h * wd, c)) / np.float32(h * wd)
            return y.reshape(x.shape[0], 1, 1, c) if keep else y

        return fn

    def globalmaxpooling2d(self, op: Op, w: dict[str, Array]) -> Fn:
        """Max over height and width."""
        keep = op.layer.keepdims
        return lambda inputs: inputs[0].max(axis=(1, 2), keepdims=keep)

    # shape and elementwise layers ---------------------------------------------

    def flatten(self, op: Op, w: dict[str, Array]) -> Fn:
        """(N, ...) to (N, prod(...)) in row-major (Keras's NHWC) order."""
        return lambda inputs: inputs[0].reshape(inputs[0].shape[0], -1)

    def reshape(self, op: Op, w: dict[str, Array]) -> Fn:
        """To the inferred target shape (``-1`` resolved by the IR)."""
        shape = op.output_shape
        return lambda inputs: inputs[0].reshape(inputs[0].shape[0], *shape)

    def dropout(self, op: Op, w: dict[str, Array]) -> Fn:
        """Identity at inference."""
        return lambda inputs: inputs[0]

    def activation(self, op: Op, w: dict[str, Array]) -> Fn:
        """A Keras activation function (on a copy where it runs in place: others may read
        the input)."""
        mode = self.compiled and activation_mode(op.activation)
        if mode and mode[0] >= 2:
            return lambda inputs: self._activate(np.array(inputs[0], np.float32), op.activation)
        return lambda inputs: activate(self.xp, inputs[0], op.activation)

    def zeropadding2d(self, op: Op, w: dict[str, Array]) -> Fn:
        """Zeros around height and width."""
        pads = op.layer.padding
        return lambda inputs: nn.pad_hw(self.xp, inputs[0], pads)

    def upsampling2d(self, op: Op, w: dict[str, Array]) -> Fn:
        """Nearest: repeat; other interpolations: TensorFlow's resize as two matrices."""
        layer, xp = op.layer, self.xp
        if layer.interpolation == "nearest":
            return lambda inputs: resize.upsample_nearest(xp, inputs[0], layer.size)
        (h, wd, _), (ho, wo, _) = op.input_shapes[0], op.output_shape
        rows = xp.asarray(resize.resize_matrix(h, ho, layer.interpolation))
        cols = xp.asarray(resize.resize_matrix(wd, wo, layer.interpolation))
        return lambda inputs: resize.resize(xp, inputs[0], rows, cols)

    # merges --------------------------------------------------------------------

    def add(self, op: Op, w: dict[str, Array]) -> Fn:
        """Sum of the inputs (broadcast as Keras does), then a fused activation, in place."""
        activation = op.activation
        if activation is None:
            return lambda inputs: functools.reduce(operator.add, inputs)
        # Keras's Add takes two inputs or more: the sum is a fresh array.
        return lambda inputs: self._activate(functools.reduce(operator.add, inputs), activation)

    def subtract(self, op: Op, w: dict[str, Array]) -> Fn:
        """First input minus the second."""
        return lambda inputs: inputs[0] - inputs[1]

    def multiply(self, op: Op, w: dict[str, Array]) -> Fn:
        """Product of the inputs.

        On the CPU a (N, 1, 1, C) factor of a (N, H, W, C) map (squeeze and
        excitation) is first repeated along the width: NumPy's loops then run
        over rows of W*C values, not C.
        """
        if self.xp is not np or len(op.input_shapes) != 2 or len(op.output_shape) != 3:
            return lambda inputs: functools.reduce(operator.mul, inputs)
        shapes = [tuple(shape) for shape in op.input_shapes]
        big = shapes.index(tuple(op.output_shape)) if tuple(op.output_shape) in shapes else None
        if big is None or shapes[1 - big][:2] != (1, 1):
            return lambda inputs: functools.reduce(operator.mul, inputs)
        width = op.output_shape[1]

        def fn(inputs: list[Array]) -> Array:
            x, factor = inputs[big], inputs[1 - big]
            return x * np.repeat(factor, width, axis=2)

        return fn

    def average(self, op: Op, w: dict[str, Array]) -> Fn:
        """Sum of the inputs over their count."""
        return lambda inputs: functools.reduce(operator.add, inputs) / np.float32(len(inputs))

    def maximum(self, op: Op, w: dict[str, Array]) -> Fn:
        """Elementwise maximum."""
        return lambda inputs: functools.reduce(self.xp.maximum, inputs)

    def minimum(self, op: Op, w: dict[str, Array]) -> Fn:
        """Elementwise minimum."""
        return lambda inputs: functools.reduce(self.xp.minimum, inputs)

    def concatenate(self, op: Op, w: dict[str, Array]) -> Fn:
        """Joined along ``axis`` (counted with the batch axis, as Keras does)."""
        axis = op.axis
        return lambda inputs: self.xp.concatenate(inputs, axis=axis)
