"""Parse data elements out of a byte buffer (PS3.5 7).

The parser walks a buffer (an in-memory ``bytes`` or a memory-mapped file)
and makes :class:`DataElement` objects whose values are not decoded yet.
Every length is checked against the bytes that remain *before* anything is
sliced or allocated, so a lying length field gives an
:class:`InvalidDicomError` naming the tag and the byte offset, never a huge
allocation or a bare ``struct.error``.

Two loops share the element readers. :func:`parse_into` fills a dataset
(``read()``, and every sequence item) and reads the common element inline:
an explicit VR other than SQ and UN, or an implicit-VR tag whose VR is known
for any length, with a defined length below ``defer_size``; a header scan
spends its time there, at about half a microsecond per element.
:func:`iter_dataset` yields one element at a time for ``iter_elements()``.
Anything else goes through :func:`_read_header` and :func:`_read_element`;
sequences and encapsulated values are read in :mod:`dicomframe.core.items`,
VRs the header does not give come from :mod:`dicomframe.core.implicit_vr`.

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
import warnings
from collections.abc import Iterator
from mmap import mmap
from typing import Literal, NamedTuple

from dicomframe.core import items  # a cycle: items reads item datasets with parse_into
from dicomframe.core.dataset import Dataset
from dicomframe.core.element import _UNSET, DataElement
from dicomframe.core.implicit_vr import (
    IMPLICIT_VRS,
    PRIVATE_BY_CREATOR,
    implicit_vr,
    known_vr,
    private_vr,
)
from dicomframe.core.limits import Budget
from dicomframe.core.source import Located, Source
from dicomframe.core.tag import Tag
from dicomframe.core.vr import LONG_HEADER_VRS, VR
from dicomframe.errors import InvalidDicomError, RepairWarning

__all__ = [
    "MAX_DEPTH",
    "MODE_DATASET",
    "MODE_ITEM",
    "MODE_META",
    "ParseContext",
    "iter_dataset",
    "parse_dataset",
    "parse_into",
]

UNDEFINED = 0xFFFFFFFF
MAX_DEPTH = 100  # the default Limits.max_depth: deeper nesting is refused, not recursed into
PIXEL_TAGS = frozenset({0x7FE00008, 0x7FE00009, 0x7FE00010})
PIXEL_REPRESENTATION = 0x00280103
SPECIFIC_CHARACTER_SET = 0x00080005
# The inline loop leaves every tag from the first pixel tag on to _read_header, which
# knows about stop_before_pixels, item delimiters (FFFE) and meta group ends.
_FIRST_PIXEL_TAG = 0x7FE00008
# What ends a run of elements before the end of its bytes, besides trailing padding:
MODE_DATASET = 0  # a pixel tag, with stop_before_pixels at the top level
MODE_ITEM = 1  # an item or sequence delimiter, (FFFE,xxxx)
MODE_META = 2  # a group other than 0002 (PS3.10 7.1: the meta group comes first)

_VR_BY_CODE = {(ord(v.value[0]) << 8) | ord(v.value[1]): v for v in VR}
_ORDER: dict[bool, Literal["little", "big"]] = {True: "little", False: "big"}
_SHORT = [v for v in VR if v not in LONG_HEADER_VRS]
_LONG = [v for v in LONG_HEADER_VRS if v not in (VR.SQ, VR.UN)]
# The VR bytes of an explicit header read as one unsigned short, by little_endian. SQ and
# UN are left to _read_element: items to read, or a VR to look up.
_SHORT_VRS = {
    little: {int.from_bytes(v.value.encode(), _ORDER[little]): v for v in _SHORT}
    for little in (True, False)
}
_LONG_VRS = {
    little: {int.from_bytes(v.value.encode(), _ORDER[little]): v for v in _LONG}
    for little in (True, False)
}
_HEAD64 = {True: struct.Struct("<Q"), False: struct.Struct(">Q")}
_HEADERS: dict[tuple[bool, bool, bool, int, int], dict[int, tuple[Tag, VR, int, int]]] = {}
_MAX_HEADERS = 1 << 12  # per kind of data; cleared when full, so it follows what is read
_MAX_KINDS = 16
_SQ_CODE = {little: int.from_bytes(b"SQ", _ORDER[little]) for little in (True, False)}
_EXPLICIT = {True: struct.Struct("<HHHH"), False: struct.Struct(">HHHH")}
_IMPLICIT = {True: struct.Struct("<HHL"), False: struct.Struct(">HHL")}
_LENGTH = {True: struct.Struct("<L"), False: struct.Struct(">L")}
# By (explicit_vr, little_endian): the header unpacker, short and long VR codes, length unpacker.
_DECODERS = {
    (explicit, little): (
        (_EXPLICIT if explicit else _IMPLICIT)[little].unpack_from,
        _SHORT_VRS[little],
        _LONG_VRS[little],
        _LENGTH[little].unpack_from,
    )
    for explicit in (True, False)
    for little in (True, False)
}
# Tags already met, shared: Tag() is a Python call, a dict lookup is a tenth of it.
_TAGS: dict[int, Tag] = {}
_MAX_TAGS = 1 << 14  # bounds the cache when files bring many private tags
# Specific Character Set values met (CS bytes, decoded as latin-1 whatever the charset)
# and their normalized terms.
_CHARSETS: dict[bytes, tuple[str, ...]] = {}
_MAX_CHARSETS = 256


class _Copies:
    """A caller's bytearray or memoryview, sliced as ``bytes``: what the parser's loop stores.

    A file's bytes and a map slice as ``bytes`` themselves; wrapping the rare
    buffer that does not keeps the loop free of a test per element.
    """

    __slots__ = ("_buffer",)

    def __init__(self, buffer: memoryview) -> None:
        self._buffer = buffer

    def __getitem__(self, span: slice) -> bytes:
        return bytes(self._buffer[span])


class ParseContext(NamedTuple):
    """How the bytes being parsed are encoded, and where they come from.

    A named tuple, not a frozen dataclass: ``read()`` makes two per file, and
    a frozen dataclass pays an ``object.__setattr__`` per field.
    """

    source: Source
    explicit_vr: bool = True
    little_endian: bool = True
    defer_size: int = 64 * 1024
    strict: bool = False
    stop_before_pixels: bool = False
    max_depth: int = MAX_DEPTH
    # Elements and items still allowed (Limits.max_elements), shared by every level; None: any.
    budget: Budget | None = None
    # A lenient read collects its repairs here; None: strict, damage is an error.
    repairs: list[RepairWarning] | None = None
    # Sequences are left as bytes and their items parsed when first used.
    lazy: bool = False

    def repair(self, message: str, *, tag: int | None, offset: int, action: str) -> bool:
        """Record a repair and return True when reading leniently; False when strict."""
        if self.repairs is None:
            return False
        warning = RepairWarning(f"{message}; {action}", tag=tag, offset=offset, action=action)
        self.repairs.append(warning)
        warnings.warn(warning, stacklevel=2)
        return True

    @property
    def buffer(self) -> memoryview:
        """The source's bytes."""
        return self.source.buffer


