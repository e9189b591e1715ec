"""``specc train``/``evaluate`` refuse bad data, settings and checkpoints before any epoch.

These run in-process and never import Keras: every refusal here comes before
the backend starts, so each test also proves that nothing was written and no
epoch began. Data comes from scikit-learn's digits.
"""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from conftest import ROOT, require

import specc
from specc.cli import main
from specc.train.backend import Topology
from specc.train.data import read_data, split_validation
from specc.train.history import history_csv, history_dict
from specc.train.labels import Loss, check_labels
from specc.train.loop import epoch_order, local_rows

DIGITS_SPEC = ROOT / "examples" / "digits_cnn.cnn"


@pytest.fixture(scope="module")
def digits():
    datasets = require("sklearn.datasets")
    d = datasets.load_digits()
    return (d.images / 16.0).astype(np.float32)[..., None], d.target.astype(np.int64)


@pytest.fixture(scope="module")
def model():
    return specc.load(DIGITS_SPEC).model()


def _train(capsys, tmp_path, *argv: str) -> tuple[int, str, str]:
    out = tmp_path / "w.npz"
    code = main(
        ["train", str(DIGITS_SPEC), "-o", str(out), "--history", str(tmp_path / "h.csv"), *argv]
    )
    stdout, stderr = capsys.readouterr()
    return code, stdout, stderr


def _nothing_written(tmp_path, keep: set[str]) -> None:
    assert {p.name for p in tmp_path.iterdir()} == keep


BAD_DATA = [
    ("nan", "E604", "non-finite"),
    ("shape", "E602", "expected (samples, 8, 8, 1)"),
    ("no_channel", "E602", "add the channel axis"),
    ("label_range", "E803", "class 10, out of range for the model's 10 output units"),
    ("one_hot", "E803", "these look one-hot"),
    ("fractional", "E803", "whole class ids"),
    ("label_nan", "E803", "must be finite"),
    ("count", "E803", "1,797 samples but 1,796 labels"),
    ("missing_key", "E802", "the file needs arrays 'x' and 'y' or 'x_train' and 'y_train'"),
    ("strings", "E603", "dtype"),
    ("not_npz", "E801", "not a .npz file"),
    ("empty", "E804", "no samples"),
]


def _bad_file(case: str, digits, tmp_path):
    x, y = digits
    path = tmp_path / "data.npz"
    arrays = {"x": x, "y": y}
    if case == "nan":
        x = x.copy()
        x[5, 3, 3, 0] = np.nan
        arrays["x"] = x
    elif case == "shape":
        arrays["x"] = np.zeros((len(x), 9, 9, 1), np.float32)
    elif case == "no_channel":
        arrays["x"] = x[..., 0]
    elif case == "label_range":
        arrays["y"] = np.where(np.arange(len(y)) == 7, 10, y)
    elif case == "one_hot":
        arrays["y"] = np.eye(10)[y]
    elif case == "fractional":
        arrays["y"] = y + 0.5
    elif case == "label_nan":
        arrays["y"] = np.where(np.arange(len(y)) == 2, np.nan, y.astype(float))
    elif case == "count":
        arrays["y"] = y[1:]
    elif case == "missing_key":
        arrays = {"images": x, "labels": y}
    elif case == "strings":
        arrays["x"] = np.full((len(x), 8, 8, 1), "a")
    elif case == "not_npz":
        path.write_text("x,y\n1,2\n")
        return path
    elif case == "empty":
        arrays = {"x": x[:0], "y": y[:0]}
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize(("case", "code", "words"), BAD_DATA, ids=[c[0] for c in BAD_DATA])
def test_bad_training_data_is_refused_before_any_epoch(case, code, words, digits, tmp_path, capsys):
    path = _bad_file(case, digits, tmp_path)
    status, out, err = _train(capsys, tmp_path, "--data", str(path))
    assert status == 2, err
    assert f"error[{code}]" in err and words in err, err
    assert f"{path}:1:1:" in err  # located at the data file
    assert "Epoch" not in out + err and "Traceback" not in err
    _nothing_written(tmp_path, {"data.npz"})


def test_bad_validation_data_is_refused_too(digits, tmp_path, capsys):
    x, y = digits
    np.savez(tmp_path / "train.npz", x=x, y=y)
    np.savez(tmp_path / "test.npz", x_test=x[:10], y_test=np.full(10, -1))
    status, _, err = _train(
        capsys,
        tmp_path,
        "--data",
        str(tmp_path / "train.npz"),
        "--validation",
        str(tmp_path / "test.npz"),
    )
    assert status == 2 and "error[E803]" in err and "class -1" in err, err
    _nothing_written(tmp_path, {"train.npz", "test.npz"})


