"""``specc filters FILE -w W.npz --layer NAME -o filters.png``: a convolution's kernels.

One tile per filter and input channel, or one RGB tile per filter for a
convolution reading the model's 3-channel input; each tile normalised on its
own (:mod:`specc.viz.tiles`). Exit status 0; 1 for a spec with errors; 2 for
a weights file or layer that cannot be used, in which case nothing is written.
"""

from __future__ import annotations

import argparse

from specc.commands.common import (
    EXIT_OK,
    add_model_arg,
    cannot_write,
    positive_int,
    report_late,
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``filters`` parser."""
    p = sub.add_parser("filters", help="a convolution's kernels, as a PNG")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--weights", "-w", required=True, metavar="W.npz", help="the weights")
    p.add_argument("--layer", required=True, metavar="NAME", help="the convolution to show")
    p.add_argument(
        "--max-filters", type=positive_int, default=64, metavar="N", help="filters shown"
    )
    p.add_argument(
        "--max-channels",
        type=positive_int,
        default=8,
        metavar="N",
        help="input channels shown per filter",
    )
    p.add_argument("--colormap", default="gray", metavar="NAME", help="gray, or a matplotlib one")
    p.add_argument("-o", "--output", required=True, metavar="filters.png")
    add_model_arg(p)


def run(args: argparse.Namespace) -> int:
    """Check the spec, read the weights, draw the layer's kernels, write the PNG."""
    from specc.commands.common import load_model, write_atomically
    from specc.diagnostics import SpeccError
    from specc.runtime.taps import find_layers
    from specc.viz.sections import kernel_tiles, require_kernels
    from specc.viz.tiles import colormap_table, compose
    from specc.weights import load_weights

    model, status = load_model(args)
    if model is None:
        return status
    try:
        (node,) = find_layers(model, [args.layer], "--layer")
        colours = colormap_table(args.colormap, model.span)
        require_kernels(node)
        weights = load_weights(args.weights, model)
        section = kernel_tiles(model, node, weights, args.max_filters, args.max_channels)
        png = compose([section], colours)
    except SpeccError as exc:
        return report_late(args.file, exc)
    try:
        write_atomically(args.output, png)
    except OSError as exc:
        return cannot_write(args.output, exc)
    print(f"wrote {args.output}: {len(section.tiles)} kernel tile(s) of '{node.name}'")
    return EXIT_OK
