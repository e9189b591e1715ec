"""What every importer produces: a model as specc layers, before it is written as a spec.

A reader (Keras archive, legacy ``.h5``, ONNX) turns its file into an
:class:`ImportedModel`: layers of specc's layer table, each with the
parameters it sets, the names of the layers it reads, its weights in Keras's
layout and order, and the output shape the source file records. The spec
writer knows nothing about the source format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from specc.diagnostics import Diagnostic, Span, SpeccError

# Bounded reads: no model specc can express needs more (specc's own limit is
# 100,000 layers); a file past these limits is refused before it is read.
MAX_CONFIG_BYTES = 64 * 2**20
MAX_MODEL_BYTES = 8 * 2**30


@dataclass
class ImportedLayer:
    """One layer of the table, as a reader found it.

    ``params`` are values the layer class validates (tuples, floats, strings,
    :class:`~specc.ir.values.FnValue`), ``inputs`` the names of the layers it
    reads (the model input's name for the first), ``weights`` the arrays in the
    order the layer class lists its weights, ``origin`` how diagnostics name it
    ("layer 'conv1' (Conv2D)", "node '/conv1/Conv' (Conv)").
    """

    name: str
    kind: str
    params: dict[str, Any]
    inputs: list[str]
    weights: list[np.ndarray] = field(default_factory=list)
    origin: str = ""
    output_shape: tuple[int, ...] | None = None


@dataclass
class ImportedModel:
    """A model read from a file: its input, its layers in a topological order, its output."""

    name: str
    source: str
    description: str
    input_name: str
    input_shape: tuple[int, ...]
    layers: list[ImportedLayer]
    output: str
    input_dtype: str = "float32"
    notes: list[str] = field(default_factory=list)

    def layer(self, name: str) -> ImportedLayer:
        """The layer called ``name``."""
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)


def file_span(path: str) -> Span:
    """The span that locates a problem in a binary model file: the file itself."""
    return Span(path, 1, 1, 1, 2)


def import_error(code: str, path: str, message: str, help: str | None = None) -> SpeccError:
    """A :class:`SpeccError` located at the model file ``path``."""
    return SpeccError(Diagnostic(code, message, file_span(path), help))


def diagnostic(code: str, path: str, message: str, help: str | None = None) -> Diagnostic:
    """One diagnostic located at the model file ``path`` (for collecting several)."""
    return Diagnostic(code, message, file_span(path), help)
