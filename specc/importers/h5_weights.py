"""Keras weights in HDF5 files, read with h5py as untrusted data.

Two layouts exist:

- Keras 3 (``model.weights.h5`` inside a ``.keras`` archive, ``*.weights.h5``):
  ``layers/<key>/vars/<i>``, where ``<key>`` is the layer's class in snake
  case with a counter in ``model.layers`` order (``conv2d``, ``conv2d_1``) and
  the ``vars`` group's ``name`` attribute, where present, is the layer's name;
- legacy (``model.save("m.h5")``, Keras 2 ``save_weights``): one group per
  layer name, whose ``weight_names`` attribute lists its arrays in order.

Only plain datasets of numbers are read, each after its size is checked; a
link to another file, a virtual or external dataset is refused, so reading a
weights file never touches another file.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from specc.codes import E701, E706
from specc.importers.graph import MAX_MODEL_BYTES, import_error

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def open_h5(path: str, source: Any = None):
    """``h5py.File`` of ``source`` (a path or file object; default ``path``), read-only.

    Raises SpeccError E701 when it is not HDF5 or is truncated.
    """
    try:
        import h5py
    except ImportError:
        raise import_error(
            E701,
            path,
            "reading Keras HDF5 files needs h5py, which is not installed",
            "pip install 'specc[keras-import]'",
        ) from None
    try:
        return h5py.File(path if source is None else source, "r", locking=False)
    except FileNotFoundError:
        raise import_error(E701, path, "no such file") from None
    except (OSError, ValueError) as exc:
        raise import_error(
            E701,
            path,
            f"cannot read the HDF5 weights: {exc}",
            "the file is truncated or not an HDF5 file; save the model again",
        ) from None


def _child(group, key: str, path: str):
    """``group[key]`` when it is a hard link inside the file; E701 for any other link."""
    import h5py

    link = group.get(key, getlink=True)
    if link is None:
        return None
    if not isinstance(link, h5py.HardLink):
        raise import_error(
            E701,
            path,
            f"'{group.name}/{key}' is a {type(link).__name__}; specc reads only the file's own "
            "arrays, never links to elsewhere",
        )
    return group[key]


def read_array(dataset, path: str) -> np.ndarray:
    """One dataset as an array, after checking it is plain numbers of a bounded size."""
    import h5py

    if not isinstance(dataset, h5py.Dataset):
        raise import_error(E701, path, f"'{dataset.name}' is a group where an array belongs")
    if dataset.is_virtual or dataset.external:
        raise import_error(
            E701, path, f"array '{dataset.name}' is stored outside the file; specc refuses it"
        )
    if dataset.dtype.kind not in "fiu":
        raise import_error(E706, path, f"array '{dataset.name}' holds {dataset.dtype}, not numbers")
    nbytes = int(np.prod(dataset.shape, dtype=np.int64)) * dataset.dtype.itemsize
    if nbytes > MAX_MODEL_BYTES:
        raise import_error(
            E701, path, f"array '{dataset.name}' is {nbytes:,} bytes, over specc's limit"
        )
    try:
        return np.asarray(dataset[()])
    except OSError as exc:
        raise import_error(
            E701, path, f"cannot read array '{dataset.name}': {exc}", "the file is truncated"
        ) from None


def keras3_arrays(
    f, path: str, prefix: str = "", depth: int = 0
) -> dict[str, tuple[str | None, list[np.ndarray]]]:
    """Keras 3 layout: ``{group key: (layer name or None, arrays in order)}``, in file order.

    A nested model's layers (ConvNeXt's Sequential stems) are its own
    ``layers`` group, read under the keys ``outer/inner``.
    """
    import h5py

    layers = _child(f, "layers", path)
    out: dict[str, tuple[str | None, list[np.ndarray]]] = {}
    if layers is None:
        return out
    for key in layers:
        group = _child(layers, key, path)
        if isinstance(group, h5py.Group) and depth < 8 and "layers" in group:
            out.update(keras3_arrays(group, path, f"{prefix}{key}/", depth + 1))
        key = prefix + key
        variables = _child(group, "vars", path) if group is not None else None
        if variables is None:
            out[key] = (None, [])
            continue
        name = variables.attrs.get("name")
        name = name.decode() if isinstance(name, bytes) else name
        count = len(variables)
        if sorted(variables) != sorted(str(i) for i in range(count)):
            raise import_error(
                E706, path, f"'{variables.name}' holds {sorted(variables)}, not arrays 0..n-1"
            )
        arrays = [read_array(_child(variables, str(i), path), path) for i in range(count)]
        out[key] = (str(name) if name is not None else None, arrays)
    return out


def _names(value: Any) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in np.atleast_1d(value)]


def legacy_arrays(group, path: str) -> dict[str, list[tuple[str, np.ndarray]]]:
    """Legacy layout: ``{layer name: [(weight name, array), ...]}`` in ``layer_names`` order."""
    if "layer_names" not in group.attrs:
        return {}
    out: dict[str, list[tuple[str, np.ndarray]]] = {}
    for layer in _names(group.attrs["layer_names"]):
        sub = _child(group, layer, path)
        if sub is None:
            raise import_error(E706, path, f"layer '{layer}' is listed but has no weights group")
        arrays = []
        for weight in _names(sub.attrs.get("weight_names", [])):
            node = sub
            for part in weight.split("/"):
                node = _child(node, part, path)
                if node is None:
                    raise import_error(
                        E706, path, f"layer '{layer}' lists weight '{weight}', which is missing"
                    )
            arrays.append((weight.rsplit("/", 1)[-1].split(":")[0], read_array(node, path)))
        out[layer] = arrays
    return out


def is_keras3_layout(f) -> bool:
    """True for the Keras 3 layout (``layers/.../vars``), False for the legacy one."""
    return "layers" in f and "layer_names" not in f.attrs
