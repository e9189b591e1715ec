"""``specc fmt FILE... [--check]``: rewrite specs in the canonical layout (:mod:`specc.fmt`)."""

from __future__ import annotations

import argparse
import difflib
import sys

from specc.commands.common import (
    EXIT_ERRORS,
    EXIT_USAGE,
    cannot_write_diagnostic,
    exit_status,
    print_diagnostics,
    read_spec,
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``fmt`` parser."""
    p = sub.add_parser("fmt", help="format specs in the one canonical layout")
    p.add_argument("files", nargs="+", metavar="FILE", help=".cnn files ('-': stdin to stdout)")
    p.add_argument(
        "--check",
        action="store_true",
        help="write nothing; show a diff and exit 1 when a file would change",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no closing summary line")


def diff(path: str, before: str, after: str) -> str:
    """The unified diff from ``before`` to ``after``, as ``git diff`` shows it."""
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=f"a/{path}",
            tofile=f"b/{path}",
        )
    )


def run(args: argparse.Namespace) -> int:
    """Format each file in place (or check it); 1 on syntax errors or, with --check,
    when a file would change; 2 when a file cannot be read."""
    from specc.diagnostics import SpeccError
    from specc.fmt import format_source
    from specc.io import write_atomically

    changed = unchanged = failed = 0
    cannot_write = False
    found = []
    for path in args.files:
        text, problem = read_spec(path)
        if problem is not None:
            print_diagnostics([problem], {})
            found.append(problem)
            continue
        source = text or ""
        try:
            formatted = format_source(source, path)
        except SpeccError as exc:
            print_diagnostics(exc.diagnostics, {path: source})
            found.extend(exc.diagnostics)
            print(f"{path}: not formatted: fix the syntax error first", file=sys.stderr)
            failed += 1
            continue
        if path == "-" and not args.check:
            sys.stdout.write(formatted)
            changed += formatted != source
            unchanged += formatted == source
            continue
        if formatted == source:
            unchanged += 1
            continue
        changed += 1
        if args.check:
            sys.stdout.write(diff(path, source, formatted))
        else:
            try:
                write_atomically(path, formatted)
            except OSError as exc:
                print_diagnostics([cannot_write_diagnostic(path, exc)], {})
                cannot_write = True
    if not args.quiet:
        verb = "would be reformatted" if args.check else "reformatted"
        parts = [f"{changed} file(s) {verb}", f"{unchanged} unchanged"]
        if failed:
            parts.append(f"{failed} with syntax errors")
        print(", ".join(parts), file=sys.stderr)
    status = max(exit_status(found), EXIT_ERRORS if args.check and changed else 0)
    return EXIT_USAGE if cannot_write else status
