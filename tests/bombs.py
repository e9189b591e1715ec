"""Real decompression bombs, and running specc under a memory limit.

:func:`zeros_npz` writes a ``.npz`` of arrays of zeros exactly as
``numpy.savez_compressed`` would store them (deflated ``.npy`` members with
true sizes and CRCs), but without ever holding an array: one 16 MiB block
of zeros is deflated once, with a full flush, and the same compressed bytes
are repeated. A 1 GiB array costs about 1 MB of file.
"""

from __future__ import annotations

import io
import math
import os
import resource
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CHUNK = 16 * 2**20
_ZEROS = bytes(CHUNK)
_DOS_DATE = (1 << 5) | 1  # 1980-01-01


def npy_header(shape: tuple[int, ...], dtype: str) -> bytes:
    """The ``.npy`` header numpy writes for an array of ``shape`` and ``dtype``."""
    buffer = io.BytesIO()
    descr = np.lib.format.dtype_to_descr(np.dtype(dtype))
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue()


def _deflated_zeros(header: bytes, nbytes: int) -> tuple[bytes, int]:
    """Raw deflate of ``header`` + ``nbytes`` zeros, and the CRC-32 of that."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    parts = [packer.compress(header), packer.flush(zlib.Z_FULL_FLUSH)]
    crc = zlib.crc32(header)
    whole, rest = divmod(nbytes, CHUNK)
    if whole:
        block = packer.compress(_ZEROS) + packer.flush(zlib.Z_FULL_FLUSH)
        parts.extend([block] * whole)  # the state is reset at a full flush: same bytes again
        for _ in range(whole):
            crc = zlib.crc32(_ZEROS, crc)
    parts.append(packer.compress(bytes(rest)) + packer.flush(zlib.Z_FINISH))
    crc = zlib.crc32(bytes(rest), crc)
    return b"".join(parts), crc


def zeros_npz(path: Path, arrays: dict[str, tuple[tuple[int, ...], str]]) -> Path:
    """Write ``path``: one deflated ``KEY.npy`` of zeros per ``key: (shape, dtype)``."""
    central, offset = [], 0
    with open(path, "wb") as f:
        for key, (shape, dtype) in arrays.items():
            header = npy_header(shape, dtype)
            size = len(header) + math.prod(shape) * np.dtype(dtype).itemsize
            assert size < 2**32, "members over 4 GiB need zip64"
            data, crc = _deflated_zeros(header, size - len(header))
            name = f"{key}.npy".encode()
            fields = (20, 0, 8, 0, _DOS_DATE, crc, len(data), size, len(name))
            f.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, *fields, 0) + name + data)
            entry = struct.pack(
                "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, *fields, 0, 0, 0, 0, 0, offset
            )
            central.append(entry + name)
            offset += 30 + len(name) + len(data)
        directory = b"".join(central)
        f.write(directory)
        count = len(central)
        f.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(directory), offset, 0))
    return path


@dataclass
class Limited:
    """How a process run under a memory limit ended."""

    returncode: int
    stdout: str
    stderr: str
    peak_rss_mib: float


def run_limited(args: list[str], limit_bytes: int | None, cwd: Path) -> Limited:
    """``python -m specc.cli ARGS`` with RLIMIT_AS at ``limit_bytes``; its peak RSS."""

    def limit() -> None:
        if limit_bytes is not None:
            resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    with open(cwd / ".stdout", "w+b") as out, open(cwd / ".stderr", "w+b") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "specc.cli", *args],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=err,
            preexec_fn=limit,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    return Limited(proc.returncode, stdout, stderr, usage.ru_maxrss / 1024)
