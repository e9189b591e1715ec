"""What every command shares: exit status, reading, reporting, writing, option types.

The run of a command that reads one spec is :func:`specc.commands.skeleton.run_spec`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

from specc.codes import E100, E615, exit_class
from specc.diagnostics import Diagnostic, Span, SpeccError, printable, render_text
from specc.io import FileTooLargeError, read_text
from specc.io import write_atomically as write_atomically  # moved to specc.io; re-exported

if TYPE_CHECKING:
    from specc.ir.graph import Model

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2


def exit_status(diagnostics: Iterable[Diagnostic], strict: bool = False) -> int:
    """The exit status of a command that found ``diagnostics``: the worst one decides.

    Errors give their code's exit class from the registry (:func:`specc.codes.exit_class`:
    1 the spec is at fault, 2 something outside it is); warnings count only with
    ``strict``, with their class (1).
    """
    return exit_class([d.code for d in diagnostics if strict or d.severity == "error"])


class UsageError(Exception):
    """Bad usage found after argparse (an option out of range, no such model): exit 2.

    The message is one sentence; :func:`specc.commands.skeleton.run_spec` prints it as
    ``WHERE: error: MESSAGE`` (``WHERE`` defaults to ``specc COMMAND``).
    """

    def __init__(self, message: str, where: str | None = None) -> None:
        super().__init__(message)
        self.where = where


def read_spec(path: str) -> tuple[str | None, Diagnostic | None]:
    """The text of ``path`` (``-`` is standard input), or an E100 diagnostic."""
    from specc.syntax import MAX_FILE_BYTES

    span = Span(path, 1, 1, 1, 2)
    try:
        if path == "-":
            text = sys.stdin.read(MAX_FILE_BYTES + 1)
        else:
            text = read_text(path, MAX_FILE_BYTES)
    except FileTooLargeError as exc:
        return None, Diagnostic(E100, str(exc.strerror), span)
    except FileNotFoundError:
        return None, Diagnostic(E100, "no such file", span)
    except IsADirectoryError:
        return None, Diagnostic(E100, "is a directory, not a .cnn file", span)
    except UnicodeDecodeError as exc:
        return None, Diagnostic(E100, f"file is not UTF-8 text ({exc.reason})", span)
    except OSError as exc:
        return None, Diagnostic(E100, f"cannot read file: {exc.strerror}", span)
    return text, None


def print_diagnostics(diagnostics: list[Diagnostic], sources: dict[str, str], stream=None) -> None:
    """Diagnostics as compiler-style text (on stderr unless ``stream``)."""
    (stream or sys.stderr).write(render_text(diagnostics, sources))


def add_model_arg(parser: argparse.ArgumentParser) -> None:
    """``--model NAME``: pick a model where a file holds several."""
    parser.add_argument(
        "--model", metavar="NAME", help="the model to use when the file has several"
    )


def add_weights_arg(parser: argparse.ArgumentParser, default: str = "init, seed 0") -> None:
    """``-w/--weights W.npz``: the same option on every command that reads weights."""
    parser.add_argument(
        "-w", "--weights", metavar="W.npz", help=f"weights (.npz; default: {default})"
    )


def wide_console(stderr: bool = False):
    """A rich console on which a table takes the width it needs: never cut to
    the terminal's width, nor to 80 columns when the output is a pipe or a file."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False, width=100_000, stderr=stderr)


def load_model(args: argparse.Namespace, strict: bool = False) -> tuple[Model | None, int]:
    """Read and check ``args.file`` as :func:`~specc.commands.skeleton.run_spec` does
    (E100, E114, one model or ``--model``); print diagnostics; the model or an exit status.

    For commands whose body is not a :class:`~specc.commands.skeleton.Job` yet
    (diagram, featuremaps, filters, weights import): nothing is written for a spec
    with errors.
    """
    from specc.commands.skeleton import check_file, pick_models

    result = check_file(args.file)
    if result.diagnostics:
        print_diagnostics(result.diagnostics, {args.file: result.source})
    status = exit_status(result.diagnostics, strict)
    if status:
        return None, status
    try:
        return pick_models(result, getattr(args, "model", None), every_model=False)[0], EXIT_OK
    except UsageError as exc:
        print(printable(f"{exc.where}: error: {exc}"), file=sys.stderr)
        return None, EXIT_USAGE


def report_late(path: str, exc: SpeccError) -> int:
    """Print diagnostics found after the check (weights, inputs, emitters), with the
    spec's text; their exit status (:func:`exit_status`)."""
    text, _ = read_spec(path) if path != "-" else (None, None)
    print_diagnostics(exc.diagnostics, {path: text} if text else {})
    return exit_status(exc.diagnostics)


def cannot_write_diagnostic(path: str, exc: OSError) -> Diagnostic:
    """E615 for an output file that cannot be written, located at the file."""
    reason = exc.strerror or str(exc)
    return Diagnostic(E615, f"cannot write: {reason}", Span(path, 1, 1, 1, 2))


def cannot_write(path: str, exc: OSError) -> int:
    """Report an output file that cannot be written (E615); the exit status for it."""
    print_diagnostics([cannot_write_diagnostic(path, exc)], {})
    return EXIT_USAGE


def name_list(text: str) -> list[str]:
    """argparse type: ``a,b, c`` -> ``["a", "b", "c"]`` (--taps, --layers)."""
    return [name.strip() for name in text.split(",") if name.strip()]


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1."""
    return _whole(text, 1)


def non_negative_int(text: str) -> int:
    """argparse type: a whole number >= 0 (seeds)."""
    return _whole(text, 0)


def _whole(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        kind = "a positive integer" if minimum == 1 else "a non-negative integer"
        raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}")
    return value


def parse_count(text: str) -> int:
    """``1.5M`` -> 1500000 for --max-params and --max-macs (argparse type)."""
    from specc.syntax.parse import parse

    try:
        statements = parse(f"x {text}\n")
        value = statements[0].items[0].value  # type: ignore[union-attr]
        number = getattr(value, "value", None)
    except Exception:  # any parse failure is the same usage error
        number = None
    if not isinstance(number, int) or isinstance(number, bool) or number < 0:
        raise argparse.ArgumentTypeError(f"expected a count such as 250000 or 1.5M, got {text!r}")
    return number
