"""Encapsulated Pixel Data (PS3.5 A.4): fragments, offset tables, frame boundaries.

Reading: :func:`frame_spans` turns the items of an encapsulated Pixel Data
value into, for each frame, the ``(offset, length)`` spans of its fragments,
using the Extended Offset Table (7FE0,0001/0002) when present, else the Basic
Offset Table, else the number of fragments, else the codestream markers that
start (JPEG SOI, JPEG 2000 SOC) or end (EOI/EOC) a frame. Every offset is
checked against the data; a table that points outside it is an
:class:`InvalidDicomError`.

Writing: :func:`encapsulate` builds the items for a list of frames, each an
even-length fragment (PS3.5 A.4), with a Basic Offset Table, or an Extended
Offset Table when the data passes 4 GiB or the caller asks for one.
"""

from __future__ import annotations

import struct
from bisect import bisect_right
from collections.abc import Callable, Sequence

import numpy as np

from dicomframe.core.limits import Budget, default_limits
from dicomframe.core.record import Record, record
from dicomframe.errors import InvalidDicomError

__all__ = ["Encapsulated", "encapsulate", "fragment_spans", "frame_spans"]

PIXEL_DATA = 0x7FE00010
_ITEM = b"\xfe\xff\x00\xe0"
Span = tuple[int, int]  # (offset of the fragment's bytes in the value, length)


def fragment_spans(raw: memoryview, *, max_fragments: int | None = None) -> list[Span]:
    """The items of an encapsulated value, Basic Offset Table first (PS3.5 A.4).

    More than ``max_fragments`` items (default ``Limits.max_elements``) is a
    :class:`~dicomframe.errors.LimitError`: a value of empty items would
    otherwise list a span per 8 bytes.
    """
    spans: list[Span] = []
    pos, end = 0, len(raw)
    most = default_limits().max_elements if max_fragments is None else max_fragments
    if end // 8 > most:
        budget: Budget | None = Budget("max_elements", most, "fragments of the Pixel Data")
    else:
        budget = None  # too short to hold more than allowed
    while pos < end:
        if budget is not None:
            budget.spend(1, offset=pos)
        if end - pos < 8:
            raise InvalidDicomError("truncated item header in encapsulated data", tag=PIXEL_DATA)
        if bytes(raw[pos : pos + 4]) != _ITEM:
            raise InvalidDicomError(
                f"expected an Item tag at byte {pos} of encapsulated data", tag=PIXEL_DATA
            )
        (length,) = struct.unpack_from("<L", raw, pos + 4)
        if length > end - pos - 8:
            raise InvalidDicomError(
                f"fragment at byte {pos} has length {length}; only {end - pos - 8} bytes remain",
                tag=PIXEL_DATA,
            )
        spans.append((pos + 8, length))
        pos += 8 + length
    if not spans:
        raise InvalidDicomError(
            "encapsulated Pixel Data has no Basic Offset Table item", tag=PIXEL_DATA
        )
    return spans


def frame_spans(
    raw: memoryview,
    number_of_frames: int,
    *,
    extended: tuple[np.ndarray, np.ndarray] | None = None,
) -> list[list[Span]]:
    """For each frame, the spans of its fragments.

    Parameters
    ----------
    raw
        The Pixel Data value: items from the Basic Offset Table on.
    number_of_frames
        Number of Frames (0028,0008).
    extended
        The Extended Offset Table and its lengths, as uint64 arrays.
    """
    items = fragment_spans(raw)
    bot_offset, bot_length = items[0]
    fragments = items[1:]
    base = bot_offset + bot_length  # first byte of the first fragment's Item tag
    if extended is not None:
        return _by_extended(raw, base, *extended)
    if bot_length:
        if bot_length % 4:
            raise InvalidDicomError(
                f"Basic Offset Table length {bot_length} is not a multiple of 4", tag=PIXEL_DATA
            )
        table = np.frombuffer(raw[bot_offset:base], dtype="<u4").astype(np.int64)
        return _by_basic(table, fragments, base)
    return _by_count(raw, fragments, number_of_frames)


def _by_extended(
    raw: memoryview, base: int, offsets: np.ndarray, lengths: np.ndarray
) -> list[list[Span]]:
    def is_item(at: int) -> bool:
        return bytes(raw[at : at + 4]) == _ITEM

    return extended_spans(offsets, lengths, base, len(raw), is_item)


def extended_spans(
    offsets: np.ndarray,
    lengths: np.ndarray,
    base: int,
    size: int,
    is_item: Callable[[int], bool] | None = None,
) -> list[list[Span]]:
    """One span per frame from the Extended Offset Table and its lengths (PS3.5 A.4).

    ``base`` is where the first fragment's item starts in the value of
    ``size`` bytes; ``is_item(at)`` checks that an item header begins at
    ``at`` where those bytes are at hand (a value at a URL is not fetched for it).
    """
    if len(offsets) != len(lengths):
        raise InvalidDicomError(
            f"Extended Offset Table has {len(offsets)} offsets but {len(lengths)} lengths",
            tag=0x7FE00001,
        )
    spans = []
    for index, (offset, length) in enumerate(zip(offsets.tolist(), lengths.tolist(), strict=True)):
        start = base + offset + 8
        if start + length > size or (is_item is not None and not is_item(base + offset)):
            raise InvalidDicomError(
                f"Extended Offset Table entry {index} ({offset}, length {length}) does not point "
                "at a fragment inside the Pixel Data",
                tag=0x7FE00001,
            )
        spans.append([(start, length)])
    return spans


