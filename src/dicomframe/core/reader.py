"""Read DICOM Part 10 files and bare datasets: ``read()`` and ``iter_elements()``.

A path is memory-mapped and parsed in place: small values are copied out,
values of ``defer_size`` bytes or more (Pixel Data above all) stay in the
map and are read when first used, so the file stays open until
``ds.close()`` (or the end of a ``with`` block). When nothing was left in the
map the file is closed at once. A file smaller than ``defer_size`` cannot
hold such a value, so it is read whole instead, which costs a third of
mapping it (a header scan opens thousands). A read that stops before the
pixels reads the first 16 KiB (``HEAD_BYTES``) and parses them; only a header
that goes on past them makes it read the rest, resuming where the head ended.
Bytes and file objects are parsed from memory. A URL (``s3://``, ``https://``...)
is read in range requests (:mod:`dicomframe.core.remote`, ``docs/remote.md``).

Lenient cases, each as DCMTK or pydicom are lenient (see ``docs/reading.md``):

- ``DICM`` without the 128-byte preamble is accepted;
- a file meta group without (0002,0000) group length, or with a wrong one,
  is read element by element while the group is 0002;
- a file meta group without a Transfer Syntax UID: the encoding of the
  dataset is detected from its first bytes, with a warning;
- a dataset whose first element contradicts the declared VR encoding
  (implicit vs explicit) is read the way its bytes say, with a warning;
- with ``force=True``, a file with no preamble and no meta group is read
  after detecting its encoding.
"""

from __future__ import annotations

import io
import os
import re
import stat
import struct
import warnings
import zlib
from collections.abc import Iterator, Mapping
from functools import partial
from typing import Any, BinaryIO

from dicomframe.core.codecs import FrameCodecs, find_syntax
from dicomframe.core.dataset import Dataset
from dicomframe.core.element import DataElement
from dicomframe.core.limits import Budget, Limits, allow_recursion, resolve_limits
from dicomframe.core.parser import (
    MODE_DATASET,
    MODE_META,
    SPECIFIC_CHARACTER_SET,
    ParseContext,
    _Level,
    _stops,
    _with_charsets,
    iter_dataset,
    parse_into,
)
from dicomframe.core.remote import RemoteSource, RemoteTarget, target
from dicomframe.core.remote_parse import iter_remote, parse_remote
from dicomframe.core.source import Source, read_stream
from dicomframe.core.transfer_syntax import (
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    TransferSyntax,
    resolve,
)
from dicomframe.core.vr import VR
from dicomframe.errors import (
    DicomError,
    DicomWarning,
    InvalidDicomError,
    LimitError,
    RepairWarning,
    UnknownTransferSyntaxError,
)

__all__ = ["DEFAULT_DEFER_SIZE", "iter_elements", "read"]

DEFAULT_DEFER_SIZE = 64 * 1024
_NUMBER_OF_FRAMES = 0x00280008
_INFLATE_PIECE = 1 << 22  # inflated 4 MiB at a time
_NEVER_DEFER = 1 << 62
# A read that stops before the pixels reads this much first, and the rest of the file only
# when the header goes on past it: one pread of 16 KiB costs a fraction of mapping the file.
HEAD_BYTES = 16 * 1024
_HEAD_MARGIN = 16  # bytes past a head's last element, to see what comes next
_HEAD_MIN = 256  # the preamble, the DICM prefix and what follows
# Transfer Syntax UID values met (UI bytes as read) and the standard syntax each names:
# a scan meets the same few in every file.
_SYNTAXES: dict[bytes, TransferSyntax] = {}
_MAX_SYNTAXES = 64

SourceLike = str | os.PathLike[str] | bytes | bytearray | memoryview | BinaryIO | RemoteTarget


