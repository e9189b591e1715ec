"""``specc import`` of ONNX models exported by torch: NCHW graphs in, NHWC specs out.

Each model is a torch module (torchvision's, or a small one for an op's
corner), exported with ``torch.onnx.export``, imported, and run through
specc's numpy backend (and for torchvision, through the Keras module
generated from the imported spec); both must equal torch's eval outputs.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require
from import_reference import assert_close_to_scale, export_onnx, nhwc, randomize_torch
from test_keras_emit_common import emit_and_import

import specc.runtime as runtime
from specc.cli import main
from specc.importers import import_model

TORCHVISION = [
    ("resnet18", 64),
    ("mobilenet_v2", 64),
    ("vgg11_bn", 224),  # its adaptive pooling to 7x7 exports only where the map is 7x7
    ("densenet121", 64),
    ("efficientnet_b0", 64),
    ("googlenet", 64),
    ("squeezenet1_1", 64),
    ("regnet_x_400mf", 64),
    ("regnet_y_400mf", 64),
]


def _imported(tmp_path, module, shape, seed: int = 0):
    """(import result, input batch NCHW, torch's output) for an eval-mode torch module."""
    torch = require("torch")
    torch.manual_seed(seed)
    module.eval()
    randomize_torch(module, seed)
    x = torch.randn(2, *shape)
    path = export_onnx(module, x[:1], tmp_path / "m.onnx")
    with torch.no_grad():
        want = module(x).numpy()
    return import_model(str(path)), x.numpy(), want


def _check_numpy(result, x, want) -> None:
    got = runtime.run(result.model, nhwc(x) if x.ndim == 4 else x, result.weights)
    if want.ndim == 4:
        want = nhwc(want)
    assert_close_to_scale(got, want, 1e-4)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "size"), TORCHVISION, ids=[t[0] for t in TORCHVISION])
def test_torchvision_models_compute_what_torch_computes(tmp_path, name, size):
    require("torch")
    torchvision = require("torchvision")
    require("tensorflow")
    extra = {"aux_logits": False, "init_weights": True} if name == "googlenet" else {}
    module = getattr(torchvision.models, name)(weights=None, **extra)
    result, x, want = _imported(tmp_path, module, (3, size, size))
    _check_numpy(result, x, want)
    keras_module = emit_and_import(result.model, tmp_path, f"{name}.cnn")
    keras_model = keras_module.build_model()
    np.savez(tmp_path / "w.npz", **result.weights)
    keras_module.load_weights(keras_model, str(tmp_path / "w.npz"))
    assert_close_to_scale(keras_model.predict(nhwc(x), verbose=0), want, 1e-4)


def _net(*layers):
    torch = require("torch")
    return torch.nn.Sequential(*layers)


