"""Files in and out: whole-or-nothing writes, bounded reads, special files handled on purpose.

Every file specc writes goes through :func:`write_atomically` (writers of
several files side by side, as ONNX external data, through
:func:`prepare_output`), and every file it reads through :func:`open_regular`
or :func:`read_text`. The rules:

- A regular file is written to a temporary file in the same folder and renamed
  over the target, so a reader sees the old file or the new one, never half.
  The temporary file has no name until it is complete (``O_TMPFILE``) where
  the file system allows, so even SIGKILL leaves nothing behind; elsewhere it
  is a dot-file removed on any exception (SIGTERM raises one, see
  :mod:`specc.cli`).
- A symbolic link is followed: its target is written and the link stays.
- A character device or a FIFO (``/dev/null``, a named pipe) is written to
  directly: there is nothing to rename over. ``/dev/stdout``, ``/dev/stderr``
  and ``/dev/fd/N`` are written to without truncating what the shell opened.
- A block device or a socket is refused (:class:`NotRegularFileError`).
- Reads refuse anything but a regular file, before opening it: a FIFO would
  block forever and ``/dev/zero`` never ends. Sizes are bounded by reading at
  most the limit plus one byte, whatever ``stat`` says.
"""

from __future__ import annotations

import errno
import io
import os
import re
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO

# Names of descriptors the process already holds: written as streams, never renamed over.
_STREAM_NAME = re.compile(r"/dev/(?:stdout|stderr|fd/\d+)|/proc/(?:self|\d+)/fd/\d+")
_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
)


class NotRegularFileError(OSError):
    """A path that names a FIFO, a device or a socket where a regular file is needed."""

    def __init__(self, path: str, kind: str) -> None:
        super().__init__(errno.EINVAL, f"{kind}, not a regular file", path)
        self.kind = kind


class FileTooLargeError(OSError):
    """A file over the size limit; ``size`` is None where only the bounded read told."""

    def __init__(self, path: str, size: int | None, limit: int) -> None:
        shown = f"{size:,} bytes" if size is not None else f"over {limit:,} bytes"
        super().__init__(errno.EFBIG, f"file is {shown}, over the limit of {limit:,}", path)
        self.size, self.limit = size, limit


def file_kind(mode: int) -> str:
    """What a ``st_mode`` names, in words: ``a regular file``, ``a FIFO (named pipe)``, ..."""
    for test, kind in _KINDS:
        if test(mode):
            return kind
    return "a regular file" if stat.S_ISREG(mode) else "not a regular file"


# -- reading ------------------------------------------------------------------


def open_regular(path: str | Path) -> BinaryIO:
    """``path`` opened for binary reading; :class:`NotRegularFileError` for anything else.

    The kind is checked before opening (opening some devices has effects of its
    own) and again on the open descriptor, which is opened without blocking so a
    FIFO swapped in between cannot hang the read.
    """
    path = str(path)
    mode = os.stat(path).st_mode
    _refuse_special(path, mode)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        _refuse_special(path, os.fstat(fd).st_mode)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _refuse_special(path: str, mode: int) -> None:
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    if not stat.S_ISREG(mode):
        raise NotRegularFileError(path, file_kind(mode))


