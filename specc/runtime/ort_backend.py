"""The onnxruntime backend: the graph of :func:`specc.emit.onnx.emit_onnx`, run by onnxruntime.

On ``device="gpu"`` the CUDA execution provider is required (E605 when the
installed onnxruntime has none); on the CPU the default CPU provider runs it
with onnxruntime's full graph optimisations.
"""

from __future__ import annotations

import numpy as np

from specc.codes import E605
from specc.diagnostics import Diagnostic, SpeccError
from specc.ir.graph import Model


def _unavailable(model: Model, why: str, help: str | None = None) -> SpeccError:
    return SpeccError(Diagnostic(E605, why, model.span, help))


class OnnxRuntimeBackend:
    """A prepared onnxruntime session; call it with a float32 batch."""

    name = "onnxruntime"

    def __init__(self, model: Model, weights: dict[str, np.ndarray], device: str = "cpu") -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise _unavailable(
                model,
                f"the onnxruntime backend needs onnxruntime: {exc}",
                "pip install 'specc[onnxruntime]'",
            ) from None
        from specc.emit.onnx import emit_onnx

        # Only the serialized graph is kept: a large model's weights are then held
        # twice at most, not three times (the proto, its bytes, the session).
        serialized = emit_onnx(model, dict(weights)).SerializeToString()
        available = ort.get_available_providers()
        if device == "gpu":
            if "CUDAExecutionProvider" not in available:
                raise _unavailable(
                    model,
                    "onnxruntime has no CUDA execution provider here "
                    f"(available: {', '.join(available)})",
                    "install onnxruntime-gpu, or use --device cpu",
                )
            providers = ["CUDAExecutionProvider", "CPUExecutionProvider"]
        else:
            providers = ["CPUExecutionProvider"]
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        self.session = ort.InferenceSession(serialized, sess_options=options, providers=providers)
        del serialized
        self.input_name = self.session.get_inputs()[0].name
        self.output_name = self.session.get_outputs()[0].name
        self.device = device

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """The model's output for the batch ``x``."""
        (out,) = self.session.run(
            [self.output_name], {self.input_name: np.ascontiguousarray(x, dtype=np.float32)}
        )
        return np.asarray(out, dtype=np.float32)

    def synchronize(self) -> None:
        """``run`` returns host arrays: nothing is left queued."""