def _cases():
    """(id, module factory, input shape): the corners of each op's translation."""
    require("torch")
    import torch
    from torch import nn

    class Flat(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)
            self.fc = nn.Linear(4 * 5 * 6, 7)
            self.w = nn.Parameter(torch.randn(7, 5))
            self.b = nn.Parameter(torch.randn(5))
            self.bn = nn.BatchNorm1d(5)

        def forward(self, x):
            y = self.fc(torch.flatten(self.conv(x), 1))  # rows permuted to NHWC order
            return torch.log_softmax(self.bn(y @ self.w + self.b), dim=1)

    class Merges(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Conv2d(4, 4, 1)
            self.b = nn.Conv2d(4, 4, 3, padding=1)

        def forward(self, x):
            a, b = self.a(x), self.b(x)
            z = torch.maximum(a - b, b)
            y = torch.cat([z, z * torch.sigmoid(z)], dim=1)  # x * sigmoid(x) is silu
            return nn.functional.pad(y, (1, 2, 0, 1))

    def prelu(n: int = 1):  # slopes of both signs, each different, so a layout error shows
        layer = nn.PReLU(n)
        layer.weight.data.copy_(torch.linspace(-0.9, 0.8, n))
        return layer

    class Crops(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pad = nn.ZeroPad2d((-1, 2, 0, -2))  # a crop and a padding: both layers
            self.conv = nn.Conv2d(3, 4, 3)

        def forward(self, x):
            y = self.conv(nn.functional.pad(self.pad(x), (0, 0, -1, -1)))
            return torch.softmax(y[:, :, 1:-1, 2:], dim=2)  # one Slice per axis, joined

    return [
        (
            "conv_paddings",
            lambda: _net(
                nn.Conv2d(3, 8, 3, padding=2, dilation=2),
                nn.LeakyReLU(0.2),
                nn.Conv2d(8, 8, 3, padding=1, groups=4),
                nn.ELU(),
                nn.Conv2d(8, 16, 3, groups=8),
                nn.Hardswish(),
                nn.Conv2d(16, 16, 5, stride=2, padding=2),
                nn.Hardsigmoid(),
                nn.Conv2d(16, 8, (3, 5), padding=(1, 2)),
                nn.ReLU6(),
                nn.Conv2d(8, 8, 3, stride=2, padding=1),
                nn.Tanh(),
            ),
            (3, 15, 15),
        ),
        (
            "max_pool_zero_padded",
            lambda: _net(
                nn.Conv2d(3, 4, 3),
                nn.ReLU(),
                nn.MaxPool2d(3, 2, padding=1),
            ),
            (3, 12, 12),
        ),
        (
            "max_pool_ceil",
            lambda: _net(
                nn.Conv2d(3, 4, 3),
                nn.ReLU(),
                nn.MaxPool2d(3, 2, ceil_mode=True),
                nn.MaxPool2d(2, 2, ceil_mode=True),
            ),
            (3, 14, 14),
        ),
        (
            "avg_pools",
            lambda: _net(
                nn.AvgPool2d(3, 2, padding=1),
                nn.AvgPool2d(3, 1, padding=1, count_include_pad=False),
                nn.AvgPool2d(2, ceil_mode=True),
                nn.AdaptiveMaxPool2d(1),
                nn.Flatten(),
            ),
            (3, 13, 13),
        ),
        (
            "transposed",
            lambda: _net(
                nn.ConvTranspose2d(3, 4, 2, stride=2),
                nn.ConvTranspose2d(4, 4, 4, stride=2, padding=1),
                nn.ConvTranspose2d(4, 2, 3, stride=2, output_padding=1),
            ),
            (3, 5, 6),
        ),
        (
            "resize",
            lambda: _net(
                nn.Conv2d(3, 4, 1),
                nn.Upsample(scale_factor=2, mode="nearest"),
                nn.Upsample(scale_factor=(2, 3), mode="bilinear", align_corners=False),
            ),
            (3, 4, 5),
        ),
        ("flatten_dense", Flat, (3, 7, 8)),
        ("merges", Merges, (4, 6, 6)),
        (
            "activation_layers",
            lambda: _net(
                nn.Conv2d(3, 4, 3),
                nn.LeakyReLU(0.1),
                nn.Conv2d(4, 4, 1),
                nn.ELU(0.5),
                prelu(4),
                nn.Conv2d(4, 4, 1),
                prelu(),
                nn.Hardtanh(0, 1),
                nn.Conv2d(4, 4, 1),
                nn.Hardtanh(0, 6),
                nn.Softmax(dim=2),
            ),
            (3, 8, 9),
        ),
        (
            "prelu_vectors",
            lambda: _net(
                nn.Conv2d(3, 2, 3),
                nn.Flatten(),
                prelu(2 * 4 * 5),  # one slope per element, permuted to NHWC order
                nn.Linear(40, 5),
                prelu(5),
                nn.LeakyReLU(),
                nn.Softmax(dim=1),
            ),
            (3, 6, 7),
        ),
        (
            "transposed_crops",
            lambda: _net(
                nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1),
                nn.ConvTranspose2d(
                    4, 2, (3, 5), stride=(2, 3), padding=(2, 1), output_padding=(1, 2)
                ),
                nn.ConvTranspose2d(2, 2, 3, padding=1, dilation=2),
            ),
            (3, 5, 6),
        ),
        ("crops", Crops, (3, 9, 10)),
    ]


CASES = [
    "conv_paddings",
    "max_pool_zero_padded",
    "max_pool_ceil",
    "avg_pools",
    "transposed",
    "resize",
    "flatten_dense",
    "merges",
    "activation_layers",
    "prelu_vectors",
    "transposed_crops",
    "crops",
]
# spec lines the cases above must import to: Keras's layer classes, not approximations
WRITTEN = {
    "activation_layers": [
        "leakyrelu 0.1",
        "elu_layer 0.5",
        "prelu shared_axes=(1, 2)",
        "prelu shared_axes=(1, 2, 3)",
        "relu_layer 1.0",
        "conv2d 4 1x1 relu6",
        "softmax_layer 1",
    ],
    "prelu_vectors": ["prelu name=", "leakyrelu 0.01", "softmax name="],
    "transposed_crops": [
        "conv2dtranspose 4 3x3 strides=2 name=conv_transpose_0_full",
        "cropping2d ((1, 0), (1, 0)) name=conv_transpose_0",
        "output_padding=(0, 1)",
        "cropping2d ((2, 1), (1, 0))",
    ],
    "crops": [
        "zeropadding2d ((0, 0), (0, 2))",
        "cropping2d ((1, 3), (1, 0))",
        "cropping2d ((1, 1), (2, 0))",
    ],
}


@pytest.mark.parametrize("case", CASES)
def test_op_corners_compute_what_torch_computes(tmp_path, case):
    factory, shape = {name: (f, s) for name, f, s in _cases()}[case]
    result, x, want = _imported(tmp_path, factory(), shape)
    _check_numpy(result, x, want)
    for line in WRITTEN.get(case, []):
        assert line in result.text, (line, result.text)


@pytest.mark.parametrize("case", list(WRITTEN))
def test_activation_layers_and_crops_compute_in_keras(tmp_path, case):
    """The regenerated Keras module of each new layer kind equals torch too."""
    require("tensorflow")
    factory, shape = {name: (f, s) for name, f, s in _cases()}[case]
    result, x, want = _imported(tmp_path, factory(), shape)
    keras_module = emit_and_import(result.model, tmp_path, f"{case}.cnn")
    keras_model = keras_module.build_model()
    np.savez(tmp_path / "w.npz", **result.weights)
    keras_module.load_weights(keras_model, str(tmp_path / "w.npz"))
    got = keras_model.predict(nhwc(x), verbose=0)
    assert_close_to_scale(got, nhwc(want) if want.ndim == 4 else want, 1e-4)


@pytest.mark.parametrize(
    ("op", "attributes", "opset", "written"),
    [
        # Keras 2's hard_sigmoid (slope 0.2), as tf2onnx writes it
        ("HardSigmoid", {"alpha": 0.2, "beta": 0.4}, 17, ["rescaling 0.2 0.4", "relu_layer 1.0"]),
        # before opset 13 a Softmax normalizes its axis and every axis after it
        ("Softmax", {"axis": 1}, 11, ["softmax_layer (1, 2, -1)"]),
        ("Softmax", {"axis": 2}, 11, ["softmax_layer (1, 2)"]),
        ("Softmax", {"axis": 1}, 13, ["conv2d 4 3x3 softmax"]),
    ],
    ids=["hard_sigmoid", "softmax_chw_opset11", "softmax_hw_opset11", "softmax_c_opset13"],
)
def test_onnx_graphs_compute_what_onnxruntime_computes(tmp_path, op, attributes, opset, written):
    """Nodes torch does not write, built with onnx.helper and run by onnxruntime."""
    onnx = require("onnx")
    ort = require("onnxruntime")
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    kernel = numpy_helper.from_array(rng.normal(size=(4, 3, 3, 3)).astype(np.float32), "k")
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["x", "k"], ["c"], name="conv"),
            helper.make_node(op, ["c"], ["y"], name="act", **attributes),
        ],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 6, 7])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 4, 5])],
        initializer=[kernel],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 7
    onnx.save(model, tmp_path / "g.onnx")
    x = rng.normal(size=(1, 3, 6, 7)).astype(np.float32) * 3
    want = ort.InferenceSession(str(tmp_path / "g.onnx")).run(None, {"x": x})[0]
    if op == "HardSigmoid":  # both ends of the clip reached
        assert 0 < (want == 0).sum() and 0 < (want == 1).sum()
    result = import_model(str(tmp_path / "g.onnx"))
    for line in written:
        assert line in result.text, (line, result.text)
    assert_close_to_scale(runtime.run(result.model, nhwc(x), result.weights), nhwc(want), 1e-5)