class _Header(NamedTuple):
    """One element header: where it starts, what it says."""

    tag: Tag
    vr: VR | None  # None in Implicit VR: the dictionary decides
    length: int
    start: int
    value: int  # offset of the value

    @property
    def end(self) -> int:
        return self.value + self.length


class _Level(NamedTuple):
    """Where in the nesting the parser is: depth, inherited character sets, dataset so far."""

    depth: int = 0
    charsets: tuple[str, ...] = ()
    dataset: Dataset | None = None

    def deeper(self, dataset: Dataset) -> _Level:
        return _Level(self.depth + 1, self.charsets, dataset)


def _tag(number: int) -> Tag:
    """The shared :class:`Tag` for a number read from a header (so already in range)."""
    tag = _TAGS.get(number)
    if tag is None:
        tag = int.__new__(Tag, number)
        if len(_TAGS) < _MAX_TAGS:
            _TAGS[number] = tag
    return tag


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
    tag = _tag((g << 16) | e)
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


def _stops(ctx: ParseContext, pos: int, end: int, level: _Level, mode: int) -> bool:
    """True where the elements end before ``end``: padding, or what ``mode`` says ends them."""
    buf = ctx.buffer
    if end - pos < 4:
        return mode == MODE_META or not any(buf[pos:end])  # NUL padding some writers leave
    g, e = struct.unpack_from("<HH" if ctx.little_endian else ">HH", buf, pos)
    if mode == MODE_ITEM and g == 0xFFFE:
        return True
    if mode == MODE_META and g != 0x0002:
        return True
    return ctx.stop_before_pixels and level.depth == 0 and ((g << 16) | e) in PIXEL_TAGS


