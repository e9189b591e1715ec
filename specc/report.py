"""Summaries of checked models: the JSON of design.md and the numbers of the table."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from specc.check import CheckResult
    from specc.diagnostics import Diagnostic
    from specc.ir.graph import Model, Node


def model_json(model: Model) -> dict[str, Any]:
    """One model as design.md's ``specc summary --format json`` describes it."""
    shape = model.output_shape
    return {
        "name": model.name,
        "input_shape": list(model.input.output_shape or ()),
        "output_shape": list(shape) if shape is not None else None,
        "params": model.total("params"),
        "trainable_params": model.total("trainable_params"),
        "non_trainable_params": model.total("non_trainable_params"),
        "macs": model.total("macs"),
        "layers": [layer_json(node) for node in model.layers],
    }


def layer_json(node: Node) -> dict[str, Any]:
    """One layer of :func:`model_json`.

    ``line`` is the model's line the layer comes from: for a layer a block
    call made, the call's line (where diagnostics point too), with the line
    inside the block as ``block_line``.
    """
    out: dict[str, Any] = {
        "name": node.name,
        "kind": node.kind,
        "class_name": class_name(node),
        "line": layer_line(node),
        "output_shape": list(node.output_shape) if node.output_shape else None,
        "params": node.params,
        "macs": node.macs,
    }
    if node.call_site is not None:
        out["block_line"] = node.span.line
    return out


def class_name(node: Node) -> str:
    """The layer's Keras class (``Conv2D`` for kind ``conv2d``); ``InputLayer`` for the input."""
    return node.layer.keras_class if node.layer is not None else "InputLayer"


def layer_line(node: Node) -> int:
    """The model's line a layer comes from (a block call's line for the layers it made)."""
    return (node.call_site or node.span).line


def results_json(results: list[CheckResult]) -> dict[str, Any]:
    """``{"models": [...], "diagnostics": [...]}`` for one or more checked files."""
    return files_json((r.file, [model_json(m) for m in r.models], r.diagnostics) for r in results)


def files_json(
    files: Iterable[tuple[str, list[dict[str, Any]], list[Diagnostic]]],
) -> dict[str, Any]:
    """:func:`results_json` from each file's path, model summaries and diagnostics."""
    models: list[dict[str, Any]] = []
    diagnostics: list[dict[str, Any]] = []
    for file, summaries, found in files:
        models.extend({**summary, "file": file} for summary in summaries)
        diagnostics.extend(d.to_json() for d in found)
    return {"models": models, "diagnostics": diagnostics}


def human_count(n: int) -> str:
    """``356810`` as ``356.8K``; ``10585344`` as ``10.6M``."""
    for unit, scale in (("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if n >= scale:
            return f"{n / scale:.1f}{unit}"
    return str(n)
