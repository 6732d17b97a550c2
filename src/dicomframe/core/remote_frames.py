"""Encapsulated Pixel Data of a file at a URL: item headers and frames in range requests.

A local file's frames are found by walking every fragment item of the
Pixel Data (:func:`dicomframe.core.encapsulation.frame_spans`); over a
network that is one request per fragment. Here the offset tables say where
things are, and only what they do not say is walked:

- the end of the value (to read on past it) is found by walking the items
  of the *last* frame only, from its Extended or Basic Offset Table entry;
- with an Extended Offset Table each frame is one fragment whose place and
  length the table gives: a frame is one request;
- with a Basic Offset Table a frame is the bytes between two entries: they
  are fetched in one request when the frame is first asked for, and its
  fragments read from them;
- with no table, every item header is fetched once (small requests) into
  the source's map, and the frames are grouped from them as for a local
  file.

Every length and offset is checked against the value and the file before
anything it sizes is fetched.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any, Protocol, overload

import numpy as np

from dicomframe.core import encapsulation
from dicomframe.core.limits import Budget
from dicomframe.errors import InvalidDicomError


class RemoteSource(Protocol):
    """What this module asks of a :class:`dicomframe.core.remote.RemoteSource`."""

    @property
    def buffer(self) -> memoryview: ...
    def fill(self, start: int, end: int) -> None: ...
    def view(self, offset: int, length: int) -> memoryview: ...
    def note_extent(self, start: int, end: int) -> None: ...


__all__ = ["frame_spans", "walk_items"]

ITEM = 0xFFFEE000
SEQUENCE_DELIMITER = 0xFFFEE0DD
PIXEL_DATA = 0x7FE00010
_SMALL_ITEM = 4096  # after an item this short, the next header is fetched with read-ahead
Span = tuple[int, int]


def _header(source: RemoteSource, pos: int, read_ahead: int) -> tuple[int, int]:
    """The (tag, length) of the item header at ``pos``, fetched into the map if needed."""
    source.fill(pos, pos + max(read_ahead, 8))
    group, element, length = struct.unpack_from("<HHL", source.buffer, pos)
    return (group << 16) | element, length


def walk_items(source: RemoteSource, pos: int, end: int, *, budget: Budget | None = None) -> int:
    """Walk fragment items from ``pos``; return the offset of the Sequence Delimitation Item.

    ``end`` bounds the walk (the file's end); an item whose length passes it
    is refused before any of its bytes is fetched.
    """
    read_ahead = 8
    while True:
        if end - pos < 8:
            raise InvalidDicomError(
                "encapsulated data: missing Sequence Delimitation Item", tag=PIXEL_DATA, offset=pos
            )
        tag, length = _header(source, pos, read_ahead)
        if tag == SEQUENCE_DELIMITER:
            return pos
        if tag != ITEM:
            raise InvalidDicomError(
                f"expected an Item or Sequence Delimitation tag in encapsulated data, found "
                f"({tag >> 16:04X},{tag & 0xFFFF:04X})",
                tag=PIXEL_DATA,
                offset=pos,
            )
        if length > end - pos - 8:
            raise InvalidDicomError(
                f"fragment length {length} exceeds the {end - pos - 8} bytes that remain",
                tag=PIXEL_DATA,
                offset=pos,
            )
        if budget is not None:
            budget.spend(1, offset=pos)
        pos += 8 + length
        read_ahead = _SMALL_ITEM if length < _SMALL_ITEM else 8


def table(source: RemoteSource, value: int, end: int) -> tuple[int, np.ndarray[Any, Any]]:
    """The Basic Offset Table of the encapsulated value at ``value``: where items start, entries.

    Returns the offset of the first fragment's item and the table's entries
    (empty when the table is).
    """
    tag, length = _header(source, value, 8)
    if tag != ITEM:
        raise InvalidDicomError(
            "encapsulated Pixel Data has no Basic Offset Table item", tag=PIXEL_DATA, offset=value
        )
    if length % 4 or length > end - value - 8:
        raise InvalidDicomError(
            f"Basic Offset Table length {length} is not a multiple of 4 or passes the data",
            tag=PIXEL_DATA,
            offset=value,
        )
    source.fill(value + 8, value + 8 + length)
    entries = np.frombuffer(source.buffer[value + 8 : value + 8 + length], dtype="<u4")
    return value + 8 + length, entries.astype(np.int64)


def last_frame_start(
    source: RemoteSource, value: int, end: int, extended: np.ndarray[Any, Any] | None
) -> tuple[int, int]:
    """Where the items start, and the item that starts the last frame (per the tables)."""
    base, entries = table(source, value, end)
    offsets = extended if extended is not None and len(extended) else entries
    last = base + int(offsets[-1]) if len(offsets) else base
    return base, last if base <= last <= end - 8 else base


def frame_spans(
    source: RemoteSource,
    offset: int,
    length: int,
    frames: int,
    extended: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]] | None,
) -> Sequence[list[Span]]:
    """For each frame, its fragments' spans relative to the value at ``offset``."""
    base, entries = table(source, offset, offset + length)
    first = base - offset  # the first fragment's item, relative to the value
    if extended is not None:
        return _by_extended(source, offset, length, first, *extended)
    if len(entries):
        if np.any(np.diff(entries) <= 0) or entries[0] != 0 or first + entries[-1] >= length:
            raise InvalidDicomError(
                "Basic Offset Table is not increasing from 0 inside the Pixel Data", tag=PIXEL_DATA
            )
        return _TableFrames(source, offset, length, first, entries)
    walk_items(source, base, offset + length + 8)  # every item header, into the map
    fragments = encapsulation.fragment_spans(source.buffer[offset : offset + length])
    if len(fragments) - 1 > frames > 1:
        for start, size in fragments[1:]:  # the codestream markers that group fragments
            source.fill(offset + start, offset + start + 4)
            source.fill(offset + start + max(size - 10, 0), offset + start + size)
    return encapsulation.frame_spans(source.buffer[offset : offset + length], frames)


def _by_extended(
    source: RemoteSource,
    offset: int,
    length: int,
    first: int,
    offsets: np.ndarray[Any, Any],
    lengths: np.ndarray[Any, Any],
) -> list[list[Span]]:
    spans = encapsulation.extended_spans(offsets, lengths, first, length)
    for ((at, size),) in spans:
        source.note_extent(offset + at - 8, offset + at + size)
    return spans


class _TableFrames(Sequence[list[Span]]):
    """Frames by the Basic Offset Table: frame ``i``'s items are fetched when it is asked for."""

    def __init__(
        self,
        source: RemoteSource,
        offset: int,
        length: int,
        first: int,
        entries: np.ndarray[Any, Any],
    ) -> None:
        self._source, self._offset, self._length = source, offset, length
        starts = [first + int(e) for e in entries]
        self._extents = list(zip(starts, [*starts[1:], length], strict=True))
        self._spans: dict[int, list[Span]] = {}
        for start, stop in self._extents:
            source.note_extent(offset + start, offset + stop)

    def __len__(self) -> int:
        return len(self._extents)

    @overload
    def __getitem__(self, index: int) -> list[Span]: ...
    @overload
    def __getitem__(self, index: slice) -> list[list[Span]]: ...
    def __getitem__(self, index: int | slice) -> list[Span] | list[list[Span]]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        found = self._spans.get(index)
        if found is None:
            found = self._spans[index] = self._read(index)
        return found

    def _read(self, index: int) -> list[Span]:
        """Fetch frame ``index``'s items (one request) and list its fragments."""
        start, stop = self._extents[index]
        data = self._source.view(self._offset + start, stop - start)
        spans, pos = [], 0
        while pos < len(data):
            if len(data) - pos < 8:
                raise InvalidDicomError(
                    f"frame {index}: truncated item header in encapsulated data",
                    tag=PIXEL_DATA,
                    offset=self._offset + start + pos,
                )
            group, element, size = struct.unpack_from("<HHL", data, pos)
            tag = (group << 16) | element
            if tag == SEQUENCE_DELIMITER and index == len(self) - 1:
                break
            if tag != ITEM or size > len(data) - pos - 8:
                raise InvalidDicomError(
                    f"Basic Offset Table entry {index} does not point at the fragments of a frame",
                    tag=PIXEL_DATA,
                    offset=self._offset + start + pos,
                )
            spans.append((start + pos + 8, size))
            pos += 8 + size
        return spans
