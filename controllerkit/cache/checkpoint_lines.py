"""`ChunkReader`: lines and byte ranges out of stored checkpoint data that arrives in chunks.

The stores read a checkpoint a megabyte at a time (a file is never held whole beside the
objects made from it); the codecs of every format take their lines from this reader.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

from .checkpoint_codec_v1 import CorruptCheckpoint

NEWLINE = b"\n"


class ChunkReader:
    """Lines and byte counts out of a sequence of chunks, with a running CRC-32 while `summing`."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""
        self.summing = False
        self.checksum = 0

    def _sum(self, data: bytes) -> None:
        if self.summing:
            self.checksum = zlib.crc32(data, self.checksum)

    def line(self) -> bytes | None:
        """The next line without its newline; None if the data ends before a newline."""
        pieces: list[bytes] = []
        buffer = self._pending
        while True:
            end = buffer.find(NEWLINE)
            if end >= 0:
                pieces.append(buffer[:end])
                self._pending = buffer[end + 1:]
                line = b"".join(pieces)
                self._sum(line)
                self._sum(NEWLINE)
                return line
            pieces.append(buffer)
            following = next(self._chunks, None)
            if following is None:
                self._pending = b"".join(pieces)
                return None
            buffer = following

    def lines(self, length: int) -> list[bytes]:
        """The lines in the next `length` bytes, which must end with a newline."""
        parts: list[bytes] = []
        tail = b""
        remaining = length
        buffer, self._pending = self._pending, b""
        while remaining > 0:
            if not buffer:
                following = next(self._chunks, None)
                if following is None:
                    raise CorruptCheckpoint(
                        f"cut off: {length - remaining} of {length} body bytes")
                buffer = following
            piece = buffer
            if len(buffer) > remaining:
                piece, self._pending = buffer[:remaining], buffer[remaining:]
            buffer = b""
            remaining -= len(piece)
            self._sum(piece)
            # A line cut by a chunk boundary is completed by the next chunk's first line.
            found = piece.split(NEWLINE)
            if tail:
                found[0] = tail + found[0]
            tail = found.pop()
            parts.extend(found)
        if buffer:
            # Nothing was asked for (an empty body): the data read ahead stays unread.
            self._pending = buffer
        if tail:
            raise CorruptCheckpoint("the body does not end with a newline")
        return parts

    def rest(self) -> bytes:
        """Everything not read yet."""
        return b"".join([self._pending, *self._chunks])


def expect_end(rest: bytes) -> None:
    """Refuse data that goes on after the last object."""
    if rest:
        raise CorruptCheckpoint(f"{len(rest)} unexpected bytes after the last object")
