"""``specc keras FILE [-o OUT.py] [--model NAME]``: a standalone Keras 3 module."""

from __future__ import annotations

import argparse
import sys

from specc.commands.common import (
    EXIT_ERRORS,
    EXIT_OK,
    add_model_arg,
    cannot_write,
    load_model,
    report_late,
    write_atomically,
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``keras`` parser."""
    p = sub.add_parser("keras", help="write the model as a standalone Keras 3 Python module")
    p.add_argument("file", metavar="FILE")
    p.add_argument("-o", "--output", metavar="OUT.py", help="write here (default: stdout)")
    add_model_arg(p)


def run(args: argparse.Namespace) -> int:
    """Emit the chosen model; refuse a spec with errors (exit 1, nothing written)."""
    from specc.diagnostics import SpeccError
    from specc.emit.keras import emit_keras

    model, status = load_model(args)
    if model is None:
        return status
    try:
        source = emit_keras(model, args.file)
    except SpeccError as exc:
        report_late(args.file, exc)
        return EXIT_ERRORS
    if args.output is None:
        sys.stdout.write(source)
        return EXIT_OK
    try:
        write_atomically(args.output, source)
    except OSError as exc:
        return cannot_write(args.output, exc)
    return EXIT_OK
