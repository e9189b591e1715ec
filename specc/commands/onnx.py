"""``specc onnx FILE -o OUT.onnx [-w W.npz] [--opset N]``: an ONNX model, checked."""

from __future__ import annotations

import argparse
import sys

from specc.commands.common import UsageError, add_weights_arg, non_negative_int
from specc.commands.skeleton import Job, add_spec_args, run_spec


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``onnx`` parser."""
    p = sub.add_parser("onnx", help="ONNX model (NHWC in and out), checked with onnx.checker")
    add_spec_args(p)
    p.add_argument("-o", "--output", required=True, metavar="OUT.onnx", help="the ONNX file")
    add_weights_arg(p, default="drawn as `specc init` does")
    p.add_argument(
        "--seed", type=non_negative_int, default=0, help="seed of the drawn weights (default 0)"
    )
    p.add_argument("--opset", type=int, metavar="N", help="ONNX opset (default 21; 18..23)")


def run(args: argparse.Namespace) -> int:
    """Check the spec, load or draw weights, emit, check and write the graph atomically."""
    return run_spec(args, _emit)


def _emit(job: Job) -> None:
    from specc.emit.onnx import MAX_OPSET, MIN_OPSET, emit_onnx, save_onnx
    from specc.io import is_stdout

    opset = job.args.opset
    if opset is not None and not MIN_OPSET <= opset <= MAX_OPSET:
        raise UsageError(f"--opset must be between {MIN_OPSET} and {MAX_OPSET}, got {opset}")
    proto = emit_onnx(job.model, job.weights(), opset=opset)
    with job.writing(job.args.output):
        written = save_onnx(proto, job.args.output)
    nodes = len(proto.graph.node)
    report = sys.stderr if is_stdout(job.args.output) else sys.stdout
    opset = proto.opset_import[0].version
    print(f"wrote {', '.join(written)}: {nodes} nodes, opset {opset}", file=report)
