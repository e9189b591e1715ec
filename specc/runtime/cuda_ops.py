"""The numpy runtime's convolutions on a GPU: cuDNN and one-kernel depthwise convolutions.

:class:`CudaOps` builds, for the ops it knows, the function computing the op
on CuPy arrays; :class:`specc.runtime.numpy_backend.NumpyBackend` asks it
first on a GPU and falls back to its own (generic CuPy) functions for every
other op. Convolutions (groups included) run on cuDNN with the bias of a
folded normalization, a residual (:data:`specc.lower.fusions.CONV_ADD`) and
relu/relu6 in the same call or one pass after it, except 1x1 convolutions
and Dense layers: one SGEMM of :mod:`specc.runtime.cublas` (2.5-3.7x faster
than cuDNN's NHWC kernels there) and the one-pass epilogue. The pointwise
half of separable convolutions is a 1x1 convolution on cuDNN; depthwise
convolutions run one kernel of :mod:`specc.runtime.cuda_kernels` with their
bias and activation. Everything runs on one stream of the backend's own, so
that :mod:`specc.runtime.cuda_graphs` can capture the whole forward pass.

CuPy is imported only inside functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from specc.lower import Op, Pass
from specc.lower.fusions import CONV_ADD, CUDNN_PASSES
from specc.runtime import cublas, cuda_kernels, cudnn, nn
from specc.runtime.activations import activate

Array = Any
Fn = Callable[[list[Array]], Array]


def gpu_passes() -> tuple[Pass, ...]:
    """The plan rewrites for a GPU: :data:`CUDNN_PASSES` when cuDNN loads, else none."""
    return CUDNN_PASSES if cudnn.library() is not None else ()


def _is_pointwise(op: Op) -> bool:
    """A 1x1 convolution without padding or groups: a matrix product of the pixels it reads."""
    window = op.window
    return (
        window is not None
        and window.kernel == (1, 1)
        and not window.padded
        and op.layer.groups == 1
    )


def _split(activation: str | None) -> tuple[str | None, str | None]:
    """(what the fused epilogue applies, what is applied after it) of an activation."""
    if activation in cuda_kernels.EPILOGUE_ACTIVATIONS:
        return (None if activation == "linear" else activation), None
    return None, activation


class CudaOps:
    """Builders of the ops cuDNN and :mod:`specc.runtime.cuda_kernels` run, on one stream.

    ``generic(op, w)`` builds the backend's own function for an op: the
    fallback where cuDNN refuses a shape. :attr:`used` counts the calls each
    path served, by name (``cudnn``, ``depthwise``, ``generic``).
    """

    def __init__(self, generic: Callable[[Op, dict[str, Array]], Fn]) -> None:
        import cupy

        self.generic = generic
        self.stream = cupy.cuda.Stream(non_blocking=True)
        self.space = cudnn.Workspace()
        self.has_cudnn = cudnn.library() is not None
        self.has_cublas = cublas.library() is not None
        self.used: dict[str, int] = {"cudnn": 0, "cublas": 0, "depthwise": 0, "generic": 0}

    def build(self, op: Op, w: dict[str, Array]) -> Fn | None:
        """The op's function on the GPU, or None where the backend's own one runs."""
        if op.kind in ("conv2d", CONV_ADD) and self.has_cublas and _is_pointwise(op):
            return self._gemm(op, w)
        if op.kind in ("conv2d", CONV_ADD) and self.has_cudnn:
            return self._conv(op, w)
        if op.kind == "dense" and self.has_cublas:
            return self._gemm(op, w)
        if op.kind == "separableconv2d" and self.has_cudnn:
            return self._separable(op, w)
        if op.kind == "depthwiseconv2d":
            return self._depthwise(op, w)
        return None

    def _gemm(self, op: Op, w: dict[str, Array]) -> Fn:
        """A 1x1 Conv2D (a residual Add too) or a Dense: one SGEMM, then the one-pass epilogue.

        A strided 1x1 convolution first copies the pixels it reads.
        """
        import cupy

        kernel = w["kernel"]
        mat = cupy.ascontiguousarray(kernel.reshape(-1, kernel.shape[-1]))
        bias = w.get("bias")
        bias = cupy.zeros(mat.shape[1], dtype=cupy.float32) if bias is None else bias
        fused, after = _split(op.activation)
        sh, sw = op.window.strides if op.window is not None else (1, 1)
        residual = op.kind == CONV_ADD

        def op_fn(inputs: list[Array]) -> Array:
            x = inputs[0]
            if (sh, sw) != (1, 1):
                x = x[:, ::sh, ::sw, :]
            x = cupy.ascontiguousarray(x)
            y = cublas.matmul(x.reshape(-1, x.shape[-1]), mat, self.stream)
            y = y.reshape(*x.shape[:-1], mat.shape[1])
            z = cupy.ascontiguousarray(inputs[1]) if residual else None
            cuda_kernels.epilogue(y, bias, z, fused)
            self.used["cublas"] += 1
            return activate(cupy, y, after) if after else y

        return op_fn

    def _pointwise(self, kernel: Array, bias: Array | None) -> cudnn.Convolution:
        """A 1x1 convolution of a (C, F) matrix (a separable convolution's second half)."""
        c, f = kernel.shape
        return cudnn.Convolution(kernel.reshape(1, 1, c, f), bias, (1, 1), (1, 1), (0, 0), 1)

    def _separable(self, op: Op, w: dict[str, Array]) -> Fn:
        """SeparableConv2D: the depthwise kernel, then a 1x1 convolution with the epilogue."""
        import cupy

        window = op.window
        assert window is not None
        depthwise = cupy.ascontiguousarray(w["depthwise_kernel"])
        zeros = cupy.zeros(depthwise.shape[2] * depthwise.shape[3], dtype=cupy.float32)
        pointwise = w["pointwise_kernel"]
        conv = self._pointwise(pointwise.reshape(pointwise.shape[2:]), w.get("bias"))
        fused, after = _split(op.activation)
        fallback = self.generic(op, w)

        def op_fn(inputs: list[Array]) -> Array:
            x = inputs[0]
            mid = window.out_hw[0] * window.out_hw[1] * zeros.size * x.shape[0]
            if not cuda_kernels.depthwise_fits(x, mid):
                self.used["generic"] += 1
                return fallback(inputs)
            y = cuda_kernels.depthwise_conv2d(x, depthwise, zeros, window, None)
            try:
                y = conv(y, None, fused, self.stream, self.space)
            except cudnn.CudnnError:
                self.used["generic"] += 1
                return fallback(inputs)
            self.used["cudnn"] += 1
            return activate(cupy, y, after) if after else y

        return op_fn

    def _conv(self, op: Op, w: dict[str, Array]) -> Fn:
        """Conv2D (or Conv2D + residual Add) on cuDNN, the generic path where it refuses."""
        import cupy

        window = op.window
        assert window is not None
        (t, b), (left, r) = window.pads
        sym = (min(t, b), min(left, r))
        extra = ((t - sym[0], b - sym[0]), (left - sym[1], r - sym[1]))
        conv = cudnn.Convolution(
            w["kernel"], w.get("bias"), window.strides, window.dilation, sym, op.layer.groups
        )
        fused, after = _split(op.activation)
        residual = op.kind == CONV_ADD
        plain = replace(op, kind="conv2d", activation=None) if residual else op
        fallback = self.generic(plain, w)
        refused: set[tuple[int, ...]] = set()

        def op_fn(inputs: list[Array]) -> Array:
            x = inputs[0]
            z = inputs[1] if residual else None
            if x.shape not in refused:
                try:
                    y = conv(nn.pad_hw(cupy, x, extra), z, fused, self.stream, self.space)
                    self.used["cudnn"] += 1
                    return activate(cupy, y, after) if after else y
                except cudnn.CudnnError:
                    refused.add(x.shape)
            self.used["generic"] += 1
            y = fallback([x])
            return activate(cupy, y + z, op.activation) if residual else y

        op_fn.cudnn = conv  # type: ignore[attr-defined]  # benchmarks read its plans
        return op_fn

    def _depthwise(self, op: Op, w: dict[str, Array]) -> Fn:
        """DepthwiseConv2D with its bias and activation in one kernel."""
        import cupy

        window = op.window
        assert window is not None
        kernel = cupy.ascontiguousarray(w["kernel"])
        channels = kernel.shape[2] * kernel.shape[3]
        bias = w.get("bias")
        bias = cupy.zeros(channels, dtype=cupy.float32) if bias is None else bias
        fused, after = _split(op.activation)
        fallback = self.generic(op, w)
        out_size = channels * window.out_hw[0] * window.out_hw[1]

        def op_fn(inputs: list[Array]) -> Array:
            x = inputs[0]
            if not cuda_kernels.depthwise_fits(x, x.shape[0] * out_size):
                self.used["generic"] += 1
                return fallback(inputs)
            self.used["depthwise"] += 1
            y = cuda_kernels.depthwise_conv2d(x, kernel, bias, window, fused)
            return activate(cupy, y, after) if after else y

        return op_fn