def iter_dataset(
    ctx: ParseContext,
    pos: int,
    end: int,
    *,
    level: _Level | None = None,
    mode: int = MODE_DATASET,
) -> Iterator[tuple[DataElement, int]]:
    """Yield ``(element, offset after it)`` for the elements in ``[pos, end)``.

    ``mode`` says what else ends the elements (``MODE_*``); in an item, the
    caller reads the (FFFE,xxxx) tag at the offset after the last element.
    Only what later VRs depend on is kept (Private Creators, PS3.5 7.8.1, and
    Pixel Representation), so streaming reads VRs as ``read()`` does.
    """
    kept = Dataset()
    level = level or _Level(dataset=kept)
    while pos < end:
        if _stops(ctx, pos, end, level, mode):
            return
        head = _read_header(ctx, pos, end)
        element, pos = _read_element(ctx, head, end, level)
        if head.tag == SPECIFIC_CHARACTER_SET:
            level = _with_charsets(level, element)
        elif head.tag == PIXEL_REPRESENTATION or head.tag.is_private_creator:
            kept.add(element)
        yield element, pos


def _with_charsets(level: _Level, element: DataElement) -> _Level:
    """The level with the character sets of a Specific Character Set element in force.

    The terms of a CS value read as bytes are kept by those bytes: a scan
    meets the same few values in every file, and decoding and normalizing
    one costs as much as reading ten other elements. The value itself stays
    undecoded until asked for, as any other.
    """
    raw = element._raw
    if type(raw) is bytes and element.vr is VR.CS and element._value is _UNSET:
        charsets = _CHARSETS.get(raw)
        if charsets is None:
            charsets = _normalize(element.value)
            if len(_CHARSETS) < _MAX_CHARSETS:
                _CHARSETS[raw] = charsets
        return _Level(level.depth, charsets, level.dataset)
    return _Level(level.depth, _normalize(element.value), level.dataset)


def _normalize(value: object) -> tuple[str, ...]:
    from dicomframe.core.charset import normalize

    return normalize(value)  # type: ignore[arg-type]


