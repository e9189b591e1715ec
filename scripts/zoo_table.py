"""The README's zoo table: every model of zoo/*.cnn with its input, params and MACs.

Usage: ``python scripts/zoo_table.py`` prints the table; ``--write`` replaces the
table between the ``<!-- zoo -->`` markers of the README and of docs/zoo.md.
tests/test_zoo.py checks that both hold what this prints, so the table cannot
drift.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import specc  # noqa: E402

BEGIN, END = "<!-- zoo -->", "<!-- /zoo -->"
PAGES = (ROOT / "README.md", ROOT / "docs" / "zoo.md")


def zoo_table() -> str:
    """One markdown row per zoo model, in file order."""
    rows = ["| file | model | input | params | MACs |", "|---|---|---|---:|---:|"]
    for path in sorted((ROOT / "zoo").glob("*.cnn")):
        for model in specc.load(path).models:
            summary = specc.summary(model)
            shape = "x".join(str(d) for d in summary["input_shape"])
            rows.append(
                f"| `{path.name}` | {model.name} | {shape} | {summary['params']:,} "
                f"| {summary['macs'] / 1e9:.2f} G |"
            )
    return "\n".join(rows) + "\n"


def readme_with_table(readme: str) -> str:
    """The README text with the table between the markers replaced."""
    head, _, rest = readme.partition(BEGIN + "\n")
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{zoo_table()}{END}{tail}"


if __name__ == "__main__":
    if "--write" in sys.argv:
        for path in PAGES:
            text = path.read_text(encoding="utf-8")
            path.write_text(readme_with_table(text), encoding="utf-8")
    else:
        sys.stdout.write(zoo_table())
