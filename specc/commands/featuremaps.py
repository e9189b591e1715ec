"""``specc featuremaps FILE --input IMAGE -w W.npz -o maps.png``: what each layer sees.

One section per layer (default: every convolution), one tile per channel,
each tile normalised on its own (:mod:`specc.viz.tiles` says how). Exit
status 0; 1 for a spec with errors; 2 for an input, weights file or layer
name that cannot be used (located, coded), in which case nothing is written.
"""

from __future__ import annotations

import argparse

from specc.codes import E602, E612
from specc.commands.common import (
    EXIT_OK,
    add_model_arg,
    cannot_write,
    name_list,
    positive_int,
    report_late,
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``featuremaps`` parser."""
    p = sub.add_parser("featuremaps", help="each layer's feature maps for one image, as a PNG")
    p.add_argument("file", metavar="FILE")
    p.add_argument(
        "--input", "-i", required=True, metavar="IMAGE", help="one image (or a one-sample .npy)"
    )
    p.add_argument("--weights", "-w", required=True, metavar="W.npz", help="the weights")
    p.add_argument(
        "--layers",
        type=name_list,
        action="extend",
        metavar="NAME[,NAME...]",
        help="the layers to show (default: every convolution)",
    )
    p.add_argument(
        "--max-channels", type=positive_int, default=32, metavar="N", help="channels per layer"
    )
    p.add_argument("--colormap", default="gray", metavar="NAME", help="gray, or a matplotlib one")
    p.add_argument("--resize", action="store_true", help="resize the image to the input size")
    p.add_argument("-o", "--output", required=True, metavar="maps.png")
    add_model_arg(p)


def run(args: argparse.Namespace) -> int:
    """Check the spec, run the image with the layers tapped, draw and write the PNG."""
    from specc.commands.common import load_model, write_atomically
    from specc.diagnostics import SpeccError, error
    from specc.runtime.inputs import read_inputs
    from specc.runtime.taps import run_with_taps
    from specc.runtime.validate import check_input
    from specc.viz.sections import feature_map_layers, feature_map_sections
    from specc.viz.tiles import colormap_table, compose
    from specc.weights import load_weights

    model, status = load_model(args)
    if model is None:
        return status
    try:
        nodes = feature_map_layers(model, args.layers)
        if not nodes:
            raise error(
                E612,
                f"model '{model.name}' has no convolution to show",
                model.span,
                "name the layers with --layers",
            )
        colours = colormap_table(args.colormap, model.span)
        weights = load_weights(args.weights, model)
        raw, span = read_inputs([args.input], model, args.resize)
        batch = check_input(model, raw, span)
        if batch.shape[0] != 1:
            raise error(
                E602,
                f"featuremaps shows one image; the input holds {batch.shape[0]} samples",
                span,
                "pass one image, or an array of the input shape",
            )
        _, taps = run_with_taps(model, weights, batch, nodes, 1)
        png = compose(feature_map_sections(nodes, taps, args.max_channels), colours)
    except SpeccError as exc:
        return report_late(args.file, exc)
    try:
        write_atomically(args.output, png)
    except OSError as exc:
        return cannot_write(args.output, exc)
    print(f"wrote {args.output}: {len(nodes)} layer(s) of model '{model.name}'")
    return EXIT_OK
