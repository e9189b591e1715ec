"""specc: a compiler for declarative CNN model specs (.cnn).

The public API::

    import specc
    result = specc.load("model.cnn")        # parse, expand, infer, lint
    result.diagnostics                      # every problem, located
    model = result.model()                  # the IR of the first (or a named) model
    specc.summary(model)                    # the JSON summary of design.md

Nothing here imports TensorFlow, Keras, ONNX or onnxruntime.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from specc.diagnostics import Diagnostic, Span, SpeccError

if TYPE_CHECKING:
    from specc.check import CheckResult, check_source
    from specc.ir.graph import Model, Node

__version__ = "0.1.0"
__all__ = [
    "CheckResult",
    "Diagnostic",
    "Model",
    "Node",
    "Span",
    "SpeccError",
    "check_source",
    "load",
    "summary",
]

# Imported on first use, so that ``import specc.diagnostics`` (every command
# does) loads neither pydantic nor the parser: ``specc --help`` and cached checks stay fast.
_LAZY = {
    "CheckResult": "specc.check",
    "check_source": "specc.check",
    "Model": "specc.ir.graph",
    "Node": "specc.ir.graph",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'specc' has no attribute {name!r}")


def load(
    path: str | Path, max_params: int | None = None, max_macs: int | None = None
) -> CheckResult:
    """Check the spec at ``path``: its models (the IR) and its diagnostics."""
    from specc.check import check_source

    text = Path(path).read_text(encoding="utf-8")
    return check_source(text, str(path), max_params, max_macs)


def summary(model: Model) -> dict[str, Any]:
    """A model's summary as a JSON-ready dict (design.md's schema)."""
    from specc.report import model_json

    return model_json(model)