def test_a_spec_without_compile_says_what_is_missing(digits, tmp_path, capsys):
    x, y = digits
    np.savez(tmp_path / "d.npz", x=x, y=y)
    spec = tmp_path / "m.cnn"
    spec.write_text("model m {\n  input 8x8x1\n  flatten\n  dense 10 softmax\n}\n")
    code = main(
        ["train", str(spec), "--data", str(tmp_path / "d.npz"), "-o", str(tmp_path / "w.npz")]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "m.cnn:1:1: error[E805]: model 'm' has no compile settings" in err, err
    assert "help: add a line such as `compile optimizer=adam" in err
    spec.write_text(
        "model m {\n  input 8x8x1\n  flatten\n  dense 10 softmax\n  compile optimizer=adam\n}\n"
    )
    code = main(
        ["evaluate", str(spec), "--data", str(tmp_path / "d.npz"), "-w", str(tmp_path / "w.npz")]
    )
    err = capsys.readouterr().err
    assert code == 1 and "m.cnn:5:3: error[E805]: compile names no loss" in err, err
    _nothing_written(tmp_path, {"d.npz", "m.cnn"})


def test_resume_needs_a_checkpoint_of_the_same_model(digits, tmp_path, capsys):
    x, y = digits
    np.savez(tmp_path / "d.npz", x=x, y=y)
    status, _, err = _train(capsys, tmp_path, "--data", str(tmp_path / "d.npz"), "--resume")
    assert status == 2 and "error[E807]: no checkpoint to resume in" in err, err
    ckpt = tmp_path / "w.checkpoint"
    ckpt.mkdir()
    (ckpt / "checkpoint.npz").write_bytes(b"PK\x03\x04 not really")
    status, _, err = _train(capsys, tmp_path, "--data", str(tmp_path / "d.npz"), "--resume")
    assert status == 2 and "error[E807]: cannot read checkpoint" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.npz", "w.checkpoint"]


def test_initial_epoch_in_fit_points_to_resume(digits, tmp_path, capsys):
    x, y = digits
    np.savez(tmp_path / "d.npz", x=x, y=y)
    spec = tmp_path / "m.cnn"
    spec.write_text(
        "model m {\n  input 8x8x1\n  flatten\n  dense 10 softmax\n"
        "  compile loss=sparse_categorical_crossentropy\n  fit initial_epoch=2\n}\n"
    )
    code = main(
        ["train", str(spec), "--data", str(tmp_path / "d.npz"), "-o", str(tmp_path / "w.npz")]
    )
    err = capsys.readouterr().err
    assert code == 2 and "m.cnn:6:7: error[E806]" in err and "--resume" in err, err


def _folders(tmp_path, counts: dict[str, int]):
    image = require("PIL.Image")
    root = tmp_path / "images"
    for name, count in counts.items():
        (root / name).mkdir(parents=True)
        for i in range(count):
            image.fromarray(np.full((8, 8), 16 * i % 256, np.uint8)).save(root / name / f"{i}.png")
    return root


def test_class_folders_are_checked_before_keras(tmp_path, model):
    loss = Loss("sparse_categorical_crossentropy")
    empty = tmp_path / "none"
    empty.mkdir()
    cases = [
        (empty, "E804", "no class folders"),
        (_folders(tmp_path / "a", {"0": 2, "1": 0}), "E804", "class folder '1' holds no images"),
        (_folders(tmp_path / "b", {"0": 2, "1": 2}), "E803", "2 class folders (0, 1) but model"),
    ]
    for path, code, words in cases:
        with pytest.raises(specc.SpeccError) as info:
            read_data(str(path), model, loss, "train", keras=lambda: pytest.fail("imported Keras"))
        [d] = info.value.diagnostics
        assert (d.code, d.span.file) == (code, str(path)) and words in d.message, d.message
    ten = _folders(tmp_path / "c", {str(i): 1 for i in range(10)})
    with pytest.raises(specc.SpeccError) as info:
        read_data(
            str(ten), model, loss, "test", class_names=[str(i) for i in range(1, 11)], keras=None
        )
    assert "the training data's are 1, 2" in info.value.diagnostics[0].message


def test_labels_by_loss(model):
    span = specc.Span("d.npz", 1, 1, 1, 2)
    ids = np.array([0, 9, 3])
    assert (
        check_labels(ids, model, Loss("sparse_categorical_crossentropy"), 3, span).dtype == np.int32
    )
    assert check_labels(
        ids[:, None].astype(float), model, Loss("sparse_categorical_crossentropy"), 3, span
    ).shape == (3,)
    one_hot = np.eye(10)[ids]
    assert check_labels(one_hot, model, Loss("categorical_crossentropy"), 3, span).shape == (3, 10)
    with pytest.raises(specc.SpeccError) as info:
        check_labels(ids, model, Loss("categorical_crossentropy"), 3, span)
    assert "look like class ids" in info.value.diagnostics[0].help
    with pytest.raises(specc.SpeccError, match="between 0 and 1"):
        check_labels(one_hot * 2, model, Loss("categorical_crossentropy"), 3, span)
    # from_logits crossentropies and regression losses take any finite value
    check_labels(one_hot * 2, model, Loss("categorical_crossentropy", from_logits=True), 3, span)
    check_labels(one_hot * 2, model, Loss("mse"), 3, span)
    # ignore_class may lie outside the classes
    check_labels(
        np.array([0, -1, 9]),
        model,
        Loss("sparse_categorical_crossentropy", ignore_class=-1),
        3,
        span,
    )


def test_validation_split_is_keras_s_last_fraction(digits, model, tmp_path):
    x, y = digits
    np.savez(tmp_path / "d.npz", x_train=x[:100], y_train=y[:100])
    data = read_data(
        str(tmp_path / "d.npz"), model, Loss("sparse_categorical_crossentropy"), "train"
    )
    train, validation = split_validation(data, 0.25)
    assert (len(train), len(validation)) == (75, 25)
    np.testing.assert_array_equal(validation.y, y[75:100])
    with pytest.raises(specc.SpeccError, match="of 1 samples leaves no training samples"):
        split_validation(data.rows(slice(0, 1)), 0.25)


def test_epoch_order_depends_only_on_seed_and_epoch():
    first = epoch_order(100, 3, 4, True)
    assert sorted(first) == list(range(100))
    np.testing.assert_array_equal(first, epoch_order(100, 3, 4, True))
    assert not np.array_equal(first, epoch_order(100, 3, 5, True))
    np.testing.assert_array_equal(epoch_order(5, 3, 4, False), np.arange(5))


def test_each_process_takes_its_share_of_every_batch():
    order = np.arange(23)
    one = Topology("jax", devices=2)
    np.testing.assert_array_equal(local_rows(order, 8, one), np.arange(22))  # 1 left out
    shares = [local_rows(order, 8, Topology("jax", p, 2, 2)) for p in (0, 1)]
    np.testing.assert_array_equal(shares[0], [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18])
    np.testing.assert_array_equal(shares[1], [4, 5, 6, 7, 12, 13, 14, 15, 19, 20, 21])
    np.testing.assert_array_equal(local_rows(order, 8, Topology("tensorflow", devices=2)), order)


def test_history_as_csv_and_json():
    rows = [{"loss": 1.5, "accuracy": 0.25}, {"loss": 0.75, "accuracy": 0.5, "val_loss": 0.8}]
    table = list(csv.DictReader(io.StringIO(history_csv(rows))))
    assert [r["epoch"] for r in table] == ["1", "2"]
    assert float(table[1]["loss"]) == 0.75 and table[0]["val_loss"] == ""
    assert json.loads(json.dumps(history_dict(rows))) == {
        "loss": [1.5, 0.75],
        "accuracy": [0.25, 0.5],
        "val_loss": [None, 0.8],
    }


def test_training_curves_png(tmp_path):
    require("matplotlib")
    from matplotlib.image import imread

    from specc.viz.curves import plot_history, quantities

    rows = [
        {"accuracy": 0.1 * i, "loss": 1 / i, "val_accuracy": 0.09 * i, "val_loss": 1.1 / i}
        for i in range(1, 6)
    ]
    assert quantities(rows) == ["loss", "accuracy"]
    png = plot_history(rows, "m training")
    (tmp_path / "h.png").write_bytes(png)
    image = imread(tmp_path / "h.png")
    assert image.shape[:2] == (320, 840)  # two panels of 4.2 x 3.2 inches at 100 dpi
    assert image.std() > 0.05  # something was drawn


def test_distribute_needs_jax_or_tensorflow(digits, tmp_path, capsys):
    x, y = digits
    np.savez(tmp_path / "d.npz", x=x, y=y)
    argv = ["--data", str(tmp_path / "d.npz"), "--backend", "torch", "--distribute"]
    status, _, err = _train(capsys, tmp_path, *argv)
    assert status == 2, err
    assert "error[E806]: --distribute needs the jax or tensorflow backend, not torch" in err
    _nothing_written(tmp_path, {"d.npz"})


def test_multiworker_tensorflow_is_refused(monkeypatch):
    from types import SimpleNamespace

    from specc.train.backend import Cluster, start

    keras = SimpleNamespace(backend=SimpleNamespace(backend=lambda: "tensorflow"))
    config = {"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 0}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(config))
    with pytest.raises(specc.SpeccError) as info:
        start(keras, True, Cluster(), specc.Span("m.cnn", 1, 1, 1, 2))
    assert "keras-team/keras#20585" in info.value.diagnostics[0].message
    monkeypatch.delenv("TF_CONFIG")
    with pytest.raises(specc.SpeccError, match="only with --distribute"):
        start(keras, False, Cluster("h:1", 2, 0), specc.Span("m.cnn", 1, 1, 1, 2))


def test_outputs_that_cannot_be_written_are_refused_first(digits, tmp_path, capsys):
    x, y = digits
    np.savez(tmp_path / "d.npz", x=x, y=y)
    (tmp_path / "h.png").mkdir()
    status, _, err = _train(
        capsys, tmp_path, "--data", str(tmp_path / "d.npz"), "--plot", str(tmp_path / "h.png")
    )
    assert status == 2 and "h.png is a directory" in err, err
    _nothing_written(tmp_path, {"d.npz", "h.png"})
