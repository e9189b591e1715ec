"""Model and weights files as untrusted input, ``specc weights import``, and ``save_weights``.

A truncated archive, a file that is not a model, an archive member over its
limit, an ONNX model that points at other files: each is a located, coded
error, and nothing is written. Weights saved by Keras go onto a spec by layer
name, with every missing, extra or misshapen array named; weights saved by
the generated module's ``save_weights`` are specc's own ``.npz``.
"""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
from conftest import require
from import_reference import randomize_keras
from test_keras_emit_common import check_text, emit_and_import, weights_of

import specc.runtime as runtime
from specc.cli import main
from specc.weights import load_weights

SPEC = """model small {
  input 8x8x3
  conv2d 4 3x3 same relu name=conv
  batchnormalization name=bn
  maxpooling2d
  flatten
  dense 5 name=head
}
"""


def _import_fails(tmp_path, capsys, source, status=2) -> str:
    out = tmp_path / "out.cnn"
    assert main(["import", str(source), "-o", str(out)]) == status
    assert not out.exists() and not out.with_suffix(".npz").exists()
    return capsys.readouterr().err


def _keras_file(tmp_path):
    require("tensorflow")
    module = emit_and_import(check_text(SPEC), tmp_path)
    model = module.build_model()
    model.save(tmp_path / "small.keras")
    return tmp_path / "small.keras"


