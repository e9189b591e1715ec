"""Reading what ``specc run --input`` names: ``.npy``/``.npz`` arrays or image files.

Problems are :class:`SpeccError` values located at the input file (line 1),
with E601 (cannot read), E602 (wrong shape: an image of another size says so
and suggests ``--resize``) and E603 (wrong dtype).

Images are decoded with Pillow (``pip install 'specc[images]'``) to the
model's channel count (1: grayscale, 3: RGB, 4: RGBA) as float32 values
0..255, unscaled, exactly the pixel values Keras's image utilities produce.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from specc.codes import E601, E602, E603
from specc.diagnostics import Diagnostic, Span, SpeccError
from specc.io import NotRegularFileError, available_memory, open_regular
from specc.ir.graph import Model
from specc.ir.shapes import fmt_shape
from specc.npz import (
    NPY_MAGIC,
    ZIP_MAGICS,
    ArrayHeader,
    NotAnArrayError,
    NpzArchive,
    read_data,
    read_header,
)
from specc.runtime.validate import check_input_layout

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
_MODES = {1: "L", 3: "RGB", 4: "RGBA"}


def file_span(path: str) -> Span:
    """The span that input-file diagnostics point at: the file's first character."""
    return Span(path, 1, 1, 1, 2)


def _fail(code: str, message: str, path: str, help: str | None = None) -> SpeccError:
    return SpeccError(Diagnostic(code, message, file_span(path), help))


def read_array(path: str, model: Model) -> np.ndarray:
    """The array of a ``.npy``, or of a ``.npz``: its only array, ``x``, or the input's name.

    The ``.npy`` header is read first: an array whose dtype or shape cannot be
    the model's input, or that would not fit in memory, is refused before its
    data is read or decompressed.
    """
    try:
        with open_regular(path) as f:
            magic = f.read(6)
            if magic == NPY_MAGIC:
                f.seek(0)
                header = read_header(f)
                _admit(header, path, model, os.fstat(f.fileno()).st_size - f.tell())
                return read_data(f, header)
        if magic[:4] not in ZIP_MAGICS:
            raise _fail(
                E601,
                "not a .npy or .npz file (nor an image: PNG, JPEG, ...)",
                path,
                "save arrays with numpy.save or numpy.savez",
            )
        with NpzArchive.open(path) as archive:
            key = _input_key(archive, path, model)
            header = archive[key]
            if isinstance(header, str):
                raise _fail(E601, f"array '{key}' {header}", path)
            _admit(header, path, model)
            return archive.load(key)
    except SpeccError:
        raise
    except FileNotFoundError:
        raise _fail(E601, "no such input file", path) from None
    except IsADirectoryError:
        raise _fail(E601, "is a directory, not an input file", path) from None
    except NotRegularFileError as exc:
        raise _fail(E601, f"is {exc.strerror}", path) from None
    except NotAnArrayError as exc:
        raise _fail(E601, f"cannot read input: {exc}", path) from None
    except Exception as exc:  # corrupt files fail in many ways (zip, format, EOF)
        raise _fail(E601, f"cannot read input: {type(exc).__name__}: {exc}", path) from None


def _input_key(archive: NpzArchive, path: str, model: Model) -> str:
    keys = list(archive)
    for key in (keys[0] if len(keys) == 1 else None, "x", model.input.name):
        if key is not None and key in keys:
            return key
    listed = ", ".join(keys) or "no arrays"
    raise _fail(
        E601,
        f"cannot tell which array is the input: the archive holds {listed}",
        path,
        f"store one array, or name it 'x' or '{model.input.name}'",
    )


def _admit(header: ArrayHeader, path: str, model: Model, stored: int | None = None) -> None:
    """Refuse, from its header, an array that cannot be the input or cannot be held."""
    if header.dtype.hasobject:
        raise _fail(E603, "input holds Python objects; expected a numeric array", path)
    check_input_layout(model, header.shape, header.dtype, file_span(path))
    if stored is not None and stored < header.nbytes:
        raise _fail(
            E601,
            f"file is truncated: its header promises {header.nbytes:,} bytes of data, "
            f"it holds {stored:,}",
            path,
        )
    needed = header.nbytes + math.prod(header.shape) * 4  # the array and its float32 copy
    available = available_memory()
    if available is not None and needed > available:
        raise _fail(
            E601,
            f"input of shape {tuple(header.shape)} needs {needed / 2**30:.1f} GiB of memory, "
            f"more than the {available / 2**30:.1f} GiB available",
            path,
            "run it in smaller batches (several files)",
        )


def read_image(path: str, model: Model, resize: bool = False) -> np.ndarray:
    """One image as (H, W, C) float32 in the model's input size and channel count."""
    shape = tuple(model.input.output_shape or ())
    if len(shape) != 3 or shape[2] not in _MODES:
        raise _fail(
            E602,
            f"model '{model.name}' takes input {fmt_shape(shape)}, not images "
            "(height x width x 1, 3 or 4 channels)",
            path,
            "pass the input as a .npy array",
        )
    try:
        from PIL import Image
    except ImportError:
        raise _fail(
            E601, "reading images needs Pillow", path, "pip install 'specc[images]'"
        ) from None
    try:
        with open_regular(path) as f, Image.open(f) as image:
            if image.size != (shape[1], shape[0]) and not resize:  # from the header: no decoding
                raise _fail(
                    E602,
                    f"image is {image.size[1]}x{image.size[0]} (height x width) but model "
                    f"'{model.name}' takes {shape[0]}x{shape[1]}",
                    path,
                    "pass --resize to resize it (bilinear), or resize the image first",
                )
            image = image.convert(_MODES[shape[2]])
            if image.size != (shape[1], shape[0]):
                image = image.resize((shape[1], shape[0]), Image.Resampling.BILINEAR)
            pixels = np.asarray(image, dtype=np.float32)
    except SpeccError:
        raise
    except FileNotFoundError:
        raise _fail(E601, "no such input file", path) from None
    except NotRegularFileError as exc:
        raise _fail(E601, f"is {exc.strerror}", path) from None
    except Exception as exc:  # PIL.UnidentifiedImageError, truncated files, ...
        raise _fail(E601, f"cannot read image: {exc}", path) from None
    return pixels.reshape(shape)


def read_inputs(paths: list[str], model: Model, resize: bool = False) -> tuple[np.ndarray, Span]:
    """What ``--input`` names, as one array, and the span to report its problems at.

    One ``.npy``/``.npz`` file (any other suffix is tried as an array too), or
    one or more image files stacked into a batch in the order given.
    """
    images = [p for p in paths if Path(p).suffix.lower() in IMAGE_SUFFIXES]
    if images and len(images) == len(paths):
        return np.stack([read_image(p, model, resize) for p in paths]), file_span(paths[0])
    if len(paths) != 1:
        raise _fail(
            E601,
            f"--input takes one .npy/.npz file or image files, received {len(paths)} files",
            paths[0],
        )
    return read_array(paths[0], model), file_span(paths[0])
