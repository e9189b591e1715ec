"""Measuring backends side by side: throughput (interleaved) and peak memory (isolated).

Throughput: every backend is prepared once, warmed up, then timed in
round-robin rounds (a short block of batches each per round) so that a busy
machine slows all of them alike; the median time per batch gives images/s and GFLOP/s
(2 x MACs per image). Peak memory: each backend runs in a fresh Python process
that first imports its framework and builds the input, then reports how far
its resident set rose above that baseline while preparing and running
(``VmHWM`` of ``/proc/self/status``, Linux only; None elsewhere).

``keras`` is measured too: the Keras model of ``specc keras``, with the same
weights, run with ``model.predict`` (what a Keras user would call).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass

import numpy as np

from specc.ir.graph import Model

FRAMEWORKS = {"tensorflow": "tensorflow", "onnxruntime": "onnxruntime", "keras": "keras"}


@dataclass
class Measurement:
    """One backend's numbers for one batch size (``error`` set when it could not run)."""

    backend: str
    device: str
    batch_size: int
    seconds_per_batch: float | None = None
    images_per_s: float | None = None
    gflops: float | None = None
    peak_mb: float | None = None
    ratio: float | None = None  # throughput over the fastest backend's
    error: str | None = None

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict."""
        return asdict(self)


class KerasPredict:
    """The generated Keras model (``specc keras``) with ``weights``, run with ``predict``."""

    name = "keras"

    def __init__(self, model: Model, weights: Mapping[str, np.ndarray], device: str = "cpu"):
        import os

        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import keras

        from specc.emit.keras import assign_weights, generated_module

        self.keras_model = generated_module(model).build_model()
        assign_weights(self.keras_model, weights)
        self.device = "/GPU:0" if device == "gpu" else "/CPU:0"
        self.keras = keras

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """``model.predict`` on the whole batch at once."""
        import tensorflow as tf

        with tf.device(self.device):
            return self.keras_model.predict(x, batch_size=x.shape[0], verbose=0)

    def synchronize(self) -> None:
        """``predict`` returns host arrays."""


def build(model: Model, weights: Mapping[str, np.ndarray], backend: str, device: str):
    """A prepared executor for ``backend`` (``keras`` included)."""
    from specc.runtime import prepare

    if backend == "keras":
        return KerasPredict(model, weights, device)
    return prepare(model, weights, backend, device)


def throughput(
    executors: Mapping[str, Callable[[np.ndarray], np.ndarray]],
    x: np.ndarray,
    min_seconds: float = 2.0,
    min_rounds: int = 5,
    warmup: int = 2,
    block_seconds: float = 0.25,
) -> dict[str, float]:
    """Median seconds per batch of each executor, timed in interleaved blocks.

    Each round gives every executor a block of about ``block_seconds``; the
    first call of a block is not timed, because a framework's thread pool
    (onnxruntime's, TensorFlow's) keeps spinning for a while after its own
    call and would slow whichever executor runs next.
    """
    per_call: dict[str, float] = {}
    for name, fn in executors.items():
        for _ in range(warmup):
            t0 = time.perf_counter()
            _call(fn, x)
            per_call[name] = time.perf_counter() - t0
    times: dict[str, list[float]] = {name: [] for name in executors}
    start = time.perf_counter()
    rounds = 0
    while rounds < min_rounds or time.perf_counter() - start < min_seconds:
        for name, fn in executors.items():
            _call(fn, x)  # settles the machine after the previous executor
            calls = max(1, min(50, int(block_seconds / max(per_call[name], 1e-6))))
            for _ in range(calls):
                t0 = time.perf_counter()
                _call(fn, x)
                times[name].append(time.perf_counter() - t0)
        rounds += 1
        if rounds >= 200:
            break
    return {name: statistics.median(ts) for name, ts in times.items()}


def _call(fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> None:
    fn(x)
    sync = getattr(fn, "synchronize", None)
    if sync is not None:
        sync()


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def peak_memory_here(run: Callable[[], object]) -> float | None:
    """MiB the resident set rose above its level before ``run`` (Linux; None elsewhere)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
            clear.write("5")  # reset VmHWM to the current resident set
    except OSError:
        return None
    base = _status_kb("VmRSS")
    run()
    peak = _status_kb("VmHWM")
    if base is None or peak is None:
        return None
    return max(peak - base, 0) / 1024


def peak_memory(
    spec: str, model_name: str, backend: str, device: str, batch_size: int, weights: str | None
) -> float | None:
    """Peak MiB of ``backend`` preparing and running one batch, in a fresh process."""
    args = json.dumps([spec, model_name, backend, device, batch_size, weights])
    code = f"import sys, specc.runtime.measure as m; m._child({args!r})"
    try:
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=600
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("PEAK_MB "):
            value = line.split()[1]
            return None if value == "None" else float(value)
    return None


def _child(args_json: str) -> None:
    """Body of :func:`peak_memory`'s process: load, baseline, prepare + run, report."""
    import importlib
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    spec, model_name, backend, device, batch_size, weights_path = json.loads(args_json)
    import specc

    model = specc.load(spec).model(model_name)
    if backend in FRAMEWORKS:
        importlib.import_module(FRAMEWORKS[backend])
    from specc.weights import init_weights, load_weights

    weights = load_weights(weights_path, model) if weights_path else init_weights(model)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch_size, *(model.input.output_shape or ()))).astype(np.float32)

    def go() -> None:
        executor = build(model, weights, backend, device)
        executor(x)
        executor(x)

    print(f"PEAK_MB {peak_memory_here(go)}", flush=True)
