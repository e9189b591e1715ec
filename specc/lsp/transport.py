"""The LSP base protocol on a byte stream, read with bounded memory.

pygls's reader trusts the stream: it reads a header line of any length and
then a body of whatever ``Content-Length`` claims, so one bad frame ends the
server with a MemoryError. :func:`read_frames` reads header lines of at most
:data:`MAX_HEADER_LINE` bytes and bodies of at most :data:`MAX_MESSAGE_BYTES`;
a larger body is read through in chunks and dropped, which keeps the stream in
step with a client that really sent it, and reported as a :class:`Refused`
frame, which the server answers with an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

# A document is at most 2 MiB (the check's limit); JSON escapes can make it six
# times longer, and a full-text change carries it whole.
MAX_MESSAGE_BYTES = 32 * 2**20
MAX_HEADER_LINE = 8192
_CHUNK = 2**20
_LENGTH = re.compile(rb"content-length\s*:\s*(\d{1,18})\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Refused:
    """A frame that was not read: why, and the JSON-RPC error code to answer with."""

    reason: str
    code: int


def read_frames(stream: BinaryIO) -> Iterator[bytes | Refused]:
    """Message bodies from ``stream`` until it ends; frames that cannot be read as Refused."""
    while True:
        length, problem = _read_headers(stream)
        if length is None and problem is None:
            return  # the stream ended between frames
        if length is None:
            yield Refused(problem or "a frame without Content-Length", -32700)
            continue
        if length > MAX_MESSAGE_BYTES:
            yield Refused(
                f"a message of {length:,} bytes is over the limit of {MAX_MESSAGE_BYTES:,}",
                -32600,
            )
            if not _skip(stream, length):
                return
            continue
        body = _read_exactly(stream, length)
        if body is None:
            return  # the stream ended inside the message
        yield body


def _read_headers(stream: BinaryIO) -> tuple[int | None, str | None]:
    """The Content-Length of the next frame, or why there is none; (None, None) at EOF."""
    length: int | None = None
    problem: str | None = None
    seen_any = False
    while True:
        line = stream.readline(MAX_HEADER_LINE)
        if not line:
            return (None, None) if not seen_any else (None, "the stream ended in a header")
        if not line.endswith(b"\n"):  # longer than any header: drop the rest of it
            while line and not line.endswith(b"\n"):
                line = stream.readline(MAX_HEADER_LINE)
            problem, seen_any = f"a header line over {MAX_HEADER_LINE:,} bytes", True
            continue
        text = line.rstrip(b"\r\n")
        if not text:
            if seen_any:
                return length, problem
            continue  # blank lines between frames
        seen_any = True
        match = _LENGTH.fullmatch(text)
        if match:
            length = int(match.group(1))
        elif text.lower().startswith(b"content-length"):
            problem = f"a Content-Length that is not a byte count: {text[:60]!r}"


def _read_exactly(stream: BinaryIO, length: int) -> bytes | None:
    parts, left = [], length
    while left:
        part = stream.read(min(left, _CHUNK))
        if not part:
            return None
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _skip(stream: BinaryIO, length: int) -> bool:
    """Read and drop ``length`` bytes; False where the stream ends first."""
    while length:
        part = stream.read(min(length, _CHUNK))
        if not part:
            return False
        length -= len(part)
    return True
