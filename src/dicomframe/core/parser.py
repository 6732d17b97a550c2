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
from dicomframe.core.vr import LONG_HEADER_VRS, VR
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


def _truncated(what: str, tag: int | None, offset: int, need: int, have: int) -> InvalidDicomError:
    return InvalidDicomError(
        f"{what}: needs {need} bytes but only {max(have, 0)} remain", tag=tag, offset=offset
    )


def _header(ctx: ParseContext, pos: int, end: int) -> tuple[Tag, VR | None, int, int]:
    """Read one element header at ``pos``: (tag, explicit VR or None, length, header size)."""
    buf = ctx.buffer
    little = ctx.little_endian
    if end - pos < 8:
        tag = None
        if end - pos >= 4:
            g, e = struct.unpack_from("<HH" if little else ">HH", buf, pos)
            tag = (g << 16) | e
        raise _truncated("element header", tag, pos, 8, end - pos)
    g, e = struct.unpack_from("<HH" if little else ">HH", buf, pos)
    tag = Tag((g << 16) | e)
    if not ctx.explicit_vr or g == 0xFFFE:
        (length,) = struct.unpack_from("<L" if little else ">L", buf, pos + 4)
        return tag, None, length, 8
    code = (buf[pos + 4] << 8) | buf[pos + 5]
    vr = _VR_BY_CODE.get(code)
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
        (length,) = struct.unpack_from("<L" if little else ">L", buf, pos + 8)
        return tag, vr, length, 12
    (length,) = struct.unpack_from("<H" if little else ">H", buf, pos + 6)
    return tag, vr, length, 8


def _implicit_vr(tag: Tag, length: int, ds: Dataset | None) -> VR:
    """The VR of an Implicit VR element: the dictionary's, with PS3.5 ambiguities settled."""
    from dicomframe.core.dictionary import lookup

    entry = lookup(tag)
    if entry is None:
        return VR.SQ if length == UNDEFINED else VR.UN
    choices = entry.vrs
    if len(choices) == 1:
        return VR(choices[0]) if choices[0] in VR.__members__ else VR.UN
    pixel_rep = ds.get(0x00280103) if ds is not None else None
    if "SS" in choices and "US" in choices and pixel_rep == 1:
        return VR.SS
    if "OW" in choices and length == UNDEFINED:
        return VR.OB  # PS3.5 A.4: encapsulated data is OB
    if "OW" in choices:
        # PS3.5 A.1: in Implicit VR Little Endian, Pixel Data and friends are OW.
        return VR.OW if tag >= 0x60000000 or "US" not in choices else VR.US
    return VR(choices[0])


def iter_dataset(
    ctx: ParseContext,
    pos: int,
    end: int,
    *,
    depth: int = 0,
    charsets: tuple[str, ...] = (),
    item_mode: bool = False,
    dataset: Dataset | None = None,
) -> Iterator[tuple[DataElement, int]]:
    """Yield ``(element, offset after it)`` for the elements in ``[pos, end)``.

    In ``item_mode`` an Item Delimitation Item ends the dataset (its end
    offset is yielded as ``(None, offset)``-free: iteration simply stops and
    the caller reads the position from the last yielded pair).
    """
    buf = ctx.buffer
    little = ctx.little_endian
    while pos < end:
        if item_mode and end - pos >= 4:
            g, e = struct.unpack_from("<HH" if little else ">HH", buf, pos)
            if g == 0xFFFE:
                return
        elif end - pos < 4 and all(b == 0 for b in buf[pos:end]):
            return  # trailing NUL padding after the last element, as some writers leave
        tag, vr, length, header = _header(ctx, pos, end)
        if ctx.stop_before_pixels and depth == 0 and tag in PIXEL_TAGS:
            return
        element, pos = _read_value(ctx, tag, vr, length, pos, header, end, depth, charsets, dataset)
        if tag == SPECIFIC_CHARACTER_SET:
            from dicomframe.core.charset import normalize

            charsets = normalize(element.value)
        yield element, pos


