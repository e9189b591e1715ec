"""Training and test data: a ``.npz`` of arrays or a folder of class folders of images.

Everything is checked against the model and its loss before Keras sees it:
the file and its keys (E801, E802), the images' shape, dtype and finiteness
(E602-E604, as for ``specc run``), the labels (E803, :mod:`specc.train.labels`),
and that there is something to train on (E804). Problems are located at the
data file, whose path is the diagnostic's file.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Literal

import numpy as np

from specc.codes import E602, E801, E802, E803, E804, E806
from specc.diagnostics import Diagnostic, Span, SpeccError
from specc.ir.graph import Model
from specc.ir.shapes import fmt_shape
from specc.runtime.validate import check_input
from specc.train.labels import Loss, check_labels

Role = Literal["train", "test"]
# The keys tried in order: plain x/y, else Keras's load_data() names for the role.
KEYS: dict[str, tuple[tuple[str, str], ...]] = {
    "train": (("x", "y"), ("x_train", "y_train")),
    "test": (("x", "y"), ("x_test", "y_test")),
}
# keras.utils.image_dataset_from_directory reads these (its ALLOWLIST_FORMATS).
IMAGE_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_COLOR_MODES = {1: "grayscale", 3: "rgb", 4: "rgba"}
_LABEL_MODES = {"sparse": "int", "categorical": "categorical", "binary": "binary"}


@dataclass
class Data:
    """Checked samples: float32 images ``x`` and labels ``y`` in the layout the loss takes."""

    x: np.ndarray
    y: np.ndarray
    path: str
    class_names: list[str] | None = None

    def __len__(self) -> int:
        return len(self.x)

    def rows(self, index: np.ndarray | slice) -> Data:
        """The samples at ``index``."""
        return Data(self.x[index], self.y[index], self.path, self.class_names)


def data_span(path: str) -> Span:
    """Where data diagnostics point: the data file itself."""
    return Span(path, 1, 1, 1, 2)


def _fail(code: str, message: str, path: str, help: str | None = None) -> SpeccError:
    return SpeccError(Diagnostic(code, message, data_span(path), help))


def read_data(
    path: str,
    model: Model,
    loss: Loss,
    role: Role,
    class_names: list[str] | None = None,
    keras: Callable[[], ModuleType] | None = None,
) -> Data:
    """The samples at ``path`` (a ``.npz`` or a folder), checked; raises SpeccError.

    ``keras`` imports Keras on the chosen backend; it is called only for a
    folder, whose images Keras decodes.
    """
    if os.path.isdir(path):
        return read_folder(path, model, loss, class_names, keras)
    x, y = read_arrays(path, role)
    images = check_images(x, model, path)
    return Data(images, check_labels(y, model, loss, len(images), data_span(path)), path)


def read_arrays(path: str, role: Role) -> tuple[np.ndarray, np.ndarray]:
    """``x`` and ``y`` of a ``.npz``: ``x``/``y``, else the role's Keras names (:data:`KEYS`)."""
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
        if magic not in (b"PK\x03\x04", b"PK\x05\x06"):
            raise _fail(
                E801,
                "not a .npz file nor a folder of class folders",
                path,
                "save arrays with numpy.savez(path, x=images, y=labels)",
            )
        with np.load(path, allow_pickle=False) as npz:
            names = list(npz.files)
            for x_key, y_key in KEYS[role]:
                if x_key in names and y_key in names:
                    return npz[x_key], npz[y_key]
    except SpeccError:
        raise
    except FileNotFoundError:
        raise _fail(E801, "no such data file or folder", path) from None
    except ValueError as exc:
        if "pickle" in str(exc):
            raise _fail(E801, "the data holds Python objects; expected arrays", path) from None
        raise _fail(E801, f"cannot read data: {exc}", path) from None
    except Exception as exc:  # corrupt archives fail in many ways (zip, zlib, format)
        raise _fail(E801, f"cannot read data: {type(exc).__name__}: {exc}", path) from None
    wanted = " or ".join(f"'{x}' and '{y}'" for x, y in KEYS[role])
    has = ", ".join(f"'{n}'" for n in names) or "no arrays"
    raise _fail(E802, f"the file needs arrays {wanted}; it has {has}", path)


def check_images(x: np.ndarray, model: Model, path: str) -> np.ndarray:
    """``x`` as a float32 batch of the model's input shape, or E602-E604, E804."""
    expected = tuple(model.input.output_shape or ())
    if x.ndim != len(expected) + 1 or tuple(x.shape[1:]) != expected:
        help = None
        if tuple(x.shape[1:]) == expected[:-1] and expected[-1:] == (1,):
            help = "add the channel axis: x[..., None]"
        raise _fail(
            E602,
            f"samples of shape {tuple(x.shape)} do not fit model '{model.name}': expected "
            f"(samples, {', '.join(map(str, expected))})",
            path,
            help,
        )
    if x.shape[0] == 0:
        raise _fail(E804, "the data holds no samples", path)
    return check_input(model, x, data_span(path))


