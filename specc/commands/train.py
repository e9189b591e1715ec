"""``specc train FILE --data TRAIN -o W.npz``: the spec's compile and fit, on Keras.

Exit status 0; 1 when the spec has errors or no ``compile``; 2 for data, a
backend, devices or a checkpoint that cannot be used (E60x, E70x), in which
case nothing is written; 130 when interrupted (Ctrl-C), with the checkpoint
of the last complete epoch left whole.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys

from specc.codes import E805
from specc.commands.common import (
    EXIT_ERRORS,
    EXIT_OK,
    EXIT_USAGE,
    add_model_arg,
    non_negative_int,
    positive_int,
)

EXIT_INTERRUPTED = 130


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``train`` parser."""
    from specc.train.backend import BACKENDS

    p = sub.add_parser("train", help="train the model with its compile/fit settings (Keras)")
    p.add_argument("file", metavar="FILE")
    p.add_argument(
        "--data",
        required=True,
        metavar="TRAIN",
        help=".npz (x/y or x_train/y_train) or class folders",
    )
    p.add_argument("-o", "--output", required=True, metavar="W.npz", help="the trained weights")
    p.add_argument(
        "--validation", metavar="VAL", help=".npz (x/y or x_test/y_test) or class folders"
    )
    p.add_argument("--epochs", type=positive_int, metavar="N", help="overrides fit epochs")
    p.add_argument("--batch-size", type=positive_int, metavar="N", help="overrides fit batch_size")
    p.add_argument(
        "--seed", type=non_negative_int, metavar="S", help="initial weights, shuffling (0)"
    )
    p.add_argument("-w", "--weights", metavar="W0.npz", help="start from these weights")
    p.add_argument("--backend", choices=BACKENDS, help="Keras backend (default: KERAS_BACKEND)")
    p.add_argument("--distribute", action="store_true", help="data-parallel over every device")
    p.add_argument(
        "--cpu-devices", type=positive_int, metavar="N", help="split the CPU into N devices"
    )
    p.add_argument("--coordinator", metavar="HOST:PORT", help="process 0's address (JAX)")
    p.add_argument("--num-processes", type=positive_int, metavar="N", help="processes in all")
    p.add_argument("--process-id", type=non_negative_int, metavar="I", help="this process")
    p.add_argument("--checkpoint-dir", metavar="DIR", help="default: W.checkpoint beside -o")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    p.add_argument("--history", metavar="H.csv", help="history per epoch (.csv, or .json)")
    p.add_argument("--plot", metavar="H.png", help="loss and metrics per epoch (matplotlib)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    add_model_arg(p)


def run(args: argparse.Namespace) -> int:
    """Check, train, write; see the module docstring for the exit status."""
    from specc.commands.common import load_model, report_late
    from specc.diagnostics import SpeccError
    from specc.train.backend import Cluster
    from specc.train.session import Request, default_checkpoint_dir, prepare

    model, status = load_model(args)
    if model is None:
        return status
    problem = _unusable_outputs(args)
    if problem:
        print(f"{args.file}: error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    request = Request(
        model=model,
        source=args.file,
        data=args.data,
        checkpoint_dir=args.checkpoint_dir or default_checkpoint_dir(args.output),
        validation=args.validation,
        epochs=args.epochs,
        batch_size=args.batch_size,
        seed=args.seed,
        backend=args.backend,
        distribute=args.distribute,
        cpu_devices=args.cpu_devices,
        cluster=Cluster(args.coordinator, args.num_processes, args.process_id),
        resume=args.resume,
        initial_weights=args.weights,
    )
    # Keras's progress bar (and Gloo, from C++) print on stdout; JSON keeps stdout for the result.
    quiet = _stdout_to_stderr() if args.format == "json" else contextlib.nullcontext()
    with quiet:
        try:
            session = prepare(request)
        except SpeccError as exc:
            report_late(args.file, exc)
            return EXIT_ERRORS if exc.diagnostics[0].code == E805 else EXIT_USAGE
        try:
            status, rows, outputs = _train(session, args)
        finally:
            session.close()
    if status == EXIT_OK and session.topology.chief:
        _report(session, rows, outputs, args.format)
    return status


def _unusable_outputs(args: argparse.Namespace) -> str | None:
    """What would make the run fail only at its end, said before it starts."""
    import importlib.util

    for path in (args.output, args.history, args.plot):
        if path and os.path.isdir(path):
            return f"{path} is a directory; expected a file to write"
    if args.plot and importlib.util.find_spec("matplotlib") is None:
        return "--plot needs matplotlib: pip install 'specc[train]'"
    return None


@contextlib.contextmanager
def _stdout_to_stderr():
    """Send what is printed on stdout, by Python or by C++ libraries, to stderr meanwhile."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _train(session, args: argparse.Namespace) -> tuple[int, list, dict[str, str]]:
    """Run the epochs and write the outputs; the exit status, the history, what was written."""
    from specc.commands.common import cannot_write, report_late, write_atomically
    from specc.diagnostics import SpeccError
    from specc.train.checkpoint import checkpoint_path
    from specc.train.history import history_text
    from specc.train.session import keras_failed
    from specc.weights import weights_bytes

    chief = session.topology.chief
    if chief:
        for note in session.notes:
            print(f"note: {note}", file=sys.stderr)
        print(_header(session))

    def after_epoch(epoch: int, rows) -> None:
        if chief and args.history:
            write_atomically(args.history, history_text(rows, args.history))

    try:
        rows = session.epochs(after_epoch)
    except KeyboardInterrupt:
        if chief:
            _interrupted(session)
        return EXIT_INTERRUPTED, [], {}
    except OSError as exc:
        return cannot_write(exc.filename or session.request.checkpoint_dir, exc), [], {}
    except Exception as exc:  # Keras's own refusals come as many types
        report_late(args.file, keras_failed(session.request.model, exc))
        return EXIT_USAGE, [], {}
    try:
        weights = session.weights()
    except SpeccError as exc:
        report_late(args.file, exc)
        return EXIT_ERRORS, [], {}
    if not chief:
        return EXIT_OK, rows, {}
    checkpoint = str(checkpoint_path(session.request.checkpoint_dir))
    outputs = {"weights": args.output, "checkpoint": checkpoint}
    try:
        write_atomically(args.output, weights_bytes(weights))
        if args.plot:
            from specc.viz.curves import plot_history

            title = f"{session.request.model.name} training"
            write_atomically(args.plot, plot_history(rows, title))
            outputs["plot"] = args.plot
    except OSError as exc:
        return cannot_write(exc.filename or args.output, exc), [], {}
    if args.history:
        outputs["history"] = args.history
    return EXIT_OK, rows, outputs


def _header(session) -> str:
    from specc.train.data import describe

    topology = session.topology
    where = f"{topology.backend}, {topology.devices} device(s)"
    if topology.num_processes > 1:
        where += f" in {topology.num_processes} processes"
    validation = f", validating on {len(session.validation):,}" if session.validation else ""
    resumed = f", resuming after epoch {len(session.rows)}" if session.rows else ""
    schedule = session.schedule
    return (
        f"{session.request.model.name}: {schedule.epochs} epoch(s) on {describe(session.train)}"
        f"{validation}, batch size {schedule.batch_size}, seed {schedule.seed} ({where}){resumed}"
    )


def _interrupted(session) -> None:
    from specc.train.checkpoint import checkpoint_path, read_checkpoint

    request = session.request
    last = read_checkpoint(request.checkpoint_dir, request.model.name)
    if last is None:
        print("interrupted before the first epoch ended: no checkpoint", file=sys.stderr)
        return
    path = checkpoint_path(request.checkpoint_dir)
    print(
        f"interrupted: the checkpoint after epoch {last.epoch} is {path}; continue with --resume",
        file=sys.stderr,
    )


def _report(session, rows, outputs: dict[str, str], fmt: str) -> None:
    from specc.train.history import history_dict

    final = rows[-1] if rows else {}
    topology = session.topology
    if fmt == "json":
        data = {
            "model": session.request.model.name,
            "backend": topology.backend,
            "devices": topology.devices,
            "processes": topology.num_processes,
            "samples": len(session.train),
            "validation_samples": len(session.validation) if session.validation else 0,
            "epochs": len(rows),
            "seconds": round(session.seconds, 3),
            "epoch_seconds": [round(t, 4) for t in session.epoch_seconds],
            "final": final,
            "history": history_dict(rows),
            "files": outputs,
        }
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    logs = " - ".join(f"{k}: {v:.4f}" for k, v in final.items())
    ran = len(rows) - session.first_epoch
    print(f"trained {ran} epoch(s) in {session.seconds:.1f} s; epoch {len(rows)}: {logs}")
    print("wrote " + ", ".join(outputs.values()))
