"""Parse the header of a file at a URL, fetching only what the parser reads.

The parser walks a buffer; a :class:`~dicomframe.core.remote.RemoteSource`
holds the file's bytes only where they were fetched. So the parser is run
over the fetched run of bytes only, with the source marked as a head (an
element that runs past it stops the parse instead of failing it), and where
it stops this module decides what comes next, from the element header there:

- a value of ``defer_size`` bytes or more (not a sequence) is *located*:
  its element is made without its bytes, and parsing goes on after it;
- encapsulated Pixel Data at the top level is located too: its end is found
  from the offset tables and the items of its last frame
  (:mod:`dicomframe.core.remote_frames`);
- anything else (a sequence, an element cut by the end of what was fetched)
  fetches more, twice as much each time, and parses again from there.

A length that passes the end of the file is refused as for a local file,
before anything is fetched. A lenient read fetches the whole file first, so
its repairs are those of a local read.
"""

from __future__ import annotations

from collections.abc import Iterator

from dicomframe.core.dataset import Dataset
from dicomframe.core.element import DataElement
from dicomframe.core.implicit_vr import implicit_vr
from dicomframe.core.parser import (
    MODE_DATASET,
    MODE_META,
    PIXEL_REPRESENTATION,
    PIXEL_TAGS,
    SPECIFIC_CHARACTER_SET,
    UNDEFINED,
    ParseContext,
    _Level,
    _read_element,
    _read_header,
    _stops,
    _with_charsets,
    iter_dataset,
    parse_into,
)
from dicomframe.core.remote import HEAD_BYTES, RemoteSource
from dicomframe.core.source import Located
from dicomframe.core.vr import VR
from dicomframe.errors import InvalidDicomError

__all__ = ["iter_remote", "parse_remote"]

_MARGIN = 16  # bytes fetched past where the parse stopped, to see what comes next
_HEADER = 12  # the longest element header
_EXTENDED_OFFSETS = 0x7FE00001
_KEPT = frozenset({PIXEL_REPRESENTATION, _EXTENDED_OFFSETS})  # what iter_remote keeps


def parse_remote(ctx: ParseContext, pos: int, level: _Level, mode: int) -> tuple[ParseContext, int]:
    """``parse_into`` over a remote source; returns the context and where parsing stopped."""
    source = ctx.source
    assert isinstance(source, RemoteSource)
    size = len(source)
    if ctx.repairs is not None:  # lenient: repairs are made on the whole file, as for a local one
        source.whole()
    # After the meta the source stays a head, so that a deflated dataset still fetches it all.
    finally_head = source.is_head and mode == MODE_META
    try:
        while True:
            source.is_head = source.filled_end(pos) < size  # an element cut there is not an error
            pos = parse_into(ctx, pos, source.filled_end(pos), level, mode=mode)
            if source.is_filled(pos, size):  # the rest is all here: what stops now is final
                source.is_head = False
                return ctx, parse_into(ctx, pos, size, level, mode=mode)
            after = _next(ctx, pos, level, mode, size)
            if after is None:
                return ctx, pos
            element, pos = after
            if element is not None:
                _add(ctx, level, element)
    finally:
        source.is_head = finally_head


def _add(ctx: ParseContext, level: _Level, element: DataElement) -> None:
    assert level.dataset is not None
    if ctx.budget is not None:
        ctx.budget.spend(1, offset=element.offset)
    level.dataset.add(element)


def _next(
    ctx: ParseContext, pos: int, level: _Level, mode: int, size: int
) -> tuple[DataElement | None, int] | None:
    """What follows a stop at ``pos``: None (the elements end), else (located element or None, pos).

    A None element means more was fetched and parsing resumes at ``pos``.
    """
    source = ctx.source
    assert isinstance(source, RemoteSource)
    if pos >= size:
        return None
    source.fill(pos, pos + _MARGIN)
    end = source.filled_end(pos)
    if _stops(ctx, pos, end, level, mode) and (end - pos >= _MARGIN or end == size):
        return None
    if mode != MODE_META and ctx.repairs is None:
        located = _locate(ctx, pos, level, size)
        if located is not None:
            return located
    source.fill(end, end + max(end - pos, HEAD_BYTES))  # twice as much as is left unparsed
    return None, pos