def split_validation(data: Data, fraction: float) -> tuple[Data, Data]:
    """Keras's ``validation_split``: the last ``fraction`` of the samples, before shuffling."""
    split_at = math.floor(len(data) * (1.0 - fraction))
    if split_at == 0 or split_at == len(data):
        raise _fail(
            E804,
            f"validation_split={fraction} of {len(data):,} samples leaves "
            f"{'no training' if split_at == 0 else 'no validation'} samples",
            data.path,
        )
    return data.rows(slice(0, split_at)), data.rows(slice(split_at, None))


def class_folders(path: str) -> dict[str, int]:
    """Each class folder of ``path`` with its count of images Keras reads, sorted by name."""
    counts: dict[str, int] = {}
    for entry in sorted(os.scandir(path), key=lambda e: e.name):
        if entry.is_dir():
            counts[entry.name] = sum(
                1
                for _, _, files in os.walk(entry.path)
                for name in files
                if name.lower().endswith(IMAGE_FORMATS)
            )
    return counts


def read_folder(
    path: str,
    model: Model,
    loss: Loss,
    class_names: list[str] | None,
    keras: Callable[[], ModuleType] | None = None,
) -> Data:
    """Images of a folder of class folders at the model's input size, through Keras."""
    counts = class_folders(path)
    formats = ", ".join(IMAGE_FORMATS)
    if not counts:
        raise _fail(
            E804,
            "the folder has no class folders",
            path,
            f"put images ({formats}) in one folder per class",
        )
    empty = [name for name, n in counts.items() if n == 0]
    if empty:
        raise _fail(E804, f"class folder '{empty[0]}' holds no images ({formats})", path)
    if class_names is not None and list(counts) != class_names:
        raise _fail(
            E803,
            f"the class folders are {', '.join(counts)}; "
            f"the training data's are {', '.join(class_names)}",
            path,
        )
    shape = tuple(model.input.output_shape or ())
    output = tuple(model.output_shape or ())
    if len(shape) != 3 or shape[-1] not in _COLOR_MODES:
        raise _fail(
            E602,
            f"images need an input of 1, 3 or 4 channels; model '{model.name}' takes "
            f"{fmt_shape(shape)}",
            path,
        )
    if loss.kind not in _LABEL_MODES:
        raise _fail(
            E803, f"class folders give class labels; loss {loss.name} does not take them", path
        )
    classes = len(counts)
    units = 2 if output == (1,) else output[-1]
    if len(output) != 1 or units != classes or (loss.kind == "binary") != (output == (1,)):
        raise _fail(
            E803,
            f"{classes} class folders ({', '.join(counts)}) but model '{model.name}' has "
            f"{fmt_shape(output)} outputs and loss {loss.name}",
            path,
        )
    x, y = _load_images(path, list(counts), shape, loss, keras)
    return Data(
        check_input(model, x, data_span(path)),
        check_labels(y, model, loss, len(x), data_span(path)),
        path,
        list(counts),
    )


def _load_images(
    path: str,
    classes: list[str],
    shape: tuple[int, ...],
    loss: Loss,
    import_keras: Callable[[], ModuleType] | None,
) -> tuple[np.ndarray, np.ndarray]:
    try:
        # Keras first (TensorFlow imports it, on whatever backend the environment names)
        if import_keras is not None:
            keras = import_keras()
        else:
            import keras
        import tensorflow  # noqa: F401  (image_dataset_from_directory returns a tf.data.Dataset)
    except ImportError as exc:
        raise _fail(
            E806,
            f"reading a folder of images needs TensorFlow: {exc}",
            path,
            "pip install 'specc[tensorflow]'",
        ) from None
    try:
        dataset = keras.utils.image_dataset_from_directory(
            path,
            labels="inferred",
            label_mode=_LABEL_MODES[loss.kind],
            class_names=classes,
            color_mode=_COLOR_MODES[shape[-1]],
            batch_size=256,
            image_size=shape[:2],
            shuffle=False,
            verbose=False,
        )
        batches = list(dataset.as_numpy_iterator())
    except Exception as exc:  # undecodable images surface from tf.data as several types
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise _fail(E801, f"cannot read the images: {message}", path) from None
    x = np.concatenate([b[0] for b in batches])
    y = np.concatenate([b[1] for b in batches])
    return x, y


def describe(data: Data) -> str:
    """``1,437 samples of 8x8x1`` (and the classes of a folder)."""
    text = f"{len(data):,} samples of {fmt_shape(data.x.shape[1:])} from {Path(data.path).name}"
    if data.class_names:
        text += f" ({len(data.class_names)} classes)"
    return text
