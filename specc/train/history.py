"""The history of a run: one dict of Keras's epoch logs per epoch, as CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence

Rows = Sequence[Mapping[str, float]]


def columns(rows: Rows) -> list[str]:
    """Every log name, in the order Keras first reported it."""
    seen: list[str] = []
    for row in rows:
        seen.extend(key for key in row if key not in seen)
    return seen


def history_dict(rows: Rows) -> dict[str, list[float | None]]:
    """Keras's ``History.history`` layout: one list per name (None where an epoch lacks it)."""
    return {key: [row.get(key) for row in rows] for key in columns(rows)}


def history_csv(rows: Rows) -> str:
    """``epoch,loss,accuracy,val_loss,...``: one line per epoch, epochs counted from 1."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    names = columns(rows)
    writer.writerow(["epoch", *names])
    for epoch, row in enumerate(rows, start=1):
        writer.writerow([epoch, *(repr(row[k]) if k in row else "" for k in names)])
    return buffer.getvalue()


def history_text(rows: Rows, path: str) -> str:
    """The history as ``path`` asks for it: JSON for ``.json``, else CSV."""
    if path.lower().endswith(".json"):
        return json.dumps(history_dict(rows), indent=2) + "\n"
    return history_csv(rows)
