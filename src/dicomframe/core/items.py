"""Sequences, items and encapsulated values: the nested parts of a dataset (PS3.5 7.5, A.4).

The parser hands an SQ element, a UN one that is a sequence (PS3.5 6.2.2)
and any element of undefined length here, and each item's dataset goes back
to :func:`~dicomframe.core.parser.parse_into`;
the nesting depth is bounded by ``Limits.max_depth`` and the count of items
by ``Limits.max_elements``, so a hostile file ends in a
:class:`~dicomframe.errors.LimitError`, never a ``RecursionError``.
Encapsulated values are only walked to find where they
end: their fragments are split when the pixel data is read.
"""

from __future__ import annotations

import functools
import struct
from typing import TYPE_CHECKING

from dicomframe.core import parser  # a cycle: names are looked up when called
from dicomframe.core.dataset import Dataset, Sequence
from dicomframe.core.element import _UNSET, DataElement
from dicomframe.core.skipping import REPEAT_FROM, Walk, repeats, skip_items, skip_items_once
from dicomframe.core.source import Unparsed
from dicomframe.core.tag import ITEM, ITEM_DELIMITER, SEQUENCE_DELIMITER, Tag
from dicomframe.core.vr import VR
from dicomframe.errors import InvalidDicomError, LimitError

if TYPE_CHECKING:
    from dicomframe.core.parser import ParseContext, _Header, _Level

__all__ = [
    "lazy_sequence",
    "read_items",
    "read_undefined",
    "scan_fragments",
    "sequence_element",
    "un_as_sequence",
]

_ITEM_HEADER = {True: struct.Struct("<HHL"), False: struct.Struct(">HHL")}
_LENGTH = {True: struct.Struct("<L"), False: struct.Struct(">L")}
_LENGTH_FROM = {little: unpacker.unpack_from for little, unpacker in _LENGTH.items()}
_new_tuple, _new = tuple.__new__, object.__new__
_SQ = VR.SQ  # an enum member looked up on its class costs ~100 ns a time
_UNDEFINED = 0xFFFFFFFF
# PS3.5 7.1: undefined length is allowed only on these, and on UN read as a sequence.
_UNDEFINED_OK = frozenset({VR.SQ, VR.OB, VR.OW, VR.UN})


def sequence_element(
    head: _Header, seq: Sequence, little: bool, *, undefined_length: bool
) -> DataElement:
    """The SQ element of a header and the items read after it."""
    return DataElement._parsed(head.tag, VR.SQ, seq, None, little, (), undefined_length, head.start)


def sequence(
    ctx: ParseContext, head: _Header, end: int, level: _Level, *, little: bool
) -> DataElement:
    """The SQ element of a header whose items end at ``end``: read now, or on first use.

    With ``ctx.lazy`` the items stay bytes until the value is asked for
    (opening a file with 50,000 per-frame functional group items costs no
    more than one with none); they are parsed then with the same context,
    limits and character sets as now.
    """
    undefined = head.length == parser.UNDEFINED
    if not ctx.lazy:
        seq, _ = read_items(ctx, head, end, level)
        return sequence_element(head, seq, little, undefined_length=undefined)
    args = (ctx, head.tag, head.length, head.start, head.value, end, level.depth, level.charsets)
    return DataElement._parsed(
        head.tag,
        _SQ,
        _UNSET,
        Unparsed(_parse_items, ctx.source, args),
        little,
        (),
        undefined,
        head.start,
    )


def _parse_items(  # noqa: PLR0913, PLR0917 - what Unparsed keeps of a sequence left as bytes
    ctx: ParseContext,
    tag: Tag,
    length: int,
    start: int,
    value: int,
    end: int,
    depth: int,
    charsets: tuple[str, ...],
) -> Sequence:
    """The items of a sequence left unparsed: its header and level are rebuilt only now."""
    head = parser._Header(tag, _SQ, length, start, value)
    return read_items(ctx, head, end, parser._Level(depth, charsets))[0]  # no parent needed