def _read_value(
    ctx: ParseContext,
    tag: Tag,
    vr: VR | None,
    length: int,
    pos: int,
    header: int,
    end: int,
    depth: int,
    charsets: tuple[str, ...],
    dataset: Dataset | None,
) -> tuple[DataElement, int]:
    start = pos
    pos += header
    explicit_un = vr is VR.UN
    if vr is None:
        vr = _implicit_vr(tag, length, dataset)
    if length == UNDEFINED:
        return _read_undefined(ctx, tag, vr, start, pos, end, depth, charsets)
    if length > end - pos:
        raise InvalidDicomError(
            f"{vr} value length {length} exceeds the {end - pos} bytes that remain",
            tag=tag,
            offset=start,
        )
    if length % 2 and ctx.strict:
        raise InvalidDicomError(f"odd value length {length} (PS3.5 7.1.1)", tag=tag, offset=start)
    if vr is VR.SQ:
        items = _read_items(ctx, tag, pos, pos + length, depth, charsets, defined=True)
        element = DataElement(tag, VR.SQ, items, offset=start, little_endian=ctx.little_endian)
        return element, pos + length
    little = ctx.little_endian
    if vr is VR.UN:
        if _un_is_sequence(ctx, tag, pos, length, explicit_un):
            sub = replace(ctx, explicit_vr=False, little_endian=True)
            try:
                items = _read_items(sub, tag, pos, pos + length, depth, charsets, defined=True)
            except InvalidDicomError:
                if explicit_un:
                    raise
            else:  # an Implicit VR private sequence, or UN standing for SQ (PS3.5 6.2.2)
                element = DataElement(tag, VR.SQ, items, offset=start, little_endian=little)
                return element, pos + length
        elif explicit_un:
            vr, little = _known_vr(tag, length, little)
    raw: bytes | memoryview | Located
    if length >= ctx.defer_size:
        raw = Located(ctx.source, pos, length) if ctx.source.is_mapped else ctx.buffer[pos : pos + length]
    else:
        raw = bytes(ctx.buffer[pos : pos + length])
    element = DataElement(tag, vr, raw=raw, little_endian=little, charsets=charsets, offset=start)
    return element, pos + length


def _known_vr(tag: Tag, length: int, little: bool) -> tuple[VR, bool]:
    """The dictionary VR for an explicit UN element, when it has exactly one.

    PS3.5 6.2.2: UN only says the writer did not know the VR; its bytes are
    the Implicit VR Little Endian encoding, so a reader that does know the tag
    may decode them as that VR. Ambiguous and SQ entries stay UN.
    """
    from dicomframe.core.dictionary import lookup
    from dicomframe.core.vr import BINARY_NUMBER_FORMATS

    entry = lookup(tag)
    if entry is None or len(entry.vrs) != 1 or entry.vrs[0] not in VR.__members__:
        return VR.UN, little
    vr = VR(entry.vrs[0])
    if vr in (VR.SQ, VR.UN) or (vr not in LONG_HEADER_VRS and length > 0xFFFF):
        return VR.UN, little
    if vr in BINARY_NUMBER_FORMATS and length % BINARY_NUMBER_FORMATS[vr][1]:
        return VR.UN, little
    return vr, True


def _un_is_sequence(ctx: ParseContext, tag: Tag, pos: int, length: int, explicit_un: bool) -> bool:
    """True when a UN value of defined length is really an Implicit VR LE sequence.

    Explicit UN: only when the dictionary says SQ (PS3.5 6.2.2). A tag unknown
    to the dictionary in Implicit VR: when the value opens with an Item tag.
    """
    if length < 8 or bytes(ctx.buffer[pos : pos + 4]) != b"\xfe\xff\x00\xe0":
        return False
    if explicit_un:
        from dicomframe.core.dictionary import vr_for

        return vr_for(tag) == "SQ"
    return True


def _read_undefined(
    ctx: ParseContext,
    tag: Tag,
    vr: VR,
    start: int,
    pos: int,
    end: int,
    depth: int,
    charsets: tuple[str, ...],
) -> tuple[DataElement, int]:
    if vr not in _UNDEFINED_OK:
        raise InvalidDicomError(f"undefined length is not allowed for VR {vr}", tag=tag, offset=start)
    if vr is VR.SQ or (vr is VR.UN and tag not in PIXEL_TAGS):
        # PS3.5 6.2.2: UN of undefined length is an Implicit VR Little Endian sequence.
        sub = ctx if vr is VR.SQ else replace(ctx, explicit_vr=False, little_endian=True)
        items = _read_items(sub, tag, pos, end, depth, charsets, defined=False)
        element = DataElement(
            tag, VR.SQ, items, undefined_length=True, offset=start, little_endian=ctx.little_endian
        )
        return element, items_end(items)
    # Encapsulated data (PS3.5 A.4): items up to a Sequence Delimitation Item.
    value_end = _scan_fragments(ctx, tag, pos, end)
    length = value_end - pos
    raw: bytes | memoryview | Located
    if ctx.source.is_mapped and length >= ctx.defer_size:
        raw = Located(ctx.source, pos, length)
    else:
        raw = ctx.buffer[pos:value_end]
    if tag in PIXEL_TAGS:
        vr = VR.OB  # PS3.5 A.4: encapsulated Pixel Data is OB, whatever the header said
    element = DataElement(
        tag, vr, raw=raw, little_endian=ctx.little_endian, undefined_length=True, offset=start
    )
    return element, value_end + 8


