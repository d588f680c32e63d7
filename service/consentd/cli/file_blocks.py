"""A file read twice as the same bytes: `consentd import consents` checks every row in a first
pass, and writes them in a second. Each pass reads the file in whole blocks, hashed; the second
gives out no byte of a block before that block hashed as it did the first time. A file changed
in place between the passes (its size and time put back at once) had rows the check never read
written, the change seen only by the whole file's digest at its end (probe ZA)."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from typing import Any, BinaryIO

BLOCK = 1 << 20


class FileChanged(Exception):
    """The file's bytes are not the ones the first pass read."""


@dataclass
class BlockHashes:
    """The whole file's SHA-256 and each block's, as read; `expected`: the first pass's."""

    expected: list[bytes] | None = None
    whole: Any = field(default_factory=hashlib.sha256)
    blocks: list[bytes] = field(default_factory=list)


class HashedBlocks(io.RawIOBase):
    """`raw`'s bytes, a whole block at a time, each hashed into `hashes` (and checked against
    its `expected`, raising FileChanged, before any of it is read)."""

    def __init__(self, raw: BinaryIO, hashes: BlockHashes) -> None:
        self._raw, self._hashes = raw, hashes
        self._held = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._held:
            block = self._raw.read(BLOCK)
            expected = self._hashes.expected
            index = len(self._hashes.blocks)
            if not block:
                if expected is not None and index != len(expected):  # cut short
                    raise FileChanged
                return 0
            digest = hashlib.sha256(block).digest()
            if expected is not None and (index >= len(expected) or expected[index] != digest):
                raise FileChanged
            self._hashes.blocks.append(digest)
            self._hashes.whole.update(block)
            self._held = memoryview(block)
        size = min(len(buffer), len(self._held))
        buffer[:size] = self._held[:size]
        self._held = self._held[size:]
        return size