def _open(source: SourceLike, defer_size: int, limits: Limits, head: int = 0) -> Source:
    most = limits.max_stream_bytes
    if isinstance(source, RemoteTarget):
        return source.open(limits)
    if isinstance(source, str | os.PathLike):
        try:
            # A file smaller than defer_size holds no value to leave in it: read, not mapped.
            return Source.from_path(source, map_from=defer_size, max_bytes=most, head=head)
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise DicomError(f"cannot read {os.fspath(source)}: {exc}") from exc
    if isinstance(source, bytes | bytearray | memoryview):
        return Source(source)
    if isinstance(source, io.BytesIO):
        return Source(source.getvalue()[source.tell() :], name="<BytesIO>")
    fd = _regular_file_at_start(source)
    if fd is not None:  # an open file: mapped like a path, so values stay in the file
        source.seek(0, os.SEEK_END)  # as if read, like any other file object
        name = str(getattr(source, "name", "<file>"))
        return Source.from_fd(fd, name=name, map_from=defer_size, max_bytes=most, head=head)
    name = str(getattr(source, "name", "<file>"))
    return Source(read_stream(source, name, most), name=name)


def _regular_file_at_start(source: BinaryIO) -> int | None:
    """A descriptor of our own for an open regular file at offset 0; None for anything else."""
    if "b" not in str(getattr(source, "mode", "b")):
        return None  # a text file: refused below, by what read() returns
    try:
        if not source.seekable() or source.tell() != 0:
            return None
        fd = source.fileno()
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError
        return None
    return os.dup(fd)


_VR_BYTES = frozenset(vr.value.encode() for vr in VR)


def _valid_vr(buf: memoryview, pos: int) -> bool:
    return pos + 6 <= len(buf) and bytes(buf[pos + 4 : pos + 6]) in _VR_BYTES


def _plausible_implicit(buf: memoryview, pos: int) -> bool:
    """True when an Implicit VR header at ``pos`` has a length that fits the data."""
    if len(buf) - pos < 8:
        return False
    length: int = struct.unpack_from("<L", buf, pos + 4)[0]
    return length <= len(buf) - pos - 8


def _detect(buf: memoryview, pos: int) -> TransferSyntax:
    """Guess the encoding of a dataset from its first element (no meta to say)."""
    if len(buf) - pos < 8:
        raise InvalidDicomError("too short to be a DICOM dataset", offset=pos)
    group_le, group_be = (
        struct.unpack_from("<H", buf, pos)[0],
        struct.unpack_from(">H", buf, pos)[0],
    )
    explicit = _valid_vr(buf, pos)
    if group_le > 0xFF and group_be <= 0xFF:
        return ExplicitVRBigEndian
    return ExplicitVRLittleEndian if explicit else ImplicitVRLittleEndian


def _read_meta(source: Source, pos: int, *, one_by_one: bool) -> tuple[Dataset, int, Source]:
    """Read group 0002 (always Explicit VR Little Endian, PS3.10 7.1).

    ``read()`` uses the inline loop; ``iter_elements()`` reads the meta one
    element at a time through the parser's element reader, as it reads the rest.
    Returns the meta, where the dataset starts and the source, which is the
    whole file when the head read first was too short for the meta.
    """
    buf = source.buffer
    meta = Dataset()
    # Only a group 0002 element can be Implicit VR meta; a bare dataset (force=True) has none.
    is_meta = len(buf) - pos >= 2 and struct.unpack_from("<H", buf, pos)[0] == 0x0002
    explicit = not (is_meta and not _valid_vr(buf, pos) and _plausible_implicit(buf, pos))
    if not explicit:
        warnings.warn(
            "file meta information is Implicit VR; reading it anyway", DicomWarning, stacklevel=5
        )
    # The meta group is small: copy it all out (no defer size), so it outlives the source
    # even when the dataset has nothing located (and read() closes the file).
    ctx = ParseContext(source, explicit_vr=explicit, defer_size=_NEVER_DEFER)
    if not one_by_one:
        ctx, pos = _parse_resuming(ctx, pos, _Level(dataset=meta), MODE_META)
        return meta, pos, ctx.source
    for element, after in iter_dataset(ctx, pos, len(buf), mode=MODE_META):
        meta.add(element)
        pos = after
    return meta, pos, source


