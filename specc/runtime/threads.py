"""Data-parallel CPU execution for the numpy runtime.

NumPy runs elementwise operations, copies and reductions on one core, and
OpenBLAS's own threads spin-wait badly when the machine is busy. The numpy
runtime therefore splits a batch across one Python thread per core (NumPy
releases the GIL inside its loops and inside BLAS), each thread asking OpenBLAS
for a single thread of its own (``openblas_set_num_threads_local``, OpenBLAS
0.3.27 and later). Where that symbol is missing, BLAS keeps its own threading
and the split still parallelises everything else.

A batch of fewer micro-batches than cores (batch 1) leaves cores idle; there
the ops themselves split their work (rows of a matrix product, or its
columns where the output has fewer pixels than channels; blocks of a
depthwise convolution) with :func:`run_split`, over the calling worker and
:func:`helpers`, a second pool so that a worker never waits on a task queued
behind itself.
"""

from __future__ import annotations

import ctypes
import itertools
import os
import platform
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import lru_cache


def cpu_count() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@lru_cache(maxsize=1)
def _blas_local_setter() -> Callable[[int], int] | None:
    """OpenBLAS's per-thread ``openblas_set_num_threads_local``, when numpy's BLAS has it."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
            setter = lib.openblas_set_num_threads_local
        except (OSError, AttributeError):
            continue
        setter.argtypes, setter.restype = [ctypes.c_int], ctypes.c_int
        return setter
    return None


AVX512_CORES = ("skylakex", "cooperlake", "sapphirerapids")


def blas_core() -> str | None:
    """OpenBLAS's kernel family in use by NumPy (e.g. ``Haswell``), or None when unknown."""
    import numpy  # noqa: F401  (load numpy's BLAS before looking it up)

    if _blas_local_setter() is None:
        return None
    with open("/proc/self/maps", encoding="utf-8") as maps:
        paths = sorted({line.split()[-1] for line in maps if "openblas" in line.lower()})
    for path in paths:
        lib = ctypes.CDLL(path)
        for name in ("scipy_openblas_get_corename64_", "openblas_get_corename"):
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.restype = ctypes.c_char_p
                return fn().decode()
    return None


def cpu_has_avx512() -> bool:
    """True when /proc/cpuinfo lists AVX-512 (Linux; False elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            return any(line.startswith("flags") and " avx512f" in line for line in info)
    except OSError:
        return False


def blas_note() -> str | None:
    """A hint when ``OPENBLAS_CORETYPE`` keeps NumPy's BLAS off this CPU's AVX-512 kernels."""
    forced = os.environ.get("OPENBLAS_CORETYPE")
    if not forced:
        return None
    core = blas_core()
    if core is None or core.lower() in AVX512_CORES or not cpu_has_avx512():
        return None
    return (
        f"OPENBLAS_CORETYPE={forced} makes NumPy's BLAS use its {core} kernels on a CPU "
        "with AVX-512; the numpy backend's matrix products can run up to 2x faster "
        "with the variable unset"
    )


def _single_blas_thread() -> None:
    setter = _blas_local_setter()
    if setter is not None:
        setter(1)


@lru_cache(maxsize=1)
def pool() -> ThreadPoolExecutor:
    """The shared worker pool (one thread per core, BLAS single-threaded in each)."""
    import numpy  # noqa: F401  (load numpy's BLAS before looking it up)

    _blas_local_setter()
    return ThreadPoolExecutor(
        max_workers=cpu_count(), thread_name_prefix="specc", initializer=_single_blas_thread
    )


@lru_cache(maxsize=1)
def helpers() -> ThreadPoolExecutor:
    """The pool that helps one worker's op (one thread fewer than the cores)."""
    pool()
    return ThreadPoolExecutor(
        max_workers=max(1, cpu_count() - 1),
        thread_name_prefix="specc-split",
        initializer=_single_blas_thread,
    )


_split = threading.local()


@contextmanager
def spread(width: int) -> Iterator[None]:
    """Let the ops run on this thread use ``width`` threads (itself and helpers)."""
    previous = getattr(_split, "width", 1)
    _split.width = width
    try:
        yield
    finally:
        _split.width = previous


def split_width(macs: int | None = None) -> int:
    """How many threads an op on this thread may use (1 outside :func:`spread`, and
    for an op of fewer than :data:`SPLIT_MIN_MACS` multiply-adds)."""
    if macs is not None and macs < SPLIT_MIN_MACS:
        return 1
    return getattr(_split, "width", 1)


SPLIT_MIN_MACS = 30_000_000
"""Multiply-adds below which an op's pieces all run on the calling thread.

Waking a helper and handing it pieces costs more than it saves on small
ops: a 7.2M-MAC 1x1 convolution of MobileNetV2 took 0.29 ms alone and 0.37
ms over two threads, and all of MobileNetV2 at batch 1 ran 1.45x slower
split than on one thread on an idle 2-core machine (benchmarks/NOTES.md).
Below it an op also keeps the shape of its one-thread work
(:func:`split_width` is 1): a 1x1 convolution cut into pieces for threads
it will not use ran its products 2x slower (OpenBLAS packs the kernel again
for every piece)."""


SPLIT_PIECES = 4
"""Pieces per thread of an op split over threads: a descheduled thread holds
up a quarter of its share."""


def even_slices(total: int, count: int) -> list[slice]:
    """``range(total)`` as ``count`` consecutive slices (fewer when ``total`` is
    smaller) whose lengths differ by one at most."""
    count = max(1, min(count, total))
    bounds = [total * i // count for i in range(count + 1)]
    return [slice(a, b) for a, b in itertools.pairwise(bounds)]


def run_split(count: int, work: Callable[[int], None], macs: int | None = None) -> None:
    """``work(i)`` for every ``i < count``, over the threads :func:`spread` allows.

    The threads take the next index as each finishes one, so a thread that
    the busy machine deschedules holds up at most one piece. Each piece must
    write only its own part of the output. ``macs``, the multiply-adds of all
    the pieces, keeps an op below :data:`SPLIT_MIN_MACS` on this thread.
    """
    width = min(split_width(macs), count)
    if width <= 1:
        for i in range(count):
            work(i)
        return
    import numpy as np

    pieces = iter(range(count))
    lock = threading.Lock()
    errors = np.geterr()

    def drain() -> None:
        with np.errstate(**errors):
            while True:
                with lock:
                    i = next(pieces, None)
                if i is None:
                    return
                work(i)

    futures = [helpers().submit(drain) for _ in range(width - 1)]
    try:
        drain()
    finally:
        for future in futures:
            future.result()


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters


@lru_cache(maxsize=1)
def keep_freed_memory() -> bool:
    """Make glibc's malloc keep freed blocks of up to 32 MiB for reuse (once per process).

    The numpy runtime allocates and frees arrays of a few MiB per layer and
    micro-batch. glibc maps blocks above an adaptive threshold (128 KiB at
    first) straight from the kernel and unmaps them when freed, and trims
    its heaps above another, so the next call faults fresh zeroed pages in
    again. Measured here on the CIFAR example: a single-thread pass 2.7x
    slower, and a 2x slower batch at some micro-batch sizes. Fixing the
    mmap threshold at 32 MiB (the adaptive threshold's own ceiling) and the
    trim threshold at 128 MiB keeps those blocks in the heap. The process
    may hold up to that much freed memory for reuse. True when applied;
    False where the C library is not glibc.
    """
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, 32 * 2**20) and mallopt(M_TRIM_THRESHOLD, 128 * 2**20))
