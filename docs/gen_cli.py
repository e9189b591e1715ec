"""Write docs/cli.md from specc's own argument parser: every command, argument and flag.

Usage: python docs/gen_cli.py [--check]

The page is built from the parser's actions (not argparse's help text, whose
layout depends on the terminal and the Python version), so it is the same on
every machine. ``--check`` writes nothing and exits 1 when the committed page
differs (tests/test_docs.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from specc.cli import build_parser

PAGE = Path(__file__).resolve().parent / "cli.md"

HEADER = """\
# Command line

```text
specc COMMAND [ARGUMENTS]
specc --version
```

Every command that reads a spec reports its problems as located
[diagnostics](diagnostics.md), the same way, on standard error. A command that
writes a file writes all of it or nothing. `-` as a spec file is standard input.

Exit status: **0** fine; **1** the spec has errors (or an `expect` failed, a
budget was exceeded, a warning with `--strict`); **2** bad usage, or a file,
weights, input or backend that cannot be used. Each diagnostic code has its exit
class in the [diagnostics reference](diagnostics.md).

This page is generated from specc's argument parser by `python docs/gen_cli.py`.

| command | does |
|---|---|
"""


# Arguments whose parser gives no help text.
FALLBACK_HELP = {
    "file": "the spec (`-`: standard input)",
    "format": "output format",
    "backend": "the backend that runs the model",
    "device": "where it runs",
}


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    """(name, help, parser) of every command, in the CLI's order."""
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    helps = {choice.dest: choice.help or "" for choice in sub._choices_actions}
    return [(name, helps.get(name, ""), p) for name, p in sub.choices.items()]


def _metavar(action: argparse.Action) -> str:
    if action.metavar:
        return str(action.metavar)
    if action.choices:
        return "{" + ",".join(map(str, action.choices)) + "}"
    return action.dest.upper()


def _argument(action: argparse.Action) -> str:
    """How the argument is written: ``--format {text,json}``, ``FILE...``, ``--strict``."""
    if not action.option_strings:
        text = _metavar(action)
        return text + "..." if action.nargs in ("+", "*") else text
    flags = ", ".join(action.option_strings)
    if action.nargs == 0:
        return flags
    value = _metavar(action)
    return f"{flags} {value}..." if action.nargs in ("+", "*") else f"{flags} {value}"


def _usage(name: str, parser: argparse.ArgumentParser) -> str:
    words = [f"specc {name}"]
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        shown = _argument(action).split(", ")[-1] if action.option_strings else _argument(action)
        if action.option_strings:
            shown = f"{action.option_strings[0]}" + shown[len(action.option_strings[-1]) :]
        words.append(shown if action.required or not action.option_strings else f"[{shown}]")
    return " ".join(words)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _command(name: str, summary: str, parser: argparse.ArgumentParser) -> list[str]:
    lines = [f"## specc {name} {{#{name}}}", "", f"{summary[:1].upper()}{summary[1:]}.", ""]
    lines += ["```text", _usage(name, parser), "```", ""]
    lines += ["| argument | meaning | default |", "|---|---|---|"]
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        default = action.default
        shown = (
            "required"
            if action.required or not action.option_strings
            else ("" if default is None or default is False else f"`{default}`")
        )
        meaning = action.help or FALLBACK_HELP.get(action.dest, "")
        if action.choices and action.metavar:
            meaning += f" (one of {', '.join(map(str, action.choices))})"
        lines.append(f"| `{_cell(_argument(action))}` | {_cell(meaning)} | {shown} |")
    return [*lines, ""]


def render_page() -> str:
    """The whole page: the command table, then one section per command."""
    commands = _subcommands(build_parser())
    lines = [HEADER.rstrip("\n")]
    lines += [f"| [`specc {name}`](#{name}) | {_cell(summary)} |" for name, summary, _ in commands]
    lines.append("")
    for name, summary, parser in commands:
        lines += _command(name, summary, parser)
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str]) -> int:
    """Write the page, or with ``--check`` report whether it is current."""
    page = render_page()
    if "--check" in argv:
        if not PAGE.exists() or PAGE.read_text(encoding="utf-8") != page:
            print(f"{PAGE} is out of date: run python docs/gen_cli.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(page, encoding="utf-8")
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
