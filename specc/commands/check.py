"""``specc check FILE...``: parse, infer, lint; text, json, sarif or github output."""

from __future__ import annotations

import argparse
import json
import sys

from specc.commands.common import exit_status, parse_count
from specc.commands.skeleton import check_file
from specc.diagnostics import render_github, render_sarif, render_text


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``check`` parser."""
    p = sub.add_parser("check", help="check specs: shapes, params, lint, expectations")
    p.add_argument("files", nargs="+", metavar="FILE", help=".cnn files ('-' for stdin)")
    p.add_argument("--format", choices=("text", "json", "sarif", "github"), default="text")
    p.add_argument("--max-params", type=parse_count, metavar="N", help="fail above N params")
    p.add_argument("--max-macs", type=parse_count, metavar="N", help="fail above N MACs")
    p.add_argument("--strict", action="store_true", help="warnings fail the check too")
    p.add_argument("-q", "--quiet", action="store_true", help="no closing summary line")


def run(args: argparse.Namespace) -> int:
    """Check every file; exit 0 clean, 1 errors (or warnings with --strict), 2 unreadable."""
    from specc import __version__

    results = [check_file(path, args.max_params, args.max_macs) for path in args.files]
    sources = {r.file: r.source for r in results}
    diagnostics = [d for r in results for d in r.diagnostics]
    if args.format == "json":
        from specc.report import results_json

        sys.stdout.write(json.dumps(results_json(results), indent=2) + "\n")
    elif args.format == "sarif":
        sys.stdout.write(render_sarif(diagnostics, __version__))
    elif args.format == "github":
        sys.stdout.write(render_github(diagnostics))
    else:
        sys.stdout.write(render_text(diagnostics, sources))
        sys.stdout.flush()
        if not args.quiet:
            errors = sum(d.severity == "error" for d in diagnostics)
            warnings = len(diagnostics) - errors
            models = sum(len(r.models) for r in results)
            print(
                f"{len(results)} file(s), {models} model(s): "
                f"{errors} error(s), {warnings} warning(s)",
                file=sys.stderr,
            )
    return exit_status(diagnostics, args.strict)
