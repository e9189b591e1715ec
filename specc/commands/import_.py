"""``specc import SRC -o OUT.cnn [-w OUT.npz] [--name NAME]``: a model made elsewhere as a spec.

``SRC`` is a Keras 3 ``.keras`` archive, a legacy full-model ``.h5`` file or
an ONNX model. The spec and its weights are written only when the whole
model imports and checks; otherwise nothing is written and each problem is
reported, naming the layer or node.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from specc.commands.common import EXIT_OK, EXIT_USAGE, cannot_write, exit_status


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``import`` parser."""
    p = sub.add_parser(
        "import",
        help="a Keras (.keras, .h5) or ONNX model as a spec (.cnn) and its weights (.npz)",
    )
    p.add_argument("source", metavar="SRC", help="a .keras, .h5 or .onnx model file")
    p.add_argument("-o", "--output", required=True, metavar="OUT.cnn", help="the spec to write")
    p.add_argument(
        "-w",
        "--weights",
        metavar="OUT.npz",
        help="the weights to write (default: OUT.cnn with the suffix .npz)",
    )
    p.add_argument("--name", metavar="NAME", help="the spec's model name (default: the source's)")


def run(args: argparse.Namespace) -> int:
    """Import, check, then write the weights and the spec; nothing on any error."""
    from specc.commands.common import print_diagnostics, write_atomically
    from specc.diagnostics import SpeccError
    from specc.importers import import_model
    from specc.weights import save_weights

    weights_path = args.weights or str(Path(args.output).with_suffix(".npz"))
    if Path(weights_path).resolve() == Path(args.output).resolve():
        print(f"{args.output}: error: the spec and the weights would be one file", file=sys.stderr)
        return EXIT_USAGE
    try:
        result = import_model(args.source, args.name, spec_file=args.output)
    except SpeccError as exc:
        print_diagnostics(exc.diagnostics, {})
        return exit_status(exc.diagnostics)
    try:
        save_weights(weights_path, result.weights)
    except OSError as exc:
        return cannot_write(weights_path, exc)
    try:
        write_atomically(args.output, result.text)
    except OSError as exc:
        Path(weights_path).unlink(missing_ok=True)
        return cannot_write(args.output, exc)
    model = result.model
    count = sum(int(a.size) for a in result.weights.values())
    print(
        f"wrote {args.output}: model {model.name}, {len(model.layers)} layers, "
        f"{model.total('params'):,} parameters; {weights_path}: {len(result.weights)} arrays, "
        f"{count:,} values"
    )
    return EXIT_OK