def lazy_sequence(  # noqa: PLR0913, PLR0917 - the parser's locals, passed as they are
    ctx: ParseContext,
    buf: memoryview,
    tag: Tag,
    pos: int,
    end: int,
    depth: int,
    charsets: tuple[str, ...],
) -> tuple[DataElement, int] | None:
    """An explicit SQ at ``pos`` left unparsed, straight from its header: the common sequence.

    The parser calls this for an SQ header in a lazy read with 12 bytes or
    more left; None when the sequence needs what :func:`read_undefined` or
    the parser's checks say of it (a length past ``end``, an odd one when
    strict), which then read it the general way, errors and all. A header
    scan meets a few sequences in every file, so the objects are made with
    ``__new__`` and their slots set here, without calls, and what the items
    will need is one tuple (:func:`_parse_items`).
    """
    little = ctx.little_endian
    length = _LENGTH_FROM[little](buf, pos + 8)[0]
    value = pos + 12
    if length == _UNDEFINED:
        walk = _new_tuple(Walk, (buf, ctx.explicit_vr, little, ctx.max_depth, None))
        after = skip_items(walk, tag, value, end, depth)
    else:
        after = value + length
        if after > end or (length & 1 and ctx.strict):
            return None
    lazy = _new(Unparsed)
    lazy._parse = _parse_items
    lazy.source = ctx.source
    lazy.args = (ctx, tag, length, pos, value, after, depth, charsets)
    element = _new(DataElement)
    element.tag = tag
    element.vr = _SQ
    element._raw = lazy
    element._value = _UNSET
    element.little_endian = little
    element.charsets = ()
    element.undefined_length = length == _UNDEFINED
    element.offset = pos
    return element, after


def un_as_sequence(ctx: ParseContext, head: _Header, level: _Level) -> DataElement | None:
    """Read an explicit UN value as an Implicit VR LE sequence when the dictionary says SQ.

    PS3.5 6.2.2: a UN value holds the Implicit VR Little Endian encoding. A UN
    of a tag the dictionary does not know stays bytes, as DCMTK and pydicom
    keep it; so does a private sequence of defined length in Implicit VR.
    """
    from dicomframe.core.dictionary import vr_for

    if vr_for(head.tag) != "SQ":
        return None
    sub = ctx._replace(explicit_vr=False, little_endian=True)
    return sequence(sub, head, head.end, level, little=ctx.little_endian)


def read_undefined(
    ctx: ParseContext, head: _Header, vr: VR, end: int, level: _Level
) -> tuple[DataElement, int]:
    """Read an element of undefined length: a sequence, or encapsulated data."""
    if vr not in _UNDEFINED_OK:
        raise InvalidDicomError(
            f"undefined length is not allowed for VR {vr}", tag=head.tag, offset=head.start
        )
    if vr is VR.SQ or (vr is VR.UN and head.tag not in parser.PIXEL_TAGS):
        # PS3.5 6.2.2: UN of undefined length is an Implicit VR Little Endian sequence.
        sub = ctx if vr is VR.SQ else ctx._replace(explicit_vr=False, little_endian=True)
        if not ctx.lazy:
            seq, after = read_items(sub, head, end, level)
            return sequence_element(head, seq, ctx.little_endian, undefined_length=True), after
        walk = Walk(sub.buffer, sub.explicit_vr, sub.little_endian, sub.max_depth)
        after = skip_items(walk, head.tag, head.value, end, level.depth)
        return sequence(sub, head, after, level, little=ctx.little_endian), after
    # Encapsulated data (PS3.5 A.4): items up to a Sequence Delimitation Item.
    value_end = scan_fragments(ctx, head.tag, head.value, end)
    if head.tag in parser.PIXEL_TAGS:
        vr = VR.OB  # PS3.5 A.4: encapsulated Pixel Data is OB, whatever the header said
    element = DataElement(
        head.tag,
        vr,
        raw=parser._locate(ctx, head.value, value_end - head.value),
        little_endian=ctx.little_endian,
        undefined_length=True,
        offset=head.start,
    )
    return element, min(value_end + 8, end)  # no delimiter left after a repaired value