def read_bounded(path: str | Path, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, else :class:`FileTooLargeError`."""
    with open_regular(path) as f:
        size = os.fstat(f.fileno()).st_size
        if size > limit:
            raise FileTooLargeError(str(path), size, limit)
        data = f.read(limit + 1)  # files in /proc and /sys report a size of 0
    if len(data) > limit:
        raise FileTooLargeError(str(path), None, limit)
    return data


def read_text(path: str | Path, limit: int) -> str:
    """UTF-8 text of at most ``limit`` bytes, newlines translated as ``open()`` does."""
    data = read_bounded(path, limit)
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8").read()


def available_memory() -> int | None:
    """Bytes this process can still allocate: MemAvailable, less under RLIMIT_AS; None unknown."""
    found: list[int] = []
    try:
        with open("/proc/meminfo", "rb") as f:
            for line in f:
                if line.startswith(b"MemAvailable:"):
                    found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            with open("/proc/self/statm", "rb") as f:
                used = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
            found.append(max(0, soft - used))
    except (ImportError, OSError, ValueError, IndexError):
        pass
    return min(found) if found else None


# -- writing ------------------------------------------------------------------


def is_stdout(path: str | Path) -> bool:
    """Whether ``path`` names this process's standard output (``-o /dev/stdout``):
    the command's own report then goes to standard error, not into the data."""
    return os.path.abspath(str(path)) in ("/dev/stdout", "/dev/fd/1", "/proc/self/fd/1")


def write_atomically(path: str | Path, data: bytes | str) -> None:
    """Write ``path`` whole or not at all (text as UTF-8); see the module docstring.

    Raises ``OSError`` with the reason: ``NotADirectoryError`` where a folder on
    the way is a file, ``IsADirectoryError``, :class:`NotRegularFileError` for a block
    device or socket, or whatever the system said.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    path = str(path)
    if _STREAM_NAME.fullmatch(os.path.abspath(path)):
        _write_through(path, payload, os.O_WRONLY | os.O_APPEND)
        return
    target, existing = _resolve(path)
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        if stat.S_ISCHR(existing.st_mode) or stat.S_ISFIFO(existing.st_mode):
            _write_through(path, payload, os.O_WRONLY | os.O_TRUNC)
            return
        _refuse_special(path, existing.st_mode)
    folder = os.path.dirname(target) or "."
    _make_folder(folder)
    _replace(target, folder, payload, existing)


def prepare_output(path: str | Path) -> str:
    """The regular file a write of ``path`` lands in (through symlinks), its folder made.

    For writers of several files side by side (ONNX external data), which
    rename files into place themselves; streams and devices are refused.
    """
    path = str(path)
    if _STREAM_NAME.fullmatch(os.path.abspath(path)):
        raise NotRegularFileError(path, "a stream of this process")
    target, existing = _resolve(path)
    if existing is not None:
        _refuse_special(path, existing.st_mode)
    _make_folder(os.path.dirname(target) or ".")
    return target


def _resolve(path: str) -> tuple[str, os.stat_result | None]:
    """The file a write lands in (a symlink's target) and its status if it exists."""
    try:
        return (os.path.realpath(path) if os.path.islink(path) else path), os.stat(path)
    except FileNotFoundError:
        # a dangling link is written through, as a shell's > does
        return (os.path.realpath(path) if os.path.islink(path) else path), None


def _make_folder(folder: str) -> None:
    try:
        os.makedirs(folder, exist_ok=True)
    except FileExistsError:  # a file where a folder is needed says what it is
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), folder) from None


def _write_through(path: str, payload: bytes, flags: int) -> None:
    """Write to a stream or device as it is: no temporary file, no rename."""
    fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    try:
        _write_all(fd, payload)
    finally:
        os.close(fd)


def _write_all(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        view = view[os.write(fd, view[: 1 << 26]) :]


def _mode_for(existing: os.stat_result | None) -> int:
    """The target's own mode when it exists (fmt rewrites in place), else 0666 less the umask."""
    if existing is not None:
        return stat.S_IMODE(existing.st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _settle(fd: int, existing: os.stat_result | None) -> None:
    """Give the new file the old one's mode, and its owner where we may (root rewriting)."""
    if not hasattr(os, "fchmod"):  # Windows: no modes to keep
        return
    os.fchmod(fd, _mode_for(existing))
    if existing is not None and hasattr(os, "fchown"):
        try:
            os.fchown(fd, existing.st_uid, existing.st_gid)
        except PermissionError:
            pass


def _replace(target: str, folder: str, payload: bytes, existing: os.stat_result | None) -> None:
    name = os.path.basename(target)
    if _replace_unnamed(target, folder, name, payload, existing):
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=folder)
    try:
        try:
            _write_all(fd, payload)
            _settle(fd, existing)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _replace_unnamed(
    target: str, folder: str, name: str, payload: bytes, existing: os.stat_result | None
) -> bool:
    """Write an ``O_TMPFILE`` file, name it, rename it; False where the system has none."""
    flag = getattr(os, "O_TMPFILE", 0)
    if not flag or not os.path.isdir("/proc/self/fd"):
        return False
    try:
        fd = os.open(folder, flag | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0), 0o600)
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT):
            return False  # this file system cannot; a named temporary file then
        raise
    tmp = f".{name}.{os.urandom(4).hex()}"
    folder_fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        try:
            _write_all(fd, payload)
            _settle(fd, existing)
            os.link(f"/proc/self/fd/{fd}", tmp, dst_dir_fd=folder_fd)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO):
                raise
            return False  # /proc refused the link: a named temporary file then
        finally:
            os.close(fd)
        try:
            os.replace(tmp, name, src_dir_fd=folder_fd, dst_dir_fd=folder_fd)
        except BaseException:
            os.unlink(tmp, dir_fd=folder_fd)
            raise
    finally:
        os.close(folder_fd)
    return True