def _error(tmp_path, capsys, module, shape) -> str:
    torch = require("torch")
    export_onnx(module.eval(), torch.randn(1, *shape), tmp_path / "bad.onnx")
    status = main(["import", str(tmp_path / "bad.onnx"), "-o", str(tmp_path / "bad.cnn")])
    assert status == 1
    assert not (tmp_path / "bad.cnn").exists() and not (tmp_path / "bad.npz").exists()
    return capsys.readouterr().err


def test_unsupported_op_names_the_node_and_its_op_type(tmp_path, capsys):
    torch = require("torch")
    module = _net(torch.nn.Conv2d(3, 4, 3), torch.nn.LayerNorm([4, 6, 6]))
    err = _error(tmp_path, capsys, module, (3, 8, 8))
    assert "error[E702]: node '/1/LayerNormalization' (LayerNormalization) is an operator" in err


def test_padding_keras_cannot_express_is_refused_not_approximated(tmp_path, capsys):
    torch = require("torch")
    module = _net(torch.nn.Conv2d(3, 4, 3), torch.nn.MaxPool2d(3, 2, padding=1))
    err = _error(tmp_path, capsys, module, (3, 10, 10))
    assert "error[E704]: node '/1/MaxPool' (MaxPool) pads" in err and "may be negative" in err
    grouped = _net(torch.nn.ConvTranspose2d(4, 4, 3, stride=2, padding=1, groups=2))
    err = _error(tmp_path, capsys, grouped, (4, 5, 5))
    assert "error[E704]: node '/0/ConvTranspose' (ConvTranspose) has groups" in err


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("leaky_negative", "node '/0/LeakyRelu' (LeakyRelu) has alpha=-0.1; Keras's LeakyReLU"),
        ("hardtanh", "node '/0/Clip' (Clip) clips to [-1.0, 1.0]; Keras's ReLU clips from 0"),
        ("channel_slice", "node '/Slice' (Slice) slices axis 1 of a tensor of shape (3, 6, 6)"),
        ("log_softmax_rows", "node '/LogSoftmax' (LogSoftmax) takes its log_softmax over ONNX"),
    ],
)
def test_values_no_keras_layer_holds_are_refused(tmp_path, capsys, case, expected):
    torch = require("torch")

    class Lambda(torch.nn.Module):
        def __init__(self, fn) -> None:
            super().__init__()
            self.fn = fn

        def forward(self, x):
            return self.fn(x)

    module = {
        "leaky_negative": lambda: _net(torch.nn.LeakyReLU(-0.1)),
        "hardtanh": lambda: _net(torch.nn.Hardtanh()),
        "channel_slice": lambda: Lambda(lambda x: x[:, :2]),
        "log_softmax_rows": lambda: Lambda(lambda x: torch.log_softmax(x, dim=2)),
    }[case]()
    err = _error(tmp_path, capsys, module, (3, 6, 6))
    assert f"error[E704]: {expected}" in err, err