def parse_into(  # noqa: C901, PLR0912, PLR0915 - flat on purpose: a call per element costs ~10%
    ctx: ParseContext, pos: int, end: int, level: _Level, *, mode: int = MODE_DATASET
) -> int:
    """Add the elements in ``[pos, end)`` to ``level.dataset``; return where parsing stopped.

    ``mode`` says what else ends the elements (``MODE_*``). For the common
    element this unpacks one header struct, copies the value with one slice
    and sets the element's slots itself (as ``DataElement._parsed``, without
    the call); anything else goes through :func:`_read_element`, as in
    :func:`iter_dataset`, so both loops build the same elements
    (``tests/core/test_parser.py`` checks it on every test file).
    """
    ds = level.dataset
    assert ds is not None
    elements = ds._elements
    ordered = ds._order
    last = next(reversed(elements)) if elements else -1
    buf = ctx.buffer
    slicer = ctx.source.slicer
    data: bytes | mmap | _Copies = _Copies(buf) if slicer is None else slicer  # slices: bytes
    heads: bytes | mmap | memoryview = buf if slicer is None else slicer  # cheaper to unpack
    explicit, little = ctx.explicit_vr, ctx.little_endian
    unpack, short_vrs, long_vrs, unpack_length = _DECODERS[explicit, little]
    implicit_vrs, by_creator = IMPLICIT_VRS, PRIVATE_BY_CREATOR
    # Values this long are located by _read_element; odd lengths it refuses when strict.
    defer, odd = min(ctx.defer_size, UNDEFINED), int(ctx.strict)
    meta = mode == MODE_META
    lowest, highest = (0x00020000, 0x00030000) if meta else (0, _FIRST_PIXEL_TAG)
    tags, charsets, new, unset, depth = _TAGS, level.charsets, object.__new__, _UNSET, level.depth
    sq, lazy, code = _SQ_CODE[little], ctx.lazy, 0
    headers = _headers(explicit, little, meta, odd, defer)
    head64 = _HEAD64[little].unpack_from
    # Every element takes 8 bytes or more, so the element budget can only run out past
    # check_at: the inner loop runs to there (or to the end) without counting anything.
    budget, before = ctx.budget, len(elements)
    check_at = end if budget is None else pos + 8 * budget.left
    vr: VR | None
    # The inner loop reads whole 8-byte headers up to check_at; the last few bytes, if
    # any, are padding or a truncated header (_tail).
    last_header = end - 8
    hot = min(last_header, check_at)
    while True:
        while pos <= hot:
            # A header met before in this kind of data: what it says is known already.
            hit = headers.get(head64(heads, pos)[0])
            if hit is not None:
                tag, vr, size, number = hit
                after = pos + size
                if after <= end:
                    element = new(DataElement)
                    element.tag = tag
                    element.vr = vr
                    element._raw = data[pos + 8 : after]
                    element._value = unset
                    element.little_endian = little
                    element.charsets = charsets
                    element.undefined_length = False
                    element.offset = pos
                    if number > last:
                        last = number
                    elif number < last:
                        ordered = False
                    elements[tag] = element
                    pos = after
                    continue
            vr, private = None, False
            value = pos + 8
            if explicit:
                g, e, code, length = unpack(buf, pos)
                vr = short_vrs.get(code)
                if vr is None and code in long_vrs and end - pos >= 12:
                    vr = long_vrs[code]  # PS3.5 7.1.2: 2 reserved bytes, a 32-bit length
                    (length,) = unpack_length(buf, value)
                    value += 4
            else:
                g, e, length = unpack(buf, pos)
                vr = implicit_vrs.get((g << 16) | e)
                if vr is None and g & 1 and e >= 0x1000 and length != UNDEFINED:
                    # PS3.5 7.8.1: a private element's VR follows its creator, so it is
                    # known by the creator's bytes, never by the header alone
                    owner = elements.get((g << 16) | (e >> 8))
                    held = None if owner is None else owner._raw
                    if isinstance(held, bytes | memoryview):
                        vr = by_creator.get((bytes(held), (g << 16) | e, length))
                    if vr is None:
                        vr = private_vr((g << 16) | e, length, ds)
                    vr = None if vr is VR.SQ else vr
                    private = True
            number = (g << 16) | e
            after = value + length
            if not (lowest <= number < highest and after <= end and length < defer) or length & odd:
                vr = None
            if vr is None:
                # Only a tag out of range may end the elements here.
                if not lowest <= number < highest and _stops(ctx, pos, end, level, mode):
                    break
                try:
                    # An SQ in a lazy read: straight to its items' end (past them, when undefined).
                    found = (
                        code == sq
                        and explicit
                        and lazy
                        and end - pos >= 12
                        and lowest <= number < highest
                        and items.lazy_sequence(
                            ctx, buf, tags.get(number) or _tag(number), pos, end, depth, charsets
                        )
                    )
                    if found:
                        element, after = found
                    else:
                        head = _read_header(ctx, pos, end)
                        element, after = _read_element(ctx, head, end, level)
                except InvalidDicomError:
                    if ctx.source.is_head:
                        break  # the element may go on past the head: the reader reads on
                    raise
                number = tag = element.tag
            else:
                element = new(DataElement)
                element.tag = tag = tags.get(number) or _tag(number)
                element.vr = vr
                element._raw = data[value:after]
                element._value = unset
                element.little_endian = little
                element.charsets = charsets
                element.undefined_length = False
                element.offset = pos
                if value == pos + 8 and number != SPECIFIC_CHARACTER_SET and not private:  # 8 bytes
                    if len(headers) >= _MAX_HEADERS:
                        headers.clear()
                    headers[head64(buf, pos)[0]] = (tag, vr, after - pos, number)
            if number > last:
                last = number
            elif number < last:
                ordered = False
            elements[tag] = element
            pos = after
            if number == SPECIFIC_CHARACTER_SET:
                level = _with_charsets(level, element)
                charsets = level.charsets
        else:
            if pos <= last_header:  # at check_at: count what was read, and go on
                check_at = _spend(ctx, len(elements) - before, pos)
                before, hot = len(elements), min(last_header, check_at)
                continue
            if pos < end:
                _tail(ctx, pos, end, level, mode)
        break  # the end, or what ends the elements before it
    if budget is not None:
        _spend(ctx, len(elements) - before, pos)
    object.__setattr__(ds, "_order", ordered)
    return pos