def _locate(
    ctx: ParseContext, pos: int, level: _Level, size: int
) -> tuple[DataElement, int] | None:
    """The element at ``pos`` without fetching its value, when it is large; else None."""
    source = ctx.source
    assert isinstance(source, RemoteSource)
    source.fill(pos, pos + _HEADER)
    head = _read_header(ctx, pos, size)
    if head.tag >> 16 == 0xFFFE:
        return None  # an item or delimiter: the sequence parser reads it, with more bytes
    if head.length == UNDEFINED:
        if head.tag in PIXEL_TAGS and level.depth == 0 and head.vr is not VR.SQ:
            return _pixel_element(ctx, head.tag, pos, head.value, level)
        return None
    vr = head.vr or implicit_vr(head.tag, head.length, level.dataset)
    if head.end > size:
        _read_element(ctx, head, size, level)  # refuses the length before anything is fetched
    if head.length < ctx.defer_size or vr is VR.SQ:
        return None
    if vr is VR.UN:
        from dicomframe.core.dictionary import vr_for

        if vr_for(head.tag) == "SQ":
            return None  # UN holding a sequence: read as one, from its bytes
    return _read_element(ctx, head, size, level)


def _pixel_element(
    ctx: ParseContext, tag: int, start: int, value: int, level: _Level
) -> tuple[DataElement, int]:
    """Encapsulated Pixel Data, located: its end found from the tables and the last frame."""
    import numpy as np  # here: reading a header without pixels never loads numpy

    from dicomframe.core.remote_frames import last_frame_start, walk_items

    source = ctx.source
    assert isinstance(source, RemoteSource)
    size = len(source)
    extended = None
    assert level.dataset is not None
    if _EXTENDED_OFFSETS in level.dataset:
        table = level.dataset[_EXTENDED_OFFSETS]
        data = table.raw if table.raw is not None else table.value
        extended = np.frombuffer(bytes(data)[: len(bytes(data)) // 8 * 8], dtype="<u8")
    base, last = last_frame_start(source, value, size, extended)
    try:
        delimiter = walk_items(source, last, size, budget=ctx.budget)
    except InvalidDicomError:
        if last == base:
            raise
        delimiter = walk_items(source, base, size, budget=ctx.budget)  # the table was wrong
    element = DataElement(
        tag,
        VR.OB,  # PS3.5 A.4: encapsulated Pixel Data is OB, whatever the header said
        raw=Located(source, value, delimiter - value),
        little_endian=ctx.little_endian,
        undefined_length=True,
        offset=start,
    )
    return element, delimiter + 8


def iter_remote(ctx: ParseContext, pos: int) -> Iterator[tuple[DataElement, int]]:
    """``iter_dataset`` over a remote source: elements one at a time, fetching as needed."""
    source = ctx.source
    assert isinstance(source, RemoteSource)
    size = len(source)
    kept = Dataset()  # what later VRs depend on, as iter_dataset keeps it
    level = _Level(dataset=kept)
    while True:
        source.is_head = source.filled_end(pos) < size
        try:
            for element, after in iter_dataset(ctx, pos, source.filled_end(pos), level=level):
                pos = after
                level = _kept(level, element)
                yield element, after
            if source.is_filled(pos, size):
                return
        except InvalidDicomError:
            if source.is_filled(pos, size):
                raise
        finally:
            source.is_head = False
        step = _next(ctx, pos, level, MODE_DATASET, size)
        if step is None:
            return
        element, pos = step  # type: ignore[assignment]
        if element is not None:
            level = _kept(level, element)
            yield element, pos


def _kept(level: _Level, element: DataElement) -> _Level:
    if element.tag == SPECIFIC_CHARACTER_SET:
        return _with_charsets(level, element)
    if element.tag in _KEPT or element.tag.is_private_creator:
        assert level.dataset is not None
        level.dataset.add(element)
    return level