def scan_fragments(ctx: ParseContext, tag: Tag, pos: int, end: int) -> int:
    """Walk fragment items; return the offset of the Sequence Delimitation Item."""
    buf = ctx.buffer
    unpack = _ITEM_HEADER[ctx.little_endian].unpack_from
    while True:
        if end - pos < 8:
            if ctx.repair(
                "encapsulated data ends without a Sequence Delimitation Item",
                tag=tag,
                offset=pos,
                action="ended the value at the end of the data",
            ):
                return pos
            raise parser._truncated(
                "encapsulated data: missing Sequence Delimitation Item", tag, pos, 8, end - pos
            )
        g, e, length = unpack(buf, pos)
        item = (g << 16) | e
        if item == SEQUENCE_DELIMITER:
            return pos
        if item != ITEM:
            raise InvalidDicomError(
                f"expected an Item or Sequence Delimitation tag in encapsulated data, "
                f"found {Tag(item)}",
                tag=tag,
                offset=pos,
            )
        if (length == parser.UNDEFINED or length > end - pos - 8) and ctx.repair(
            f"fragment length {length} exceeds the {end - pos - 8} bytes that remain",
            tag=tag,
            offset=pos,
            action="dropped the incomplete last fragment",
        ):
            return pos
        if length == parser.UNDEFINED or length > end - pos - 8:
            raise InvalidDicomError(
                f"fragment length {length} exceeds the {end - pos - 8} bytes that remain",
                tag=tag,
                offset=pos,
            )
        pos += 8 + length


def read_items(  # noqa: C901 - flat on purpose: 50,000 items cost a call each otherwise
    ctx: ParseContext, head: _Header, end: int, level: _Level
) -> tuple[Sequence, int]:
    """Read the items of a sequence; return them and the offset after the sequence."""
    tag, pos, defined = head.tag, head.value, head.length != parser.UNDEFINED
    if level.depth >= ctx.max_depth:
        raise LimitError(
            "max_depth",
            level.depth + 1,
            ctx.max_depth,
            what="sequence nesting",
            tag=tag,
            offset=head.start,
        )
    unpack = _ITEM_HEADER[ctx.little_endian].unpack_from
    items = Sequence(undefined_length=not defined)
    partial, defer, budget, lazy = functools.partial, Dataset._deferred, ctx.budget, ctx.lazy
    while pos < end or not defined:
        if end - pos < 8:
            if ctx.repair(
                "sequence ends without its delimiter",
                tag=tag,
                offset=pos,
                action=f"ended the sequence after {len(items)} items",
            ):
                return items, end
            raise parser._truncated("sequence item header", tag, pos, 8, end - pos)
        g, e, length = unpack(ctx.buffer, pos)
        item_tag = (g << 16) | e
        pos += 8
        if item_tag == SEQUENCE_DELIMITER:
            if not defined:
                break
            continue  # lenient: a stray delimiter inside a defined-length sequence
        if item_tag != ITEM:
            raise InvalidDicomError(
                f"expected an Item tag in sequence, found {Tag(item_tag)}", tag=tag, offset=pos - 8
            )
        if length > end - pos and length != _UNDEFINED:
            length = _item_length(ctx, tag, pos, length, end)
        if budget is not None:
            budget.left -= 1
            if budget.left < 0:
                budget.spend(0, offset=pos - 8)  # raises: the item past the limit
        bound = end if length == _UNDEFINED else pos + length
        if lazy and length != _UNDEFINED:  # the common item: no call but these
            items.append(defer(partial(_load_item, ctx, pos, bound, length, level), False))
            pos = bound
            continue
        if lazy:
            pos = _defer_items(ctx, items, pos, bound, length, level, end)
            continue
        item, pos = _read_item(ctx, pos, bound, length, level)
        items.append(item)
    return items, pos


