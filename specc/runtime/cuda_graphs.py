"""A whole forward pass of the numpy runtime as one CUDA graph per input shape.

At batch 1 a GPU waits on Python: each of ResNet50's ~120 ops is a few
kernel launches and some microseconds of interpreter. The first call for an
input shape runs the steps eagerly (cuDNN searches its algorithms then, and
CuPy compiles its kernels), then captures the same steps on the backend's
stream into a graph; later calls copy the input into the graph's own input
buffer, replay the graph and copy the kept values out.

Every array the steps allocate comes from a memory pool of the runner's own:
a graph keeps the addresses it was captured with, so no allocation outside
the graph may ever reuse them. Replays run in order on one stream, so the
graphs of different shapes may share that pool's scratch memory.

CuPy is imported only inside functions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Array = Any
Steps = Callable[[Array], dict[int, Array]]


class GraphRunner:
    """Calls ``steps`` (a device input to the kept device values) through CUDA graphs.

    ``graphs=False`` runs every call eagerly on the same stream and pool (for
    comparison). :attr:`failure` holds why a capture failed, if one did; the
    runner then stays eager.
    """

    def __init__(self, steps: Steps, stream: Any, graphs: bool = True) -> None:
        import cupy

        self.steps = steps
        self.stream = stream
        self.graphs = graphs
        self.pool = cupy.cuda.MemoryPool()
        self.captured: dict[tuple[int, ...], tuple[Any, Array, dict[int, Array]]] = {}
        self.failure: str | None = None

    def __call__(self, x: Array) -> dict[int, np.ndarray]:
        """The kept values for the batch ``x`` (numpy or CuPy), as numpy arrays."""
        import cupy

        # Work queued on the caller's stream (an input it just wrote) comes first.
        self.stream.wait_event(cupy.cuda.get_current_stream().record())
        with cupy.cuda.using_allocator(self.pool.malloc), self.stream:
            entry = self.captured.get(tuple(x.shape))
            if entry is None:
                kept = self.steps(cupy.asarray(x, dtype=np.float32))
                out = self._host(kept)
                if self.graphs and self.failure is None:
                    self._capture(tuple(x.shape))
                return out
            graph, static, kept = entry
            if isinstance(x, np.ndarray):
                static.set(np.ascontiguousarray(x, dtype=np.float32), stream=self.stream)
            else:
                static[...] = x
            graph.launch(self.stream)
            return self._host(kept)

    def _host(self, kept: dict[int, Array]) -> dict[int, np.ndarray]:
        out = {i: np.ascontiguousarray(v.get(stream=self.stream)) for i, v in kept.items()}
        self.stream.synchronize()
        return out

    def _capture(self, shape: tuple[int, ...]) -> None:
        """Capture the steps for inputs of ``shape`` (after an eager call warmed them up)."""
        import cupy

        runtime = cupy.cuda.runtime
        static = cupy.empty(shape, dtype=np.float32)
        static.fill(0)
        self.stream.synchronize()
        mode = getattr(runtime, "streamCaptureModeRelaxed", None)
        try:
            if mode is None:
                self.stream.begin_capture()
            else:
                self.stream.begin_capture(mode)
            try:
                kept = self.steps(static)
            finally:
                graph = self.stream.end_capture()
        except Exception as exc:  # an op that cannot be captured: stay eager
            self.failure = f"{type(exc).__name__}: {exc}"
            return
        self.captured[shape] = (graph, static, kept)
