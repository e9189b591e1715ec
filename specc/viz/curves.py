"""Training curves: loss and each metric per epoch, training and validation, as a PNG.

One panel per quantity (``loss``, ``accuracy``, ...), the validation curve
(``val_...``) beside the training one, as the Keras tutorials plot
``history.history``. Drawn with matplotlib's object API on the Agg canvas: no
pyplot state, no display needed.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence

PANEL_INCHES = (4.2, 3.2)


def quantities(rows: Sequence[Mapping[str, float]]) -> list[str]:
    """The training quantities of ``rows`` (``loss`` first), each plotted with its ``val_``."""
    seen: list[str] = []
    for row in rows:
        for key in row:
            name = key.removeprefix("val_")
            if name not in seen:
                seen.append(name)
    return sorted(seen, key=lambda k: (k != "loss", seen.index(k)))


def plot_history(rows: Sequence[Mapping[str, float]], title: str) -> bytes:
    """The PNG of the curves of ``rows`` (one dict of logs per epoch)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = quantities(rows)
    columns = min(3, max(1, len(names)))
    lines = max(1, math.ceil(len(names) / columns))
    figure = Figure(figsize=(PANEL_INCHES[0] * columns, PANEL_INCHES[1] * lines), dpi=100)
    FigureCanvasAgg(figure)
    figure.suptitle(title)
    epochs = list(range(1, len(rows) + 1))
    for i, name in enumerate(names):
        axes = figure.add_subplot(lines, columns, i + 1)
        for key, label, style in ((name, "training", "-o"), (f"val_{name}", "validation", "-s")):
            points = [(e, row[key]) for e, row in zip(epochs, rows, strict=True) if key in row]
            if points:
                xs, ys = zip(*points, strict=True)
                axes.plot(xs, ys, style, markersize=3, label=label)
        axes.set_title(name)
        axes.set_xlabel("epoch")
        axes.grid(True, alpha=0.3)
        axes.legend()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