def _parse_resuming(
    ctx: ParseContext, pos: int, level: _Level, mode: int
) -> tuple[ParseContext, int]:
    """``parse_into``, going on in the whole file when a head ends before the elements do.

    The elements parsed from the head are kept (their values are copies, their
    sequences parse from the head's bytes); parsing resumes at the first
    element the head did not hold, with the character sets then in force.
    Returns the context of the source parsed last and where parsing stopped.
    """
    if isinstance(ctx.source, RemoteSource):
        return parse_remote(ctx, pos, level, mode)
    pos = parse_into(ctx, pos, len(ctx.buffer), level, mode=mode)
    source = ctx.source
    if not source.is_head or _ended(ctx, pos, level, mode):
        return ctx, pos
    ctx = ctx._replace(source=source.whole())
    assert level.dataset is not None
    charset = level.dataset._elements.get(SPECIFIC_CHARACTER_SET)  # type: ignore[call-overload]
    if charset is not None:
        level = _with_charsets(level, charset)
    try:
        return ctx, parse_into(ctx, pos, len(ctx.buffer), level, mode=mode)
    except BaseException:
        ctx.source.close()  # the caller closes the head it gave
        raise


def _ended(ctx: ParseContext, pos: int, level: _Level, mode: int) -> bool:
    """True where a head's elements end for good: a stop that leaves room to read on."""
    end = len(ctx.buffer)
    return end - pos >= _HEAD_MARGIN and _stops(ctx, pos, end, level, mode)


def _transfer_syntax(
    meta: Dataset, buf: memoryview, pos: int, codecs: FrameCodecs | None
) -> TransferSyntax:
    element = meta._elements.get(0x00020010)  # type: ignore[call-overload] # int == Tag
    raw = None if element is None or element.vr is not VR.UI else element._raw
    if type(raw) is bytes:
        known = _SYNTAXES.get(raw)
        if known is not None:
            return known  # the value stays undecoded, as any other, until asked for
    if element is None or not str(element.value or "").strip():
        detected = _detect(buf, pos)
        warnings.warn(
            f"file meta has no Transfer Syntax UID; reading as {detected.keyword}",
            DicomWarning,
            stacklevel=5,
        )
        return detected
    value = element.value
    uid = str(value[0] if isinstance(value, list) else value)  # str even under a wrong VR
    try:
        syntax = resolve(uid)
    except UnknownTransferSyntaxError as exc:
        # A private syntax may come from a codec plugin of the registry in use.
        private: TransferSyntax | None = find_syntax(uid, codecs)
        if private is not None:
            return private
        raise InvalidDicomError(str(exc), tag=0x00020010, offset=element.offset) from exc
    if type(raw) is bytes and len(_SYNTAXES) < _MAX_SYNTAXES:
        _SYNTAXES[raw] = syntax  # a syntax of the standard: the same in every registry
    return syntax


def _inflate(source: Source, pos: int, limits: Limits) -> Source:
    """Inflate a Deflated Explicit VR Little Endian dataset (PS3.5 A.5).

    Inflated a piece at a time, so memory follows what the stream really
    holds, and refused with :class:`LimitError` as soon as it would pass
    ``limits.max_inflated_bytes``: a few megabytes of deflated zeros never
    become gigabytes.
    """
    most = limits.max_inflated_bytes
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    out = bytearray()
    pending: bytes | memoryview = source.buffer[pos:]
    try:
        while pending and not inflater.eof:  # bytes after the stream's end (padding) stay
            piece = inflater.decompress(pending, min(_INFLATE_PIECE, most + 1 - len(out)))
            out += piece
            if len(out) > most:
                raise LimitError(
                    "max_inflated_bytes", len(out), most, what="deflated dataset", offset=pos
                )
            if not piece and len(inflater.unconsumed_tail) == len(pending):
                break  # no progress: a truncated stream, nothing more to get
            pending = inflater.unconsumed_tail
        out += inflater.flush()
    except zlib.error as exc:
        raise InvalidDicomError(f"deflated dataset is corrupt: {exc}", offset=pos) from exc
    except MemoryError as exc:
        raise LimitError(
            "max_inflated_bytes", len(out), most, what="deflated dataset (out of memory)"
        ) from exc
    return Source(out, name=f"{source.name} (inflated)")  # no copy: parsed in place


