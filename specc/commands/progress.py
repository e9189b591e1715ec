"""Long commands: progress on stderr, and frameworks' log noise kept off the terminal.

::

    with framework_logs_hidden() as terminal, Steps(terminal, total=3) as steps:
        steps.start("preparing tensorflow")   # a line, or a rich spinner on a terminal
        ...

TensorFlow 2.21 writes its C++ start-up logs ("oneDNN custom operations are
on", "Could not find cuda drivers") straight to file descriptor 2 before its
log level (``TF_CPP_MIN_LOG_LEVEL``) is read, so only moving descriptor 2
keeps them away.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import TextIO


@contextlib.contextmanager
def framework_logs_hidden() -> Iterator[TextIO]:
    """Send everything written to descriptor 2 (C++ logs, absl, Python warnings) to
    a temporary file while the block runs; yield a stream to the real stderr.

    When the block raises, what was hidden is written out, so that a failure
    keeps the framework's own explanation.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    hidden = tempfile.TemporaryFile()
    terminal = os.fdopen(os.dup(saved), "w", encoding="utf-8", errors="replace")
    os.dup2(hidden.fileno(), 2)
    failed = False
    try:
        yield terminal
    except BaseException:
        failed = True
        raise
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        if failed:
            hidden.seek(0)
            terminal.write(hidden.read().decode("utf-8", errors="replace"))
        terminal.close()
        hidden.close()


class Steps:
    """Counted steps of a long command: a rich spinner and bar on a terminal,
    one ``specc: step (i/n)`` line per step otherwise (CI logs, pipes)."""

    def __init__(self, stream: TextIO, total: int, prefix: str = "specc") -> None:
        self.stream, self.total, self.prefix = stream, total, prefix
        self.done = 0
        self.started = time.perf_counter()
        self.bar = None
        if stream.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, Progress, SpinnerColumn, TimeElapsedColumn

            console = Console(file=stream)
            self.bar = Progress(
                SpinnerColumn(), "{task.description}", BarColumn(), "{task.completed}/{task.total}",
                TimeElapsedColumn(), console=console, transient=True,
            )  # fmt: skip
            self.task = self.bar.add_task("", total=total)

    def __enter__(self) -> Steps:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def start(self, what: str) -> None:
        """Begin the next step (the previous one counts as done)."""
        if self.bar is not None:
            self.bar.update(self.task, description=what, completed=self.done)
        else:
            elapsed = time.perf_counter() - self.started
            print(
                f"{self.prefix}: {what} ({self.done + 1}/{self.total}, {elapsed:.0f} s)",
                file=self.stream,
                flush=True,
            )
        self.done += 1
