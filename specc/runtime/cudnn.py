"""cuDNN's convolutions for the numpy runtime on CuPy, through the library's C API (ctypes).

CuPy 14 dropped its cuDNN bindings; the library itself ships with the CUDA
wheels (``nvidia-cudnn-cu12``/``-cu13``, which PyTorch also installs) or the
system. This module loads ``libcudnn.so.9`` and calls the stable C API:
descriptors in NHWC float32, ``cudnnFindConvolutionForwardAlgorithmEx`` to
time the algorithms once per batch size, then ``cudnnConvolutionForward`` or
the fused ``cudnnConvolutionBiasActivationForward`` (``relu(conv(x) + z +
bias)`` in one kernel). The math mode is ``CUDNN_FMA_MATH``: plain float32,
never TF32, as PyTorch runs with TF32 off. Only the GEMM-family algorithms
are allowed (:data:`EXACT_ALGOS`); FFT and Winograd transforms round
differently and the runtime promises Keras's results to 1e-5.

CuPy is imported only inside functions.
"""

from __future__ import annotations

import ctypes
import glob
import os
from functools import lru_cache
from typing import Any

NHWC, FLOAT, CROSS_CORRELATION, FMA_MATH = 1, 0, 1, 3
RELU, IDENTITY, PROPAGATE_NAN = 1, 5, 1
IMPLICIT_GEMM, IMPLICIT_PRECOMP_GEMM, GEMM, DIRECT = 0, 1, 2, 3
EXACT_ALGOS = (IMPLICIT_GEMM, IMPLICIT_PRECOMP_GEMM, GEMM, DIRECT)
"""Algorithms that sum the products directly (no FFT or Winograd transform)."""
ALGO_COUNT = 8
FIND_WORKSPACE = 256 * 2**20
"""Workspace offered to the algorithm search; algorithms that need more are skipped."""


class CudnnError(RuntimeError):
    """A cuDNN call returned an error status."""


class _AlgoPerf(ctypes.Structure):
    _fields_ = [
        ("algo", ctypes.c_int),
        ("status", ctypes.c_int),
        ("time", ctypes.c_float),
        ("memory", ctypes.c_size_t),
        ("determinism", ctypes.c_int),
        ("mathType", ctypes.c_int),
        ("reserved", ctypes.c_int * 3),
    ]


def _candidates() -> list[str]:
    """Where libcudnn.so.9 may be: the nvidia wheels' folders first, then the loader's path."""
    found = []
    try:
        import nvidia.cudnn  # the wheel PyTorch and JAX install

        for folder in nvidia.cudnn.__path__:
            found += glob.glob(os.path.join(folder, "lib", "libcudnn.so.9"))
    except ImportError:
        pass
    return [*found, "libcudnn.so.9"]


@lru_cache(maxsize=1)
def library() -> ctypes.CDLL | None:
    """The loaded cuDNN 9 library, or None when there is none."""
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        lib.cudnnGetErrorString.restype = ctypes.c_char_p
        lib.cudnnGetVersion.restype = ctypes.c_size_t
        return lib
    return None


def version() -> int | None:
    """cuDNN's version number (91900 for 9.19.0), or None without the library."""
    lib = library()
    return None if lib is None else int(lib.cudnnGetVersion())


def _check(status: int) -> None:
    if status != 0:
        lib = library()
        assert lib is not None
        raise CudnnError(lib.cudnnGetErrorString(status).decode())


def _call(name: str, *args: Any) -> None:
    lib = library()
    assert lib is not None
    _check(getattr(lib, name)(*args))


def _new(create: str) -> ctypes.c_void_p:
    handle = ctypes.c_void_p()
    _call(create, ctypes.byref(handle))
    return handle


_HANDLES: dict[tuple[int, int], ctypes.c_void_p] = {}


def handle(stream: Any) -> ctypes.c_void_p:
    """A cuDNN handle for the current device, bound to ``stream`` (a CuPy stream)."""
    import cupy

    key = (cupy.cuda.Device().id, stream.ptr)
    if key not in _HANDLES:
        h = _new("cudnnCreate")
        _call("cudnnSetStream", h, ctypes.c_void_p(stream.ptr))
        _HANDLES[key] = h
    return _HANDLES[key]