class _Prepared:
    """Everything known once the preamble and meta have been read."""

    def __init__(  # noqa: PLR0913 - every option is keyword-only
        self,
        source: SourceLike,
        *,
        force: bool,
        defer_size: int | None,
        limits: Limits,
        codecs: FrameCodecs | None = None,
        one_by_one: bool = False,
        head: bool = False,
    ) -> None:
        self.defer = DEFAULT_DEFER_SIZE if defer_size is None else max(int(defer_size), 1)
        self.limits = limits
        self.codecs = codecs
        # A head shorter than defer_size cannot hold a value to leave in the file.
        size = HEAD_BYTES if head and self.defer >= HEAD_BYTES else 0
        self.source = _open(source, self.defer, limits, size)
        try:
            self._prepare(force=force, one_by_one=one_by_one)
        except BaseException:
            self.source.close()  # nothing of a refused file stays open
            raise

    def _prepare(self, *, force: bool, one_by_one: bool) -> None:
        if self.source.is_head and len(self.source) < _HEAD_MIN:
            self.source = self.source.whole()  # a head too short to hold the preamble
        buf = self.source.buffer
        self.preamble: bytes | None = None
        pos = 0
        if len(buf) >= 132 and bytes(buf[128:132]) == b"DICM":
            self.preamble, pos = bytes(buf[:128]), 132
        elif bytes(buf[:4]) == b"DICM":
            pos = 4
        elif not force:
            raise InvalidDicomError(
                "no DICM prefix: not a DICOM Part 10 file (use force=True for a bare dataset)",
                offset=128,
            )
        self.meta, pos, self.source = _read_meta(self.source, pos, one_by_one=one_by_one)
        buf = self.source.buffer
        if len(self.meta) == 0 and self.preamble is not None and not force:
            raise InvalidDicomError("missing file meta information (group 0002)", offset=pos)
        if len(self.meta):
            self.syntax = _transfer_syntax(self.meta, buf, pos, self.codecs)
        else:
            self.syntax = _detect(buf, pos)
        if self.syntax.is_deflated and self.source.is_head:
            self.source = self.source.whole()
        self.body = self.source
        if self.syntax.is_deflated:
            self.body, pos = _inflate(self.source, pos, self.limits), 0
        self.pos = pos
        self.explicit = self._check_encoding(self.body.buffer, pos)

    def _check_encoding(self, buf: memoryview, pos: int) -> bool:
        explicit = self.syntax.is_explicit_vr
        if len(buf) - pos >= 6 and _valid_vr(buf, pos) != explicit:
            group = struct.unpack_from("<H" if self.syntax.is_little_endian else ">H", buf, pos)[0]
            if group <= 0x0008 or not explicit:
                kind = "Explicit" if not explicit else "Implicit"
                warnings.warn(
                    f"dataset declared {self.syntax.keyword} but is encoded {kind} VR; "
                    f"reading it as {kind} VR",
                    DicomWarning,
                    stacklevel=5,
                )
                return not explicit
        return explicit

    def context(
        self, *, stop_before_pixels: bool, strict: bool, lenient: bool = False, lazy: bool = False
    ) -> ParseContext:
        """How to parse the dataset; ``lenient`` collects repairs, ``lazy`` leaves sequences."""
        allow_recursion(self.limits.max_depth, frames_per_level=5)
        return ParseContext(
            self.body,
            self.explicit,
            self.syntax.is_little_endian,
            self.defer,
            strict,
            stop_before_pixels,
            self.limits.max_depth,
            Budget("max_elements", self.limits.max_elements, "data elements and sequence items"),
            [] if lenient else None,
            lazy,
        )


