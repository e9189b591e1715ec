"""Build real Keras models from specc's IR, for differential tests.

Each IR node becomes the Keras layer class it names, constructed with the
parameters the spec wrote (:func:`written_params`): Keras fills in its own
defaults, so a specc default that differs from Keras's shows as a difference.
Keras, not specc, then computes every shape and parameter count.
"""

from __future__ import annotations

from typing import Any

from specc.ir.graph import Model, Node
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


def written_params(node: Node) -> dict[str, Any]:
    """The parameters the spec wrote for ``node`` (validated), and those Keras cannot do without.

    Not specc's ``explicit_params``: that one leaves out what equals specc's own
    default, which would hide a default that differs from Keras's.
    """
    layer = node.layer
    assert layer is not None
    fields = type(layer).model_fields
    return {
        name: getattr(layer, name)
        for name, info in fields.items()
        if name in node.arg_spans or info.is_required() or name in layer.keras_required
    }


def keras_layer(node: Node):
    """The Keras layer a node names, constructed with the parameters the spec wrote."""
    import keras

    cls = getattr(keras.layers, type(node.layer).keras_class)
    kwargs = {k: keras_value(v) for k, v in written_params(node).items()}
    return cls(name=node.name, **kwargs)


def build_keras_model(model: Model):
    """A functional Keras model equivalent to ``model`` (layer names kept)."""
    import keras

    tensors = {0: keras.Input(shape=model.input.output_shape, name=model.input.name)}
    for node in model.nodes[1:]:
        inputs = [tensors[i] for i in node.inputs]
        tensors[node.index] = keras_layer(node)(inputs if node.layer.merge else inputs[0])
    return keras.Model(tensors[0], tensors[model.output], name=model.name)
