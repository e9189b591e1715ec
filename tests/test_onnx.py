"""The ONNX emitter against onnx.checker, ONNX shape inference, onnxruntime and real Keras.

Every emitted graph must pass ``onnx.checker.check_model(full_check=True)``
and strict shape inference, with every layer's inferred shape equal to
specc's; run by onnxruntime (default optimizations, as users run it) it must
compute what the Keras model built from the same IR computes with the same
weights, to 1e-5 relative.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from conftest import EXAMPLES, require

import specc
from specc.check import check_source
from specc.ir.graph import Model
from specc.ir.values import ACTIVATIONS
from specc.weights import init_weights

FEATURES = """
model upsampling {
  input 5x7x3
  upsampling2d (2, 3) interpolation=bilinear
  upsampling2d 2 interpolation=bicubic name=a
  upsampling2d (3, 1) interpolation=nearest
  concatenate axis=1 @a
}
model norms {
  input 6x5x4
  batchnorm axis=2 epsilon=0.01
  batchnorm axis=1 center=false
  batchnorm axis=3 scale=false
  reshape (30, 4)
  batchnorm axis=1
  batchnorm axis=-1 center=false scale=false
  flatten
  batchnorm
}
model transposes {
  input 7x6x3
  conv2dtranspose 4 3x3 strides=2 padding=same
  conv2dtranspose 4 2x2 strides=3 padding=valid
  conv2dtranspose 3 4x3 strides=(2, 3) padding=same output_padding=(1, 0)
  conv2dtranspose 3 3x3 strides=2 padding=valid output_padding=1
  conv2dtranspose 2 3x3 dilation_rate=2 padding=same
  conv2dtranspose 2 3x2 dilation_rate=(2, 1) padding=valid use_bias=false
}
model merges {
  input 6x6x4
  conv2d 4 3x3 same name=f
  globalavgpool keepdims=true name=g
  add @f
  globalavgpool name=v
  multiply @f
  maximum @g
  dense 4 name=d  # noqa: W401
  subtract @v
  average @d
  concatenate @f axis=2
  conv2d 4 1x1 strides=(1, 2)  # noqa: W403
  concatenate @f axis=1
  conv2d 4 1x1 strides=(2, 1)  # noqa: W403
  minimum @f
  dense 3 softmax  # noqa: W401
}
model convs {
  input 11x9x6 dtype=float16
  conv2d 6 3x3 strides=2 padding=same groups=3
  conv2d 6 (2, 4) dilation_rate=(2, 1) padding=same groups=2
  dwconv 3x3 depth_multiplier=3 strides=(2, 1) padding=same
  sepconv 5 (3, 2) depth_multiplier=2 dilation_rate=2 padding=same
  sepconv 5 2 strides=2 use_bias=false
  maxpool (3, 2) strides=(1, 2) padding=same
  avgpool 3 strides=2 padding=same
  zeropad ((2, 0), (1, 3))
  avgpool 2 strides=1
}
model padded_pools {
  input 6x6x2
  zeropad 1
  maxpool 2 name=p
  zeropad ((0, 1), (1, 0))
  dropout 0.5
  avgpool 2 strides=1 padding=same
  zeropad 2
  avgpool 1 strides=3 padding=same  # noqa: W403
  flatten
}
"""

ACTIVATION_MODELS = "\n".join(
    f"model act_{a} {{\n  input 4x4x3\n  conv2d 4 1x1 activation={a}\n  flatten\n"
    f"  dense 5 activation={a}\n}}"
    for a in ACTIVATIONS
)


def perturbed_weights(model: Model, seed: int) -> dict[str, np.ndarray]:
    """``init_weights`` with every vector (biases, BatchNormalization stats) made random.

    Zero biases and unit statistics would hide layout mistakes in them.
    """
    weights = init_weights(model, seed)
    rng = np.random.default_rng(seed + 7)
    for key, value in weights.items():
        if value.ndim == 1 or key.endswith(("/alpha", "/mean", "/variance")):
            if key.endswith("variance"):
                weights[key] = rng.uniform(0.5, 1.5, value.shape).astype(np.float32)
            else:
                weights[key] = rng.normal(0.0, 0.5, value.shape).astype(np.float32)
    return weights


def keras_outputs(model: Model, weights: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """Real Keras: the model built from the IR, weights set by name, run on ``x``."""
    from keras_reference import build_keras_model

    keras_model = build_keras_model(model)
    for node in model.layers:
        layer = keras_model.get_layer(node.name)
        layer.set_weights([weights[f"{node.name}/{w.name}"] for w in node.weights])
        if hasattr(layer, "finalize_state"):  # Normalization copies its weights
            layer.finalize_state()
    return np.asarray(keras_model(x, training=False))


def ort_outputs(proto, model: Model, x: np.ndarray) -> np.ndarray:
    """onnxruntime with its default (all) graph optimizations, as users run it."""
    ort = require("onnxruntime")
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {model.input.name: x.astype(model.input_dtype)})[0]


def check_graph(proto, model: Model) -> None:
    """onnx.checker (full), strict shape inference, and every layer's shape equals specc's.

    The graph declares specc's shapes as value_info, which the full check and
    strict inference refuse when ONNX infers otherwise; on a copy without them,
    ONNX's own inference must still find specc's shape for every layer.
    """
    onnx = require("onnx")
    onnx.checker.check_model(proto, full_check=True)
    onnx.shape_inference.infer_shapes(proto, strict_mode=True)
    bare = onnx.ModelProto()
    bare.CopyFrom(proto)
    del bare.graph.value_info[:]
    inferred = onnx.shape_inference.infer_shapes(bare, strict_mode=True)
    shapes = {}
    for info in [*inferred.graph.value_info, *inferred.graph.output]:
        dims = info.type.tensor_type.shape.dim
        shapes[info.name] = [d.dim_value if d.HasField("dim_value") else None for d in dims]
    out = model.nodes[model.output]
    assert shapes[out.name] == [None, *out.output_shape]
    declared = {info.name for info in proto.graph.value_info}
    for node in model.layers:
        if node.name in shapes:
            assert shapes[node.name] == [None, *node.output_shape], node.name
        else:
            h, w, c = node.output_shape
            assert shapes[f"{node.name}/nchw"] == [None, c, h, w], node.name
        assert node.name in declared or f"{node.name}/nchw" in declared or node is out


def assert_matches_keras(model: Model, seed: int = 0, batch: int = 3) -> None:
    """Emit, check, run on onnxruntime and on Keras; outputs agree to 1e-5 relative."""
    require("tensorflow")
    from specc.emit.onnx import emit_onnx

    weights = perturbed_weights(model, seed)
    proto = emit_onnx(model, weights)
    check_graph(proto, model)
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, (batch, *model.input.output_shape))
    x = x.astype(model.input_dtype).astype(np.float32)
    expected = keras_outputs(model, weights, x)
    got = ort_outputs(proto, model, x)
    assert got.shape == expected.shape
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * scale, err_msg=model.name)


def models_of(text: str, file: str = "t.cnn") -> list[Model]:
    result = check_source(text, file)
    assert result.errors == [], result.errors
    return result.models


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_matches_keras(path):
    for model in specc.load(path).models:
        assert_matches_keras(model)


@pytest.mark.parametrize("name", [m.name for m in models_of(FEATURES)])
def test_feature_matches_keras(name):
    model = next(m for m in models_of(FEATURES) if m.name == name)
    assert_matches_keras(model, seed=5)


def test_every_activation_matches_keras():
    for model in models_of(ACTIVATION_MODELS):
        assert_matches_keras(model, seed=11, batch=2)


def test_graph_layout_names_and_metadata():
    require("onnx")
    from specc.emit.onnx import emit_onnx

    model = specc.load(EXAMPLES[0].parent / "cifar10_cnn.cnn").model()
    weights = init_weights(model)
    proto = emit_onnx(model, weights)
    graph = proto.graph
    assert [i.name for i in graph.input] == [model.input.name]
    assert [o.name for o in graph.output] == [model.nodes[model.output].name]
    # One Transpose in after the input, one back to NHWC before the flatten.
    transposes = [n for n in graph.node if n.op_type == "Transpose"]
    assert len(transposes) == 2
    assert graph.node[0].op_type == "Transpose" and graph.node[0].input == [model.input.name]
    names = {n.name for n in graph.node}
    assert {node.name for node in model.layers} <= names
    # Dense kernels are Keras's bytes, unchanged.
    inits = {t.name: t for t in graph.initializer}
    assert inits["dense/kernel"].raw_data == weights["dense/kernel"].tobytes()
    props = {p.key: p.value for p in proto.metadata_props}
    assert props["specc.source"] == "cifar10_cnn.cnn"
    assert props["specc.version"] == specc.__version__
    assert proto.producer_name == "specc" and "cifar10_cnn" in proto.doc_string


def test_batchnorm_epsilon_is_written():
    from specc.emit.onnx import emit_onnx

    (model,) = models_of("model m {\n  input 4x4x2\n  batchnorm\n  bn epsilon=0.5\n}\n")
    proto = emit_onnx(model, init_weights(model))
    eps = [a.f for n in proto.graph.node if n.op_type == "BatchNormalization" for a in n.attribute]
    assert eps == pytest.approx([1e-3, 0.5])


@pytest.mark.parametrize("opset", [18, 19, 20, 22, 23])
def test_other_opsets_match_keras_output(opset):
    require("onnx")
    from specc.emit.onnx import emit_onnx

    text = "model m {\n  input 6x6x3\n  conv2d 4 3 same gelu\n  upsample 2 interpolation=bilinear\n"
    text += "  globalavgpool\n  dense 3 softmax\n}\n"
    (model,) = models_of(text)
    weights = perturbed_weights(model, 1)
    x = np.random.default_rng(1).normal(size=(2, 6, 6, 3)).astype(np.float32)
    reference = ort_outputs(emit_onnx(model, weights), model, x)
    proto = emit_onnx(model, weights, opset=opset)
    check_graph(proto, model)
    assert proto.opset_import[0].version == opset
    np.testing.assert_allclose(ort_outputs(proto, model, x), reference, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="opset"):
        emit_onnx(model, weights, opset=17)


def test_same_spec_and_weights_give_identical_bytes(tmp_path):
    require("onnx")
    from specc.emit.onnx import emit_onnx

    for path in EXAMPLES:
        model = specc.load(path).model()
        first = emit_onnx(model, init_weights(model, 3)).SerializeToString()
        second = emit_onnx(model, init_weights(model, 3)).SerializeToString()
        assert first == second, path.name
    example = str(EXAMPLES[0])
    outputs = [tmp_path / "a.onnx", tmp_path / "b.onnx"]
    for out in outputs:
        assert _specc("onnx", example, "-o", str(out)).returncode == 0
    assert outputs[0].read_bytes() == outputs[1].read_bytes()


def test_external_data_over_the_threshold(tmp_path):
    onnx = require("onnx")
    from specc.emit.onnx import emit_onnx, save_onnx

    model = specc.load(EXAMPLES[0].parent / "tiny_resnet.cnn").model()
    weights = perturbed_weights(model, 2)
    proto = emit_onnx(model, weights)
    inline = tmp_path / "inline.onnx"
    assert save_onnx(proto, inline) == [str(inline)]
    external = tmp_path / "ext.onnx"
    written = save_onnx(proto, external, external_threshold=1024)
    assert written == [str(external), str(tmp_path / "ext.onnx.data")]
    assert external.stat().st_size < inline.stat().st_size // 4
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "ext.onnx",
        "ext.onnx.data",
        "inline.onnx",
    ]
    loaded = onnx.load(str(external))
    onnx.checker.check_model(loaded, full_check=True)
    ort = require("onnxruntime")
    x = np.random.default_rng(0).normal(size=(2, 32, 32, 3)).astype(np.float32)
    from_path = ort.InferenceSession(str(external), providers=["CPUExecutionProvider"])
    got = from_path.run(None, {model.input.name: x})[0]
    np.testing.assert_array_equal(got, ort_outputs(proto, model, x))


def _specc(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "specc.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_cli_refuses_weights_that_do_not_fit(tmp_path):
    require("onnx")
    examples = {p.stem: str(p) for p in EXAMPLES}
    weights = tmp_path / "w.npz"
    assert _specc("init", examples["mnist_cnn"], "-o", str(weights)).returncode == 0
    out = tmp_path / "m.onnx"
    run = _specc("onnx", examples["cifar10_cnn"], "-o", str(out), "--weights", str(weights))
    assert run.returncode == 2
    assert "E504" in run.stderr and "cifar10_cnn.cnn:5:" in run.stderr
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["w.npz"]
    run = _specc("onnx", examples["mnist_cnn"], "-o", str(out), "-w", str(tmp_path / "no"))
    assert run.returncode == 2 and "E501" in run.stderr and not out.exists()
    run = _specc("onnx", examples["mnist_cnn"], "-o", str(out), "--opset", "9")
    assert run.returncode == 2 and not out.exists()
    run = _specc("onnx", examples["mnist_cnn"], "-o", str(out), "--weights", str(weights))
    assert run.returncode == 0, run.stderr
    onnx = require("onnx")
    onnx.checker.check_model(onnx.load(str(out)), full_check=True)


def test_cli_says_what_onnx_cannot_express(tmp_path):
    spec = tmp_path / "m.cnn"
    spec.write_text("model m {\n  input 4x4x1\n  upsample 2 interpolation=lanczos3\n}\n")
    out = tmp_path / "m.onnx"
    run = _specc("onnx", str(spec), "-o", str(out))
    assert run.returncode == 1
    assert "m.cnn:3:14: error[E607]" in run.stderr and "lanczos3" in run.stderr
    assert not out.exists()
    bad = tmp_path / "bad.cnn"
    bad.write_text("model m {\n  input 4x4x1\n  conv2d 4 5x5\n}\n")
    run = _specc("onnx", str(bad), "-o", str(out))
    assert run.returncode == 1 and "E201" in run.stderr and not out.exists()
