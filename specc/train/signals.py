"""Ctrl-C and SIGTERM held back while an epoch's checkpoint and history are written.

A run interrupted between the two would leave a checkpoint after epoch N beside
a history of N - 1 epochs. Inside :func:`signals_held` a signal is only noted;
when the block ends, the handler that was in place acts on it (Ctrl-C raises
``KeyboardInterrupt``, the CLI's SIGTERM handler raises ``Terminated``).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def signals_held(*signums: signal.Signals) -> Iterator[None]:
    """Defer ``signums`` until the block ends; then deliver the first that came, once."""
    if threading.current_thread() is not threading.main_thread():
        yield  # handlers can be set only from the main thread, where signals arrive
        return
    caught: list[int] = []

    def note(signum: int, frame: object) -> None:
        caught.append(signum)

    previous = {signum: signal.signal(signum, note) for signum in signums}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if caught:
            first = caught[0]
            handler = previous[first]
            if callable(handler):
                handler(first, None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(first)
