"""Keras 3 ``.keras`` archives and legacy full-model ``.h5`` files, without Keras.

A ``.keras`` file is a zip archive holding ``config.json`` (the model's
layers and how they connect) and ``model.weights.h5``; a legacy ``.h5`` holds
the same config as its ``model_config`` attribute and the weights under
``model_weights``. Both are read with zipfile, json and h5py only: TensorFlow
and Keras are never imported, nothing is unpickled, and no layer's code runs.
Every member is checked against a size limit before it is read.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from specc.codes import E701, E706
from specc.importers import h5_weights
from specc.importers.graph import (
    MAX_CONFIG_BYTES,
    MAX_MODEL_BYTES,
    ImportedModel,
    import_error,
)
from specc.importers.keras_graph import model_from_config

WEIGHTS_MEMBER = "model.weights.h5"


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, path: str, sink) -> None:
    """Copy one member to ``sink`` in chunks, refusing more than ``limit`` bytes.

    The size the archive declares is checked first, and the bytes actually
    inflated are counted, so a member that lies about its size is refused too.
    """
    if info.file_size > limit:
        raise import_error(
            E701,
            path,
            f"archive member '{info.filename}' is {info.file_size:,} bytes, over the limit "
            f"of {limit:,}",
        )
    total = 0
    try:
        with zf.open(info) as member:
            while chunk := member.read(1 << 20):
                total += len(chunk)
                if total > limit:
                    raise import_error(
                        E701,
                        path,
                        f"archive member '{info.filename}' inflates past the limit of {limit:,} "
                        "bytes (it declares fewer)",
                    )
                sink.write(chunk)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise import_error(
            E701,
            path,
            f"archive member '{info.filename}' cannot be read: {exc}",
            "the archive is truncated or corrupt; save the model again",
        ) from None


class _Buffer:
    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.parts.append(data)


def _json(text: bytes, path: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise import_error(E701, path, f"{what} is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise import_error(E701, path, f"{what} is not a JSON object")
    return value


def read_keras_archive(path: str) -> ImportedModel:
    """A ``.keras`` archive as an :class:`ImportedModel` (SpeccError E70x when it cannot be)."""
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise import_error(E701, path, "no such file") from None
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise import_error(
            E701,
            path,
            f"not a readable zip archive ({exc})",
            "a .keras file is a zip archive; this one is truncated or corrupt",
        ) from None
    with zf:
        members = {info.filename: info for info in zf.infolist()}
        if "config.json" not in members:
            raise import_error(
                E701,
                path,
                "the archive has no config.json, so it is not a Keras model",
                "save the model with model.save('model.keras')",
            )
        buffer = _Buffer()
        _read_member(zf, members["config.json"], MAX_CONFIG_BYTES, path, buffer)
        config = _json(b"".join(buffer.parts), path, "config.json")
        metadata: dict[str, Any] = {}
        if "metadata.json" in members:
            meta = _Buffer()
            _read_member(zf, members["metadata.json"], 1 << 16, path, meta)
            metadata = _json(b"".join(meta.parts), path, "metadata.json")
        if WEIGHTS_MEMBER not in members:
            raise import_error(
                E706, path, f"the archive has no {WEIGHTS_MEMBER}, so its weights are missing"
            )
        with tempfile.TemporaryDirectory(prefix="specc-import-") as tmp:
            local = Path(tmp) / WEIGHTS_MEMBER
            with open(local, "wb") as sink:
                _read_member(zf, members[WEIGHTS_MEMBER], MAX_MODEL_BYTES, path, sink)
            with h5_weights.open_h5(path, str(local)) as f:
                stored = h5_weights.keras3_arrays(f, path)
    version = metadata.get("keras_version")
    return model_from_config(config, keras3_weights(stored), path, _about("Keras", version))


def _about(framework: str, version: Any) -> str:
    return f"{framework} {version}" if isinstance(version, str) else framework


def keras3_weights(
    stored: dict[str, tuple[str | None, list[np.ndarray]]],
):
    """A lookup ``(layer name, class name, position) -> arrays`` over the Keras 3 layout.

    The ``vars`` group's ``name`` attribute names the layer where Keras wrote
    it; otherwise the group key is the class in snake case with a counter in
    ``model.layers`` order, which ``position`` reproduces.
    """
    by_name = {name: arrays for name, arrays in stored.values() if name is not None}

    def lookup(layer: str, key: str) -> list[np.ndarray] | None:
        if layer in by_name:
            return by_name[layer]
        entry = stored.get(key)
        return None if entry is None or entry[0] is not None else entry[1]

    return lookup


def read_keras_h5(path: str) -> ImportedModel:
    """A legacy full-model ``.h5`` (``model_config`` attribute and ``model_weights``)."""
    with h5_weights.open_h5(path) as f:
        raw = None
        if "model_config" in f.attrs:
            size = f.attrs.get_id("model_config").get_storage_size()
            if size > MAX_CONFIG_BYTES:
                raise import_error(E701, path, f"model_config is {size:,} bytes, over the limit")
            raw = f.attrs["model_config"]
        if raw is None:
            hint = (
                "this is a weights file: put it onto a spec with `specc weights import`"
                if "layers" in f or "layer_names" in f.attrs
                else "save the whole model with model.save('model.h5') or as .keras"
            )
            raise import_error(
                E701, path, "the HDF5 file has no model_config attribute, so no model", hint
            )
        text = raw if isinstance(raw, bytes) else str(raw).encode("utf-8")
        config = _json(text, path, "model_config")
        group = h5_weights._child(f, "model_weights", path)
        if group is None:
            raise import_error(E706, path, "the file has no model_weights group")
        stored = h5_weights.legacy_arrays(group, path)
        version = f.attrs.get("keras_version")
        version = version.decode() if isinstance(version, bytes) else version

    def lookup(layer: str, key: str) -> list[np.ndarray] | None:
        arrays = stored.get(layer)
        return None if arrays is None else [a for _, a in arrays]

    return model_from_config(config, lookup, path, _about("Keras", version) + " (HDF5)")
