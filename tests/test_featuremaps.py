"""``specc featuremaps`` and ``specc filters``: every tile is the data, normalised as documented.

The PNG is decoded with Pillow; each tile's pixels (found through the
``specc:tiles`` text chunk) must equal the runtime's tap of that channel (taps
equal Keras's layer outputs: test_taps.py), or the kernel slice from the
weights file, scaled by the formula of specc/viz/tiles.py's docstring, written
out again here.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import ROOT, require

import specc
from specc.cli import main
from specc.runtime.numpy_backend import NumpyBackend
from specc.weights import init_weights, save_weights

CIFAR = str(ROOT / "examples" / "cifar10_cnn.cnn")
MNIST = str(ROOT / "examples" / "mnist_cnn.cnn")


def documented_grey(values: np.ndarray) -> np.ndarray:
    """round((value - lo) / (hi - lo) * 255) per tile; 0 for a constant tile."""
    v = values.astype(np.float64)
    lo, hi = v.min(), v.max()
    if hi == lo:
        return np.zeros(v.shape, np.uint8)
    return np.round((v - lo) / (hi - lo) * 255).astype(np.uint8)


def _tiles(path) -> tuple[np.ndarray, list[dict]]:
    image_module = require("PIL.Image")
    with image_module.open(path) as image:
        assert image.format == "PNG"
        meta = json.loads(image.text["specc:tiles"])["tiles"]
        return np.asarray(image.convert("RGB")), meta


def _crop(pixels: np.ndarray, tile: dict) -> np.ndarray:
    """The tile's values back from its enlarged pixels (each value a scale x scale square)."""
    x0, y0, x1, y1 = tile["box"]
    s = tile["scale"]
    block = pixels[y0:y1, x0:x1]
    small = block[::s, ::s]
    np.testing.assert_array_equal(block, np.kron(small, np.ones((s, s, 1), np.uint8)))
    return small


@pytest.fixture(scope="module")
def cifar_files(tmp_path_factory):
    pil = require("PIL.Image")
    tmp = tmp_path_factory.mktemp("cifar")
    model = specc.load(CIFAR).model()
    weights = init_weights(model, seed=5)
    save_weights(tmp / "w.npz", weights)
    yy, xx = np.mgrid[0:32, 0:32]
    rgb = np.stack([xx * 8, yy * 8, ((xx - 16) ** 2 + (yy - 16) ** 2 < 80) * 255], axis=-1)
    pil.fromarray(rgb.astype(np.uint8), "RGB").save(tmp / "image.png")
    return tmp, model, weights, rgb.astype(np.float32)


