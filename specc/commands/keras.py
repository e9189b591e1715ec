"""``specc keras FILE [-o OUT.py] [--model NAME]``: a standalone Keras 3 module."""

from __future__ import annotations

import argparse
import sys

from specc.commands.skeleton import Job, add_spec_args, run_spec


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``keras`` parser."""
    p = sub.add_parser("keras", help="write the model as a standalone Keras 3 Python module")
    add_spec_args(p)
    p.add_argument("-o", "--output", metavar="OUT.py", help="write here (default: stdout)")


def run(args: argparse.Namespace) -> int:
    """Emit the chosen model; refuse a spec with errors (exit 1, nothing written)."""
    return run_spec(args, _emit)


def _emit(job: Job) -> None:
    from specc.emit.keras import emit_keras

    source = emit_keras(job.model, job.file)
    if job.args.output is None:
        sys.stdout.write(source)
    else:
        job.write(job.args.output, source)
