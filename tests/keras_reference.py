"""Build real Keras models from specc's IR, for differential tests.

Each IR node becomes the Keras layer class it names, constructed with the
parameters the spec set (Keras fills in its own defaults). Keras, not specc,
then computes every shape and parameter count.
"""

from __future__ import annotations

from typing import Any

from specc.ir.graph import Model, Node
from specc.ir.layers import explicit_params
from specc.ir.values import FnValue


def keras_value(value: Any) -> Any:
    """IR values to what Keras constructors accept."""
    import keras

    if isinstance(value, FnValue):
        kwargs = dict(value.kwargs)
        table = {
            "l1": keras.regularizers.L1,
            "l2": keras.regularizers.L2,
            "l1_l2": keras.regularizers.L1L2,
            "max_norm": keras.constraints.MaxNorm,
            "non_neg": keras.constraints.NonNeg,
            "unit_norm": keras.constraints.UnitNorm,
            "min_max_norm": keras.constraints.MinMaxNorm,
        }
        if value.name in table:
            return table[value.name](**kwargs)
        return keras.initializers.get({"class_name": value.name, "config": kwargs})
    return value


def keras_layer(node: Node):
    """The Keras layer a node names, constructed with the parameters the spec set."""
    import keras

    layer = node.layer
    cls = getattr(keras.layers, type(layer).keras_class)
    kwargs = {k: keras_value(v) for k, v in explicit_params(layer).items()}
    return cls(name=node.name, **kwargs)


def build_keras_model(model: Model):
    """A functional Keras model equivalent to ``model`` (layer names kept)."""
    import keras

    tensors = {0: keras.Input(shape=model.input.output_shape, name=model.input.name)}
    for node in model.nodes[1:]:
        inputs = [tensors[i] for i in node.inputs]
        tensors[node.index] = keras_layer(node)(inputs if node.layer.merge else inputs[0])
    return keras.Model(tensors[0], tensors[model.output], name=model.name)