def test_truncated_archive_is_refused(tmp_path, capsys):
    data = _keras_file(tmp_path).read_bytes()
    for cut in (len(data) // 2, len(data) - 30):
        (tmp_path / "cut.keras").write_bytes(data[:cut])
        err = _import_fails(tmp_path, capsys, tmp_path / "cut.keras")
        assert f"{tmp_path / 'cut.keras'}:1:1: error[E701]" in err
        assert "truncated or corrupt" in err


def test_files_that_are_no_model_are_refused(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("model m {\n  input 8\n  dense 2\n}\n")
    err = _import_fails(tmp_path, capsys, tmp_path / "notes.txt")
    assert (
        "error[E701]: is neither a Keras archive (.keras), an HDF5 model (.h5) nor an ONNX" in err
    )
    (tmp_path / "noise.onnx").write_bytes(bytes(range(256)) * 4)
    assert "error[E701]: not a readable ONNX model" in _import_fails(
        tmp_path, capsys, tmp_path / "noise.onnx"
    )
    with zipfile.ZipFile(tmp_path / "plain.keras", "w") as zf:
        zf.writestr("readme.txt", "hello")
    err = _import_fails(tmp_path, capsys, tmp_path / "plain.keras")
    assert "the archive has no config.json, so it is not a Keras model" in err
    err = _import_fails(tmp_path, capsys, tmp_path / "missing.keras")
    assert "error[E701]: no such file" in err


def test_archive_member_over_its_limit_is_not_read(tmp_path, capsys, monkeypatch):
    import specc.importers.keras_archive as archive

    source = _keras_file(tmp_path)
    monkeypatch.setattr(archive, "MAX_CONFIG_BYTES", 100)
    err = _import_fails(tmp_path, capsys, source)
    assert "archive member 'config.json' is" in err and "over the limit of 100" in err


def test_onnx_with_external_data_is_refused(tmp_path, capsys):
    onnx = require("onnx")
    from onnx import helper, numpy_helper

    weight = numpy_helper.from_array(np.ones((2, 2), np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 2])],
        [weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, tmp_path / "ext.onnx", save_as_external_data=True, size_threshold=0)
    err = _import_fails(tmp_path, capsys, tmp_path / "ext.onnx")
    assert "initializer 'w' is stored in an external file" in err


def test_truncated_onnx_is_refused(tmp_path, capsys):
    torch = require("torch")
    from import_reference import export_onnx

    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten())
    data = export_onnx(net, torch.randn(1, 3, 8, 8), tmp_path / "m.onnx").read_bytes()
    (tmp_path / "cut.onnx").write_bytes(data[: len(data) // 2])
    assert "error[E701]" in _import_fails(tmp_path, capsys, tmp_path / "cut.onnx")


@pytest.fixture
def keras_weights(tmp_path):
    """The spec's model built by Keras with random weights, saved with save_weights."""
    require("tensorflow")
    module = emit_and_import(check_text(SPEC), tmp_path)
    model = module.build_model()
    randomize_keras(model, seed=5)
    for weight in model.weights:
        if weight.name == "kernel":
            weight.assign(np.random.default_rng(6).normal(size=weight.shape).astype("float32"))
    model.save_weights(tmp_path / "k.weights.h5")
    return model, tmp_path / "k.weights.h5"


def test_keras_weights_go_onto_a_spec_by_layer_name(tmp_path, keras_weights, capsys):
    model, h5 = keras_weights
    (tmp_path / "s.cnn").write_text(SPEC)
    args = ["weights", "import", str(h5), str(tmp_path / "s.cnn"), "-o", str(tmp_path / "w.npz")]
    assert main(args) == 0
    assert "wrote" in capsys.readouterr().out
    spec_model = check_text(SPEC)
    arrays = load_weights(tmp_path / "w.npz", spec_model)
    want = weights_of(model)
    assert sorted(arrays) == sorted(want)
    for key, value in want.items():
        np.testing.assert_array_equal(arrays[key], value)
    x = np.random.default_rng(0).standard_normal((2, 8, 8, 3)).astype("float32")
    np.testing.assert_allclose(
        runtime.run(spec_model, x, arrays), model.predict(x, verbose=0), rtol=1e-5, atol=1e-5
    )


def test_weights_that_do_not_fit_the_spec_are_each_named(tmp_path, keras_weights, capsys):
    _, h5 = keras_weights
    spec = SPEC.replace("name=conv", "name=first").replace("dense 5", "dense 6")
    (tmp_path / "s.cnn").write_text(spec)
    args = ["weights", "import", str(h5), str(tmp_path / "s.cnn"), "-o", str(tmp_path / "w.npz")]
    assert main(args) == 2  # E502-E504: weights that do not fit, exit class 2 as for `specc run -w`
    err = capsys.readouterr().err
    assert not (tmp_path / "w.npz").exists()
    assert "s.cnn:3:3: error[E502]: weights file lacks 'first/kernel'" in err
    assert (
        "error[E503]: weights file holds arrays for layer 'conv', which the spec does not have"
        in err
    )
    assert (
        "s.cnn:7:3: error[E504]: layer 'head': array 'head/kernel' has shape (64, 5), expected (64, 6)"
        in err
    )


def test_weights_import_refuses_a_file_of_no_weights(tmp_path, capsys):
    (tmp_path / "s.cnn").write_text(SPEC)
    (tmp_path / "w.h5").write_bytes(b"not hdf5 at all")
    args = ["weights", "import", str(tmp_path / "w.h5"), str(tmp_path / "s.cnn"), "-o", "x.npz"]
    assert main(args) == 2
    assert "w.h5:1:1: error[E701]: cannot read the HDF5 weights" in capsys.readouterr().err


def test_generated_save_weights_writes_specc_weights(tmp_path, keras_weights):
    model, _ = keras_weights
    module = emit_and_import(check_text(SPEC), tmp_path)
    module.save_weights(model, str(tmp_path / "saved.npz"))
    spec_model = check_text(SPEC)
    arrays = load_weights(tmp_path / "saved.npz", spec_model)  # checks every array's shape
    for key, value in weights_of(model).items():
        np.testing.assert_array_equal(arrays[key], value)
    again = module.build_model()
    module.load_weights(again, str(tmp_path / "saved.npz"))
    x = np.random.default_rng(1).standard_normal((1, 8, 8, 3)).astype("float32")
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))


def test_archive_whose_weights_do_not_fit_its_layers(tmp_path, capsys):
    h5py = require("h5py")
    source = _keras_file(tmp_path)
    with zipfile.ZipFile(source) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    (tmp_path / "w.h5").write_bytes(members["model.weights.h5"])
    with h5py.File(tmp_path / "w.h5", "r+") as f:
        del f["layers/conv2d/vars/1"]  # the convolution's bias
    members["model.weights.h5"] = (tmp_path / "w.h5").read_bytes()
    with zipfile.ZipFile(tmp_path / "broken.keras", "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    err = _import_fails(tmp_path, capsys, tmp_path / "broken.keras", status=1)
    assert (
        "error[E706]: layer 'conv' (Conv2D) has 1 weight arrays in the file; specc's conv2d" in err
    )


def test_a_weights_file_is_no_model_and_says_what_to_do(tmp_path, keras_weights, capsys):
    _, h5 = keras_weights
    err = _import_fails(tmp_path, capsys, h5)
    assert "has no model_config attribute" in err and "specc weights import" in err