def _tail(ctx: ParseContext, pos: int, end: int, level: _Level, mode: int) -> None:
    """Fewer than 8 bytes remain: padding (or what ``mode`` stops at) ends the elements.

    Anything else is a truncated header, an error unless the bytes are a
    head, which the reader then reads on from in the whole file.
    """
    if not _stops(ctx, pos, end, level, mode) and not ctx.source.is_head:
        _read_header(ctx, pos, end)  # raises: the header needs 8 bytes


def _headers(
    explicit: bool, little: bool, meta: bool, odd: int, defer: int
) -> dict[int, tuple[Tag, VR, int, int]]:
    """The headers met in data of this kind: the 8 bytes as an int -> tag, VR, size, number.

    A header whose element the inline loop reads says the same in every file
    of the same encoding, under the same checks (tag range, strictness, defer
    size): a scan of many files meets the same few hundred headers over and
    over, and one dict lookup replaces decoding each. Only 8-byte headers
    (short explicit VRs and implicit ones) are kept, and (0008,0005) never,
    since it changes the character sets.
    """
    key = (explicit, little, meta, odd, defer)
    found = _HEADERS.get(key)
    if found is None:
        if len(_HEADERS) >= _MAX_KINDS:
            _HEADERS.clear()
        found = _HEADERS[key] = {}
    return found


def _spend(ctx: ParseContext, count: int, pos: int) -> int:
    """Take ``count`` elements off the budget; return the offset up to which no check is due."""
    assert ctx.budget is not None
    return pos + 8 * ctx.budget.spend(count, offset=pos)


def _read_element(
    ctx: ParseContext, head: _Header, end: int, level: _Level
) -> tuple[DataElement, int]:
    explicit_un = head.vr is VR.UN
    vr = head.vr or implicit_vr(head.tag, head.length, level.dataset)
    if head.length == UNDEFINED:
        return items.read_undefined(ctx, head, vr, end, level)
    if head.length > end - head.value and ctx.repair(
        f"{vr} value length {head.length} exceeds the {end - head.value} bytes that remain",
        tag=head.tag,
        offset=head.start,
        action=f"kept the {end - head.value} bytes that remain",
    ):
        head = head._replace(length=end - head.value)
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
        return items.sequence(ctx, head, head.end, level, little=little), head.end
    if explicit_un:
        element = items.un_as_sequence(ctx, head, level)
        if element is not None:
            return element, head.end
        vr, little = known_vr(head.tag, head.length, little)
    raw = _locate(ctx, head.value, head.length)
    element = DataElement._parsed(
        head.tag, vr, _UNSET, raw, little, level.charsets, False, head.start
    )
    return element, head.end


def _locate(ctx: ParseContext, pos: int, length: int) -> bytes | memoryview | Located:
    """A small value is copied; a large one stays where it is (a view, or located in the map)."""
    if length < ctx.defer_size:
        return bytes(ctx.buffer[pos : pos + length])
    if ctx.source.is_mapped:
        return Located(ctx.source, pos, length)
    return ctx.buffer[pos : pos + length]


def parse_dataset(ctx: ParseContext, pos: int, end: int) -> Dataset:
    """Parse ``[pos, end)`` into a :class:`Dataset`."""
    ds = Dataset()
    parse_into(ctx, pos, end, _Level(dataset=ds))
    return ds
