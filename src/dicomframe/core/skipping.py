"""Find where an undefined-length sequence ends, without building its items (PS3.5 7.5).

A sequence of undefined length says nothing of its size: the only way to
its end is through its items. A lazy read walks the element headers here,
never making an element or a dataset, so skipping the items costs a
fraction of parsing them; they are parsed from the same bytes when first
used. Every length is checked against the bytes that remain, nesting is
bounded by ``max_depth``, and damage raises the
:class:`~dicomframe.errors.InvalidDicomError` a full parse would raise.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from dicomframe.core.implicit_vr import implicit_vr
from dicomframe.core.tag import ITEM, ITEM_DELIMITER, SEQUENCE_DELIMITER, Tag
from dicomframe.core.vr import LONG_HEADER_VRS, VR
from dicomframe.errors import InvalidDicomError, LimitError

__all__ = ["REPEAT_FROM", "Walk", "repeats", "skip_items", "skip_items_once"]

UNDEFINED = 0xFFFFFFFF
REPEAT_FROM = 16  # items walked one by one before looking for a run of items laid out alike
_COMPARED = 1 << 22  # header bytes compared at once: bounds the memory a comparison takes
_PIXEL_TAGS = frozenset({0x7FE00008, 0x7FE00009, 0x7FE00010})
_VRS = {vr.value.encode(): vr for vr in VR}
_HEAD = {True: struct.Struct("<HHL"), False: struct.Struct(">HHL")}
_SHORT = {True: struct.Struct("<H"), False: struct.Struct(">H")}
_LONG = {True: struct.Struct("<L"), False: struct.Struct(">L")}
_FOUR = {True: struct.Struct("<HHHH"), False: struct.Struct(">HHHH")}
# The VR bytes of a short explicit header, read as an unsigned short in each byte order.
_SHORT_CODES = {
    little: frozenset(
        int.from_bytes(vr.value.encode(), "little" if little else "big")
        for vr in VR
        if vr not in LONG_HEADER_VRS
    )
    for little in (True, False)
}


class Walk(NamedTuple):
    """The bytes being walked and how they are encoded."""

    buffer: memoryview
    explicit_vr: bool
    little_endian: bool
    max_depth: int
    # When a list: every header read is added as (offset, size), to find items like it.
    spans: list[tuple[int, int]] | None = None


def _short(tag: int, pos: int, need: int, end: int, what: str) -> InvalidDicomError:
    return InvalidDicomError(
        f"{what}: needs {need} bytes but only {max(end - pos, 0)} remain", tag=tag, offset=pos
    )


def skip_items(walk: Walk, tag: int, pos: int, end: int, depth: int) -> int:
    """The offset after the Sequence Delimitation Item of the sequence whose items start at pos.

    Past ``REPEAT_FROM`` items, the items that follow one are compared with
    it all at once (:func:`repeats`), and a run of items laid out the same
    is passed over in one step.
    """
    if depth >= walk.max_depth:
        raise LimitError(
            "max_depth", depth + 1, walk.max_depth, what="sequence nesting", tag=tag, offset=pos
        )
    unpack, spans = _HEAD[walk.little_endian].unpack_from, walk.spans
    count, next_try, gap = 0, REPEAT_FROM, REPEAT_FROM
    while True:
        if end - pos < 8:
            raise _short(tag, pos, 8, end, "sequence item header")
        g, e, length = unpack(walk.buffer, pos)
        if spans is not None:
            spans.append((pos, 8))
        item, start = (g << 16) | e, pos
        pos += 8
        if item == SEQUENCE_DELIMITER:
            return pos
        if item != ITEM:
            raise InvalidDicomError(
                f"expected an Item tag in sequence, found {Tag(item)}", tag=tag, offset=pos - 8
            )
        if length == UNDEFINED:
            pos = _skip_elements(walk, pos, end, depth + 1)
        elif length > end - pos:
            raise InvalidDicomError(
                f"item length {length} exceeds the {end - pos} bytes that remain",
                tag=tag,
                offset=pos - 8,
            )
        else:
            pos += length
        count += 1
        if count >= next_try and spans is None:
            same = repeats(walk, start, pos, end, depth)
            pos, count = pos + same * (pos - start), count + same
            gap = REPEAT_FROM if same >= REPEAT_FROM else min(2 * gap, 1 << 12)
            next_try = count + gap  # a sequence whose items differ is compared ever more rarely


def _skip_elements(walk: Walk, pos: int, end: int, depth: int) -> int:
    """The offset after the Item Delimitation Item of the item whose elements start at pos."""
    buf, little, explicit, spans = walk.buffer, walk.little_endian, walk.explicit_vr, walk.spans
    head = _HEAD[little].unpack_from
    four, short = _FOUR[little].unpack_from, _SHORT_CODES[little]
    while True:
        if end - pos < 8:
            raise _short(0, pos, 8, end, "item: missing Item Delimitation Item")
        if spans is not None:
            spans.append((pos, 8))
        if explicit:  # the common element: a short VR, its 16-bit length, no call
            g, e, code, length = four(buf, pos)
            if code in short and g != 0xFFFE:
                if length > end - pos - 8:
                    raise _too_long((g << 16) | e, pos, length, end - pos - 8)
                pos += 8 + length
                continue
        g, e, length = head(buf, pos)
        tag = (g << 16) | e
        if tag == ITEM_DELIMITER:
            return pos + 8
        if tag == SEQUENCE_DELIMITER:
            return pos  # the sequence ended without closing its item, as a full parse allows
        vr, value, length = _header(walk, tag, pos, end, length)
        if length == UNDEFINED:
            pos = _skip_undefined(walk, tag, vr, value, end, depth)
        else:
            pos = _after(tag, pos, value, length, end)


def _after(tag: int, pos: int, value: int, length: int, end: int) -> int:
    """The offset after a value of defined length, which must end by ``end``."""
    if length > end - value:
        raise _too_long(tag, pos, length, end - value)
    return value + length


def _too_long(tag: int, pos: int, length: int, remain: int) -> InvalidDicomError:
    return InvalidDicomError(
        f"value length {length} exceeds the {remain} bytes that remain", tag=tag, offset=pos
    )


def _header(walk: Walk, tag: int, pos: int, end: int, length: int) -> tuple[VR | None, int, int]:
    """The VR (None in Implicit VR), the value's offset and its length, as the parser reads them."""
    if not walk.explicit_vr or tag >> 16 == 0xFFFE:
        return None, pos + 8, length
    code = bytes(walk.buffer[pos + 4 : pos + 6])
    vr = _VRS.get(code)
    if vr is None:
        if not all(0x41 <= c <= 0x5A for c in code):
            raise InvalidDicomError(
                f"invalid VR bytes {code!r} in Explicit VR data", tag=tag, offset=pos
            )
        vr = VR.UN  # PS3.5 7.1.2: VRs unknown to the reader have a 32-bit length
    if vr not in LONG_HEADER_VRS:
        return vr, pos + 8, _SHORT[walk.little_endian].unpack_from(walk.buffer, pos + 6)[0]
    if end - pos < 12:
        raise _short(tag, pos, 12, end, "element header")
    if walk.spans is not None:
        walk.spans.append((pos + 8, 4))  # the 32-bit length
    return vr, pos + 12, _LONG[walk.little_endian].unpack_from(walk.buffer, pos + 8)[0]


