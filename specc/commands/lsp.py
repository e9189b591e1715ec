"""``specc lsp``: the language server on stdio, for any LSP editor (needs ``specc[lsp]``)."""

from __future__ import annotations

import argparse
import sys

from specc.commands.common import EXIT_USAGE, parse_count


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``lsp`` parser (pygls is imported only when the server runs)."""
    p = sub.add_parser("lsp", help="language server on stdio (diagnostics, hover, completion, ...)")
    p.add_argument(
        "--stdio", action="store_true", help="talk over stdin/stdout (the default and only way)"
    )
    p.add_argument("--max-params", type=parse_count, metavar="N", help="report E302 above N params")
    p.add_argument("--max-macs", type=parse_count, metavar="N", help="report E303 above N MACs")


def run(args: argparse.Namespace) -> int:
    """Serve until the client exits; exit 2 when pygls is not installed."""
    try:
        from specc.lsp.server import main
    except ImportError as exc:
        print(
            f"specc lsp needs pygls and lsprotocol ({exc}); install them with "
            "pip install 'specc[lsp]'",
            file=sys.stderr,
        )
        return EXIT_USAGE
    return main(args.max_params, args.max_macs)
