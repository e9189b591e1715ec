"""``.npy`` and ``.npz`` files read header first: nothing is decompressed before it fits.

A ``.npz`` is a zip of ``.npy`` members, and a zip member can inflate a
thousandfold: a 28 MB file can hold six 1 GiB arrays of zeros. ``numpy.load``
decompresses a member whole as soon as it is asked for; :class:`NpzArchive`
instead reads every member's ``.npy`` header (a few hundred bytes each), so the
caller can compare names, shapes and dtypes with what it expects and load only
the arrays that fit. Loading reads exactly the bytes the header promises.
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from numpy.lib import format as npy_format

from specc.io import open_regular

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")


@dataclass(frozen=True)
class ArrayHeader:
    """What a ``.npy`` header promises: shape, dtype and memory order."""

    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool = False

    @property
    def nbytes(self) -> int:
        """The bytes the array takes once loaded."""
        return math.prod(self.shape) * self.dtype.itemsize

    @classmethod
    def of(cls, array: object) -> ArrayHeader:
        """The header an in-memory array would have."""
        value = np.asarray(array)
        return cls(tuple(value.shape), value.dtype)


class NotAnArrayError(ValueError):
    """A member that is not a ``.npy`` array, or whose header cannot be read."""


def read_header(f: BinaryIO) -> ArrayHeader:
    """The header at the start of a ``.npy`` stream; the stream is left at the data."""
    try:
        version = npy_format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = npy_format.read_array_header_1_0(f)
        else:  # 2.0 and 3.0 share the layout (3.0 allows UTF-8 field names)
            shape, fortran, dtype = npy_format.read_array_header_2_0(f)
    except (ValueError, OSError, EOFError, SyntaxError) as exc:
        raise NotAnArrayError(f"not a .npy array ({exc})") from None
    return ArrayHeader(tuple(int(n) for n in shape), np.dtype(dtype), bool(fortran))


def read_data(f: BinaryIO, header: ArrayHeader) -> np.ndarray:
    """The array ``header`` describes, read from ``f`` (positioned at the data)."""
    if header.dtype.hasobject:
        raise NotAnArrayError("the array holds Python objects, which are never loaded")
    array = np.empty(math.prod(header.shape), dtype=header.dtype)
    view = memoryview(array.view(np.uint8)) if header.nbytes else memoryview(b"")
    done = 0
    while done < len(view):
        read = f.readinto(view[done : done + (1 << 24)])  # type: ignore[attr-defined]
        if not read:
            raise NotAnArrayError(
                f"the file ends after {done:,} of the {header.nbytes:,} bytes its header promises"
            )
        done += read
    if header.fortran_order:
        return array.reshape(header.shape[::-1]).transpose()
    return array.reshape(header.shape)


class NpzArchive(Mapping[str, ArrayHeader | str]):
    """A ``.npz`` opened for reading: member key -> header (or why it is no array).

    Keys are those of ``numpy.load``: the member name without ``.npy``. Use as
    a context manager; :meth:`load` decompresses one array.
    """

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self._zip = zipfile.ZipFile(file)
        self._members: dict[str, zipfile.ZipInfo] = {}
        self._headers: dict[str, ArrayHeader | str] = {}
        for info in self._zip.infolist():
            if info.is_dir():
                continue
            key = info.filename.removesuffix(".npy")
            self._members[key] = info
            try:
                with self._zip.open(info) as member:
                    self._headers[key] = read_header(member)  # type: ignore[arg-type]
            except NotAnArrayError as exc:  # a corrupt archive raises zipfile's errors
                self._headers[key] = str(exc)

    @classmethod
    def open(cls, path: str | Path) -> NpzArchive:
        """Open ``path``, which must be a regular file holding a zip archive."""
        file = open_regular(path)
        try:
            return cls(file)
        except BaseException:
            file.close()
            raise

    def __getitem__(self, key: str) -> ArrayHeader | str:
        return self._headers[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._headers)

    def __len__(self) -> int:
        return len(self._headers)

    def load(self, key: str) -> np.ndarray:
        """Decompress the array ``key``: exactly the bytes its header promises."""
        header = self._headers[key]
        if isinstance(header, str):
            raise NotAnArrayError(header)
        with self._zip.open(self._members[key]) as member:
            read_header(member)  # type: ignore[arg-type]
            return read_data(member, header)  # type: ignore[arg-type]

    def close(self) -> None:
        """Close the archive and its file."""
        self._zip.close()
        self._file.close()

    def __enter__(self) -> NpzArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
