"""What a model sees: each layer's feature maps, and each convolution's kernels, as tiles.

Feature maps come from the numpy runtime's taps (:mod:`specc.runtime.taps`):
one section per layer, one tile per channel (the first ``max_channels``).
Kernels come from the weights: one tile per filter and input channel, or one
RGB tile per filter for a convolution that reads the 3 channels of the model's
input. Both are normalised per tile (:mod:`specc.viz.tiles`).
"""

from __future__ import annotations

import numpy as np

from specc.codes import E612
from specc.diagnostics import error
from specc.emit.diagram import keras_class, keras_shape
from specc.ir.graph import INPUT, Model, Node
from specc.viz.tiles import Section, Tile, square_columns

CONVOLUTIONS = ("conv2d", "depthwiseconv2d", "separableconv2d", "conv2dtranspose")
KERNELS = {  # kind -> (weight, how its axes map to (kh, kw, inputs, filters))
    "conv2d": ("kernel", (0, 1, 2, 3)),
    "conv2dtranspose": ("kernel", (0, 1, 3, 2)),
    "depthwiseconv2d": ("kernel", None),
    "separableconv2d": ("depthwise_kernel", None),
}


def feature_map_layers(model: Model, names: list[str] | None) -> list[Node]:
    """The layers ``--layers`` names (E611, E612 for a non-feature-map), else every convolution."""
    from specc.runtime.taps import find_layers

    if names is None:
        return [node for node in model.layers if node.kind in CONVOLUTIONS]
    nodes = find_layers(model, names, "--layers")
    for node in nodes:
        if len(node.output_shape or ()) != 3:
            raise error(
                E612,
                f"--layers: '{node.name}' ({keras_class(node)}) outputs {keras_shape(node)}, "
                "not a feature map (height x width x channels)",
                node.span,
                "name layers before flatten or global pooling",
            )
    return nodes


def feature_map_sections(
    nodes: list[Node], taps: dict[str, np.ndarray], max_channels: int
) -> list[Section]:
    """One section per layer: the first ``max_channels`` channels of sample 0, labelled."""
    sections = []
    for node in nodes:
        maps = taps[node.name][0]
        channels = maps.shape[-1]
        shown = min(channels, max_channels)
        more = f", first {shown} of {channels} channels" if shown < channels else ""
        title = f"{node.name} : {keras_class(node)}  {keras_shape(node)}{more}"
        tiles = [
            Tile(maps[:, :, c], str(c), {"layer": node.name, "channel": c}) for c in range(shown)
        ]
        sections.append(Section(title, tiles, square_columns(shown)))
    return sections


def require_kernels(node: Node) -> None:
    """E612 unless ``node`` is a convolution with spatial kernels."""
    if node.kind not in KERNELS:
        raise error(
            E612,
            f"--layer: '{node.name}' is a {keras_class(node)}, which has no convolution kernels",
            node.span,
            "name a Conv2D, DepthwiseConv2D, SeparableConv2D or Conv2DTranspose layer",
        )


def kernel_tiles(
    model: Model, node: Node, weights: dict[str, np.ndarray], max_filters: int, max_channels: int
) -> Section:
    """The kernels of the convolution ``node`` (E612 for another kind of layer)."""
    require_kernels(node)
    weight, axes = KERNELS[node.kind]
    kernel = weights[f"{node.name}/{weight}"]
    if axes is None:  # depthwise (kh, kw, in, multiplier): one single-channel filter per output
        kernel = kernel.reshape(*kernel.shape[:2], 1, -1)
    else:
        kernel = kernel.transpose(axes)
    kh, kw, inputs, filters = kernel.shape
    shown = min(filters, max_filters)
    more = f", first {shown} of {filters} filters" if shown < filters else ""
    title = f"{node.name} : {keras_class(node)}  {kh}x{kw} kernels{more}"
    source = model.nodes[node.inputs[0]]
    if inputs == 3 and source.index == INPUT and node.kind == "conv2d":
        tiles = [Tile(kernel[:, :, :, f], str(f), {"filter": f}) for f in range(shown)]
        return Section(title + ", RGB", tiles, square_columns(shown))
    channels = min(inputs, max_channels)
    if channels < inputs:
        title += f", first {channels} of {inputs} input channels"
    tiles = [
        Tile(kernel[:, :, c, f], f"{f}:{c}", {"filter": f, "channel": c})
        for f in range(shown)
        for c in range(channels)
    ]
    columns = channels if channels > 1 else square_columns(shown)
    return Section(title + " (filter:channel)", tiles, columns)
