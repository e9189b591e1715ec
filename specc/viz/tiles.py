"""Grids of labelled tiles (feature maps, kernels) drawn with Pillow.

**Normalisation.** Each tile is scaled on its own, from its own finite
minimum ``lo`` and maximum ``hi``::

    pixel = round((value - lo) / (hi - lo) * 255)      # float64; ties to even

so the darkest pixel of every tile is 0 and the brightest 255. A constant
tile (``hi == lo``) is all 0; NaN is 0, +inf 255 and -inf 0. An RGB tile (a
first-layer kernel on 3 channels) is scaled over its three channels together,
so its colours keep their balance. A colormap (``--colormap viridis``, any
name matplotlib knows) then maps the 256 grey levels to colours; the default
``gray`` keeps them.

**Geometry.** Tiles are enlarged by a whole factor (nearest neighbour: each
value becomes a square of identical pixels) so that the larger side is at
least :data:`MIN_TILE` pixels. The PNG carries the place of every tile in a
text chunk ``specc:tiles`` (JSON: box ``[x0, y0, x1, y1]``, scale, and what
the tile shows), so a reader can find the values again.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from specc.codes import E613, E614
from specc.diagnostics import Span, error

MIN_TILE = 48  # pixels on a tile's larger side, at least
GAP = 6  # pixels between tiles
MARGIN = 10
LABEL_SIZE, TITLE_SIZE = 10, 13
BACKGROUND = (255, 255, 255)
TEXT, FRAME = (20, 20, 20), (170, 170, 170)


@dataclass
class Tile:
    """One picture: values of shape (h, w), or (h, w, 3) for RGB; a label; what it shows."""

    values: np.ndarray
    label: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Section:
    """A titled grid of tiles of one size, ``columns`` tiles a row."""

    title: str
    tiles: list[Tile]
    columns: int


def normalise(values: np.ndarray) -> np.ndarray:
    """``values`` as uint8 grey levels, scaled per the module docstring."""
    v = np.asarray(values, dtype=np.float64)
    finite = v[np.isfinite(v)]
    out = np.zeros(v.shape, dtype=np.uint8)
    if finite.size:
        lo, hi = float(finite.min()), float(finite.max())
        if hi > lo:
            scaled = np.rint((np.clip(v, lo, hi) - lo) / (hi - lo) * 255)
            out = np.nan_to_num(scaled, nan=0.0).astype(np.uint8)
    out[np.isposinf(v)] = 255
    return out


def square_columns(n: int) -> int:
    """Columns for ``n`` tiles in a grid about as wide as it is tall."""
    return max(1, math.ceil(math.sqrt(n)))


def colormap_table(name: str, span: Span) -> np.ndarray | None:
    """256 RGB colours of matplotlib's colormap ``name`` (None for ``gray``); E614 if unknown."""
    if name == "gray":
        return None
    try:
        import matplotlib
    except ImportError:
        raise error(
            E613, f"--colormap {name} needs matplotlib", span, "pip install 'specc[viz]'"
        ) from None
    if name not in matplotlib.colormaps:
        raise error(
            E614,
            f"--colormap: matplotlib has no colormap '{name}'",
            span,
            "try gray (the default), viridis, magma, inferno or cividis",
        )
    rgba = matplotlib.colormaps[name](np.arange(256) / 255.0)
    return np.rint(rgba[:, :3] * 255).astype(np.uint8)


def _fonts() -> tuple[Any, Any]:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(LABEL_SIZE), ImageFont.load_default(TITLE_SIZE)
    except TypeError:  # Pillow < 10.1: one bitmap font, no sizes
        font = ImageFont.load_default()
        return font, font


def _scale(tile_shape: tuple[int, ...]) -> int:
    return max(1, math.ceil(MIN_TILE / max(tile_shape[0], tile_shape[1])))


def compose(sections: list[Section], colormap: np.ndarray | None = None) -> bytes:
    """The sections one under another as PNG bytes, with the ``specc:tiles`` text chunk."""
    from PIL import Image, ImageDraw, PngImagePlugin

    label_font, title_font = _fonts()
    label_h, title_h = LABEL_SIZE + 4, TITLE_SIZE + 8
    placed: list[tuple[Tile, int, list[int]]] = []
    width, y = 0, MARGIN
    titles: list[tuple[int, str]] = []
    for section in sections:
        shape = section.tiles[0].values.shape
        scale = _scale(shape)
        tw, th = shape[1] * scale, shape[0] * scale
        cell_w = max(tw, *(math.ceil(label_font.getlength(t.label)) for t in section.tiles))
        titles.append((y, section.title))
        width = max(width, MARGIN + math.ceil(title_font.getlength(section.title)) + MARGIN)
        y += title_h
        for i, tile in enumerate(section.tiles):
            row, col = divmod(i, section.columns)
            x0 = MARGIN + col * (cell_w + GAP)
            y0 = y + row * (th + label_h + GAP)
            placed.append((tile, scale, [x0, y0, x0 + tw, y0 + th]))
        rows = math.ceil(len(section.tiles) / section.columns)
        width = max(width, MARGIN + section.columns * (cell_w + GAP) - GAP + MARGIN)
        y += rows * (th + label_h + GAP) + GAP
    image = Image.new("RGB", (max(width, 200), y + MARGIN - GAP), BACKGROUND)
    draw = ImageDraw.Draw(image)
    for ty, title in titles:
        draw.text((MARGIN, ty), title, fill=TEXT, font=title_font)
    meta = []
    for tile, scale, box in placed:
        grey = normalise(tile.values)
        rgb = grey if grey.ndim == 3 else np.repeat(grey[..., None], 3, axis=2)
        if colormap is not None and grey.ndim == 2:
            rgb = colormap[grey]
        big = np.kron(rgb, np.ones((scale, scale, 1), dtype=np.uint8))
        image.paste(Image.fromarray(big, "RGB"), (box[0], box[1]))
        draw.rectangle([box[0] - 1, box[1] - 1, box[2], box[3]], outline=FRAME)
        draw.text((box[0], box[3] + 2), tile.label, fill=TEXT, font=label_font)
        meta.append({**tile.meta, "label": tile.label, "box": box, "scale": scale})
    info = PngImagePlugin.PngInfo()
    info.add_text("specc:tiles", json.dumps({"tiles": meta}, separators=(",", ":")))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info, optimize=False)
    return buffer.getvalue()
