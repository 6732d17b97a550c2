"""Parse data elements out of a byte buffer (PS3.5 7).

The parser walks a buffer (an in-memory ``bytes`` or a memory-mapped file)
and yields :class:`DataElement` objects whose values are not decoded yet.
Every length is checked against the bytes that remain *before* anything is
sliced or allocated, so a lying length field gives an
:class:`InvalidDicomError` naming the tag and the byte offset, never a huge
allocation or a bare ``struct.error``.

Leniency, where the big toolkits are lenient too:

- odd value lengths are read as they are (``strict=True`` refuses them);
- an explicit VR that is two letters but unknown is read as UN with a 32-bit
  length, as PS3.5 7.1.2 asks of VRs added in the future;
- UN with undefined length is read as an Implicit VR Little Endian sequence
  (PS3.5 6.2.2), and so is an undefined-length element of a tag the
  dictionary does not know in Implicit VR;
- a sequence item that ends early with a sequence delimiter is accepted.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, replace

from dicomframe.core.dataset import Dataset, Sequence
from dicomframe.core.element import DataElement
from dicomframe.core.source import Located, Source
from dicomframe.core.tag import ITEM, ITEM_DELIMITER, SEQUENCE_DELIMITER, Tag
from dicomframe.core.vr import BINARY_NUMBER_FORMATS, LONG_HEADER_VRS, VR
from dicomframe.errors import InvalidDicomError

__all__ = ["MAX_DEPTH", "ParseContext", "iter_dataset", "parse_dataset"]

UNDEFINED = 0xFFFFFFFF
MAX_DEPTH = 100  # far beyond any real file; deeper nesting is refused, not recursed into
PIXEL_TAGS = frozenset({0x7FE00008, 0x7FE00009, 0x7FE00010})
SPECIFIC_CHARACTER_SET = 0x00080005

_VR_BY_CODE = {(ord(v.value[0]) << 8) | ord(v.value[1]): v for v in VR}
# PS3.5 7.1: undefined length is allowed only on these, and on UN read as a sequence.
_UNDEFINED_OK = frozenset({VR.SQ, VR.OB, VR.OW, VR.UN})


@dataclass(frozen=True, slots=True)
class ParseContext:
    """How the bytes being parsed are encoded, and where they come from."""

    source: Source
    explicit_vr: bool = True
    little_endian: bool = True
    defer_size: int = 64 * 1024
    strict: bool = False
    stop_before_pixels: bool = False

    @property
    def buffer(self) -> memoryview:
        """The source's bytes."""
        return self.source.buffer


@dataclass(frozen=True, slots=True)
class _Header:
    """One element header: where it starts, what it says."""

    tag: Tag
    vr: VR | None  # None in Implicit VR: the dictionary decides
    length: int
    start: int
    value: int  # offset of the value

    @property
    def end(self) -> int:
        return self.value + self.length


@dataclass(frozen=True, slots=True)
class _Level:
    """Where in the nesting the parser is: depth, inherited character sets, dataset so far."""

    depth: int = 0
    charsets: tuple[str, ...] = ()
    dataset: Dataset | None = None

    def deeper(self, dataset: Dataset) -> _Level:
        return _Level(self.depth + 1, self.charsets, dataset)


def _truncated(what: str, tag: int | None, offset: int, need: int, have: int) -> InvalidDicomError:
    return InvalidDicomError(
        f"{what}: needs {need} bytes but only {max(have, 0)} remain", tag=tag, offset=offset
    )


def _read_header(ctx: ParseContext, pos: int, end: int) -> _Header:
    """Read the element header at ``pos``."""
    buf = ctx.buffer
    order = "<" if ctx.little_endian else ">"
    if end - pos < 8:
        tag = None
        if end - pos >= 4:
            g, e = struct.unpack_from(order + "HH", buf, pos)
            tag = (g << 16) | e
        raise _truncated("element header", tag, pos, 8, end - pos)
    g, e = struct.unpack_from(order + "HH", buf, pos)
    tag = Tag((g << 16) | e)
    if not ctx.explicit_vr or g == 0xFFFE:
        (length,) = struct.unpack_from(order + "L", buf, pos + 4)
        return _Header(tag, None, length, pos, pos + 8)
    vr = _VR_BY_CODE.get((buf[pos + 4] << 8) | buf[pos + 5])
    if vr is None:
        if not all(0x41 <= c <= 0x5A for c in buf[pos + 4 : pos + 6]):
            raise InvalidDicomError(
                f"invalid VR bytes {bytes(buf[pos + 4 : pos + 6])!r} in Explicit VR data",
                tag=tag,
                offset=pos,
            )
        vr = VR.UN  # PS3.5 7.1.2: VRs unknown to the reader have a 32-bit length
    if vr in LONG_HEADER_VRS:
        if end - pos < 12:
            raise _truncated("element header", tag, pos, 12, end - pos)
        (length,) = struct.unpack_from(order + "L", buf, pos + 8)
        return _Header(tag, vr, length, pos, pos + 12)
    (length,) = struct.unpack_from(order + "H", buf, pos + 6)
    return _Header(tag, vr, length, pos, pos + 8)


