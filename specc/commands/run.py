"""``specc run FILE --input X``: a forward pass on numpy, tensorflow or onnxruntime.

Exit status 0; 1 when the spec has errors; 2 for an input, weights file or
backend that cannot be used (E5xx, E60x, each located), in which case no
output file is written (:mod:`specc.commands.skeleton`).
"""

from __future__ import annotations

import argparse
import io
from typing import TextIO

from specc.codes import E614
from specc.commands.common import add_weights_arg, name_list, positive_int
from specc.commands.progress import framework_logs_hidden
from specc.commands.skeleton import Job, add_spec_args, run_spec

BACKENDS = ("numpy", "tensorflow", "onnxruntime")
PROGRESS_MIN_SAMPLES = 512  # a progress bar for inputs at least this large (and several chunks)
SHOWN_ROWS = 20  # top-k rows printed per run; the rest go to -o only


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``run`` parser."""
    p = sub.add_parser("run", help="run the model on an input (.npy, .npz or images)")
    add_spec_args(p)
    p.add_argument(
        "--input",
        "-i",
        required=True,
        nargs="+",
        metavar="X",
        help="a .npy/.npz array (one sample or a batch) or image files (PNG, JPEG)",
    )
    add_weights_arg(p)
    p.add_argument("--backend", choices=BACKENDS, default="numpy")
    p.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    p.add_argument("--batch-size", type=positive_int, metavar="N", help="samples per chunk")
    p.add_argument("-o", "--output", metavar="Y.npy", help="write the output array here")
    p.add_argument("--top-k", type=positive_int, default=5, metavar="K", help="classes shown")
    p.add_argument("--resize", action="store_true", help="resize images to the input size")
    p.add_argument(
        "--allow-nan", action="store_true", help="run inputs holding NaN or infinity (else E604)"
    )
    p.add_argument(
        "--taps",
        type=name_list,
        action="extend",
        metavar="NAME[,NAME...]",
        help="write these layers' outputs (numpy backend) to -o TAPS.npz instead of the output",
    )


def run(args: argparse.Namespace) -> int:
    """Check the spec, read weights and input, run the backend, report and write."""
    return run_spec(args, _run)


def _run(job: Job) -> None:
    import numpy as np

    from specc.runtime import auto_batch_size, prepare, run_batches
    from specc.runtime.inputs import read_inputs
    from specc.runtime.validate import check_input

    args, model = job.args, job.model
    weights = job.weights() if args.weights else None
    taps = _taps(model, args)
    job.reading(*args.input)
    raw, span = read_inputs(args.input, model, args.resize)
    batch = check_input(model, raw, span, args.allow_nan)
    size = args.batch_size or auto_batch_size(model)
    with framework_logs_hidden() as terminal:
        with _Progress(batch.shape[0], size, terminal) as progress:
            if taps:
                from specc.runtime.taps import run_with_taps

                output, tapped = run_with_taps(
                    model, weights, batch, taps, size, args.device, progress
                )
            else:
                executor = prepare(model, weights, args.backend, args.device)
                output = run_batches(executor, batch, size, progress)
    if args.output:
        buffer = io.BytesIO()
        if taps:
            from specc.weights import weights_bytes  # an .npz, the same bytes for the same arrays

            buffer.write(weights_bytes(tapped))
        else:
            np.save(buffer, output, allow_pickle=False)
        job.write(args.output, buffer.getvalue())
    _report(model, output, args)


def _taps(model, args: argparse.Namespace) -> list:
    """The nodes --taps names (E611), on the numpy runtime, written to -o X.npz (E614)."""
    from specc.diagnostics import error
    from specc.runtime.taps import find_layers

    if not args.taps:
        return []
    taps = find_layers(model, args.taps, "--taps")
    if args.backend != "numpy":
        raise error(
            E614,
            f"--taps reads the layers' outputs of the numpy runtime, not of {args.backend}",
            model.span,
            "drop --backend, or drop --taps",
        )
    if not args.output or not args.output.lower().endswith(".npz"):
        raise error(
            E614,
            "--taps writes one array per layer and needs -o TAPS.npz",
            model.span,
            f"add -o taps.npz: arrays named {', '.join(n.name for n in taps)}",
        )
    return taps


class _Progress:
    """A rich progress bar on ``stream`` (stderr) for large inputs; a no-op callback otherwise."""

    def __init__(self, total: int, chunk: int, stream: TextIO) -> None:
        self.bar = None
        if total >= PROGRESS_MIN_SAMPLES and total > chunk:
            from rich.console import Console
            from rich.progress import Progress

            self.bar = Progress(console=Console(file=stream), transient=True)

    def __enter__(self):
        if self.bar is None:
            return None
        self.bar.start()
        task = self.bar.add_task("running", total=None)
        return lambda done, total: self.bar.update(task, completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _report(model, output, args: argparse.Namespace) -> None:
    """A top-k table per input for a classifier; shape and statistics otherwise."""
    import numpy as np
    from rich.table import Table

    from specc.commands.common import wide_console
    from specc.io import is_stdout

    console = wide_console(stderr=bool(args.output) and is_stdout(args.output))
    n = output.shape[0]
    where = f" -> {args.output}" if args.output else ""
    console.print(
        f"{model.name}: {n} input(s), output {tuple(output.shape)} "
        f"({args.backend}, {args.device}){where}"
    )
    if output.ndim == 2 and output.shape[1] >= 2:
        k = min(args.top_k, output.shape[1])
        names = _input_names(args.input, n)
        table = Table(title=f"top {k} classes (class: score)", show_lines=False)
        table.add_column("input", no_wrap=True, min_width=min(30, max(map(len, names))))
        for rank in range(1, k + 1):
            table.add_column(f"#{rank}", justify="right", no_wrap=True)
        order = np.argsort(-output, axis=1, kind="stable")[:, :k]
        for i in range(min(n, SHOWN_ROWS)):
            table.add_row(names[i], *(f"{int(j)}: {output[i, j]:.4g}" for j in order[i]))
        console.print(table)
        if n > SHOWN_ROWS:
            console.print(
                f"... {n - SHOWN_ROWS} more row(s){' in ' + args.output if where else ''}"
            )
    else:
        finite = output[np.isfinite(output)]
        stats = (
            f"min {finite.min():.4g}, max {finite.max():.4g}, mean {finite.mean():.4g}"
            if finite.size
            else "no finite values"
        )
        console.print(f"values: {stats}")


def _input_names(paths: list[str], n: int) -> list[str]:
    """Image file names (one per input), else batch indices."""
    from pathlib import Path

    from specc.runtime.inputs import IMAGE_SUFFIXES

    if len(paths) == n and all(Path(p).suffix.lower() in IMAGE_SUFFIXES for p in paths):
        return [Path(p).name for p in paths]
    return [str(i) for i in range(n)]
