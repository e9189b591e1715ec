"""Which pixels of each feature map some layer reads: a backward pass over a model.

W403 warns about a stride larger than its window because the pixels between
windows are never seen. In a graph another path may read them: ResNet's and
Xception's 1x1 stride-2 projection shortcut skips pixels that the main path's
3x3 windows cover. This module finds, for every spatial tensor, the rows and
columns that reach the model's output, so a warning is given only where no
other path sees the skipped pixels.

Rows and columns are tracked separately (a set of read rows, a set of read
columns); where paths join, the sets are united, which can only over-count
what is read, so the rule never warns about a pixel that is seen.
"""

from __future__ import annotations

from specc.ir.graph import Model, Node
from specc.ir.shapes import window_padding

Axes = tuple[set[int], set[int]]
# Layers whose output pixel (i, j) is computed from input pixel (i, j) alone.
PIXELWISE = frozenset({"batchnormalization", "activation", "dropout"})
_WINDOWED = frozenset(
    {"conv2d", "depthwiseconv2d", "separableconv2d", "maxpooling2d", "averagepooling2d"}
)


def _spatial(node: Node) -> tuple[int, int] | None:
    shape = node.output_shape
    return (shape[0], shape[1]) if shape is not None and len(shape) == 3 else None


def _window(node: Node) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]] | None:
    """(kernel, strides, dilation) of a windowed layer, else None."""
    layer = node.layer
    if node.kind not in _WINDOWED or layer is None:
        return None
    kernel = getattr(layer, "kernel_size", None) or layer.pool_size  # type: ignore[attr-defined]
    strides = getattr(layer, "effective_strides", None) or layer.strides  # type: ignore[attr-defined]
    return kernel, strides, getattr(layer, "dilation_rate", (1, 1))


def window_taps(node: Node, hw: tuple[int, int], used: Axes) -> Axes:
    """The input rows and columns a windowed layer reads to compute its ``used`` outputs."""
    window = _window(node)
    assert window is not None
    kernel, strides, dilation = window
    pads = window_padding(hw, kernel, strides, node.layer.padding, dilation)  # type: ignore[union-attr]
    out: list[set[int]] = []
    for axis in (0, 1):
        k, s, d, before, n = kernel[axis], strides[axis], dilation[axis], pads[axis][0], hw[axis]
        taps = {o * s - before + j * d for o in used[axis] for j in range(k)}
        out.append({r for r in taps if 0 <= r < n})
    return out[0], out[1]


def contribution(model: Model, node: Node, used: Axes, position: int) -> Axes:
    """The pixels of ``node``'s input number ``position`` that its ``used`` outputs read."""
    source = model.nodes[node.inputs[position]]
    hw = _spatial(source)
    if hw is None or not (used[0] and used[1]):
        return set(), set()
    out_hw = _spatial(node)
    everything = set(range(hw[0])), set(range(hw[1]))
    if node.kind in _WINDOWED:
        return window_taps(node, hw, used)
    if node.kind == "zeropadding2d":
        (top, _), (left, _) = node.layer.padding  # type: ignore[union-attr]
        rows = {r - top for r in used[0] if 0 <= r - top < hw[0]}
        return rows, {c - left for c in used[1] if 0 <= c - left < hw[1]}
    if node.kind == "upsampling2d" and node.layer.interpolation == "nearest":  # type: ignore[union-attr]
        size = node.layer.size  # type: ignore[union-attr]
        return {r // size[0] for r in used[0]}, {c // size[1] for c in used[1]}
    if out_hw == hw and node.kind != "conv2dtranspose":
        return set(used[0]), set(used[1])  # pixel-wise layers and merges of equal maps
    return everything  # flatten, global pooling, broadcasting merges, resampling: all of it


def used_pixels(model: Model) -> dict[int, Axes]:
    """For every node, the rows and columns of its output that reach the model's output.

    A node that is not a feature map has ``({0}, {0})`` when it is reached at all.
    """
    used: dict[int, Axes] = {node.index: (set(), set()) for node in model.nodes}
    out = model.nodes[model.output]
    hw = _spatial(out) or (1, 1)
    used[out.index] = (set(range(hw[0])), set(range(hw[1])))
    for node in reversed(model.nodes):  # expansion appends nodes after their inputs
        mine = used[node.index]
        if not (mine[0] and mine[1]):
            continue
        for position, source in enumerate(node.inputs):
            if _spatial(model.nodes[source]) is None:
                used[source] = ({0}, {0})
                continue
            rows, cols = contribution(model, node, mine, position)
            used[source][0].update(rows)
            used[source][1].update(cols)
    return used


def unseen_pixels(model: Model, node: Node, used: dict[int, Axes]) -> bool:
    """True when ``node`` skips pixels of its input that no other path reads either.

    Other readers are the other consumers of the input, and of the tensors it
    is computed from pixel by pixel (a batchnorm or activation before it).
    """
    source = model.nodes[node.inputs[0]]
    hw = _spatial(source)
    if hw is None:
        return False
    out_hw = _spatial(node)
    assert out_hw is not None
    taps = window_taps(node, hw, (set(range(out_hw[0])), set(range(out_hw[1]))))
    if not (taps[0] and taps[1]):
        return False
    box = [set(range(min(t), max(t) + 1)) for t in taps]
    others: Axes = (set(), set())
    consumers = _consumers(model)
    child, current = node, source
    while True:
        for index in consumers[current.index]:
            if index == child.index:
                continue
            reader = model.nodes[index]
            for position, i in enumerate(reader.inputs):
                if i == current.index:
                    rows, cols = contribution(model, reader, used[index], position)
                    others[0].update(rows)
                    others[1].update(cols)
        parent = model.nodes[current.inputs[0]] if current.inputs else None
        if current.kind not in PIXELWISE or parent is None or _spatial(parent) != hw:
            break
        child, current = current, parent
    skipped = [box[a] - taps[a] for a in (0, 1)]
    missed = [box[a] - others[a] for a in (0, 1)]
    return bool(
        (skipped[0] & missed[0])
        or (skipped[1] & missed[1])
        or (skipped[0] and missed[1])
        or (missed[0] and skipped[1])
    )


def _consumers(model: Model) -> dict[int, list[int]]:
    """For each node, the nodes that take its output (the plan's consumers come later)."""
    out: dict[int, list[int]] = {node.index: [] for node in model.nodes}
    for node in model.nodes:
        for i in node.inputs:
            out[i].append(node.index)
    return out
