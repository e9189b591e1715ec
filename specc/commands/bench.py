"""``specc bench FILE``: every available backend and Keras ``predict``, side by side.

Throughput is timed in interleaved rounds (see :mod:`specc.runtime.measure`);
peak memory is measured in a fresh process per backend. A backend that cannot
run here (not installed, no GPU) is listed with the reason instead of numbers.
"""

from __future__ import annotations

import argparse
import sys

from specc.commands.common import UsageError, add_weights_arg, positive_int
from specc.commands.progress import Steps, framework_logs_hidden
from specc.commands.skeleton import Job, add_spec_args, run_spec

CANDIDATES = ("numpy", "tensorflow", "onnxruntime", "keras")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 600:
        raise argparse.ArgumentTypeError(f"expected seconds in (0, 600], got {text!r}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``bench`` parser."""
    p = sub.add_parser("bench", help="throughput and memory of each backend and Keras predict")
    add_spec_args(p)
    p.add_argument("--batch-size", type=positive_int, default=256, metavar="N")
    p.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    p.add_argument(
        "--backends",
        default=",".join(CANDIDATES),
        help=f"comma-separated subset of {','.join(CANDIDATES)} (default: all)",
    )
    add_weights_arg(p)
    p.add_argument("--seconds", type=_seconds, default=3.0, help="timing per backend (about)")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory processes")
    p.add_argument("--format", choices=("text", "json"), default="text")


def run(args: argparse.Namespace) -> int:
    """Measure, then print a table (or JSON)."""
    return run_spec(args, _bench)


def _bench(job: Job) -> None:
    import json

    import numpy as np

    from specc.diagnostics import SpeccError
    from specc.runtime.measure import Measurement, build, peak_memory, throughput

    args, model = job.args, job.model
    names = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = sorted(set(names) - set(CANDIDATES))
    if unknown or not names:
        raise UsageError(
            f"unknown backend(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(CANDIDATES)}"
        )
    weights = job.weights()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.batch_size, *(model.input.output_shape or ()))).astype(np.float32)
    results = {name: Measurement(name, args.device, args.batch_size) for name in names}
    executors = {}
    memory_runs = 0 if args.no_memory else len(names)
    with (
        framework_logs_hidden() as terminal,
        Steps(terminal, len(names) + 1 + memory_runs, "specc bench") as steps,
    ):
        for name in names:
            steps.start(f"preparing {name}")
            try:
                executors[name] = build(model, weights, name, args.device)
            except SpeccError as exc:
                results[name].error = exc.diagnostics[0].message
            except ImportError as exc:
                results[name].error = f"not installed ({exc.name or exc})"
        total = args.seconds * len(executors)
        steps.start(f"timing {', '.join(executors) or 'nothing'} for at least {total:g} s")
        seconds = throughput(executors, x, min_seconds=total) if executors else {}
        flops = 2 * model.total("macs") * args.batch_size
        for name, t in seconds.items():
            m = results[name]
            m.seconds_per_batch = t
            m.images_per_s = args.batch_size / t
            m.gflops = flops / t / 1e9
        best = max((m.images_per_s or 0.0 for m in results.values()), default=0.0)
        for name, m in results.items():
            if m.images_per_s:
                m.ratio = m.images_per_s / best
            if memory_runs:
                steps.start(f"peak memory of {name}, in a fresh process")
                if m.error is None:
                    m.peak_mb = peak_memory(
                        args.file, model.name, name, args.device, args.batch_size, args.weights
                    )
    from specc.runtime.threads import blas_core, blas_note

    numpy_on_cpu = "numpy" in executors and args.device == "cpu"
    note = blas_note() if numpy_on_cpu else None
    numpy_backend = executors.get("numpy")
    compiled_note = _compiled_note(numpy_backend) if numpy_on_cpu else None
    if args.format == "json":
        data = {
            "model": model.name,
            "macs": model.total("macs"),
            "batch_size": args.batch_size,
            "device": args.device,
            "results": [m.to_json() for m in results.values()],
        }
        if numpy_on_cpu:
            data["blas"] = {"core": blas_core(), "note": note}
            used = getattr(numpy_backend, "compiled", None) is not None
            data["compiled_kernels"] = {"used": used, "note": compiled_note}
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    _table(model, results, args)
    for line in (note, compiled_note):
        if line:
            print(f"note: {line}")


def _compiled_note(backend: object) -> str | None:
    """A hint when the numpy backend runs its depthwise convolutions without numba."""
    if not getattr(backend, "wants_compiled", False) or getattr(backend, "compiled", None):
        return None
    return (
        "the numpy backend runs this model's depthwise convolutions on NumPy alone; "
        "pip install 'specc[fast]' (numba) compiles them (unless SPECC_NUMBA=0)"
    )


def _table(model, results, args: argparse.Namespace) -> None:
    from rich.table import Table

    from specc.commands.common import wide_console

    def num(value: float | None, fmt: str) -> str:
        return "-" if value is None else format(value, fmt)

    table = Table(
        title=f"{model.name}: batch {args.batch_size}, {args.device}, "
        f"{model.total('macs'):,} MACs per image"
    )
    for column in ("backend", "images/s", "GFLOP/s", "ms/batch", "peak MiB", "vs fastest"):
        table.add_column(column, justify="left" if column == "backend" else "right")
    for name, m in results.items():
        if m.error:
            table.add_row(name, f"[dim]unavailable: {m.error}[/dim]", "", "", "", "")
            continue
        table.add_row(
            name,
            num(m.images_per_s, ",.0f"),
            num(m.gflops, ".1f"),
            num(None if m.seconds_per_batch is None else m.seconds_per_batch * 1e3, ".1f"),
            num(m.peak_mb, ".0f"),
            num(m.ratio, ".2f") + "x" if m.ratio else "-",
        )
    wide_console().print(table)