def read(  # noqa: PLR0913 - every option is keyword-only
    source: SourceLike,
    *,
    stop_before_pixels: bool = False,
    defer_size: int | None = None,
    force: bool = False,
    strict: bool = False,
    limits: Limits | None = None,
    lenient: bool = False,
    codecs: FrameCodecs | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> Dataset:
    """Read a DICOM file or dataset.

    Parameters
    ----------
    source
        A path, the file's bytes, a binary file object, or a URL fsspec opens
        (``s3://``, ``https://``, an ``fsspec.core.OpenFile``...): read in
        range requests, with ``storage_options`` (credentials, endpoint).
    stop_before_pixels
        Stop at the first of (7FE0,0008/0009/0010) at the top level.
    defer_size
        Values of this many bytes or more are left in the file and read on
        first use (default 64 KiB). Such a dataset keeps its file open until
        :meth:`Dataset.close`.
    force
        Read data without the ``DICM`` prefix or the file meta information,
        detecting the encoding from the first element.
    strict
        Refuse what is read leniently by default (odd value lengths).
    limits
        The :class:`~dicomframe.Limits` for this read and for decoding the
        dataset's pixel data later; default
        :func:`~dicomframe.core.limits.default_limits`.
    lenient
        Recover what a damaged file still holds, as DCMTK does, instead of
        refusing it: a truncated value keeps the bytes that remain, an item
        or sequence that overruns its parent ends with it, missing
        delimiters are supplied at the end of the data, a dataset with no
        ``DICM`` prefix and no meta is read as with ``force``, IS and DS
        values that are not numbers are kept as text, and what follows
        damage that cannot be repaired is dropped. Each repair is a
        :class:`~dicomframe.RepairWarning` naming the tag, offset and what
        was done; ``ds.repairs`` lists them. Values are kept as read, so an
        unmodified dataset is written back byte for byte.
    codecs
        The codec registry (a :class:`~dicomframe.plugins.CodecManager`)
        that decodes and encodes this dataset's frames, and whose plugins
        name private transfer syntaxes; kept as ``ds.codecs``. None: the
        default one, loaded only when a codec is first needed.

    Returns
    -------
    Dataset
        With ``meta``, ``preamble`` and ``transfer_syntax`` set.

    Raises
    ------
    InvalidDicomError
        Malformed or truncated input; the message names the tag and offset.
    LimitError
        The input asks for more than ``limits`` allow (nesting, elements,
        inflated size, bytes of a stream).
    """
    resolved = resolve_limits(limits)
    prepared = _Prepared(
        target(source, storage_options),
        force=force or lenient,
        defer_size=defer_size,
        limits=resolved,
        codecs=codecs,
        head=stop_before_pixels and not lenient,  # a lenient read would repair the head's end
    )
    # Sequences are parsed when first used; a lenient read parses them now, so that
    # ds.repairs lists every repair the file needed.
    ctx = prepared.context(
        stop_before_pixels=stop_before_pixels, strict=strict, lenient=lenient, lazy=not lenient
    )
    ds = Dataset()
    try:
        prepared.source = _parse_top(ctx, prepared.pos, ds)
    except BaseException:
        prepared.source.close()
        raise
    if ctx.repairs is not None:
        ds.repairs = (*ctx.repairs, *_text_numbers(ds))
    vars(ds).update(  # past Dataset.__setattr__: none of these is a DICOM keyword
        limits=limits,
        codecs=codecs,
        meta=prepared.meta,
        preamble=prepared.preamble,
        transfer_syntax=prepared.syntax,
    )
    if prepared.source.is_mapped:
        if _has_located(ds):
            ds.source = prepared.source  # the file stays open until ds.close()
        else:
            prepared.source.close()
    else:
        # Bytes in memory: nothing to close; they live as long as unparsed sequences need them.
        prepared.source.finish()  # a head's descriptor, kept in case the header went on
    return ds


def _parse_top(ctx: ParseContext, pos: int, ds: Dataset) -> Source:
    """Parse the dataset into ``ds``; a lenient read keeps what came before damage.

    Returns the source parsed last: the whole file when a head was not enough.
    """
    try:
        ctx, _ = _parse_resuming(ctx, pos, _Level(dataset=ds), MODE_DATASET)
    except (struct.error, IndexError, RecursionError) as exc:  # defensive: never leak these
        raise InvalidDicomError(f"malformed data: {exc}") from exc
    except InvalidDicomError as exc:
        if not ctx.repair(
            str(exc),
            tag=exc.tag,
            offset=exc.offset if exc.offset is not None else pos,
            action="dropped the rest of the dataset from there",
        ):
            raise
    return ctx.source


def _text_numbers(ds: Dataset) -> list[RepairWarning]:
    """Name the IS and DS values that are not numbers (a lenient read), one repair each.

    They stay text, as in any read. A Number of Frames that starts with
    digits ("1A") is read as that number, as DCMTK reads it, so the pixel
    data stays usable. The element keeps its bytes: it is written back as
    it was read.
    """
    found: list[RepairWarning] = []
    pending = [ds]
    while pending:
        for element in pending.pop()._elements.values():
            if element.vr is VR.SQ:
                pending.extend(element.sequence)
            elif element.vr in (VR.IS, VR.DS) and element.raw is not None:
                repair = _text_number(element)
                if repair is not None:
                    found.append(repair)
    for warning in found:
        warnings.warn(warning, stacklevel=3)
    return found


def _text_number(element: DataElement) -> RepairWarning | None:
    value = element.value
    members = value if isinstance(value, list) else [value]
    text = next((m for m in members if isinstance(m, str) and m.strip()), None)
    if text is None:
        return None
    action = "kept as text"
    digits = re.match(r"\s*([+-]?\d+)", text)
    if element.tag == _NUMBER_OF_FRAMES and digits is not None and len(members) == 1:
        element._value = int(digits.group(1))
        action = f"read as {element._value}, as DCMTK reads it"
    return RepairWarning(
        f"{element.vr.value} value {text!r} is not a number; {action}",
        tag=element.tag,
        offset=element.offset,
        action=action,
    )


def _has_located(ds: Dataset) -> bool:
    """True when a value was left in the source (only a mapped source leaves any)."""
    return any(_is_located(element) for element in ds._elements.values())


def _is_located(element: DataElement) -> bool:
    """True when the element's value, or one inside its items, was left in the source."""
    if element.vr is VR.SQ:
        if not element.is_loaded:
            return True  # items still to be parsed from the source
        return any(_has_located(item) for item in element.sequence)
    return not element.is_loaded


def iter_elements(  # noqa: PLR0913 - every option is keyword-only
    source: SourceLike,
    *,
    force: bool = False,
    defer_size: int | None = None,
    stop_before_pixels: bool = False,
    limits: Limits | None = None,
    codecs: FrameCodecs | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> Iterator[DataElement]:
    """Yield the file meta elements, then each top-level element of the dataset.

    Elements are parsed one at a time as the iteration goes; for a path of
    ``defer_size`` bytes or more the file is mapped, not read, so values
    never asked for are never loaded; a URL is read as by :func:`read`.
    """
    resolved, found = resolve_limits(limits), target(source, storage_options)
    prepared = _Prepared(
        found, force=force, defer_size=defer_size, limits=resolved, codecs=codecs, one_by_one=True
    )
    yield from prepared.meta
    ctx = prepared.context(stop_before_pixels=stop_before_pixels, strict=False)
    located = False
    remote = isinstance(ctx.source, RemoteSource)
    elements = iter_remote if remote else partial(iter_dataset, end=len(ctx.buffer))
    for element, _ in elements(ctx, prepared.pos):
        located = located or _is_located(element)  # in a sequence's items too
        yield element
    if not located:
        prepared.source.close()  # nothing yielded still needs the file