def _scan_fragments(ctx: ParseContext, tag: Tag, pos: int, end: int) -> int:
    """Walk fragment items; return the offset of the Sequence Delimitation Item."""
    buf = ctx.buffer
    fmt = "<HHL" if ctx.little_endian else ">HHL"
    while True:
        if end - pos < 8:
            raise _truncated("encapsulated data: missing Sequence Delimitation Item", tag, pos, 8, end - pos)
        g, e, length = struct.unpack_from(fmt, buf, pos)
        item = (g << 16) | e
        if item == SEQUENCE_DELIMITER:
            return pos
        if item != ITEM:
            raise InvalidDicomError(
                f"expected an Item or Sequence Delimitation tag in encapsulated data, found {Tag(item)}",
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


def items_end(items: Sequence) -> int:
    """The offset just after a sequence that was parsed (kept on the Sequence)."""
    return getattr(items, "_end", 0)


def _read_items(
    ctx: ParseContext,
    tag: Tag,
    pos: int,
    end: int,
    depth: int,
    charsets: tuple[str, ...],
    *,
    defined: bool,
) -> Sequence:
    if depth >= MAX_DEPTH:
        raise InvalidDicomError(f"sequences nested deeper than {MAX_DEPTH} levels", tag=tag, offset=pos)
    buf = ctx.buffer
    fmt = "<HHL" if ctx.little_endian else ">HHL"
    items = Sequence(undefined_length=not defined)
    while pos < end or not defined:
        if end - pos < 8:
            raise _truncated("sequence item header", tag, pos, 8, end - pos)
        g, e, length = struct.unpack_from(fmt, buf, pos)
        item_tag = (g << 16) | e
        if item_tag == SEQUENCE_DELIMITER:
            pos += 8
            if not defined:
                break
            continue  # lenient: a stray delimiter inside a defined-length sequence
        if item_tag != ITEM:
            raise InvalidDicomError(f"expected an Item tag in sequence, found {Tag(item_tag)}", tag=tag, offset=pos)
        pos += 8
        if length == UNDEFINED:
            item, pos = _read_item(ctx, pos, end, depth + 1, charsets, defined=False)
        else:
            if length > end - pos:
                raise InvalidDicomError(
                    f"item length {length} exceeds the {end - pos} bytes that remain", tag=tag, offset=pos - 8
                )
            item, _ = _read_item(ctx, pos, pos + length, depth + 1, charsets, defined=True)
            pos += length
        items.append(item)
    items._end = pos  # type: ignore[attr-defined]
    return items


def _read_item(
    ctx: ParseContext, pos: int, end: int, depth: int, charsets: tuple[str, ...], *, defined: bool
) -> tuple[Dataset, int]:
    item = Dataset()
    item.undefined_length = not defined
    for element, after in iter_dataset(
        ctx, pos, end, depth=depth, charsets=charsets, item_mode=True, dataset=item
    ):
        item.add(element)
        pos = after
    if defined:
        return item, end
    buf = ctx.buffer
    if end - pos < 8:
        raise _truncated("item: missing Item Delimitation Item", None, pos, 8, end - pos)
    g, e = struct.unpack_from("<HH" if ctx.little_endian else ">HH", buf, pos)
    marker = (g << 16) | e
    if marker == ITEM_DELIMITER:
        return item, pos + 8
    if marker == SEQUENCE_DELIMITER:
        return item, pos  # lenient: the sequence ended without closing its item
    raise InvalidDicomError(f"unexpected {Tag(marker)} inside an item", offset=pos)


def parse_dataset(ctx: ParseContext, pos: int, end: int, *, charsets: tuple[str, ...] = ()) -> Dataset:
    """Parse ``[pos, end)`` into a :class:`Dataset`."""
    ds = Dataset()
    for element, _ in iter_dataset(ctx, pos, end, charsets=charsets, dataset=ds):
        ds.add(element)
    return ds
