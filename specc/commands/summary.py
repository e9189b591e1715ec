"""``specc summary FILE``: a Keras-like table per model, or JSON."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from specc.commands.skeleton import Job, add_spec_args, run_spec

if TYPE_CHECKING:
    from specc.ir.graph import Model


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``summary`` parser."""
    p = sub.add_parser("summary", help="layer table: output shapes, params, MACs")
    add_spec_args(p)
    p.add_argument("--format", choices=("text", "json", "markdown"), default="text")


def run(args: argparse.Namespace) -> int:
    """Print the summary of every model (or --model's).

    Text refuses a spec with errors (the diagnostics instead, exit 1); JSON
    always prints its object, with the diagnostics in it and the exit status
    of the check.
    """
    if args.format == "json":
        return run_spec(
            args, _print_json, every_model=True, refuse_errors=False, text_diagnostics=False
        )
    if args.format == "markdown":
        return run_spec(args, _print_markdown, every_model=True)
    return run_spec(args, _print_tables, every_model=True)


def _print_json(job: Job) -> None:
    from specc.report import results_json

    job.result.models = job.models
    data = results_json([job.result])
    for model in data["models"]:
        model.pop("file", None)
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


def _print_markdown(job: Job) -> None:
    from specc.emit.markdown import summary_markdown

    sys.stdout.write(summary_markdown(job.models, job.file))


def sequential_like(model: Model) -> bool:
    """Keras's test for leaving out "Connected to": no layer with several inputs
    and no tensor feeding several layers (``summary_utils.print_summary``)."""
    order = model.layers
    fed = [i for node in order for i in node.inputs]
    return all(len(node.inputs) == 1 for node in order) and len(fed) == len(set(fed))


def _print_tables(job: Job) -> None:
    from rich.markup import escape
    from rich.table import Table

    from specc.commands.common import wide_console
    from specc.ir.shapes import fmt_shape
    from specc.report import class_name, human_count, layer_line

    console = wide_console()
    for model in job.models:
        graph = not sequential_like(model)
        table = Table(title=f'Model: "{escape(model.name)}"', title_justify="left")
        columns = ["Layer (type)", "Output Shape", "Param #", "MACs", "Line"]
        if graph:
            columns.insert(3, "Connected to")
        for column in columns:
            right = column in ("Param #", "MACs", "Line")
            table.add_column(column, justify="right" if right else "left", no_wrap=True)
        for node in [model.input, *model.layers]:
            shape = ", ".join(map(str, node.output_shape or ()))
            line = str(layer_line(node))
            if node.call_site is not None:
                line += f" ({node.span.line})"
            row = [
                escape(f"{node.name} ({class_name(node)})"),
                f"(None, {shape})",
                f"{node.params:,}",
                f"{node.macs:,}",
                line,
            ]
            if graph:
                sources = [f"{model.nodes[i].name}[0][0]" for i in node.inputs]
                row.insert(3, escape("\n".join(sources) or "-"))
            table.add_row(*row)
        console.print(table)
        if any(node.call_site is not None for node in model.layers):
            console.print(" Line (n): the block call's line, then the line inside the block")
        params = model.total("params")
        console.print(f" Total params: {params:,} ({params * 4 / 2**20:.2f} MB as float32)")
        console.print(f" Trainable params: {model.total('trainable_params'):,}")
        console.print(f" Non-trainable params: {model.total('non_trainable_params'):,}")
        macs = model.total("macs")
        console.print(f" MACs: {macs:,} ({human_count(macs)}; FLOPs {human_count(2 * macs)})")
        console.print(f" Output: {fmt_shape(model.output_shape or ())}\n")
