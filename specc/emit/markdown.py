"""``specc summary --format markdown``: each model's table and its Mermaid diagram.

GitHub renders the output as it is (a pipe table and a ```` ```mermaid ````
block), in a pull request comment, a README or a job's step summary, where
the GitHub Action of this repository appends it.
"""

from __future__ import annotations

from specc.emit.diagram import build, keras_class, keras_shape, to_mermaid
from specc.ir.graph import Model
from specc.report import human_count, layer_line


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|")


def model_markdown(model: Model, file: str) -> str:
    """One model: a heading, the layer table, the totals and the diagram."""
    out = [
        f"### Model `{model.name}` ({_cell(file)})",
        "",
        "| Layer | Kind | Output shape | Param # | MACs | Line |",
        "|:--|:--|:--|--:|--:|--:|",
    ]
    for node in [model.input, *model.layers]:
        line = str(layer_line(node))
        if node.call_site is not None:
            line += f" ({node.span.line})"
        out.append(
            f"| {_cell(node.name)} | {keras_class(node)} | {keras_shape(node)} "
            f"| {node.params:,} | {node.macs:,} | {line} |"
        )
    params, macs = model.total("params"), model.total("macs")
    if any(node.call_site is not None for node in model.layers):
        out += ["", "Line (n): the block call's line, then the line inside the block."]
    out += [
        "",
        f"Total params: **{params:,}** ({params * 4 / 2**20:.2f} MB as float32); "
        f"trainable {model.total('trainable_params'):,}, "
        f"non-trainable {model.total('non_trainable_params'):,}. "
        f"MACs: **{macs:,}** ({human_count(macs)}).",
        "",
        "```mermaid",
        to_mermaid(build(model)).rstrip("\n"),
        "```",
        "",
    ]
    return "\n".join(out)


def summary_markdown(models: list[Model], file: str) -> str:
    """Every model of a file, one after another."""
    return "\n".join(model_markdown(model, file) for model in models)