def _cli(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err


def test_each_feature_map_tile_is_the_tap_of_its_channel(cifar_files, capsys):
    tmp, model, weights, image = cifar_files
    out = tmp / "maps.png"
    argv = ["featuremaps", CIFAR, "-i", str(tmp / "image.png"), "-w", str(tmp / "w.npz")]
    code, err = _cli(capsys, *argv, "-o", str(out), "--max-channels", "40")
    assert code == 0, err
    pixels, meta = _tiles(out)
    convolutions = [n.name for n in model.layers if n.kind == "conv2d"]
    assert sorted({t["layer"] for t in meta}) == sorted(convolutions)  # default: every conv
    _, taps = NumpyBackend(model, weights, taps=convolutions).with_taps(image[None])
    for name in convolutions:
        shown = [t for t in meta if t["layer"] == name]
        assert [t["channel"] for t in shown] == list(range(min(40, taps[name].shape[-1])))
    assert len(meta) == 32 + 40 + 40
    for tile in meta:
        small = _crop(pixels, tile)
        assert (small[..., 0] == small[..., 1]).all() and (small[..., 1] == small[..., 2]).all()
        want = documented_grey(taps[tile["layer"]][0, :, :, tile["channel"]])
        np.testing.assert_array_equal(small[..., 0], want, err_msg=str(tile))
        x0, _, x1, y1 = tile["box"]
        assert (pixels[y1 + 1 : y1 + 12, x0:x1] < 128).any(), "each tile has a label under it"
    assert pixels.std() > 20  # not blank
    again = tmp / "again.png"
    assert _cli(capsys, *argv, "-o", str(again), "--max-channels", "40")[0] == 0
    assert again.read_bytes() == out.read_bytes()  # deterministic


def test_feature_maps_in_a_matplotlib_colormap(cifar_files, capsys):
    matplotlib = require("matplotlib")
    tmp, model, weights, image = cifar_files
    out = tmp / "viridis.png"
    argv = ["featuremaps", CIFAR, "-i", str(tmp / "image.png"), "-w", str(tmp / "w.npz")]
    code, err = _cli(capsys, *argv, "--layers", "conv2d_1", "--colormap", "viridis", "-o", str(out))
    assert code == 0, err
    pixels, meta = _tiles(out)
    _, taps = NumpyBackend(model, weights, taps=["conv2d_1"]).with_taps(image[None])
    table = matplotlib.colormaps["viridis"](np.arange(256) / 255.0)[:, :3]
    for tile in meta:
        grey = documented_grey(taps["conv2d_1"][0, :, :, tile["channel"]])
        want = np.round(table[grey] * 255).astype(np.uint8)
        np.testing.assert_array_equal(_crop(pixels, tile), want)


def test_first_layer_filters_are_rgb_tiles(cifar_files, capsys):
    tmp, _, weights, _ = cifar_files
    out = tmp / "filters.png"
    code, err = _cli(
        capsys, "filters", CIFAR, "-w", str(tmp / "w.npz"), "--layer", "conv2d", "-o", str(out)
    )
    assert code == 0, err
    pixels, meta = _tiles(out)
    kernel = weights["conv2d/kernel"]  # (3, 3, 3, 32)
    assert [t["filter"] for t in meta] == list(range(32))
    for tile in meta:
        # one scale over the filter's three channels: colours keep their balance
        np.testing.assert_array_equal(
            _crop(pixels, tile), documented_grey(kernel[:, :, :, tile["filter"]])
        )


def test_deeper_filters_are_one_grey_tile_per_input_channel(cifar_files, capsys):
    tmp, _, weights, _ = cifar_files
    out = tmp / "filters1.png"
    argv = ["filters", CIFAR, "-w", str(tmp / "w.npz"), "--layer", "conv2d_1", "-o", str(out)]
    code, err = _cli(capsys, *argv, "--max-filters", "5", "--max-channels", "3")
    assert code == 0, err
    pixels, meta = _tiles(out)
    assert [(t["filter"], t["channel"]) for t in meta] == [
        (f, c) for f in range(5) for c in range(3)
    ]
    kernel = weights["conv2d_1/kernel"]
    for tile in meta:
        want = documented_grey(kernel[:, :, tile["channel"], tile["filter"]])
        np.testing.assert_array_equal(_crop(pixels, tile)[..., 1], want)


def test_normalisation_of_constant_and_non_finite_tiles():
    from specc.viz.tiles import normalise

    assert (normalise(np.full((3, 3), 7.0)) == 0).all()
    v = np.array([[0.0, np.nan], [np.inf, -np.inf], [2.0, 4.0]])
    np.testing.assert_array_equal(normalise(v), [[0, 0], [255, 0], [128, 255]])


@pytest.mark.parametrize(
    ("argv", "code", "needle"),
    [
        (["featuremaps", CIFAR, "--layers", "conv9"], "E611", "did you mean"),
        (["featuremaps", CIFAR, "--layers", "flatten"], "E612", "not a feature map"),
        (["featuremaps", CIFAR, "--colormap", "nosuch"], "E614", "colormap"),
        (["featuremaps", CIFAR, "--input", "{tmp}/w.npz"], "E601", "input"),
        (["featuremaps", MNIST, "-w", "{tmp}/w.npz"], "E5", "weights"),
        (["featuremaps", MNIST, "-w", "{tmp}/mnist.npz"], "E602", "--resize"),
        (["featuremaps", CIFAR, "--input", "{tmp}/batch.npy"], "E602", "one image"),
        (["filters", CIFAR, "--layer", "dense"], "E612", "no convolution kernels"),
        (["filters", CIFAR, "--layer", "conv9"], "E611", "has no layer named"),
        (["diagram", CIFAR], "E614", "suffix"),
    ],
)
def test_bad_input_is_coded_and_writes_nothing(cifar_files, capsys, argv, code, needle):
    tmp, *_ = cifar_files
    mnist = specc.load(MNIST).model()
    save_weights(tmp / "mnist.npz", init_weights(mnist))
    np.save(tmp / "batch.npy", np.zeros((2, 32, 32, 3), np.float32))
    argv = [a.format(tmp=tmp) for a in argv]
    if argv[0] == "featuremaps" and "--input" not in argv:
        argv += ["--input", str(tmp / "image.png")]
    if "-w" not in argv:
        argv += ["-w", str(tmp / "w.npz")]
    out = tmp / ("bad.xyz" if argv[0] == "diagram" else "bad.png")
    if argv[0] == "diagram":
        argv = [a for a in argv if a not in ("-w", str(tmp / "w.npz"))]
    status, err = _cli(capsys, *argv, "-o", str(out))
    assert status == 2, err
    assert f"error[{code}" in err and needle in err, err
    assert "Traceback" not in err
    assert not out.exists()