def _skip_undefined(walk: Walk, tag: int, vr: VR | None, pos: int, end: int, depth: int) -> int:
    """Skip an element of undefined length inside an item: a sequence or encapsulated data."""
    vr = vr or implicit_vr(tag, UNDEFINED, None)
    if vr is VR.SQ:
        return skip_items(walk, tag, pos, end, depth)
    if vr is VR.UN and tag not in _PIXEL_TAGS:  # PS3.5 6.2.2: an Implicit VR LE sequence
        return skip_items(
            walk._replace(explicit_vr=False, little_endian=True), tag, pos, end, depth
        )
    if vr in (VR.OB, VR.OW, VR.UN):
        return _skip_fragments(walk, tag, pos, end)
    raise InvalidDicomError(f"undefined length is not allowed for VR {vr}", tag=tag, offset=pos)


def _skip_fragments(walk: Walk, tag: int, pos: int, end: int) -> int:
    """The offset after the Sequence Delimitation Item that ends encapsulated data."""
    unpack = _HEAD[walk.little_endian].unpack_from
    while True:
        if end - pos < 8:
            raise _short(tag, pos, 8, end, "encapsulated data: missing Sequence Delimitation Item")
        g, e, length = unpack(walk.buffer, pos)
        if walk.spans is not None:
            walk.spans.append((pos, 8))
        item = (g << 16) | e
        if item == SEQUENCE_DELIMITER:
            return pos + 8
        if item != ITEM or length == UNDEFINED or length > end - pos - 8:
            raise InvalidDicomError(
                f"bad fragment item {Tag(item)} of length {length} in encapsulated data",
                tag=tag,
                offset=pos,
            )
        pos += 8 + length


def repeats(walk: Walk, start: int, after: int, end: int, depth: int) -> int:
    """How many items from ``after`` on are laid out as the item at ``[start, after)``.

    Walking an item reads only its headers; items whose header bytes are
    all the same, at the same places, walk the same way to the same size,
    whatever their values. So the header bytes of the item just walked are
    gathered once, and the same places of the items after it are compared
    with them by numpy, a block at a time; the count of equal items in a
    row is returned. Each item compared lies before ``end``, as the walk
    would have checked.
    """
    import numpy as np

    spans: list[tuple[int, int]] = []
    recorded = walk._replace(spans=spans)
    if skip_items_once(recorded, start, end, depth) != after:
        return 0  # defensive: the item walks the same way twice
    size = after - start
    rows = (end - after) // size
    if rows == 0:
        return 0
    places = np.concatenate([np.arange(at - start, at - start + n) for at, n in spans])
    data = np.frombuffer(walk.buffer, dtype=np.uint8)
    expected = data[start + places]
    most, block, done = max(1, _COMPARED // len(places)), REPEAT_FROM, 0
    while done < rows:
        # Blocks grow from a few items: items that differ soon cost little to find.
        count = min(block, most, rows - done)
        block *= 4
        first = after + done * size
        same = data[first : first + count * size].reshape(count, size)[:, places] == expected
        alike = same.all(axis=1)
        if not alike.all():
            return done + int(alike.argmin())
        done += count
    return done


def skip_items_once(walk: Walk, pos: int, end: int, depth: int) -> int:
    """Walk the one item at ``pos`` (its header and, for undefined length, its elements)."""
    length = _HEAD[walk.little_endian].unpack_from(walk.buffer, pos)[2]
    if walk.spans is not None:
        walk.spans.append((pos, 8))
    if length == UNDEFINED:
        return _skip_elements(walk, pos + 8, end, depth + 1)
    return int(pos + 8 + length)
