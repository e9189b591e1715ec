"""``specc COMMAND``: the command line; each command lives in ``specc/commands/``."""

from __future__ import annotations

import argparse
import gc
import importlib
import importlib.util
import os
import sys

from specc.commands import COMMANDS


def _modules() -> list[str]:
    return [
        name for name in COMMANDS if importlib.util.find_spec(f"specc.commands.{name}") is not None
    ]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available command."""
    from specc import __version__

    parser = argparse.ArgumentParser(
        prog="specc",
        description="Compile declarative CNN specs (.cnn) to Keras, ONNX, or run them directly.",
    )
    parser.add_argument("--version", action="version", version=f"specc {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in _modules():
        importlib.import_module(f"specc.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 fine, 1 spec errors, 2 bad usage)."""
    # Startup cost (benchmarks/bench_check.py): specc validates only its own IR, so
    # pydantic need not scan every installed distribution for plugins; and the
    # imports allocate many objects that live until exit, which the cyclic
    # collector would traverse again and again.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    gc.disable()
    try:
        args = build_parser().parse_args(argv)
        module = importlib.import_module(f"specc.commands.{args.command}")
    finally:
        gc.enable()
    try:
        return module.run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
