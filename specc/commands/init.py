"""``specc init FILE -o W.npz [--seed S]``: weights drawn from each layer's initializers."""

from __future__ import annotations

import argparse
import sys

from specc.commands.common import non_negative_int
from specc.commands.skeleton import Job, add_spec_args, run_spec


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``init`` parser."""
    p = sub.add_parser("init", help="weights (.npz) drawn from each layer's initializers")
    add_spec_args(p)
    p.add_argument("-o", "--output", required=True, metavar="W.npz", help="the weights file")
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default 0)")


def run(args: argparse.Namespace) -> int:
    """Check the spec, draw its weights, write them atomically."""
    return run_spec(args, _init)


def _init(job: Job) -> None:
    from specc.io import is_stdout
    from specc.weights import init_weights, save_weights

    weights = init_weights(job.model, seed=job.args.seed)
    with job.writing(job.args.output):
        save_weights(job.args.output, weights)
    count = sum(int(a.size) for a in weights.values())
    report = sys.stderr if is_stdout(job.args.output) else sys.stdout
    print(
        f"wrote {job.args.output}: {len(weights)} arrays, {count:,} parameters "
        f"(seed {job.args.seed})",
        file=report,
    )