def tensor(n: int, c: int, h: int, w: int) -> ctypes.c_void_p:
    """A float32 NHWC tensor descriptor of logical size (n, c, h, w)."""
    desc = _new("cudnnCreateTensorDescriptor")
    _call("cudnnSetTensor4dDescriptor", desc, NHWC, FLOAT, n, c, h, w)
    return desc


def _ptr(array: Any) -> ctypes.c_void_p:
    return ctypes.c_void_p(array.data.ptr)


_ONE, _ZERO = ctypes.c_float(1.0), ctypes.c_float(0.0)


class Workspace:
    """One device buffer per size ever asked for, kept alive: CUDA graphs hold its address."""

    def __init__(self) -> None:
        self.buffers: list[Any] = []

    def get(self, nbytes: int) -> Any:
        """A buffer of at least ``nbytes`` bytes (the largest so far when it is large enough)."""
        import cupy

        if not self.buffers or self.buffers[-1].nbytes < nbytes:
            self.buffers.append(cupy.empty(max(nbytes, 1), dtype=cupy.uint8))
        return self.buffers[-1]


class Convolution:
    """A Conv2D on cuDNN: NHWC float32, symmetric pads, an optional residual and relu.

    ``kernel`` is Keras's (kh, kw, C/groups, F), ``bias`` (F,) or None.
    :meth:`__call__` returns ``act(conv(x) + bias + z)`` with ``act`` None,
    relu or relu6 (:data:`specc.runtime.cuda_kernels.EPILOGUE_ACTIVATIONS`);
    the caller pads asymmetric windows first. For each input shape the
    algorithm is the fastest exact one of cuDNN's search, and the epilogue
    either cuDNN's fused kernel (relu or none) or a one-pass CuPy kernel after
    the plain convolution, whichever timed faster (:meth:`prepare`).
    """

    def __init__(
        self, kernel: Any, bias: Any, strides, dilation, pads: tuple[int, int], groups: int
    ) -> None:
        import cupy

        kh, kw, cg, f = kernel.shape
        self.filters, self.groups = f, groups
        self.kernel = cupy.ascontiguousarray(kernel.transpose(3, 0, 1, 2))  # KRSC
        self.bias = cupy.zeros(f, dtype=cupy.float32) if bias is None else bias
        self.filter = _new("cudnnCreateFilterDescriptor")
        _call("cudnnSetFilter4dDescriptor", self.filter, FLOAT, NHWC, f, cg, kh, kw)
        self.conv = _new("cudnnCreateConvolutionDescriptor")
        (sh, sw), (dh, dw) = strides, dilation
        _call(
            "cudnnSetConvolution2dDescriptor",
            self.conv,
            pads[0],
            pads[1],
            sh,
            sw,
            dh,
            dw,
            CROSS_CORRELATION,
            FLOAT,
        )
        _call("cudnnSetConvolutionGroupCount", self.conv, groups)
        _call("cudnnSetConvolutionMathType", self.conv, FMA_MATH)
        self.bias_desc = tensor(1, f, 1, 1)
        self.activations = {}
        for mode in (RELU, IDENTITY):
            act = _new("cudnnCreateActivationDescriptor")
            _call("cudnnSetActivationDescriptor", act, mode, PROPAGATE_NAN, ctypes.c_double(0))
            self.activations[mode] = act
        # per input shape: (x desc, y desc, output shape, algo, workspace bytes, fused)
        self.plans: dict[tuple, tuple] = {}
        self.searched: dict[tuple, list[tuple[int, int, float]]] = {}  # what cuDNN timed

    def output_shape(self, x_desc: ctypes.c_void_p) -> tuple[int, int, int, int]:
        """(N, Ho, Wo, F) for an input of descriptor ``x_desc``."""
        dims = [ctypes.c_int() for _ in range(4)]
        _call(
            "cudnnGetConvolution2dForwardOutputDim",
            self.conv,
            x_desc,
            self.filter,
            *(ctypes.byref(d) for d in dims),
        )
        n, c, h, w = (d.value for d in dims)
        return n, h, w, c

    def prepare(
        self, x: Any, stream: Any, space: Workspace, activation: str | None, residual: bool
    ) -> tuple:
        """The plan for ``x``'s shape: the algorithm search and the epilogue's choice, timed."""
        import cupy

        key = (*x.shape, activation, residual)
        if key in self.plans:
            return self.plans[key]
        n, h, w, c = x.shape
        x_desc = tensor(n, c, h, w)
        shape = self.output_shape(x_desc)
        y_desc = tensor(shape[0], shape[3], shape[1], shape[2])
        y = cupy.empty(shape, dtype=cupy.float32)
        scratch = cupy.empty(FIND_WORKSPACE, dtype=cupy.uint8)
        perf = (_AlgoPerf * ALGO_COUNT)()
        count = ctypes.c_int()
        _call(
            "cudnnFindConvolutionForwardAlgorithmEx",
            handle(stream),
            x_desc,
            _ptr(x),
            self.filter,
            _ptr(self.kernel),
            self.conv,
            y_desc,
            _ptr(y),
            ALGO_COUNT,
            ctypes.byref(count),
            perf,
            _ptr(scratch),
            ctypes.c_size_t(FIND_WORKSPACE),
        )
        self.searched[key] = [(p.algo, p.status, p.time) for p in perf[: count.value]]
        found = [p for p in perf[: count.value] if p.status == 0 and p.algo in EXACT_ALGOS]
        if not found:
            raise CudnnError("no exact convolution algorithm for this shape")
        best = min(found, key=lambda p: p.time)
        options = [(best.algo, best.memory, False)]
        # The fused kernel: relu with any algorithm, no activation only with PRECOMP_GEMM.
        relu = activation == "relu"
        fused = [p for p in found if relu or p.algo == IMPLICIT_PRECOMP_GEMM]
        if fused and activation in (None, "relu"):
            top = min(fused, key=lambda p: p.time)
            options.append((top.algo, top.memory, True))
        del scratch
        z = cupy.zeros(shape, dtype=cupy.float32) if residual else None
        timed = []
        for option in options:
            plan = (x_desc, y_desc, shape, *option)
            try:
                seconds = _time(
                    lambda p=plan: self._run(p, x, y, z, activation, stream, space), stream
                )
            except CudnnError:  # the fused call may refuse what the plain one takes
                continue
            timed.append((seconds, plan))
        if not timed:
            raise CudnnError("no convolution call ran for this shape")
        self.plans[key] = min(timed, key=lambda t: t[0])[1]
        return self.plans[key]

    def __call__(
        self, x: Any, z: Any | None, activation: str | None, stream: Any, space: Workspace
    ) -> Any:
        """``act(conv(x) + bias + z)`` as a new (N, Ho, Wo, F) array."""
        import cupy

        x = cupy.ascontiguousarray(x)  # a cropping's output may be a view
        z = None if z is None else cupy.ascontiguousarray(z)
        plan = self.prepare(x, stream, space, activation, z is not None)
        y = cupy.empty(plan[2], dtype=cupy.float32)
        self._run(plan, x, y, z, activation, stream, space)
        return y

    def _run(
        self, plan: tuple, x: Any, y: Any, z: Any | None, activation: str | None, stream, space
    ) -> None:
        from specc.runtime.cuda_kernels import epilogue

        x_desc, y_desc, _, algo, memory, fused = plan
        work = space.get(memory)
        h = handle(stream)
        common = (x_desc, _ptr(x), self.filter, _ptr(self.kernel), self.conv, algo, _ptr(work))
        if fused:
            _call(
                "cudnnConvolutionBiasActivationForward",
                h,
                ctypes.byref(_ONE),
                *common,
                ctypes.c_size_t(memory),
                ctypes.byref(_ONE if z is not None else _ZERO),
                y_desc,
                _ptr(z if z is not None else y),
                self.bias_desc,
                _ptr(self.bias),
                self.activations[RELU if activation == "relu" else IDENTITY],
                y_desc,
                _ptr(y),
            )
            return
        _call(
            "cudnnConvolutionForward",
            h,
            ctypes.byref(_ONE),
            *common,
            ctypes.c_size_t(memory),
            ctypes.byref(_ZERO),
            y_desc,
            _ptr(y),
        )
        epilogue(y, self.bias, z, activation)


def _time(run, stream, repeats: int = 3) -> float:
    """Seconds per call of ``run`` on ``stream``, by CUDA events, after one warm-up call."""
    import cupy

    run()
    start, stop = cupy.cuda.Event(), cupy.cuda.Event()
    start.record(stream)
    for _ in range(repeats):
        run()
    stop.record(stream)
    stop.synchronize()
    return cupy.cuda.get_elapsed_time(start, stop) / repeats