def _implicit_vr(tag: Tag, length: int, ds: Dataset | None) -> VR:
    """The VR of an Implicit VR element: the dictionary's, with PS3.5 ambiguities settled."""
    from dicomframe.core.dictionary import lookup

    entry = lookup(tag)
    if entry is None:
        return VR.SQ if length == UNDEFINED else VR.UN
    choices = entry.vrs
    if len(choices) == 1:
        return VR(choices[0]) if choices[0] in VR.__members__ else VR.UN
    if "OW" in choices and length == UNDEFINED:
        return VR.OB  # PS3.5 A.4: encapsulated data is OB
    if "SS" in choices and ds is not None and ds.get(0x00280103) == 1:
        return VR.SS
    if "OW" in choices and (tag >= 0x60000000 or "US" not in choices):
        return VR.OW  # PS3.5 A.1: in Implicit VR, Pixel Data and Overlay Data are OW
    return VR(choices[0])


def iter_dataset(
    ctx: ParseContext,
    pos: int,
    end: int,
    *,
    level: _Level | None = None,
    item_mode: bool = False,
) -> Iterator[tuple[DataElement, int]]:
    """Yield ``(element, offset after it)`` for the elements in ``[pos, end)``.

    In ``item_mode`` a (FFFE,xxxx) tag ends the dataset; the caller reads it
    at the offset after the last element yielded.
    """
    level = level or _Level()
    buf = ctx.buffer
    order = "<H" if ctx.little_endian else ">H"
    while pos < end:
        if item_mode and end - pos >= 4 and struct.unpack_from(order, buf, pos)[0] == 0xFFFE:
            return
        if end - pos < 4 and not any(buf[pos:end]):
            return  # trailing NUL padding after the last element, as some writers leave
        head = _read_header(ctx, pos, end)
        if ctx.stop_before_pixels and level.depth == 0 and head.tag in PIXEL_TAGS:
            return
        element, pos = _read_element(ctx, head, end, level)
        if head.tag == SPECIFIC_CHARACTER_SET:
            from dicomframe.core.charset import normalize

            level = _Level(level.depth, normalize(element.value), level.dataset)
        yield element, pos


def _read_element(
    ctx: ParseContext, head: _Header, end: int, level: _Level
) -> tuple[DataElement, int]:
    explicit_un = head.vr is VR.UN
    vr = head.vr or _implicit_vr(head.tag, head.length, level.dataset)
    if head.length == UNDEFINED:
        return _read_undefined(ctx, head, vr, end, level)
    if head.length > end - head.value:
        raise InvalidDicomError(
            f"{vr} value length {head.length} exceeds the {end - head.value} bytes that remain",
            tag=head.tag,
            offset=head.start,
        )
    if head.length % 2 and ctx.strict:
        raise InvalidDicomError(
            f"odd value length {head.length} (PS3.5 7.1.1)", tag=head.tag, offset=head.start
        )
    little = ctx.little_endian
    if vr is VR.SQ:
        items, _ = _read_items(ctx, head, head.end, level)
        return DataElement(head.tag, vr, items, offset=head.start, little_endian=little), head.end
    if explicit_un:
        element = _un_as_sequence(ctx, head, level)
        if element is not None:
            return element, head.end
        vr, little = _known_vr(head.tag, head.length, little)
    element = DataElement(
        head.tag,
        vr,
        raw=_locate(ctx, head.value, head.length),
        little_endian=little,
        charsets=level.charsets,
        offset=head.start,
    )
    return element, head.end


def _locate(ctx: ParseContext, pos: int, length: int) -> bytes | memoryview | Located:
    """A small value is copied; a large one stays where it is (a view, or located in the map)."""
    if length < ctx.defer_size:
        return bytes(ctx.buffer[pos : pos + length])
    if ctx.source.is_mapped:
        return Located(ctx.source, pos, length)
    return ctx.buffer[pos : pos + length]


def _known_vr(tag: Tag, length: int, little: bool) -> tuple[VR, bool]:
    """The dictionary VR for an explicit UN element, when it has exactly one.

    PS3.5 6.2.2: UN only says the writer did not know the VR; its bytes are
    the Implicit VR Little Endian encoding, so a reader that does know the tag
    may decode them as that VR. Ambiguous and SQ entries stay UN.
    """
    from dicomframe.core.dictionary import lookup

    entry = lookup(tag)
    if entry is None or len(entry.vrs) != 1 or entry.vrs[0] not in VR.__members__:
        return VR.UN, little
    vr = VR(entry.vrs[0])
    if vr in (VR.SQ, VR.UN) or (vr not in LONG_HEADER_VRS and length > 0xFFFF):
        return VR.UN, little
    if vr in BINARY_NUMBER_FORMATS and length % BINARY_NUMBER_FORMATS[vr][1]:
        return VR.UN, little
    return vr, True


