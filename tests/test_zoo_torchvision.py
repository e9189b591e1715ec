"""The zoo's RegNets against torchvision's, layer by layer and output for output.

Keras 3 has no RegNet (Keras 2's keras.applications.regnet, which zoo/regnet.cnn
mirrors, was not carried over), so the reference is torchvision's
implementation of the same networks (RegNetX-800MF, RegNetY-400MF: the same
depths, widths and group widths as Keras 2's RegNetX008 and RegNetY004).

Layer by layer: the layers holding weights (convolutions, BatchNormalization,
dense) in the order torchvision runs them, each of the same kind and
configuration, with the same output shape and the same parameter count
(BatchNormalization's running statistics, buffers in torch, count as Keras
counts them). Output for output: torchvision's weights, calibrated on a batch
of images, copied into the spec's weights, and the spec run by specc's numpy
backend gives torchvision's logits, within the float32 tolerance of
tests/test_zoo_targets.py. Two things are Keras 2's and not torchvision's, and
torchvision's network is adapted for them: the spec's Rescaling(1/255) is
applied to torchvision's input, and a strided 3x3 convolution is padded as
Keras pads "same" (one row and column after the image), not one on each side.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require
from test_zoo import zoo_model
from zoo_reference import MODELS, ZooModel

import specc
from specc.ir.graph import Model, Node
from specc.runtime import prepare

TORCHVISION = tuple(entry for entry in MODELS if entry.torchvision)
_KINDS = {"Conv2d": "conv2d", "BatchNorm2d": "batchnormalization", "Linear": "dense"}


def _torch_layers(network, side: int) -> list[tuple[object, tuple[int, ...]]]:
    """(module, NHWC output shape) of each module holding weights, in execution order."""
    torch = require("torch")
    ran = []
    hooks = [
        module.register_forward_hook(lambda m, _, out: ran.append((m, tuple(out.shape))))
        for module in network.modules()
        if type(module).__name__ in _KINDS
    ]
    with torch.no_grad():
        network(torch.zeros(1, 3, side, side))
    for hook in hooks:
        hook.remove()
    return [(m, (s[2], s[3], s[1]) if len(s) == 4 else s[1:]) for m, s in ran]


def _spec_layers(model: Model) -> list[Node]:
    return [node for node in model.nodes[1:] if node.kind in _KINDS.values()]  # as written


def _assert_same_layer(module, node: Node) -> None:
    cls = type(module).__name__
    layer = node.layer
    assert node.kind == _KINDS[cls], node.name
    if cls == "Conv2d":
        assert layer.kernel_size == module.kernel_size, node.name
        assert layer.strides == module.stride, node.name
        assert layer.groups == module.groups, node.name
        assert layer.use_bias == (module.bias is not None), node.name
        size = module.kernel_size[0]
        assert module.padding == (((size - 1) // 2,) * 2 if layer.padding == "same" else (0, 0))
    elif cls == "BatchNorm2d":
        assert layer.epsilon == module.eps, node.name
        assert abs(layer.momentum - (1 - module.momentum)) < 1e-12, node.name
    else:
        assert layer.units == module.out_features, node.name


@pytest.mark.parametrize("entry", TORCHVISION, ids=lambda e: e.id)
def test_zoo_model_matches_torchvision(entry: ZooModel):
    models = require("torchvision.models")
    network = getattr(models, entry.torchvision)().eval()
    model = zoo_model(entry)
    side = model.input.output_shape[0]
    ran = _torch_layers(network, side)
    nodes = _spec_layers(model)
    assert len(ran) == len(nodes)
    for (module, shape), node in zip(ran, nodes, strict=True):
        _assert_same_layer(module, node)
        assert shape == node.output_shape, node.name
        count = sum(t.numel() for t in module.parameters())
        count += sum(b.numel() for n, b in module.named_buffers() if n != "num_batches_tracked")
        assert count == node.params, node.name
    total = sum(p.numel() for p in network.parameters())
    total += sum(b.numel() for n, b in network.named_buffers() if "num_batches" not in n)
    assert total == specc.summary(model)["params"]


def _weights(ran, nodes) -> dict[str, np.ndarray]:
    """torchvision's weights in the spec's names and Keras's layouts."""
    out = {}
    for (module, _), node in zip(ran, nodes, strict=True):
        name = node.name
        cls = type(module).__name__
        if cls == "Conv2d":
            out[f"{name}/kernel"] = module.weight.detach().numpy().transpose(2, 3, 1, 0)
            if module.bias is not None:
                out[f"{name}/bias"] = module.bias.detach().numpy()
        elif cls == "BatchNorm2d":
            out[f"{name}/gamma"] = module.weight.detach().numpy()
            out[f"{name}/beta"] = module.bias.detach().numpy()
            out[f"{name}/moving_mean"] = module.running_mean.numpy()
            out[f"{name}/moving_variance"] = module.running_var.numpy()
        else:
            out[f"{name}/kernel"] = module.weight.detach().numpy().T
            out[f"{name}/bias"] = module.bias.detach().numpy()
    return {key: np.ascontiguousarray(array, dtype=np.float32) for key, array in out.items()}


def _pad_as_keras(network) -> None:
    """Strided 3x3 convolutions padded as Keras's "same": nothing before, one after."""
    functional = require("torch.nn.functional")

    def pad(module, args):
        return (functional.pad(args[0], (0, 1, 0, 1)),)

    for module in network.modules():
        if (
            type(module).__name__ == "Conv2d"
            and module.stride == (2, 2)
            and module.padding == (1, 1)
        ):
            module.padding = (0, 0)
            module.register_forward_pre_hook(pad)


@pytest.mark.parametrize("entry", TORCHVISION, ids=lambda e: e.id)
def test_zoo_model_computes_what_torchvision_computes(entry: ZooModel):
    torch = require("torch")
    models = require("torchvision.models")
    torch.manual_seed(0)
    network = getattr(models, entry.torchvision)()
    rng = np.random.default_rng(0)
    side = 64
    # Trained networks' statistics are their inputs': one batch sets them (momentum 1).
    for module in network.modules():
        if type(module).__name__ == "BatchNorm2d":
            module.momentum = 1.0
    with torch.no_grad():
        network.train()(torch.from_numpy(rng.uniform(0, 1, (16, 3, side, side)).astype("f4")))
    network.eval()
    _pad_as_keras(network)
    from test_zoo_targets import assert_close, reduced_model

    model = reduced_model(entry, side)
    ran = _torch_layers(network, side)
    weights = _weights(ran, _spec_layers(model))
    pixels = rng.uniform(0, 255, (2, side, side, 3)).astype(np.float32)
    ours = prepare(model, weights, "numpy")(pixels)
    with torch.no_grad():
        theirs = network(torch.from_numpy((pixels / 255.0).transpose(0, 3, 1, 2))).numpy()
    assert_close(ours, theirs, model, f"{entry.model} against torchvision's {entry.torchvision}")
    scale = float(np.abs(theirs).max())
    assert np.abs(theirs[0] - theirs[1]).max() > 0.02 * scale  # the input matters
