"""What every command shares: exit status, reading, reporting, writing, option types.

The run of a command that reads one spec is :func:`specc.commands.skeleton.run_spec`.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from specc.diagnostics import Diagnostic, Span, render_text

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2


def exit_class(code: str) -> int:
    """The exit status a diagnostic code gives when it is an error.

    1: something in the spec is wrong (E1xx but E100, E2xx, E3xx: syntax,
    shapes, a failed ``expect``, a budget). 2: the spec may be fine, but the
    command cannot do what it was asked: a file named on the command line that
    cannot be read or used (E100 the spec itself, E5xx the weights, E60x the
    input), or a target, backend or device that cannot do it (E605).
    """
    if code == "E100" or code.startswith(("E5", "E6")):
        return EXIT_USAGE
    return EXIT_ERRORS


def exit_status(diagnostics: Iterable[Diagnostic], strict: bool = False) -> int:
    """The exit status of a command that found ``diagnostics``: the worst one decides.

    Errors give their code's :func:`exit_class`; warnings give 0, or 1 with ``strict``.
    """
    status = EXIT_OK
    for d in diagnostics:
        if d.severity == "error":
            status = max(status, exit_class(d.code))
        elif strict:
            status = max(status, EXIT_ERRORS)
    return status


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
            size = os.path.getsize(path)
            if size > MAX_FILE_BYTES:
                return None, Diagnostic(
                    "E100", f"file is {size:,} bytes, over the limit of {MAX_FILE_BYTES:,}", span
                )
            text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, Diagnostic("E100", "no such file", span)
    except IsADirectoryError:
        return None, Diagnostic("E100", "is a directory, not a .cnn file", span)
    except UnicodeDecodeError as exc:
        return None, Diagnostic("E100", f"file is not UTF-8 text ({exc.reason})", span)
    except OSError as exc:
        return None, Diagnostic("E100", f"cannot read file: {exc.strerror}", span)
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


def _mode_for(target: Path) -> int:
    """The target's own mode when it exists (fmt rewrites in place), else 0666 less the umask."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_atomically(path: str, data: bytes | str) -> None:
    """Write ``path`` whole or not at all: a temporary file renamed into place."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, mode, **({} if isinstance(data, bytes) else {"encoding": "utf-8"})) as f:
            f.write(data)
        os.chmod(tmp, _mode_for(target))  # mkstemp makes 0600
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