def _un_as_sequence(ctx: ParseContext, head: _Header, level: _Level) -> DataElement | None:
    """Read an explicit UN value as an Implicit VR LE sequence when the dictionary says SQ.

    PS3.5 6.2.2: a UN value holds the Implicit VR Little Endian encoding. A UN
    of a tag the dictionary does not know stays bytes, as DCMTK and pydicom
    keep it; so does a private sequence of defined length in Implicit VR.
    """
    from dicomframe.core.dictionary import vr_for

    if vr_for(head.tag) != "SQ":
        return None
    sub = replace(ctx, explicit_vr=False, little_endian=True)
    items, _ = _read_items(sub, head, head.end, level)
    return DataElement(head.tag, VR.SQ, items, offset=head.start, little_endian=ctx.little_endian)


def _read_undefined(
    ctx: ParseContext, head: _Header, vr: VR, end: int, level: _Level
) -> tuple[DataElement, int]:
    if vr not in _UNDEFINED_OK:
        raise InvalidDicomError(
            f"undefined length is not allowed for VR {vr}", tag=head.tag, offset=head.start
        )
    if vr is VR.SQ or (vr is VR.UN and head.tag not in PIXEL_TAGS):
        # PS3.5 6.2.2: UN of undefined length is an Implicit VR Little Endian sequence.
        sub = ctx if vr is VR.SQ else replace(ctx, explicit_vr=False, little_endian=True)
        items, after = _read_items(sub, head, end, level)
        element = DataElement(
            head.tag,
            VR.SQ,
            items,
            undefined_length=True,
            offset=head.start,
            little_endian=ctx.little_endian,
        )
        return element, after
    # Encapsulated data (PS3.5 A.4): items up to a Sequence Delimitation Item.
    value_end = _scan_fragments(ctx, head.tag, head.value, end)
    if head.tag in PIXEL_TAGS:
        vr = VR.OB  # PS3.5 A.4: encapsulated Pixel Data is OB, whatever the header said
    element = DataElement(
        head.tag,
        vr,
        raw=_locate(ctx, head.value, value_end - head.value),
        little_endian=ctx.little_endian,
        undefined_length=True,
        offset=head.start,
    )
    return element, value_end + 8


def _scan_fragments(ctx: ParseContext, tag: Tag, pos: int, end: int) -> int:
    """Walk fragment items; return the offset of the Sequence Delimitation Item."""
    buf = ctx.buffer
    fmt = "<HHL" if ctx.little_endian else ">HHL"
    while True:
        if end - pos < 8:
            raise _truncated(
                "encapsulated data: missing Sequence Delimitation Item", tag, pos, 8, end - pos
            )
        g, e, length = struct.unpack_from(fmt, buf, pos)
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
        if length == UNDEFINED or length > end - pos - 8:
            raise InvalidDicomError(
                f"fragment length {length} exceeds the {end - pos - 8} bytes that remain",
                tag=tag,
                offset=pos,
            )
        pos += 8 + length


def _read_items(ctx: ParseContext, head: _Header, end: int, level: _Level) -> tuple[Sequence, int]:
    """Read the items of a sequence; return them and the offset after the sequence."""
    tag, pos, defined = head.tag, head.value, head.length != UNDEFINED
    if level.depth >= MAX_DEPTH:
        raise InvalidDicomError(
            f"sequences nested deeper than {MAX_DEPTH} levels", tag=tag, offset=head.start
        )
    fmt = "<HHL" if ctx.little_endian else ">HHL"
    items = Sequence(undefined_length=not defined)
    while pos < end or not defined:
        if end - pos < 8:
            raise _truncated("sequence item header", tag, pos, 8, end - pos)
        g, e, length = struct.unpack_from(fmt, ctx.buffer, pos)
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
        if length != UNDEFINED and length > end - pos:
            raise InvalidDicomError(
                f"item length {length} exceeds the {end - pos} bytes that remain",
                tag=tag,
                offset=pos - 8,
            )
        item, pos = _read_item(
            ctx, pos, end if length == UNDEFINED else pos + length, length, level
        )
        items.append(item)
    return items, pos


def _read_item(
    ctx: ParseContext, pos: int, end: int, length: int, level: _Level
) -> tuple[Dataset, int]:
    item = Dataset()
    item.undefined_length = length == UNDEFINED
    for element, after in iter_dataset(ctx, pos, end, level=level.deeper(item), item_mode=True):
        item.add(element)
        pos = after
    if not item.undefined_length:
        return item, end
    if end - pos < 8:
        raise _truncated("item: missing Item Delimitation Item", None, pos, 8, end - pos)
    g, e = struct.unpack_from("<HH" if ctx.little_endian else ">HH", ctx.buffer, pos)
    marker = (g << 16) | e
    if marker == ITEM_DELIMITER:
        return item, pos + 8
    if marker == SEQUENCE_DELIMITER:
        return item, pos  # lenient: the sequence ended without closing its item
    raise InvalidDicomError(f"unexpected {Tag(marker)} inside an item", offset=pos)


def parse_dataset(ctx: ParseContext, pos: int, end: int) -> Dataset:
    """Parse ``[pos, end)`` into a :class:`Dataset`."""
    ds = Dataset()
    for element, _ in iter_dataset(ctx, pos, end, level=_Level(dataset=ds)):
        ds.add(element)
    return ds
