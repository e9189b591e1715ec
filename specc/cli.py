"""``specc COMMAND``: the command line; each command lives in ``specc/commands/``."""

from __future__ import annotations

import argparse
import gc
import importlib
import importlib.util
import keyword
import os
import signal
import sys
import threading
from types import FrameType

from specc.commands import COMMANDS


def _modules() -> list[str]:
    return [
        name for name in COMMANDS if importlib.util.find_spec(f"specc.commands.{name}") is not None
    ]


def _module_name(command: str) -> str:
    """The module of ``command``: ``import`` lives in ``import_``."""
    return f"{command}_" if keyword.iskeyword(command) else command


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser with every available command, or with the command ``only``.

    A command line that names its command needs only that command's parser:
    importing the others' modules to register them costs as much as a fresh
    ``specc check`` spends on its own work.
    """
    from specc import __version__

    parser = argparse.ArgumentParser(
        prog="specc",
        description="Compile declarative CNN specs (.cnn) to Keras, ONNX, or run them directly.",
    )
    parser.add_argument("--version", action="version", version=f"specc {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in [_module_name(only)] if only is not None else _modules():
        importlib.import_module(f"specc.commands.{name}").register(sub)
    return parser


def _named_command(argv: list[str]) -> str | None:
    """The command ``argv`` begins with, when it is one that is available; else None."""
    if not argv or argv[0] not in {name.removesuffix("_") for name in COMMANDS}:
        return None
    spec = importlib.util.find_spec(f"specc.commands.{_module_name(argv[0])}")
    return argv[0] if spec is not None else None


class Terminated(KeyboardInterrupt):
    """SIGTERM (what ``timeout`` and CI runners send), raised where the program is.

    As a KeyboardInterrupt it unwinds like Ctrl-C: every ``except BaseException``
    and ``finally`` runs, so no temporary file outlives the process.
    """


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 fine, 1 spec errors, 2 bad usage).

    Interrupted by Ctrl-C: 130; by SIGTERM: 143 (128 + the signal's number).
    Without ``argv`` (the console script, ``python -m specc.cli``) the process
    is taken to end when this returns.
    """
    # Startup cost (benchmarks/bench_check.py): specc validates only its own IR, so
    # pydantic need not scan every installed distribution for plugins; and the
    # imports allocate many objects that live until exit, which the cyclic
    # collector would traverse again and again.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    process = argv is None
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if in_main_thread else None
    try:
        gc.disable()
        try:
            argv = sys.argv[1:] if argv is None else argv
            args = build_parser(_named_command(argv)).parse_args(argv)
            module = importlib.import_module(f"specc.commands.{_module_name(args.command)}")
        finally:
            gc.enable()
        status = module.run(args)
        if process:
            # The process ends here: what the command built lives until exit, and
            # the interpreter's last collection need not traverse all of it.
            gc.freeze()
        return status
    except Terminated:
        print("terminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


if __name__ == "__main__":
    sys.exit(main())
