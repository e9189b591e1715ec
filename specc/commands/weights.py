"""``specc weights import WEIGHTS.h5 SPEC -o W.npz``: Keras weights onto an existing spec.

The weights file is a Keras ``.weights.h5`` (``model.save_weights``) or a
full-model ``.h5``; its arrays are matched to the spec's layers by name and
written as specc's ``.npz``. Every missing, extra or misshapen array is
reported at the spec's layer, and nothing is written.
"""

from __future__ import annotations

import argparse

from specc.codes import E701
from specc.commands.common import (
    EXIT_OK,
    add_model_arg,
    cannot_write,
    exit_status,
    load_model,
    report_late,
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``weights`` parser and its ``import`` subcommand."""
    p = sub.add_parser("weights", help="convert weights files for a spec")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    imp = actions.add_parser(
        "import", help="a Keras .weights.h5 onto a spec, by layer name, as specc's .npz"
    )
    imp.add_argument("weights_file", metavar="WEIGHTS.h5")
    imp.add_argument("file", metavar="SPEC")
    imp.add_argument("-o", "--output", required=True, metavar="W.npz", help="the weights to write")
    add_model_arg(imp)


def run(args: argparse.Namespace) -> int:
    """Check the spec, match the file's arrays to its layers, write them."""
    from specc.commands.common import print_diagnostics
    from specc.diagnostics import SpeccError
    from specc.importers.keras_weights import weights_for_spec
    from specc.weights import save_weights

    model, status = load_model(args)
    if model is None:
        return status
    try:
        arrays = weights_for_spec(args.weights_file, model)
    except SpeccError as exc:
        if all(d.code == E701 for d in exc.diagnostics):  # the weights file, not the spec
            print_diagnostics(exc.diagnostics, {})
            return exit_status(exc.diagnostics)
        return report_late(args.file, exc)
    try:
        save_weights(args.output, arrays)
    except OSError as exc:
        return cannot_write(args.output, exc)
    count = sum(int(a.size) for a in arrays.values())
    print(f"wrote {args.output}: {len(arrays)} arrays, {count:,} parameters")
    return EXIT_OK
