"""The one run of every command that reads a spec: read, check, pick the model, do, exit.

A command module is its parser and a body that gets a :class:`Job`::

    def register(sub):
        p = sub.add_parser("keras", help="...")
        add_spec_args(p)        # FILE and --model
        add_weights_arg(p)      # -w/--weights, on every command that reads weights
        p.add_argument("-o", "--output")

    def run(args):
        return run_spec(args, _emit)

    def _emit(job: Job) -> None:
        source = emit_keras(job.model, job.file)   # a SpeccError is reported for you
        job.write(job.args.output, source)          # all of it or nothing

What :func:`run_spec` does, the same for every command:

- reads and checks ``args.file``; an unreadable file is E100, a file without a
  model E114 (:func:`check_file`); the check's diagnostics go to stderr as text;
- refuses a spec with errors before the body runs (nothing written);
- picks ``--model``; several models without ``--model`` is a usage error that
  lists them (``every_model=True`` gives the body all of them instead);
- runs the body; a :class:`SpeccError` it raises (weights E5xx, inputs E60x, a
  target's E607, an output that cannot be written E615) is printed with the
  spec's lines where it points at the spec, and a :class:`UsageError` is one
  ``error:`` line;
- returns the exit status of every diagnostic's code (:func:`exit_status`), or
  the body's own status when that is worse.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from specc.codes import E114
from specc.commands.common import (
    EXIT_USAGE,
    UsageError,
    add_model_arg,
    cannot_write_diagnostic,
    exit_status,
    print_diagnostics,
    read_spec,
    write_atomically,
)
from specc.diagnostics import Diagnostic, Span, SpeccError, cap_repeated, printable

if TYPE_CHECKING:
    import numpy as np

    from specc.check import CheckResult
    from specc.ir.graph import Model


def add_spec_args(parser: argparse.ArgumentParser) -> None:
    """``FILE`` (a ``.cnn`` spec, ``-`` for stdin) and ``--model NAME``."""
    parser.add_argument("file", metavar="FILE", help="the .cnn spec ('-' for stdin)")
    add_model_arg(parser)


def check_file(
    path: str, max_params: int | None = None, max_macs: int | None = None
) -> CheckResult:
    """Read and check one spec: its models and every diagnostic (E100, E114 included)."""
    text, problem = read_spec(path)
    if problem is not None:
        from specc.check import CheckResult

        return CheckResult(path, "", diagnostics=[problem])
    return check_text(path, text or "", max_params, max_macs)


def check_text(
    path: str, text: str, max_params: int | None = None, max_macs: int | None = None
) -> CheckResult:
    """Check the text of the spec at ``path``; E114 when it defines no model."""
    from specc.check import check_source

    result = check_source(text, path, max_params, max_macs)
    if not result.models and not result.errors:
        result.diagnostics.append(
            Diagnostic(
                E114,
                "the file defines no model",
                Span(path, 1, 1, 1, 2),
                "a spec needs a `model NAME { input HxWxC ... }`",
            )
        )
    return result


@dataclass
class Job:
    """What a command's body works with: its arguments, the checked spec, the chosen model(s)."""

    args: argparse.Namespace
    result: CheckResult
    models: list[Model]
    other_files: set[str] = field(default_factory=set)
    """Files other than the spec that the body read (weights, inputs): their
    diagnostics never show the spec's lines, even where a path is the spec's own."""

    @property
    def file(self) -> str:
        """The spec's path as given."""
        return self.result.file

    @property
    def model(self) -> Model:
        """The chosen model (the only one unless ``every_model``)."""
        return self.models[0]

    def reading(self, *paths: str) -> None:
        """Note files the body reads besides the spec (inputs), for reporting."""
        self.other_files.update(paths)

    def weights(self, seed: int | None = None) -> dict[str, np.ndarray]:
        """``-w``'s arrays checked against the model (E501-E505), else drawn as
        ``specc init`` draws them (``--seed``, else 0)."""
        path = getattr(self.args, "weights", None)
        if path:
            from specc.weights import load_weights

            self.reading(path)
            return load_weights(path, self.model)
        from specc.weights import init_weights

        return init_weights(
            self.model, seed=getattr(self.args, "seed", 0) if seed is None else seed
        )

    def write(self, path: str, data: bytes | str) -> None:
        """Write ``path`` whole or not at all; E615 and exit 2 when it cannot be."""
        with self.writing(path):
            write_atomically(path, data)

    @contextlib.contextmanager
    def writing(self, path: str) -> Iterator[None]:
        """Around a writer of its own (ONNX, weights): an OSError is E615, nothing written."""
        try:
            yield
        except OSError as exc:
            self.reading(path)
            raise SpeccError(cannot_write_diagnostic(path, exc)) from None

    def report(self, diagnostics: list[Diagnostic]) -> None:
        """Print diagnostics found by the body, with the spec's lines where they point at it."""
        spec = {self.file: self.result.source} if self.result.source else {}
        for d in cap_repeated(diagnostics):  # one line counts the repeats past the cap
            own = d.span.file == self.file and d.span.file not in self.other_files
            print_diagnostics([d], spec if own else {})


def pick_models(result: CheckResult, name: str | None, every_model: bool) -> list[Model]:
    """``--model``'s model, else all of them (``every_model``) or the only one.

    Raises :class:`UsageError` for a name the file lacks, or for several models
    without ``--model`` where the command needs one.
    """
    names = [m.name for m in result.models]
    if name is not None:
        if name not in names:
            raise UsageError(
                f"no model named '{name}'; the file has {', '.join(names)}", result.file
            )
        return [result.model(name)]
    if len(names) > 1 and not every_model:
        raise UsageError(
            f"the file defines {len(names)} models ({', '.join(names)}); "
            "choose one with --model NAME",
            result.file,
        )
    return list(result.models)


def run_spec(
    args: argparse.Namespace,
    body: Callable[[Job], int | None],
    *,
    every_model: bool = False,
    refuse_errors: bool = True,
    text_diagnostics: bool = True,
) -> int:
    """The skeleton (module docstring): check ``args.file``, run ``body``, return the status.

    ``refuse_errors=False`` runs the body on a spec with errors too (it gets
    the models that exist, maybe none); ``text_diagnostics=False`` leaves the
    check's diagnostics to the body (``summary --format json`` prints them itself).
    """
    result = check_file(args.file)
    if text_diagnostics and result.diagnostics:
        print_diagnostics(result.diagnostics, {args.file: result.source})
    status = exit_status(result.diagnostics)
    if status and refuse_errors:
        return status
    try:
        job = Job(args, result, pick_models(result, getattr(args, "model", None), every_model))
        return max(status, body(job) or 0)
    except SpeccError as exc:
        job.report(exc.diagnostics)
        return max(status, exit_status(exc.diagnostics))
    except UsageError as exc:
        where = exc.where or f"specc {getattr(args, 'command', '')}".strip()
        print(printable(f"{where}: error: {exc}"), file=sys.stderr)
        return EXIT_USAGE
