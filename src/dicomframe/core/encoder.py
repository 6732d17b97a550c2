"""Encode datasets into byte chunks for a transfer syntax (PS3.5 7).

The encoder produces a list of ``bytes``/``memoryview`` chunks instead of one
big buffer, so a large Pixel Data value is written straight from the mapped
file it was read from, never copied. Values that were never assigned are
written back from the bytes they were read with (byte-swapped when the byte
order changes), so an unchanged dataset round-trips byte for byte.
Encoding happens completely before the writer touches the destination: a
value that cannot be encoded raises :class:`EncodingError` first.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from dicomframe.core.dataset import Dataset, Sequence
from dicomframe.core.element import DataElement
from dicomframe.core.limits import allow_recursion, default_limits
from dicomframe.core.record import Record, record, replace
from dicomframe.core.tag import ITEM, ITEM_DELIMITER, SEQUENCE_DELIMITER
from dicomframe.core.vr import LONG_HEADER_VRS, SWAP_SIZE, VR, padding_byte, swap_bytes
from dicomframe.errors import EncodingError, LimitError

__all__ = ["Chunks", "EncodeContext", "encode_dataset", "encode_element"]

Chunks = list[bytes | memoryview]
UNDEFINED = 0xFFFFFFFF


@record
class EncodeContext(Record):
    """How to encode: VR mode, byte order, and what to do with sequence lengths.

    ``sequence_lengths`` is ``"as_read"`` (keep each sequence and item as it
    was read; new ones get defined lengths), ``"defined"`` or ``"undefined"``.
    ``max_depth`` bounds the nesting of sequences as the reader bounds it
    (:class:`~dicomframe.Limits`), so what is written can be read back with
    the same limits; ``depth`` is where the encoder is.
    """

    explicit_vr: bool = True
    little_endian: bool = True
    sequence_lengths: str = "as_read"
    max_depth: int = 0  # 0: the default limits' max_depth
    depth: int = 0

    def deeper(self, tag: int) -> EncodeContext:
        """The context one sequence down; past ``max_depth`` a :class:`LimitError`."""
        limit = self.max_depth or default_limits().max_depth
        if self.depth >= limit:
            raise LimitError("max_depth", self.depth + 1, limit, what="sequence nesting", tag=tag)
        if self.depth == 0:
            allow_recursion(limit, frames_per_level=4)
        return replace(self, depth=self.depth + 1)

    def pack_tag(self, tag: int) -> bytes:
        """Pack a tag's group and element in the context's byte order."""
        return struct.pack("<HH" if self.little_endian else ">HH", tag >> 16, tag & 0xFFFF)

    def undefined(self, read_undefined: bool) -> bool:
        """Whether to write a sequence or item with undefined length."""
        if self.sequence_lengths == "as_read":
            return read_undefined
        return self.sequence_lengths == "undefined"


def _size(chunks: Iterable[bytes | memoryview]) -> int:
    return sum(len(c) for c in chunks)


def value_bytes(
    element: DataElement, ctx: EncodeContext, charsets: tuple[str, ...]
) -> bytes | memoryview:
    """The encoded value of a non-sequence element, padded to even length."""
    raw = element.raw
    if raw is not None:
        if len(raw) % 2:
            raw = bytes(raw) + padding_byte(element.vr)
        if element.little_endian != ctx.little_endian and element.vr in SWAP_SIZE:
            raw = swap_bytes(raw, SWAP_SIZE[element.vr])
        return raw
    from dicomframe.core.values import encode_value

    return encode_value(
        element.value,
        element.vr,
        little_endian=ctx.little_endian,
        charsets=charsets,
        tag=element.tag,
    )


def _header(tag: int, vr: VR, length: int, ctx: EncodeContext) -> bytes:
    order = "<" if ctx.little_endian else ">"
    if not ctx.explicit_vr:
        return ctx.pack_tag(tag) + struct.pack(order + "L", length)
    if vr in LONG_HEADER_VRS:
        return ctx.pack_tag(tag) + vr.value.encode() + b"\0\0" + struct.pack(order + "L", length)
    return ctx.pack_tag(tag) + vr.value.encode() + struct.pack(order + "H", length)


def encode_element(element: DataElement, ctx: EncodeContext, charsets: tuple[str, ...]) -> Chunks:
    """Encode one element, header included."""
    vr = element.vr
    if vr is VR.SQ:
        return _encode_sequence(element, ctx, charsets)
    value = value_bytes(element, ctx, charsets)
    if element.undefined_length:
        # PS3.5 A.4: encapsulated fragments, then a Sequence Delimitation Item.
        return [
            _header(element.tag, vr, UNDEFINED, ctx),
            value,
            ctx.pack_tag(SEQUENCE_DELIMITER) + b"\0\0\0\0",
        ]
    length = len(value)
    if length > UNDEFINED - 1:
        raise EncodingError(f"value of {length} bytes is too long for DICOM", tag=element.tag)
    if ctx.explicit_vr and vr not in LONG_HEADER_VRS and length > 0xFFFF:
        # PS3.5 6.2.2: a value too long for a 16-bit length is written as UN.
        vr = VR.UN
    return [_header(element.tag, vr, length, ctx), value]


def _encode_sequence(element: DataElement, ctx: EncodeContext, charsets: tuple[str, ...]) -> Chunks:
    items = element.value
    if not isinstance(items, list):
        raise EncodingError("SQ value must be a list of datasets", tag=element.tag)
    body: Chunks = []
    inner = ctx.deeper(element.tag) if items else ctx
    for item in items:
        if not isinstance(item, Dataset):
            raise EncodingError(
                f"sequence item is {type(item).__name__}, not a Dataset", tag=element.tag
            )
        content = encode_dataset(item, inner, charsets)
        if ctx.undefined(item.undefined_length):
            body.append(
                ctx.pack_tag(ITEM) + struct.pack("<L" if ctx.little_endian else ">L", UNDEFINED)
            )
            body.extend(content)
            body.append(ctx.pack_tag(ITEM_DELIMITER) + b"\0\0\0\0")
        else:
            size = struct.pack("<L" if ctx.little_endian else ">L", _size(content))
            body.append(ctx.pack_tag(ITEM) + size)
            body.extend(content)
    read_undefined = isinstance(items, Sequence) and items.undefined_length
    if ctx.undefined(read_undefined) and (ctx.explicit_vr or _known_sequence(element.tag)):
        return [
            _header(element.tag, VR.SQ, UNDEFINED, ctx),
            *body,
            ctx.pack_tag(SEQUENCE_DELIMITER) + b"\0\0\0\0",
        ]
    return [_header(element.tag, VR.SQ, _size(body), ctx), *body]


def _known_sequence(tag: int) -> bool:
    """True when the dictionary says SQ.

    In Implicit VR other sequences get a defined length, since peers read an
    undefined length on an unknown tag as UN (PS3.5 6.2.2).
    """
    from dicomframe.core.dictionary import vr_for

    return vr_for(tag) == "SQ"


def dataset_charsets(ds: Dataset, inherited: tuple[str, ...]) -> tuple[str, ...]:
    """The character sets in force in ``ds``: its own, else its parent's."""
    element = ds._elements.get(0x00080005)  # type: ignore[call-overload]
    if element is None:
        return inherited
    from dicomframe.core.charset import normalize

    return normalize(element.value)


def encode_dataset(ds: Dataset, ctx: EncodeContext, charsets: tuple[str, ...] = ()) -> Chunks:
    """Encode every element of ``ds`` in tag order.

    Group length elements (gggg,0000) are recomputed from what follows them.
    """
    charsets = dataset_charsets(ds, charsets)
    chunks: Chunks = []
    pending: tuple[int, int] | None = None  # (index of group length value, group)
    group_start = 0
    for element in ds:
        if pending is not None and element.tag.group != pending[1]:
            _fill_group_length(chunks, pending[0], group_start, ctx)
            pending = None
        if element.tag.element == 0 and element.tag.group != 0x0002:
            chunks.append(_header(element.tag, VR.UL, 4, ctx))
            pending = (len(chunks), element.tag.group)
            chunks.append(b"\0\0\0\0")
            group_start = len(chunks)
            continue
        chunks.extend(encode_element(element, ctx, charsets))
    if pending is not None:
        _fill_group_length(chunks, pending[0], group_start, ctx)
    return chunks


def _fill_group_length(chunks: Chunks, index: int, start: int, ctx: EncodeContext) -> None:
    chunks[index] = struct.pack("<L" if ctx.little_endian else ">L", _size(chunks[start:]))
