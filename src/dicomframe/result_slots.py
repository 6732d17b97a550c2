"""Large results of forked workers, handed over through shared memory instead of a pipe.

A frame a worker converted (300 KB of RLE, 512 KB of native pixels) sent
through a pipe (:mod:`dicomframe.forked`) is pickled, written 64 KB at a time
with a switch to the reader for each piece, read into a buffer and
unpickled: 0.65 ms for 290 KB here, as long as encoding it, and paid on
both sides. :class:`ResultSlots` gives each worker a few slots of anonymous
shared memory, mapped before the fork. The worker copies each large
``bytes`` or ``numpy.ndarray`` of its result into its next slot and sends
only where it lies; the parent copies it out (30 us) when the message
arrives. Anything else, and a buffer larger than a slot, goes through the
pipe as before.

A worker has at most ``depth`` results sent and not yet received (the
parent hands it a new index only after receiving one), so with
``depth + 1`` slots in turn a slot is never written while the parent may
still read it.
"""

from __future__ import annotations

import mmap
from typing import Any

import numpy as np

__all__ = ["InSlot", "ResultSlots", "room_for"]

_SMALL = 1 << 16  # smaller buffers are not worth a slot
_HEADROOM = 1 << 16  # room_for: a header, or a stream a little larger than its frame
_MOST = 1 << 28  # 256 MiB of slots at most: beyond, frames are large and go through the pipe


def room_for(frame_bytes: int) -> int:
    """A slot's size for frames converted from ``frame_bytes`` each: that, a quarter more, 64 KiB.

    Encoded frames are smaller, decoded ones that size; a larger one
    (YBR_FULL_422 decoded to full chroma, a stream that grew) comes back
    through the pipe.
    """
    return frame_bytes + frame_bytes // 4 + _HEADROOM


class InSlot:
    """Where one buffer of a result lies: slot, length, and for an array its dtype and shape."""

    __slots__ = ("dtype", "length", "shape", "slot")

    def __init__(self, slot: int, length: int, dtype: str | None, shape: tuple[int, ...]) -> None:
        self.slot = slot
        self.length = length
        self.dtype = dtype  # None: bytes
        self.shape = shape


class ResultSlots:
    """``count`` slots of ``size`` bytes for each of ``workers`` workers, in shared memory."""

    @classmethod
    def make(cls, workers: int, count: int, size: int) -> ResultSlots | None:
        """The slots, or None (the pipe, then) when they would pass 256 MiB or cannot be mapped.

        A slot holds one frame and a quarter: frames so large that a few per
        worker pass the bound keep their memory freed frame by frame.
        """
        if size <= 0 or workers * count * size > _MOST:
            return None
        try:
            return cls(workers, count, size)
        except (OSError, ValueError):  # no shared memory here: the pipe works everywhere
            return None

    def __init__(self, workers: int, count: int, size: int) -> None:
        self.count = count
        self.size = size
        self.memory = mmap.mmap(-1, max(1, workers * count * size))
        self.turn = [0] * workers  # each worker's next slot (used in that worker only)

    def _view(self, worker: int, slot: int, length: int) -> memoryview:
        start = (worker * self.count + slot) * self.size
        return memoryview(self.memory)[start : start + length]

    def put(self, worker: int, result: Any) -> Any:
        """In worker ``worker``: ``result`` with its large buffers moved into its slots.

        Only the items of a tuple result are looked at, and at most one
        buffer per slot turn; the rest of the result is left as it is.
        """
        if not isinstance(result, tuple):
            return result
        items = list(result)
        for position, item in enumerate(items):
            placed = self._place(worker, item)
            if placed is not None:
                items[position] = placed
                break  # one buffer per result: a slot each time
        return tuple(items)

    def _place(self, worker: int, item: Any) -> InSlot | None:
        dtype: str | None
        if isinstance(item, bytes):
            data, dtype, shape = memoryview(item), None, ()
        elif isinstance(item, np.ndarray) and item.flags.c_contiguous and not item.dtype.hasobject:
            data, dtype, shape = item.data.cast("B"), item.dtype.str, item.shape
        else:
            return None
        length = data.nbytes
        if length < _SMALL or length > self.size:
            return None
        slot = self.turn[worker]
        self.turn[worker] = (slot + 1) % self.count
        self._view(worker, slot, length)[:] = data
        return InSlot(slot, length, dtype, shape)

    def take(self, worker: int, result: Any) -> Any:
        """In the parent: ``result`` as the worker made it, its buffers copied out of the slots."""
        if not isinstance(result, tuple):
            return result
        return tuple(self._out(worker, i) if isinstance(i, InSlot) else i for i in result)

    def _out(self, worker: int, where: InSlot) -> Any:
        view = self._view(worker, where.slot, where.length)
        if where.dtype is None:
            return bytes(view)
        return np.frombuffer(view, dtype=where.dtype).copy().reshape(where.shape)

    def close(self) -> None:
        """Unmap the slots (every result taken)."""
        self.memory.close()
