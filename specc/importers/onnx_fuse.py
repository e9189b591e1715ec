"""Fusions that make an imported ONNX graph read like a Keras model.

Exporters split what Keras writes as one layer: a convolution and its ReLU, a
global pooling that keeps its 1x1 and the flatten after it, a matrix product
and its bias, a crop of height and width (torch slices one axis at a time).
Each pass here joins two such layers into the one Keras would have, where
nothing else reads the tensor between them.
"""

from __future__ import annotations

from collections import Counter

from specc.importers.graph import ImportedLayer

_TAKES_ACTIVATION = ("conv2d", "depthwiseconv2d", "separableconv2d", "conv2dtranspose", "dense")
_GLOBAL_POOLS = ("globalaveragepooling2d", "globalmaxpooling2d")


def fuse(layers: list[ImportedLayer], output: str) -> tuple[list[ImportedLayer], str]:
    """The layers with activations folded into their producers and pool-flatten pairs joined."""
    by_name = {layer.name: layer for layer in layers}
    readers = Counter(name for layer in layers for name in layer.inputs)
    readers[output] += 1
    renamed: dict[str, str] = {}
    kept: list[ImportedLayer] = []
    for layer in layers:
        layer.inputs = [renamed.get(n, n) for n in layer.inputs]
        producer = by_name.get(layer.inputs[0]) if len(layer.inputs) == 1 else None
        if producer is None or readers[producer.name] != 1:
            kept.append(layer)
            continue
        if (
            layer.kind == "activation"
            and producer.kind in _TAKES_ACTIVATION
            and producer.params.get("activation") is None
        ):
            producer.params["activation"] = layer.params["activation"]
        elif (
            layer.kind == "flatten"
            and producer.kind in _GLOBAL_POOLS
            and producer.params.get("keepdims")
        ):
            producer.params["keepdims"] = False
            producer.output_shape = layer.output_shape
        elif layer.kind == producer.kind == "cropping2d":  # torch slices one axis at a time
            producer.params["cropping"] = tuple(
                (a[0] + b[0], a[1] + b[1])
                for a, b in zip(producer.params["cropping"], layer.params["cropping"], strict=True)
            )
            producer.output_shape = layer.output_shape
        else:
            kept.append(layer)
            continue
        renamed[layer.name] = producer.name
        readers[producer.name] = readers[layer.name]
    return kept, renamed.get(output, output)