def test_cli_import_then_run(tmp_path, capsys):
    torch = require("torch")
    module = _net(
        torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(64, 3)
    )
    x = torch.randn(1, 3, 6, 6)
    export_onnx(module, x, tmp_path / "m.onnx")
    assert main(["import", str(tmp_path / "m.onnx"), "-o", str(tmp_path / "m.cnn")]) == 0
    np.save(tmp_path / "x.npy", nhwc(x.numpy()))
    args = ["run", str(tmp_path / "m.cnn"), "-w", str(tmp_path / "m.npz")]
    assert main([*args, "--input", str(tmp_path / "x.npy"), "-o", str(tmp_path / "y.npy")]) == 0
    with torch.no_grad():
        assert_close_to_scale(np.load(tmp_path / "y.npy"), module(x).numpy(), 1e-4)
    text = (tmp_path / "m.cnn").read_text()
    assert (
        "conv2d 4 3x3 relu name=conv_0" in text
        and "# the input and output are in Keras's layout" in text
    )


def test_dynamic_batch_export_imports(tmp_path):
    """``dynamic_axes`` on the batch: the flatten's shape is computed from it at run time."""
    torch = require("torch")

    class View(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 3)
            self.fc = torch.nn.Linear(4 * 4 * 4, 2)

        def forward(self, x):
            y = torch.relu(self.conv(x))
            return self.fc(y.view(y.size(0), -1))

    module = View().eval()
    x = torch.randn(3, 3, 6, 6)
    path = tmp_path / "dyn.onnx"
    torch.onnx.export(
        module,
        (x[:1],),
        str(path),
        dynamo=False,
        opset_version=17,
        input_names=["x"],
        dynamic_axes={"x": {0: "batch"}},
    )
    result = import_model(str(path))
    with torch.no_grad():
        want = module(x).numpy()
    assert_close_to_scale(runtime.run(result.model, nhwc(x.numpy()), result.weights), want, 1e-4)
