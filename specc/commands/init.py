"""``specc init FILE -o W.npz [--seed S]``: weights drawn from each layer's initializers."""

from __future__ import annotations

import argparse
import sys

from specc.commands.common import (
    EXIT_ERRORS,
    EXIT_OK,
    add_model_arg,
    cannot_write,
    non_negative_int,
    report_late,
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``init`` parser."""
    p = sub.add_parser("init", help="weights (.npz) drawn from each layer's initializers")
    p.add_argument("file", metavar="FILE")
    p.add_argument("-o", "--output", required=True, metavar="W.npz", help="the weights file")
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default 0)")
    add_model_arg(p)


def run(args: argparse.Namespace) -> int:
    """Check the spec, draw its weights, write them atomically."""
    from specc.commands.common import load_model
    from specc.diagnostics import SpeccError
    from specc.io import is_stdout
    from specc.weights import init_weights, save_weights

    model, status = load_model(args)
    if model is None:
        return status
    try:
        weights = init_weights(model, seed=args.seed)
    except SpeccError as exc:
        report_late(args.file, exc)
        return EXIT_ERRORS
    try:
        save_weights(args.output, weights)
    except OSError as exc:
        return cannot_write(args.output, exc)
    count = sum(int(a.size) for a in weights.values())
    report = sys.stderr if is_stdout(args.output) else sys.stdout
    print(
        f"wrote {args.output}: {len(weights)} arrays, {count:,} parameters (seed {args.seed})",
        file=report,
    )
    return EXIT_OK
