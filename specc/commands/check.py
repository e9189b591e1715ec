"""``specc check FILE...``: parse, infer, lint; text, json, sarif or github output."""

from __future__ import annotations

import argparse
import gc
import json
import sys

from specc.commands import check_cache
from specc.commands.check_cache import FileReport
from specc.commands.common import exit_status, parse_count, read_spec
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
    p.add_argument(
        "--no-cache", action="store_true", help="check again files checked before (see README)"
    )


def run(args: argparse.Namespace) -> int:
    """Check every file; exit 0 clean, 1 errors (or warnings with --strict), 2 unreadable."""
    from specc import __version__

    folder = None if args.no_cache else check_cache.cache_dir()
    # The first check imports pydantic and builds the layer classes: many objects
    # that live until exit, which the cyclic collector would traverse again and again.
    collecting = gc.isenabled()
    gc.disable()
    try:
        reports = [_check(path, args, folder) for path in args.files]
    finally:
        if collecting:
            gc.enable()
    sources = {r.file: r.source for r in reports}
    diagnostics = [d for r in reports for d in r.diagnostics]
    if args.format == "json":
        from specc.report import files_json

        data = files_json((r.file, r.models, r.diagnostics) for r in reports)
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
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
            models = sum(len(r.models) for r in reports)
            print(
                f"{len(reports)} file(s), {models} model(s): "
                f"{errors} error(s), {warnings} warning(s)",
                file=sys.stderr,
            )
    return exit_status(diagnostics, args.strict)


def _check(path: str, args: argparse.Namespace, folder) -> FileReport:
    """One file's report: from the cache (:mod:`specc.commands.check_cache`), or checked."""
    text, problem = read_spec(path)
    if problem is not None:
        return FileReport(path, "", [problem], [])
    text = text or ""
    key = None
    if folder is not None:
        key = check_cache.entry_key(path, text, args.max_params, args.max_macs)
        cached = check_cache.recall(folder, key, path, text)
        if cached is not None:
            return cached
    from specc.commands.skeleton import check_text
    from specc.report import model_json

    result = check_text(path, text, args.max_params, args.max_macs)
    report = FileReport(path, text, result.diagnostics, [model_json(m) for m in result.models])
    if key is not None:
        check_cache.store(folder, key, report)
    return report
