"""``specc summary FILE``: a Keras-like table per model, or JSON."""

from __future__ import annotations

import argparse
import json
import sys

from specc.commands.common import (
    EXIT_ERRORS,
    EXIT_OK,
    EXIT_USAGE,
    add_model_arg,
    print_diagnostics,
    read_spec,
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``summary`` parser."""
    p = sub.add_parser("summary", help="layer table: output shapes, params, MACs")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    add_model_arg(p)


def run(args: argparse.Namespace) -> int:
    """Print the summary of every model (or --model's); refuse a spec with errors."""
    from specc.check import check_source
    from specc.report import results_json

    text, problem = read_spec(args.file)
    if problem is not None:
        print_diagnostics([problem], {})
        return EXIT_USAGE
    result = check_source(text or "", args.file)
    if result.diagnostics:
        print_diagnostics(result.diagnostics, {args.file: text or ""})
    if result.errors:
        return EXIT_ERRORS
    if args.model is not None:
        if args.model not in [m.name for m in result.models]:
            names = ", ".join(m.name for m in result.models)
            print(
                f"{args.file}: error: no model named '{args.model}'; the file has {names}",
                file=sys.stderr,
            )
            return EXIT_USAGE
        result.models = [result.model(args.model)]
    if args.format == "json":
        data = results_json([result])
        for model in data["models"]:
            model.pop("file", None)
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return EXIT_OK
    if args.format == "markdown":
        from specc.emit.markdown import summary_markdown

        sys.stdout.write(summary_markdown(result.models, args.file))
        return EXIT_OK
    _print_tables(result)
    return EXIT_OK


def _print_tables(result) -> None:
    from rich.console import Console
    from rich.table import Table

    from specc.ir.shapes import fmt_shape
    from specc.report import human_count, layer_line

    console = Console(highlight=False, soft_wrap=False, width=max(120, Console().width))
    for model in result.models:
        table = Table(title=f'Model: "{model.name}"', title_justify="left")
        for column, justify in (
            ("Layer", "left"),
            ("Kind", "left"),
            ("Output shape", "left"),
            ("Param #", "right"),
            ("MACs", "right"),
            ("Line", "right"),
        ):
            table.add_column(column, justify=justify, no_wrap=True)  # type: ignore[arg-type]
        rows = [(model.input, "input")] + [(node, node.kind) for node in model.layers]
        for node, kind in rows:
            shape = ", ".join(map(str, node.output_shape or ()))
            line = str(layer_line(node))
            if node.call_site is not None:
                line += f" ({node.span.line})"
            table.add_row(
                node.name,
                kind,
                f"(None, {shape})",
                f"{node.params:,}",
                f"{node.macs:,}",
                line,
            )
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
