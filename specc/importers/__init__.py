"""Import: models made elsewhere (Keras ``.keras``/``.h5``, ONNX) as specs and weights.

:func:`import_model` reads a model file, writes it as ``.cnn`` text, and then
checks that text with specc's own rules: every layer's output shape must be
the one the source file records, and every weight array must have the shape
specc's layer needs. A model specc cannot express is a coded diagnostic
(E701-E707) naming the layer or node; nothing half-imported is returned.

The stage writes ``.cnn`` text and proves it with the checker (``specc.check``),
the formatter and the weights checks, so it comes after them; nothing but the
commands imports it. Nothing here imports TensorFlow or Keras; h5py and onnx
are imported by the reader that needs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from specc.codes import E701, E706, E707
from specc.diagnostics import Diagnostic, SpeccError
from specc.importers.graph import ImportedModel, diagnostic, import_error
from specc.ir.graph import Model

__all__ = ["ImportResult", "import_model", "read_model"]

ZIP_MAGIC = b"PK\x03\x04"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


@dataclass
class ImportResult:
    """A spec's text, its weights (``LAYER/WEIGHT`` -> float32) and its checked model."""

    text: str
    weights: dict[str, np.ndarray]
    model: Model
    source: ImportedModel


def read_model(path: str) -> ImportedModel:
    """The model in ``path``, by its first bytes: zip (``.keras``), HDF5 (``.h5``), else ONNX."""
    try:
        with open(path, "rb") as f:
            magic = f.read(8)
    except FileNotFoundError:
        raise import_error(E701, path, "no such file") from None
    except IsADirectoryError:
        raise import_error(E701, path, "is a directory, not a model file") from None
    except OSError as exc:
        raise import_error(E701, path, f"cannot read the file: {exc.strerror}") from None
    if magic.startswith(ZIP_MAGIC) or magic.startswith(b"PK\x05\x06"):
        from specc.importers.keras_archive import read_keras_archive

        return read_keras_archive(path)
    if magic == HDF5_MAGIC:
        from specc.importers.keras_archive import read_keras_h5

        return read_keras_h5(path)
    if Path(path).suffix.lower() == ".onnx" or magic[:1] == b"\x08":
        from specc.importers.onnx_model import read_onnx

        return read_onnx(path)
    raise import_error(
        E701,
        path,
        "is neither a Keras archive (.keras), an HDF5 model (.h5) nor an ONNX model",
        "specc imports .keras and .h5 files saved by Keras, and .onnx files",
    )


def import_model(
    path: str, name: str | None = None, spec_file: str = "imported.cnn"
) -> ImportResult:
    """Read ``path`` and write it as a checked spec; raises SpeccError (E70x) otherwise.

    ``name`` is the spec's model name (default: the source's); ``spec_file``
    is the name diagnostics about the written spec carry.
    """
    from specc.check import check_source
    from specc.fmt import format_source
    from specc.importers.spec_writer import model_name, render_spec, spec_names
    from specc.importers.structure import structure

    source = read_model(path)
    names, notes = spec_names(source)
    source.notes.extend(notes)
    statements = structure(source)
    title = model_name(source, name)
    model = _checked(render_spec(source, statements, names, title), spec_file, path, check_source)
    _compare_shapes(source, names, model, path)
    weights = _weights(source, names, model, path)
    expects = (model.total("params"), model.output_shape or ())
    text = format_source(render_spec(source, statements, names, title, expects), spec_file)
    final = _checked(text, spec_file, path, check_source)
    return ImportResult(text, weights, final, source)


def _checked(text: str, spec_file: str, path: str, check_source) -> Model:
    result = check_source(text, spec_file)
    if result.errors or len(result.models) != 1:
        first = result.errors[0] if result.errors else None
        where = f" (line {first.span.line}: {first.message})" if first else ""
        raise import_error(
            E707,
            path,
            f"the spec written for this model does not check{where}",
            "this is a bug in specc import; please report it with the model file",
        )
    return result.models[0]


def _compare_shapes(source: ImportedModel, names: dict[str, str], model: Model, path: str) -> None:
    problems: list[Diagnostic] = []
    for layer in source.layers:
        if layer.output_shape is None:
            continue
        node = model.node(names[layer.name])
        if node.output_shape != tuple(layer.output_shape):
            problems.append(
                diagnostic(
                    E707,
                    path,
                    f"{layer.origin}: specc computes the output shape {node.output_shape}, "
                    f"the model file records {tuple(layer.output_shape)}",
                )
            )
    if problems:
        raise SpeccError(problems)


def _exact_float(array: np.ndarray) -> np.ndarray:
    """An integer array (Normalization's ``count``) as float32 where every value is exact."""
    if array.dtype.kind in "iu" and (array.size == 0 or np.abs(array).max() <= 2**24):
        return array.astype(np.float32)
    return array


def _weights(
    source: ImportedModel, names: dict[str, str], model: Model, path: str
) -> dict[str, np.ndarray]:
    """The source's arrays under the spec's keys, each checked against specc's weight shape."""
    from specc.weights import check_weights

    arrays: dict[str, np.ndarray] = {}
    problems: list[Diagnostic] = []
    for layer in source.layers:
        node = model.node(names[layer.name])
        if len(layer.weights) != len(node.weights):
            wanted = ", ".join(f"{w.name} {tuple(w.shape)}" for w in node.weights) or "none"
            problems.append(
                diagnostic(
                    E706,
                    path,
                    f"{layer.origin} has {len(layer.weights)} weight arrays in the file; specc's "
                    f"{node.kind} needs {len(node.weights)} ({wanted})",
                )
            )
            continue
        for weight, array in zip(node.weights, layer.weights, strict=True):
            arrays[f"{node.name}/{weight.name}"] = _exact_float(array)
    if problems:
        raise SpeccError(problems)
    try:
        return check_weights(arrays, model)
    except SpeccError as exc:
        raise SpeccError(
            [diagnostic(E706, path, d.message, d.help) for d in exc.diagnostics]
        ) from None
