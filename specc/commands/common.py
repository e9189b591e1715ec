"""What every command that reads a spec shares: reading, reporting, exit codes, writing."""

from __future__ import annotations

import argparse
import sys

from specc.check import CheckResult, check_source
from specc.diagnostics import Diagnostic, Span, SpeccError, printable, render_text
from specc.io import FileTooLargeError, read_text
from specc.io import write_atomically as write_atomically  # moved to specc.io; re-exported
from specc.ir.graph import Model

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2


def read_spec(path: str) -> tuple[str | None, Diagnostic | None]:
    """The text of ``path`` (``-`` is standard input), or an E100 diagnostic."""
    from specc.syntax.parse import MAX_FILE_BYTES

    span = Span(path, 1, 1, 1, 2)
    try:
        if path == "-":
            text = sys.stdin.read(MAX_FILE_BYTES + 1)
        else:
            text = read_text(path, MAX_FILE_BYTES)
    except FileTooLargeError as exc:
        return None, Diagnostic("E100", str(exc.strerror), span)
    except FileNotFoundError:
        return None, Diagnostic("E100", "no such file", span)
    except IsADirectoryError:
        return None, Diagnostic("E100", "is a directory, not a .cnn file", span)
    except UnicodeDecodeError as exc:
        return None, Diagnostic("E100", f"file is not UTF-8 text ({exc.reason})", span)
    except OSError as exc:
        return None, Diagnostic("E100", f"cannot read file: {exc.strerror}", span)
    return text, None


def add_model_arg(parser: argparse.ArgumentParser) -> None:
    """``--model NAME``: pick a model where a file holds several."""
    parser.add_argument(
        "--model", metavar="NAME", help="the model to use when the file has several"
    )


def load_model(args: argparse.Namespace, strict: bool = False) -> tuple[Model | None, int]:
    """Read and check ``args.file``; print diagnostics; return the chosen model or an exit code.

    Commands that produce something (keras, onnx, run, ...) refuse a spec with
    errors: nothing is written, exit 1 (2 for an unreadable file or bad --model).
    """
    text, problem = read_spec(args.file)
    if problem is not None:
        print_diagnostics([problem], {})
        return None, EXIT_USAGE
    result = check_source(text or "", args.file)
    if result.diagnostics:
        print_diagnostics(result.diagnostics, {args.file: text or ""}, stream=sys.stderr)
    if result.errors or (strict and result.warnings):
        return None, EXIT_ERRORS
    return pick_model(result, getattr(args, "model", None))


def pick_model(result: CheckResult, name: str | None) -> tuple[Model | None, int]:
    """The model named ``name`` (or the first); a usage error when it does not exist."""
    names = [m.name for m in result.models]
    if not names:
        print(f"{printable(result.file)}: error: the file defines no model", file=sys.stderr)
        return None, EXIT_ERRORS
    if name is None:
        return result.models[0], EXIT_OK
    if name not in names:
        print(
            printable(f"{result.file}: error: no model named '{name}'; the file has ")
            + ", ".join(names),
            file=sys.stderr,
        )
        return None, EXIT_USAGE
    return result.model(name), EXIT_OK


def print_diagnostics(diagnostics: list[Diagnostic], sources: dict[str, str], stream=None) -> None:
    """Diagnostics as compiler-style text."""
    (stream or sys.stderr).write(render_text(diagnostics, sources))


def report_late(path: str, exc: SpeccError) -> None:
    """Print diagnostics found after the check (weights, inputs, emitters), with the spec's text."""
    text, _ = read_spec(path) if path != "-" else (None, None)
    print_diagnostics(exc.diagnostics, {path: text} if text else {})


def cannot_write(path: str, exc: OSError) -> int:
    """Report an output file that cannot be written (E615); the exit status for it."""
    reason = exc.strerror or str(exc)
    print_diagnostics([Diagnostic("E615", f"cannot write: {reason}", Span(path, 1, 1, 1, 2))], {})
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