def _by_basic(table: np.ndarray, fragments: list[Span], base: int) -> list[list[Span]]:
    starts = [offset - 8 - base for offset, _ in fragments]  # item tag offsets, table-relative
    known = set(starts)
    for index, value in enumerate(table.tolist()):
        if value not in known:
            raise InvalidDicomError(
                f"Basic Offset Table entry {index} ({value}) does not point at a fragment",
                tag=PIXEL_DATA,
            )
    if np.any(np.diff(table) <= 0):
        raise InvalidDicomError("Basic Offset Table is not increasing", tag=PIXEL_DATA)
    frames: list[list[Span]] = [[] for _ in table]
    for start, span in zip(starts, fragments, strict=True):
        index = bisect_right(table.tolist(), start) - 1
        if index >= 0:
            frames[index].append(span)
    return frames


def _starts_frame(raw: memoryview, span: Span) -> bool:
    head = bytes(raw[span[0] : span[0] + 4])
    # JPEG SOI; JPEG 2000 codestream SOC+SIZ; JP2 signature box.
    return head[:2] == b"\xff\xd8" or head in {b"\xffO\xffQ", b"\x00\x00\x00\x0c"}


def _ends_frame(raw: memoryview, span: Span) -> bool:
    offset, length = span
    # EOI (JPEG, JPEG-LS) and EOC (JPEG 2000) are both FFD9, perhaps followed by padding.
    return b"\xff\xd9" in bytes(raw[offset + max(length - 10, 0) : offset + length])


def _by_count(raw: memoryview, fragments: list[Span], frames: int) -> list[list[Span]]:
    if frames == 1:
        return [fragments]
    if len(fragments) == frames:
        return [[span] for span in fragments]
    if len(fragments) > frames:
        grouped = _group_by_start(raw, fragments)
        if len(grouped) != frames:
            grouped = _group_by_end(raw, fragments)
        if len(grouped) == frames:
            return grouped
    raise InvalidDicomError(
        f"cannot tell which of {len(fragments)} fragments belong to which of {frames} frames: "
        "there is no offset table and the codestream markers do not say (ambiguous)",
        tag=PIXEL_DATA,
    )


def _group_by_start(raw: memoryview, fragments: list[Span]) -> list[list[Span]]:
    groups: list[list[Span]] = []
    for span in fragments:
        if not groups or _starts_frame(raw, span):
            groups.append([span])
        else:
            groups[-1].append(span)
    return groups


def _group_by_end(raw: memoryview, fragments: list[Span]) -> list[list[Span]]:
    groups: list[list[Span]] = []
    current: list[Span] = []
    for span in fragments:
        current.append(span)
        if _ends_frame(raw, span):
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


@record
class Encapsulated(Record):
    """Encapsulated Pixel Data ready to write: the value and any Extended Offset Table."""

    value: bytes
    extended_offsets: bytes | None = None
    extended_lengths: bytes | None = None


def encapsulate(
    frames: Sequence[bytes | memoryview], *, offset_table: str = "auto"
) -> Encapsulated:
    """Build encapsulated Pixel Data from compressed frames, one fragment each.

    Parameters
    ----------
    frames
        Each frame's compressed bytes; odd-length frames are padded with a NUL
        (PS3.5 A.4: fragments have even length).
    offset_table
        ``"basic"``, ``"extended"``, or ``"auto"``: basic unless the data passes
        4 GiB, where 32-bit offsets no longer reach (PS3.5 A.4, C.7.6.3.1.8).
    """
    if offset_table not in ("auto", "basic", "extended"):
        raise ValueError(f"offset_table must be auto, basic or extended, not {offset_table!r}")
    items: list[bytes | memoryview] = []
    offsets: list[int] = []
    lengths: list[int] = []
    position = 0
    for frame in frames:
        size = len(frame)
        padded = size + (size & 1)
        offsets.append(position)
        lengths.append(size)
        items.append(_ITEM + struct.pack("<L", padded))
        items.append(frame)
        if size & 1:
            items.append(b"\0")
        position += 8 + padded
    extended = offset_table == "extended" or (offset_table == "auto" and position > 0xFFFFFFFF)
    if extended:
        bot = _ITEM + b"\0\0\0\0"
        return Encapsulated(
            bot + b"".join(items),
            np.asarray(offsets, dtype="<u8").tobytes(),
            np.asarray(lengths, dtype="<u8").tobytes(),
        )
    table = np.asarray(offsets, dtype="<u4").tobytes()
    bot = _ITEM + struct.pack("<L", len(table)) + table
    return Encapsulated(bot + b"".join(items))
