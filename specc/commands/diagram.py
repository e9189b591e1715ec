"""``specc diagram FILE -o OUT.svg``: the model as a layered graph.

The suffix of ``-o`` picks the format: ``.dot`` (Graphviz text) and ``.mmd``
(Mermaid text) are written by specc alone; ``.svg``, ``.png`` and ``.pdf``
are rendered by Graphviz's ``dot`` (E613 with the install hint when it is
missing). Exit status 0; 1 for a spec with errors; 2 for an output that
cannot be made, in which case nothing is written.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from specc.codes import E614
from specc.commands.common import EXIT_OK, EXIT_USAGE, add_model_arg, cannot_write, report_late

FORMATS = ("svg", "png", "pdf", "dot", "mmd")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``diagram`` parser."""
    p = sub.add_parser("diagram", help="the model as a graph: svg, png, pdf, dot or mmd")
    p.add_argument("file", metavar="FILE")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="OUT.svg|png|pdf|dot|mmd")
    p.add_argument(
        "--expand-blocks", action="store_true", help="draw the layers inside each block call"
    )
    p.add_argument("--rankdir", choices=("TB", "LR"), default="TB", help="top-down or left-right")
    add_model_arg(p)


def output_format(path: str) -> str:
    """The format the suffix of ``path`` names; E614 for any other."""
    from specc.diagnostics import error
    from specc.runtime.inputs import file_span

    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt == "mermaid":
        fmt = "mmd"
    if fmt not in FORMATS:
        raise error(
            E614,
            f"cannot tell the format of '{path}' from its suffix",
            file_span(path),
            "write OUT.svg, OUT.png, OUT.pdf, OUT.dot or OUT.mmd",
        )
    return fmt


def run(args: argparse.Namespace) -> int:
    """Check the spec, build the diagram, render it, write it whole."""
    from specc.commands.common import load_model, print_diagnostics, write_atomically
    from specc.diagnostics import SpeccError
    from specc.emit.diagram import build, to_dot, to_mermaid

    try:
        fmt = output_format(args.output)
    except SpeccError as exc:
        print_diagnostics(exc.diagnostics, {})
        return EXIT_USAGE
    model, status = load_model(args)
    if model is None:
        return status
    diagram = build(model, expand_blocks=args.expand_blocks)
    data: str | bytes
    if fmt == "mmd":
        data = to_mermaid(diagram, args.rankdir)
    elif fmt == "dot":
        data = to_dot(diagram, args.rankdir)
    else:
        from specc.viz.graph import render_dot

        try:
            data = render_dot(to_dot(diagram, args.rankdir), fmt, model.span)
        except SpeccError as exc:
            return report_late(args.file, exc)
    try:
        write_atomically(args.output, data)
    except OSError as exc:
        return cannot_write(args.output, exc)
    return EXIT_OK