def _defer_items(  # noqa: PLR0913, PLR0917 - the item's place, and where its sequence ends
    ctx: ParseContext, items: Sequence, pos: int, bound: int, length: int, level: _Level, end: int
) -> int:
    """Add the item at ``pos`` unparsed (and the run of items laid out alike after it).

    A defined length says where the item ends; an undefined one is walked
    (:mod:`~dicomframe.core.skipping`, the checks a parse makes on headers).
    Items laid out byte for byte alike in their headers end alike, so a run
    of them is found at once, as a lazy read skips it. Each item is parsed
    on first use, exactly as a full read parses it.
    """
    undefined = length == parser.UNDEFINED
    after = bound
    if undefined:
        walk = Walk(ctx.buffer, ctx.explicit_vr, ctx.little_endian, ctx.max_depth)
        after = skip_items_once(walk, pos - 8, end, level.depth)
    items.append(_deferred_item(ctx, pos, bound, length, level))
    count = len(items)
    if not undefined or count < REPEAT_FROM or count & (count - 1):
        return after  # runs are looked for after 16, 32, 64, ... items: rarely when they differ
    size = after - (pos - 8)
    same = repeats(walk, pos - 8, after, end, level.depth)
    for index in range(same):
        start = after + index * size + 8
        if ctx.budget is not None:
            ctx.budget.spend(1, offset=start - 8)
        items.append(_deferred_item(ctx, start, end, length, level))
    return after + same * size


def _deferred_item(ctx: ParseContext, pos: int, bound: int, length: int, level: _Level) -> Dataset:
    load = functools.partial(_load_item, ctx, pos, bound, length, level)  # no closure: C-made
    return Dataset._deferred(load, length == parser.UNDEFINED)


def _load_item(
    ctx: ParseContext, pos: int, bound: int, length: int, level: _Level
) -> tuple[dict[Tag, DataElement], bool]:
    parsed = _read_item(ctx, pos, bound, length, level)[0]
    return parsed._elements, parsed._order


def _item_length(ctx: ParseContext, tag: int, pos: int, length: int, end: int) -> int:
    """An item's length, checked against the bytes of its sequence (clamped when lenient)."""
    if length == parser.UNDEFINED or length <= end - pos:
        return length
    message = f"item length {length} exceeds the {end - pos} bytes that remain"
    if ctx.repair(
        message, tag=tag, offset=pos - 8, action="read the item up to the end of its sequence"
    ):
        return end - pos
    raise InvalidDicomError(message, tag=tag, offset=pos - 8)


def _read_item(
    ctx: ParseContext, pos: int, end: int, length: int, level: _Level
) -> tuple[Dataset, int]:
    item = Dataset()
    item.undefined_length = length == parser.UNDEFINED
    pos = parser.parse_into(ctx, pos, end, level.deeper(item), mode=parser.MODE_ITEM)
    if not item.undefined_length:
        return item, end
    if end - pos < 8:
        if ctx.repair(
            "item ends without its Item Delimitation Item",
            tag=None,
            offset=pos,
            action="ended the item at the end of the data",
        ):
            return item, end
        raise parser._truncated("item: missing Item Delimitation Item", None, pos, 8, end - pos)
    g, e = struct.unpack_from("<HH" if ctx.little_endian else ">HH", ctx.buffer, pos)
    marker = (g << 16) | e
    if marker == ITEM_DELIMITER:
        return item, pos + 8
    if marker == SEQUENCE_DELIMITER:
        return item, pos  # lenient: the sequence ended without closing its item
    raise InvalidDicomError(f"unexpected {Tag(marker)} inside an item", offset=pos)
