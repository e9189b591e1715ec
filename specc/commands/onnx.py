"""``specc onnx FILE -o OUT.onnx [--weights W.npz] [--opset N]``: an ONNX model, checked."""

from __future__ import annotations

import argparse
import sys

from specc.commands.common import (
    EXIT_ERRORS,
    EXIT_OK,
    EXIT_USAGE,
    add_model_arg,
    cannot_write,
    non_negative_int,
    report_late,
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``onnx`` parser."""
    p = sub.add_parser("onnx", help="ONNX model (NHWC in and out), checked with onnx.checker")
    p.add_argument("file", metavar="FILE")
    p.add_argument("-o", "--output", required=True, metavar="OUT.onnx", help="the ONNX file")
    p.add_argument(
        "--weights", metavar="W.npz", help="weights (.npz); default: drawn as `specc init` does"
    )
    p.add_argument(
        "--seed", type=non_negative_int, default=0, help="seed of the drawn weights (default 0)"
    )
    p.add_argument("--opset", type=int, metavar="N", help="ONNX opset (default 21; 18..23)")
    add_model_arg(p)


def run(args: argparse.Namespace) -> int:
    """Check the spec, load or draw weights, emit, check and write the graph atomically."""
    from specc.commands.common import load_model
    from specc.diagnostics import SpeccError
    from specc.emit.onnx import MAX_OPSET, MIN_OPSET, emit_onnx, save_onnx
    from specc.io import is_stdout
    from specc.weights import init_weights, load_weights

    if args.opset is not None and not MIN_OPSET <= args.opset <= MAX_OPSET:
        print(
            f"specc onnx: error: --opset must be between {MIN_OPSET} and {MAX_OPSET}, "
            f"got {args.opset}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    model, status = load_model(args)
    if model is None:
        return status
    try:
        if args.weights is not None:
            weights = load_weights(args.weights, model)
        else:
            weights = init_weights(model, seed=args.seed)
        proto = emit_onnx(model, weights, opset=args.opset)
    except SpeccError as exc:
        report_late(args.file, exc)
        return EXIT_ERRORS
    try:
        written = save_onnx(proto, args.output)
    except OSError as exc:
        return cannot_write(args.output, exc)
    nodes = len(proto.graph.node)
    report = sys.stderr if is_stdout(args.output) else sys.stdout
    opset = proto.opset_import[0].version
    print(f"wrote {', '.join(written)}: {nodes} nodes, opset {opset}", file=report)
    return EXIT_OK
