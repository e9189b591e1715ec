"""Direct execution of a model's IR: ``specc run`` and ``specc bench``.

Three backends compute the same function as the Keras model of the spec:

- ``numpy``: specc's own vectorized runtime (:mod:`specc.runtime.numpy_backend`),
  on NumPy, or on CuPy with ``device="gpu"``;
- ``tensorflow``: the IR as ``tf.nn`` operations under ``tf.function``;
- ``onnxruntime``: the graph of :func:`specc.emit.onnx.emit_onnx`.

Nothing here imports a heavy module until a backend is built.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import numpy as np

from specc.codes import E606
from specc.diagnostics import Diagnostic, Span, SpeccError
from specc.ir.graph import Model

BACKENDS: tuple[str, ...] = ("numpy", "tensorflow", "onnxruntime")
DEVICES: tuple[str, ...] = ("cpu", "gpu")
MEMORY_BUDGET = 256 * 2**20
"""Bytes of intermediate arrays one chunk may need; larger batches are cut in chunks."""

__all__ = ["BACKENDS", "DEVICES", "Executor", "auto_batch_size", "prepare", "run"]


class Executor(Protocol):
    """A forward pass prepared for one model, weights and device."""

    name: str

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Output for a float32 batch."""
        ...

    def synchronize(self) -> None:
        """Wait for queued device work."""
        ...


def prepare(
    model: Model,
    weights: Mapping[str, np.ndarray] | None = None,
    backend: str = "numpy",
    device: str = "cpu",
) -> Executor:
    """Build ``backend``'s forward pass for ``model``; weights checked (E5xx).

    Raises ``SpeccError``: E606 for a model with errors, E605 for a backend or
    device this machine lacks, E607 for what the backend's target cannot express.

    ``weights`` maps ``LAYER/WEIGHT`` to arrays (``specc.weights.load_weights``
    reads them from a ``.npz``); None draws them from the initializers, seed 0.
    """
    from specc.weights import check_weights, init_weights

    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}")
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}; expected cpu or gpu")
    if not model.inferred:
        raise SpeccError(
            Diagnostic(E606, f"model '{model.name}' has errors and cannot run", model.span)
        )
    arrays = init_weights(model) if weights is None else check_weights(weights, model)
    if backend == "numpy":
        from specc.runtime.numpy_backend import NumpyBackend

        return NumpyBackend(model, arrays, device)
    if backend == "tensorflow":
        from specc.runtime.tf_backend import TensorFlowBackend

        return TensorFlowBackend(model, arrays, device)
    from specc.runtime.ort_backend import OnnxRuntimeBackend

    return OnnxRuntimeBackend(model, arrays, device)


def sample_bytes(model: Model) -> int:
    """Bytes one sample needs at the widest point of the numpy runtime (estimate).

    The largest of: a convolution's im2col buffer plus its input and output,
    or any layer's inputs plus output.
    """
    widest = 0
    for node in model.nodes[1:]:
        out = math.prod(node.output_shape or ())
        ins = sum(math.prod(model.nodes[i].output_shape or ()) for i in node.inputs)
        cols = 0
        layer = node.layer
        if node.kind in ("conv2d", "conv2dtranspose") and node.output_shape:
            in_c = (model.nodes[node.inputs[0]].output_shape or (1,))[-1]
            window = layer.kernel_size[0] * layer.kernel_size[1]
            if node.kind == "conv2d":
                cols = math.prod(node.output_shape[:2]) * window * in_c
            else:
                cols = 2 * ins // in_c * window * layer.filters
        widest = max(widest, 4 * (out + ins + cols))
    return max(widest, 4)


def auto_batch_size(model: Model, budget: int = MEMORY_BUDGET) -> int:
    """Samples per chunk so that one chunk stays within ``budget`` bytes (at least 1)."""
    return max(1, min(1024, budget // sample_bytes(model)))


def run(
    model: Model,
    x: Any,
    weights: Mapping[str, np.ndarray] | None = None,
    backend: str = "numpy",
    device: str = "cpu",
    batch_size: int | None = None,
    allow_nan: bool = False,
    input_span: Span | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """The model's output for ``x``: float32, shape (N, *output_shape).

    ``x`` is one sample (the input shape) or a batch; it is checked first (E602
    shape, E603 dtype, E604 NaN/inf unless ``allow_nan``), reported at
    ``input_span`` (default: the model's ``input`` line). Batches are run in
    chunks of ``batch_size`` (default: what fits :data:`MEMORY_BUDGET`);
    ``progress(done, total)`` is called after each chunk.
    """
    from specc.runtime.validate import check_input

    batch = check_input(model, x, input_span, allow_nan)
    executor = prepare(model, weights, backend, device)
    return run_batches(executor, batch, batch_size or auto_batch_size(model), progress)


def run_batches(
    executor: Executor,
    batch: np.ndarray,
    batch_size: int,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """``executor`` over ``batch`` in chunks of ``batch_size``, concatenated."""
    n = batch.shape[0]
    parts = []
    for start in range(0, n, batch_size):
        parts.append(executor(batch[start : start + batch_size]))
        if progress is not None:
            progress(min(start + batch_size, n), n)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)
